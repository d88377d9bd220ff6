"""Build the shipped tone table (``poetry_rnn/tones.json``) from the Tang strains data.

``strains/json/poet.tang.*.json`` of a chinese-poetry checkout labels every character of every
Tang poem 平 or 仄 (○ unknown), one label string per paragraph with the punctuation in the same
places. Each aligned paragraph adds its labels to its characters (simplified one by one); a
character seen at least ``min_count`` times whose majority label reaches ``agreement`` gets
that label, one seen as often without such a majority is "either".

    python -m poetry_rnn.build_tones --corpus PATH [--out poetry_rnn/tones.json]
                                     [--min-count 5] [--agreement 0.8]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from poetry_rnn.corpus import POEM_FOLDER
from poetry_rnn.errors import PoetryError, run_cli, setup_logging
from poetry_rnn.files import write_text_atomic
from poetry_rnn.prosody import EITHER, LEVEL, OBLIQUE
from poetry_rnn.text import is_han, to_simplified

log = logging.getLogger("poetry_rnn.build_tones")  # also when run as __main__

STRAINS_FOLDER = "strains/json"
TANG_FILES = "poet.tang.*.json"
SOURCE = f"chinese-poetry {STRAINS_FOLDER}/{TANG_FILES}"
DEFAULT_OUT = Path(__file__).with_name("tones.json")
#: Labels the strains give a character; only 平 and 仄 are counted (○ unknown, 通 either).
CHAR_LABELS = "平仄○通"
#: The strains' mark for a position they could not label (a rare character, a bracket).
UNLABELLED = "？"
#: The lines of the report, in order.
REPORT = (
    "poems",
    "poems skipped: no matching poem",
    "poems skipped: paragraph count",
    "paragraphs aligned",
    "paragraphs skipped",
    LEVEL,
    OBLIQUE,
    EITHER,
    "seconds",
)


def read_records(path: Path) -> list[dict]:
    """The JSON list of objects in ``path``."""
    try:
        records = json.loads(path.read_bytes())
    except OSError as error:
        raise PoetryError(f"cannot read {path}: {error.strerror or error}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PoetryError(f"malformed JSON in {path}: {error}") from error
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise PoetryError(f"malformed file {path}: expected a JSON list of objects")
    return records


def _files(folder: Path) -> list[Path]:
    files = sorted(folder.glob(TANG_FILES))
    if not files:
        raise PoetryError(f"no {TANG_FILES} files in {folder}")
    return files


def aligned(paragraph: str, strain: str) -> bool:
    """True when ``strain`` labels ``paragraph``: same length, punctuation in the same places.

    A character label must stand over a Han character, any other mark over anything else;
    the unlabelled mark ？ stands over anything.
    """
    return len(paragraph) == len(strain) and all(
        label == UNLABELLED or is_han(char) == (label in CHAR_LABELS)
        for char, label in zip(paragraph, strain, strict=True)
    )


def labelled_chars(corpus: Path, stats: Counter) -> Iterator[tuple[str, str]]:
    """(traditional character, 平 or 仄) for every labelled character of aligned paragraphs."""
    poems: dict[str, object] = {}
    for path in _files(corpus / POEM_FOLDER):
        poems.update((r.get("id"), r.get("paragraphs")) for r in read_records(path))
    for path in _files(corpus / STRAINS_FOLDER):
        for record in read_records(path):
            stats["poems"] += 1
            paragraphs, strains = poems.get(record.get("id")), record.get("strains")
            if not isinstance(paragraphs, list) or not isinstance(strains, list):
                stats["poems skipped: no matching poem"] += 1
            elif len(paragraphs) != len(strains):
                stats["poems skipped: paragraph count"] += 1
            else:
                yield from _labelled_paragraphs(paragraphs, strains, stats)


def _labelled_paragraphs(
    paragraphs: list, strains: list, stats: Counter
) -> Iterator[tuple[str, str]]:
    for paragraph, strain in zip(paragraphs, strains, strict=True):
        if isinstance(paragraph, str) and isinstance(strain, str) and aligned(paragraph, strain):
            stats["paragraphs aligned"] += 1
            yield from (
                (c, t) for c, t in zip(paragraph, strain, strict=True) if t in (LEVEL, OBLIQUE)
            )
        else:
            stats["paragraphs skipped"] += 1


def count_tones(pairs: Iterable[tuple[str, str]]) -> dict[str, Counter]:
    """Per simplified character, how often it is labelled 平 and 仄."""
    simplified: dict[str, str] = {}
    counts: dict[str, Counter] = {}
    for char, tone in pairs:
        if char not in simplified:
            simplified[char] = to_simplified(char)
        counts.setdefault(simplified[char], Counter())[tone] += 1
    return counts


def tone_labels(counts: dict[str, Counter], min_count: int, agreement: float) -> dict[str, str]:
    """Character → 平, 仄 or "either" for characters labelled at least ``min_count`` times."""
    labels = {}
    for char, count in counts.items():
        total = count[LEVEL] + count[OBLIQUE]
        if total < min_count:
            continue
        tone = LEVEL if count[LEVEL] >= count[OBLIQUE] else OBLIQUE
        labels[char] = tone if count[tone] / total >= agreement else EITHER
    return labels


def table_json(labels: dict[str, str], min_count: int, agreement: float) -> str:
    """The table as compact JSON: each label's characters as one string, in code-point order."""
    table: dict[str, object] = {
        label: "".join(sorted(c for c, tone in labels.items() if tone == label))
        for label in (LEVEL, OBLIQUE, EITHER)
    }
    table.update(source=SOURCE, min_count=min_count, agreement=agreement)
    return json.dumps(table, ensure_ascii=False, separators=(",", ":")) + "\n"


def build_tones(
    corpus: str | Path, out: str | Path = DEFAULT_OUT, min_count: int = 5, agreement: float = 0.8
) -> Counter:
    """Count, label and write the table; returns the counts for the report."""
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise PoetryError(f"corpus not found: {corpus}")
    if min_count < 1:
        raise PoetryError(f"--min-count must be at least 1, got {min_count}")
    if not 0.5 < agreement <= 1:
        raise PoetryError(f"--agreement must be above 0.5 and at most 1, got {agreement}")
    stats: Counter = Counter()
    labels = tone_labels(count_tones(labelled_chars(corpus, stats)), min_count, agreement)
    write_text_atomic(out, table_json(labels, min_count, agreement))
    stats.update(Counter(labels.values()))
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m poetry_rnn.build_tones",
        description="Build the 平/仄 table of simplified characters from the Tang strains data.",
    )
    parser.add_argument("--corpus", required=True, help="a chinese-poetry checkout")
    parser.add_argument("--out", default=DEFAULT_OUT, help="default: poetry_rnn/tones.json")
    parser.add_argument("--min-count", type=int, default=5, help="occurrences needed (default 5)")
    parser.add_argument("--agreement", type=float, default=0.8, help="majority share (0.8)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    start = time.perf_counter()
    stats = build_tones(args.corpus, args.out, args.min_count, args.agreement)
    stats["seconds"] = round(time.perf_counter() - start, 1)
    log.info("wrote %s", args.out)
    for name in REPORT:
        print(f"{name}: {stats[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
