"""A run's directory: the names of what a run leaves in it, whether it holds a run, replacing
one (``--overwrite``), and its ``train.log``."""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

from poetry_rnn.errors import LOG_FORMAT, PoetryError

log = logging.getLogger("poetry_rnn.training.train")  # the run's log, as the loop's

STATE_FILE = "training_state.safetensors"
MODEL_DIR = "model"
#: What a run leaves in its directory (training/runs.py); --overwrite removes them.
RUN_FILES = (STATE_FILE, MODEL_DIR, "metrics.csv", "curves.png", "train.log")


def holds_run(directory: Path) -> bool:
    """True where ``directory`` holds a run's training state or best model."""
    return (directory / STATE_FILE).exists() or (directory / MODEL_DIR).exists()


def remove_run(directory: Path) -> None:
    """Remove the run that ``directory`` holds, and nothing else of it."""
    log.info("replacing the run in %s (--overwrite)", directory)
    try:
        for name in RUN_FILES:
            path = directory / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    except OSError as error:
        raise PoetryError(f"cannot replace the run in {directory}: {error.strerror}") from None


@contextlib.contextmanager
def run_log(path: Path | None) -> Iterator[None]:
    """Also log the package's messages to ``path`` while the block runs."""
    if path is None:
        yield
        return
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as error:
        raise PoetryError(f"cannot write {path}: {error.strerror or error}") from None
    handler.setFormatter(LOG_FORMAT)
    package = logging.getLogger("poetry_rnn")
    package.addHandler(handler)
    try:
        yield
    finally:
        package.removeHandler(handler)
        handler.close()
