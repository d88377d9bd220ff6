"""Build ``cipai.json``: the patterns of the 词牌, derived from the Song ci of the corpus.

    python -m poetry_rnn.poetics.build_cipai --corpus PATH [--out-dir DIR] [--min-ci 150]

``宋词/ci.song.*.json`` of a chinese-poetry checkout holds the ci, in simplified characters, each
with its 词牌 (``rhythmic``) and its text as paragraphs, a paragraph a sentence ending in 。.
Every tune with at least ``--min-ci`` ci (失调名, "tune lost", is none) gets its patterns,
unless no shape of it makes a variant (below).

Reading. A ci's text loses editors' notes and title marks (the cleaning rules of
:mod:`poetry_rnn.corpus.cleaning`); a ci with a lost character (□) or anything but Han characters
and the marks ，。、？！； is not read. Its lines are the runs between marks, each with the mark
that closes it (？！ count as 。, ； as ，). Its *shape* is the sequence of its line lengths.

Variants (又一体). The distinct shapes of a tune's read ci, those held by at least
``VARIANT_SHARE`` of them or by ``VARIANT_MIN_CI`` ci, the most common first. Each variant is
derived from its own ci only:

- rhyme: the last characters of lines i and j rhyme in a ci when they share a group of 词林正韵
  (``rhymes.rhyme_groups(char, "cilin")``: the 平, 仄 or 入 part of a 部). A line rhymes
  when it rhymes so with another line in at least ``RHYME_AGREEMENT`` of the ci. Rhyme lines
  form segments (换韵) in reading order: a line joins the earlier segment it rhymes with most,
  on average over the segment's lines, where that reaches ``RHYME_AGREEMENT``, or opens a new
  one. A segment's tone class is the tone (平, 仄 or 入) of the groups its lines share, by
  majority over the ci where they share groups of one tone only.
- tones: at each position, the share of 平 among the ci whose character there has a tone
  (``tones.tone_of``); 平 where it reaches ``TONE_AGREEMENT``, 仄 where the share of 仄
  does, 中 (either) otherwise. The last position of a rhyme line takes its segment's tone
  (平, or 仄 for 仄 and 入).
- marks: 。 after a rhyme line and after a line most ci end with 。; ， otherwise (、 reads as
  ，, as the cleaning rules read it in every poem).
- stanzas: the corpus marks no 片, so the break is found from the shape. A shape of fewer than
  ``SINGLE_STANZA_CHARS`` characters is 单调 (the shortest 双调 令, 长相思 and 相见欢, have 36).
  Otherwise the 下片 starts after a rhyme line that ends a sentence (。 in most ci): the one
  that splits the characters most evenly, ties going to the break whose halves share the
  longer run of final line lengths (the 下片 repeats the 上片's close).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from poetry_rnn.corpus.cleaning import (
    drop_lost_characters,
    strip_annotations,
    strip_markup_and_ascii,
    strip_title_marks,
)
from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli, setup_logging
from poetry_rnn.files import write_text_atomic
from poetry_rnn.poetics.build_prosody_tables import read_records
from poetry_rnn.poetics.rhymes import CILIN, cilin_tone, rhyme_groups
from poetry_rnn.poetics.tones import LEVEL, OBLIQUE, tone_of
from poetry_rnn.text import HAN_RANGES

log = logging.getLogger("poetry_rnn.poetics.build_cipai")  # also when run as __main__

PACKAGE_DIR = Path(__file__).parents[1]
CIPAI_TABLE = "cipai.json"
CI_FOLDER = "宋词"
CI_FILES = "ci.song.*.json"
#: The 词牌 of the ci whose tune is lost.
UNKNOWN_TUNE = "失调名"

#: The defaults the shipped table was built with: a tune's least ci; a variant's least share
#: of its tune's read ci, or its least ci; the share of a variant's ci a line must rhyme in;
#: the share of one tone that fixes a position; the fewest characters of a 双调 shape.
MIN_CI = 150
VARIANT_SHARE = 0.10
VARIANT_MIN_CI = 30
RHYME_AGREEMENT = 0.5
TONE_AGREEMENT = 0.8
SINGLE_STANZA_CHARS = 36

#: A position either tone may take, and the marks a pattern closes its lines with.
EITHER_TONE = "中"
FULL_STOP, COMMA = "。", "，"
#: The corpus's marks as a pattern reads them.
_MARKS = {"。": FULL_STOP, "？": FULL_STOP, "！": FULL_STOP, "，": COMMA, "；": COMMA, "、": COMMA}
_LINE = re.compile(f"([{HAN_RANGES}]+)([{''.join(_MARKS)}])")
_READABLE = re.compile(f"(?:[{HAN_RANGES}]+[{''.join(_MARKS)}])+")


@dataclass(frozen=True)
class Ci:
    """A ci as the build reads it: its lines and the mark closing each."""

    lines: tuple[str, ...]
    marks: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(line) for line in self.lines)


def read_ci(paragraphs: Sequence[str]) -> Ci | None:
    """A ci's lines and marks; None for a text with a lost or a foreign character."""
    text = strip_annotations("".join(paragraphs))
    text = drop_lost_characters(text)
    if text is None:
        return None
    text = strip_markup_and_ascii(strip_title_marks(text)).replace(" ", "")
    if not _READABLE.fullmatch(text):
        return None
    pairs = _LINE.findall(text)
    return Ci(tuple(line for line, _ in pairs), tuple(_MARKS[mark] for _, mark in pairs))


def read_tunes(corpus: Path) -> tuple[Counter, dict[str, list[Ci]]]:
    """Every tune's number of ci, and its readable ci, from ``corpus``'s 宋词 files."""
    folder = corpus / CI_FOLDER if (corpus / CI_FOLDER).is_dir() else corpus
    files = sorted(folder.glob(CI_FILES))
    if not files:
        raise PoetryError(f"no {CI_FOLDER}/{CI_FILES} files in {corpus}")
    counts: Counter = Counter()
    read: dict[str, list[Ci]] = {}
    for path in tqdm(files, desc="reading", unit="file", disable=len(files) < 2):
        for record in read_records(path):
            tune, paragraphs = record.get("rhythmic"), record.get("paragraphs")
            if not isinstance(tune, str) or not isinstance(paragraphs, list):
                raise PoetryError(f"malformed file {path}: a ci without rhythmic or paragraphs")
            counts[tune] += 1
            ci = read_ci([p for p in paragraphs if isinstance(p, str)])
            if ci is not None:
                read.setdefault(tune, []).append(ci)
    return counts, read


# --- one variant ---------------------------------------------------------------------------


def rhymes_with(cis: Sequence[Ci]) -> list[list[float]]:
    """For each pair of lines, the share of ``cis`` whose last characters share a group of
    词林正韵."""
    n = len(cis[0].lines)
    together = [[0] * n for _ in range(n)]
    for ci in cis:
        groups = [rhyme_groups(line[-1], CILIN) for line in ci.lines]
        for i in range(n):
            for j in range(i + 1, n):
                if groups[i] & groups[j]:
                    together[i][j] += 1
                    together[j][i] += 1
    return [[count / len(cis) for count in row] for row in together]


def rhyme_segments(agreement: list[list[float]]) -> list[int | None]:
    """Each line's rhyme segment (numbered in reading order), or None for a line that does
    not rhyme."""
    segments: list[list[int]] = []
    rhyme: list[int | None] = []
    for i, row in enumerate(agreement):
        if max(row) < RHYME_AGREEMENT:
            rhyme.append(None)
            continue
        scores = [sum(row[j] for j in lines) / len(lines) for lines in segments]
        best = max(range(len(segments)), key=scores.__getitem__, default=None)
        if best is None or scores[best] < RHYME_AGREEMENT:
            segments.append([i])
            rhyme.append(len(segments) - 1)
        else:
            segments[best].append(i)
            rhyme.append(best)
    return rhyme


def segment_tones(cis: Sequence[Ci], rhyme: list[int | None]) -> list[str]:
    """Each segment's tone class: the tone of the groups its lines share in most ci."""
    votes: list[Counter] = [Counter() for _ in range(max(s for s in rhyme if s is not None) + 1)]
    for ci in cis:
        for segment, counter in enumerate(votes):
            ends = [ci.lines[i][-1] for i, s in enumerate(rhyme) if s == segment]
            shared = frozenset.intersection(*(rhyme_groups(char, CILIN) for char in ends))
            tones = {cilin_tone(group) for group in shared}
            if len(tones) == 1:
                counter[tones.pop()] += 1
    return [counter.most_common(1)[0][0] if counter else OBLIQUE for counter in votes]


def position_tones(cis: Sequence[Ci], line: int) -> list[str]:
    """平, 仄 or 中 at each position of ``line``, by the share of the ci agreeing."""
    tones = []
    for position in range(len(cis[0].lines[line])):
        counts = Counter(tone_of(ci.lines[line][position]) for ci in cis)
        known = counts[LEVEL] + counts[OBLIQUE]
        if known and counts[LEVEL] >= TONE_AGREEMENT * known:
            tones.append(LEVEL)
        elif known and counts[OBLIQUE] >= TONE_AGREEMENT * known:
            tones.append(OBLIQUE)
        else:
            tones.append(EITHER_TONE)
    return tones


def line_mark(cis: Sequence[Ci], line: int, rhymes: bool) -> str:
    """The mark closing ``line``: 。 after a rhyme, else the corpus's majority mark."""
    counts = Counter(ci.marks[line] for ci in cis)
    mark, count = counts.most_common(1)[0]
    if rhymes or (mark == FULL_STOP and 2 * count > len(cis)):
        return FULL_STOP
    return COMMA


def stanza_break(shape: Sequence[int], breaks: Sequence[int]) -> list[int]:
    """The lines of each stanza: ``[len(shape)]`` for a 单调 shape, else split at the one of
    ``breaks`` (lines after which a 下片 may start) that halves the characters most evenly."""
    if sum(shape) < SINGLE_STANZA_CHARS or not breaks:
        return [len(shape)]

    def cost(b: int) -> tuple[int, int]:
        first, second = shape[:b], shape[b:]
        common = next(
            (k for k in range(min(len(first), len(second))) if first[-1 - k] != second[-1 - k]),
            min(len(first), len(second)),
        )
        return abs(sum(first) - sum(second)), -common

    b = min(breaks, key=cost)
    return [b, len(shape) - b]


def derive_variant(cis: Sequence[Ci]) -> dict:
    """The pattern of one shape, from its ci."""
    rhyme = rhyme_segments(rhymes_with(cis))
    segments = segment_tones(cis, rhyme) if any(s is not None for s in rhyme) else []
    lines = []
    for i, segment in enumerate(rhyme):
        tones = position_tones(cis, i)
        if segment is not None:
            tones[-1] = LEVEL if segments[segment] == LEVEL else OBLIQUE
        mark = line_mark(cis, i, segment is not None)
        lines.append({"tones": "".join(tones), "rhyme": segment, "mark": mark})
    shape = cis[0].shape
    breaks = [i + 1 for i in range(len(shape) - 1) if lines[i]["rhyme"] is not None
              and lines[i]["mark"] == FULL_STOP]  # fmt: skip
    return {"ci": len(cis), "stanzas": stanza_break(shape, breaks), "lines": lines,
            "segments": segments}  # fmt: skip


def derive_tune(cis: Sequence[Ci]) -> list[dict]:
    """The variants of a tune, the most common shape first."""
    shapes = Counter(ci.shape for ci in cis)
    least = min(VARIANT_MIN_CI, VARIANT_SHARE * len(cis))
    return [
        derive_variant([ci for ci in cis if ci.shape == shape])
        for shape, count in sorted(shapes.items(), key=lambda item: (-item[1], item[0]))
        if count >= least
    ]


# --- the table -----------------------------------------------------------------------------


def about(min_ci: int) -> str:
    """How the table was derived, for its readers."""
    return (
        f"词牌 patterns derived from chinese-poetry {CI_FOLDER}/{CI_FILES} by "
        f"python -m poetry_rnn.poetics.build_cipai: tunes of at least {min_ci} ci; "
        f"variants (又一体) "
        f"the shapes (line lengths) of at least {VARIANT_SHARE:.0%} of a tune's read ci or "
        f"{VARIANT_MIN_CI} ci; a line rhymes when its last character shares a group of "
        f"词林正韵 with another line's in at least {RHYME_AGREEMENT:.0%} of the variant's ci; "
        f"a position is 平 or 仄 where {TONE_AGREEMENT:.0%} of the ci agree (tones.tone_of), "
        f"else 中; the 下片 starts after the rhyme sentence that halves the characters most "
        f"evenly, shapes under {SINGLE_STANZA_CHARS} characters are 单调. See docs/cipai.md."
    )


def cipai_json(tunes: dict[str, dict], min_ci: int) -> str:
    """The table as JSON, a tune a line."""
    rows = ",\n".join(
        f"{json.dumps(name, ensure_ascii=False)}: "
        f"{json.dumps(tune, ensure_ascii=False, separators=(',', ':'))}"
        for name, tune in tunes.items()
    )
    return (
        f'{{"about": {json.dumps(about(min_ci), ensure_ascii=False)},\n"tunes": {{\n{rows}\n}}}}\n'
    )


def build_cipai(
    corpus: str | Path, out_dir: str | Path = PACKAGE_DIR, min_ci: int = MIN_CI
) -> list[tuple[str, int, int, int]]:
    """Derive the patterns and write ``cipai.json``; returns, for each tune, its ci, its read
    ci and those of its main shape."""
    corpus, out_dir = Path(corpus), Path(out_dir)
    if not corpus.is_dir():
        raise PoetryError(f"corpus not found: {corpus}")
    if min_ci < 1:
        raise PoetryError(f"--min-ci must be at least 1, got {min_ci}")
    counts, read = read_tunes(corpus)
    chosen = [
        name
        for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if count >= min_ci and name != UNKNOWN_TUNE and read.get(name)
    ]
    if not chosen:
        raise PoetryError(f"no tune of {corpus} has {min_ci} ci")
    tunes, report = {}, []
    for name in tqdm(chosen, desc="deriving", unit="tune"):
        variants = derive_tune(read[name])
        if not variants:  # no shape is common enough: the poets wrote it too many ways
            log.info("%s: no shape of %d ci is a variant", name, len(read[name]))
            continue
        tunes[name] = {"ci": counts[name], "variants": variants}
        report.append((name, counts[name], len(read[name]), variants[0]["ci"]))
    write_text_atomic(out_dir / CIPAI_TABLE, cipai_json(tunes, min_ci))
    log.info("wrote %s", out_dir / CIPAI_TABLE)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.poetics.build_cipai",
        description="Derive the 词牌 patterns (cipai.json) from the Song ci of the corpus.",
    )
    parser.add_argument("--corpus", required=True, help="a chinese-poetry checkout")
    parser.add_argument("--out-dir", default=PACKAGE_DIR, help="default: the package folder")
    parser.add_argument(
        "--min-ci", type=int, default=MIN_CI, help="a tune's least ci (%(default)s)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    start = time.perf_counter()
    report = build_cipai(args.corpus, args.out_dir, args.min_ci)
    print("tune | ci | read | main shape | share of read")
    for name, count, readable, main_shape in report:
        print(f"{name} | {count} | {readable} | {main_shape} | {main_shape / readable:.1%}")
    print(f"tunes: {len(report)}")
    print(f"seconds: {time.perf_counter() - start:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
