"""The package's own error type, and how command-line tools report it."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence


class PoetryError(Exception):
    """A user error: bad input, a missing corpus, a damaged file. The message is one line."""


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a CLI's ``main``; a :class:`PoetryError` becomes one line on stderr and exit status 2."""
    try:
        return main(argv)
    except PoetryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr, INFO by default, DEBUG with ``verbose``."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
