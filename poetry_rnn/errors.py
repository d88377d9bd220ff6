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


LOG_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")


def setup_logging(verbose: bool = False) -> None:
    """The package logs to stderr, INFO by default, DEBUG with ``verbose``."""
    package = logging.getLogger("poetry_rnn")
    package.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not any(getattr(handler, "poetry_rnn", False) for handler in package.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(LOG_FORMAT)
        handler.poetry_rnn = True  # type: ignore[attr-defined]
        package.addHandler(handler)
        package.propagate = False
