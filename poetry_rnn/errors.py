"""The package's own error type, and how command-line tools report it."""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import numbers
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

#: The status of a Unix tool killed by SIGPIPE (128 + 13) when its reader goes away.
BROKEN_PIPE_STATUS = 141


class PoetryError(Exception):
    """A user error: bad input, a missing corpus, a damaged file. The message is one line."""


class ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose errors are the package's one-line errors (exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise PoetryError(message)


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a CLI's ``main`` and report what goes wrong in one line on stderr.

    A :class:`PoetryError` exits with status 2. So do output problems: an encoding that cannot
    show Chinese, a full disk. A reader that goes away (``| head -1``) ends the tool quietly.
    """
    stdout = sys.stdout
    sys.stdout = _GuardedOutput(stdout)
    try:
        status = main(argv)
        sys.stdout.flush()  # output errors surface here, not as noise at interpreter exit
        return status
    except PoetryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except _OutputError as failure:
        error = failure.__cause__
        if isinstance(error, UnicodeEncodeError):
            print(
                f"error: the output encoding ({error.encoding}) cannot show Chinese characters; "
                "set PYTHONIOENCODING=utf-8 (on Windows: PYTHONUTF8=1)",
                file=sys.stderr,
            )
            return 2
        # What is left in the buffer goes nowhere, so the interpreter's last flush stays quiet.
        if stdout is not None:
            with contextlib.suppress(OSError, ValueError):  # ValueError: not a file descriptor
                os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        if isinstance(error, BrokenPipeError):
            return BROKEN_PIPE_STATUS
        print(f"error: cannot write the output: {error.strerror or error}", file=sys.stderr)
        return 2
    finally:
        sys.stdout = stdout


class _OutputError(Exception):
    """Writing standard output failed; the cause is the original error."""


class _GuardedOutput:
    """Standard output whose write errors are told apart from any other error. A tool started
    with its standard output closed (``>&-``) has none: writing to it is such an error too."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            if self._stream is None:
                raise OSError(errno.EBADF, "standard output is closed")
            return self._stream.write(text)
        except (OSError, UnicodeEncodeError) as error:
            raise _OutputError from error

    def flush(self) -> None:
        try:
            if self._stream is not None:
                self._stream.flush()
        except OSError as error:
            raise _OutputError from error

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


LOG_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")


def setup_logging(verbose: bool = False) -> None:
    """The package logs to stderr, INFO by default, DEBUG with ``verbose``."""
    package = logging.getLogger("poetry_rnn")
    package.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not any(isinstance(handler, _StderrHandler) for handler in package.handlers):
        handler = _StderrHandler()
        handler.setFormatter(LOG_FORMAT)
        package.addHandler(handler)
        package.propagate = False


class _StderrHandler(logging.StreamHandler):
    """Writes each record to ``sys.stderr`` as it is when the record comes, not as it was when
    logging was set up: ``run_cli`` and test harnesses put other streams in its place."""

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always the current sys.stderr


def is_integer(value: object) -> bool:
    """True for a whole number a user gave (``True`` and ``False`` are not numbers here)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
