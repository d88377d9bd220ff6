"""Finding and reading poem files in the chinese-poetry JSON layout."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from tqdm import tqdm

from poetry_rnn.errors import PoetryError
from poetry_rnn.files import user_path

log = logging.getLogger(__name__)

#: The folder of a chinese-poetry checkout that holds the shi collections.
POEM_FOLDER = "全唐诗"
#: The folder that holds the Song ci, each titled by its 词牌 (``rhythmic``).
CI_FOLDER = "宋词"
#: Collections of a chinese-poetry checkout, by the name ``--include`` takes: (folder, glob).
COLLECTIONS: dict[str, tuple[str, str]] = {
    "tang": (POEM_FOLDER, "poet.tang.*.json"),
    "song": (POEM_FOLDER, "poet.song.*.json"),
    "tang300": (POEM_FOLDER, "唐诗三百首.json"),
    "ci": (CI_FOLDER, "ci.song.*.json"),
}
DEFAULT_INCLUDE = ("tang",)


@dataclass(frozen=True)
class RawPoem:
    """A poem as a corpus file holds it: paragraphs joined, nothing cleaned."""

    author: str
    title: str  # a ci's title is its 词牌
    text: str
    source: str  # the collection it came from (a name of COLLECTIONS), or "other"


def find_poem_files(corpus: str | Path, include: tuple[str, ...] = DEFAULT_INCLUDE) -> list[Path]:
    """The poem files to read from ``corpus``: one JSON file, or a folder.

    In a chinese-poetry checkout (or its ``全唐诗`` or ``宋词`` folder) the ``include``
    collections are picked; any other folder gives every ``*.json`` file below it.
    """
    path = user_path(corpus, "the corpus")
    if not path.exists():
        raise PoetryError(f"corpus not found: {path}")
    if path.is_file():
        return [path]
    unknown = [name for name in include if name not in COLLECTIONS]
    if unknown:
        raise PoetryError(
            f"unknown collection {unknown[0]!r}; choose from {', '.join(COLLECTIONS)}"
        )
    checkout = path.parent if path.name in (POEM_FOLDER, CI_FOLDER) else path
    folders = {
        name: _collection_folder(checkout, path, folder)
        for name, (folder, _) in COLLECTIONS.items()
    }
    if any(any(folders[name].glob(glob)) for name, (_, glob) in COLLECTIONS.items()):
        files = [file for name in include for file in folders[name].glob(COLLECTIONS[name][1])]
        if not files:
            raise PoetryError(f"no {'/'.join(include)} poem files in {path}")
    else:
        files = [file for file in path.rglob("*.json") if file.is_file()]
        if not files:
            raise PoetryError(f"no poem files (*.json) in {path}")
    return sorted(set(files), key=_natural_key)


def _collection_folder(checkout: Path, path: Path, folder: str) -> Path:
    """Where a collection's files lie: its folder in a checkout, else the folder given."""
    return checkout / folder if (checkout / folder).is_dir() else path


def _natural_key(path: Path) -> tuple:
    """Sort poet.tang.2000.json before poet.tang.10000.json: the path's runs of digits 0-9 as
    numbers. Splitting on them leaves text at even places and numbers at odd ones, so that two
    keys always compare text with text and numbers with numbers."""
    parts = re.split(r"([0-9]+)", path.as_posix())
    return tuple(int(part) if place % 2 else part for place, part in enumerate(parts))


def collection_of(path: Path) -> str:
    """The collection a poem file belongs to, by its name; "other" outside the collections."""
    return next(
        (name for name, (_, glob) in COLLECTIONS.items() if fnmatch(path.name, glob)), "other"
    )


def read_poem_file(path: Path) -> list[RawPoem]:
    """The poems of one JSON file: a list of objects with ``paragraphs``."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PoetryError(f"cannot read poem file {path}: {error.strerror}") from error
    try:
        records = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PoetryError(f"malformed poem file {path}: {error}") from error
    except RecursionError:
        raise PoetryError(f"malformed poem file {path}: nested too deeply") from None
    if not isinstance(records, list):
        raise PoetryError(f"malformed poem file {path}: expected a JSON list of poems")
    poems = []
    source = collection_of(path)
    for number, record in enumerate(records):
        if not isinstance(record, dict):
            raise PoetryError(f"malformed poem file {path}: item {number} is not an object")
        paragraphs = record.get("paragraphs")
        if not isinstance(paragraphs, list) or not all(isinstance(p, str) for p in paragraphs):
            raise PoetryError(
                f"malformed poem file {path}: item {number} has no list of 'paragraphs'"
            )
        poems.append(
            RawPoem(
                author=str(record.get("author") or ""),
                title=str(record.get("title") or record.get("rhythmic") or ""),
                text="".join(paragraphs),
                source=source,
            )
        )
    return poems


def read_corpus(
    corpus: str | Path,
    include: tuple[str, ...] = DEFAULT_INCLUDE,
    skip_bad: bool = False,
    progress: bool = True,
) -> tuple[list[RawPoem], list[Path], list[Path]]:
    """Read every poem of ``corpus``; returns (poems, files read, bad files skipped).

    A folder's JSON files that hold no poems at all (such as ``authors.tang.json``) are
    passed over; a malformed file raises unless ``skip_bad``.
    """
    files = find_poem_files(corpus, include)
    single_file = len(files) == 1 and Path(corpus).is_file()
    poems: list[RawPoem] = []
    read: list[Path] = []
    bad: list[Path] = []
    for path in tqdm(files, desc="reading", unit="file", disable=not progress or len(files) < 2):
        try:
            poems.extend(read_poem_file(path))
            read.append(path)
        except PoetryError as error:
            if not single_file and _holds_no_poems(path):
                log.debug("passing over %s: not a poem file", path)
            elif skip_bad:
                log.warning("skipping %s", error)
                bad.append(path)
            else:
                raise PoetryError(f"{error} (--skip-bad skips such files)") from None
    if not poems:
        raise PoetryError(f"no poems in {corpus}")
    return poems, read, bad


def _holds_no_poems(path: Path) -> bool:
    """A well-formed JSON list of objects none of which has ``paragraphs``."""
    try:
        records = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    return (
        isinstance(records, list)
        and all(isinstance(r, dict) for r in records)
        and not any("paragraphs" in r for r in records)
    )
