"""Paths a user gives, and atomic file writes: a reader never sees a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from poetry_rnn.errors import PoetryError


def user_path(value: object, what: str) -> Path:
    """``value`` as a Path, once the system can look it up (whether or not it exists): text
    or an ``os.PathLike`` of text. Anything else (bytes, a number, a list), a name too long, a
    NUL in it or a folder on the way that may not be searched is a :class:`PoetryError` naming
    ``what`` it is, where ``Path.exists`` and the like would raise."""
    if not (
        isinstance(value, str)
        or (isinstance(value, os.PathLike) and isinstance(os.fspath(value), str))
    ):
        raise PoetryError(f"{what} must be a path, got {type(value).__name__}")
    path = Path(value)
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as error:
        raise PoetryError(f"cannot use {what} {path}: {error.strerror or error}") from None
    except ValueError as error:  # a NUL character
        raise PoetryError(f"cannot use {what} {str(path)!r}: {error}") from None
    return path


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only once it is completely written. A write
    that fails (a full disk, a directory in the place of ``path``) leaves ``path`` as it was,
    and is a :class:`PoetryError` naming it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as error:
        raise PoetryError(f"cannot write {path}: {error.strerror or error}") from error
    try:
        os.chmod(temp_name, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(error, OSError):
            raise PoetryError(f"cannot write {path}: {error.strerror or error}") from error
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_writer(path) as file:
        file.write(data)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
