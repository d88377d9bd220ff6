"""对联: reading the 联 a user gives, and judging a couplet, for ``check``, ``evaluate``, the
blind kit and the generator (which writes one through its plan and the one decoder).

A couplet is two 联 of one length (4 to 11 Han characters; a long one may hold one internal
comma, at the same place in both): the 上联 ends 仄, the 下联 平; their rhythm positions (the
even ones, :func:`poetry_rnn.poetics.patterns.couplet_rhythm`) take opposed tones; they are parallel
position by position (对仗, by the corpus-learned pair scores of
:mod:`poetry_rnn.poetics.parallelism`);
the 下联 borrows no character of the 上联, but repeats one where the 上联 repeats one, at the same
positions. Word segmentation and word classes come from jieba, a tagger of modern Chinese: they
are a rough measure of classical text, reported as such, and steer nothing.

Checking needs no model and no torch.
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import asdict, dataclass

from poetry_rnn.errors import PoetryError
from poetry_rnn.poetics.parallelism import pair_score, parallelism
from poetry_rnn.poetics.patterns import COUPLET_LENGTHS, couplet_rhythm
from poetry_rnn.poetics.tones import LEVEL, OBLIQUE, TONE_SIGNS, tone_of
from poetry_rnn.text import PUNCTUATION, is_han, user_text

UPPER, LOWER = "上联", "下联"
#: The most characters a user's 联 or couplet may have before it is read, marks included.
MAX_INPUT_CHARS = 100
_MARKS = re.compile(f"[{PUNCTUATION}]")


# --- reading ---------------------------------------------------------------------------------


def read_line(text: object, which: str = UPPER) -> list[str]:
    """A user's 联 (``which`` names it: 上联 or 下联), simplified: its one or two parts, split
    at its internal comma. Anything else is a :class:`PoetryError` of one line: an empty text,
    one of marks only, characters that are not Han, more than one internal mark, parts of
    fewer than 2 characters, fewer than 4 or more than 11 characters in all."""
    text = user_text(text, which, MAX_INPUT_CHARS)
    if not text:
        raise PoetryError(f"the {which} is empty")
    other = [c for c in dict.fromkeys(text) if not is_han(c) and c not in PUNCTUATION]
    if other:
        raise PoetryError(
            f"the {which} has characters that are not Han characters: {' '.join(other)}"
        )
    if not any(is_han(c) for c in text):
        raise PoetryError(f"the {which} has no Han characters, only marks")
    parts = _MARKS.split(text.rstrip(PUNCTUATION))
    if len(parts) > 2:
        raise PoetryError(f"the {which} has {len(parts) - 1} commas inside: a 联 has at most one")
    if "" in parts:
        raise PoetryError(f"the {which} has a mark where its characters should be: {text}")
    length = sum(map(len, parts))
    if length not in COUPLET_LENGTHS:
        raise PoetryError(
            f"the {which} has {length} characters: a 联 has "
            f"{COUPLET_LENGTHS[0]} to {COUPLET_LENGTHS[-1]}"
        )
    if len(parts) == 2 and min(map(len, parts)) < 2:
        raise PoetryError(f"the {which}'s comma stands between two parts of 2 or more characters")
    return parts


def joined(parts: list[str]) -> str:
    """A 联's parts as the pattern takes them: joined by its internal comma."""
    return "，".join(parts)


def refuse_level_upper(upper: str) -> None:
    """A 上联 that ends 平 reads as a 下联: one line saying so."""
    if tone_of(upper[-1]) == LEVEL:
        raise PoetryError(
            f"the 上联 ends 平 ({upper[-1]}): it reads as a 下联; "
            "--couplet-lower writes a 上联 for it"
        )


def refuse_oblique_lower(lower: str) -> None:
    """A 下联 that ends 仄 reads as a 上联: one line saying so."""
    if tone_of(lower[-1]) == OBLIQUE:
        raise PoetryError(
            f"the 下联 ends 仄 ({lower[-1]}): it reads as a 上联; --couplet writes a 下联 for it"
        )


def read_couplet(text: object) -> tuple[list[str], list[str]]:
    """A couplet to check: its 上联's parts and its 下联's. The 联 are split by a line break or
    ；, else by the marks: two parts are a 联 each, four are two 联 of two parts."""
    text = user_text(text, "couplet", 2 * MAX_INPUT_CHARS, keep_breaks=True).strip()
    halves = [h for h in re.split(r"[；\n]+", text) if h.strip(PUNCTUATION + " ")]
    if len(halves) != 2:
        chunks = [c for c in _MARKS.split("".join(text.split())) if c]
        if len(chunks) in (2, 4):
            cut = len(chunks) // 2
            halves = [joined(chunks[:cut]), joined(chunks[cut:])]
        else:
            raise PoetryError(
                "a couplet is a 上联 and a 下联, split by ； or a line break "
                "(or by a comma where neither has one inside)"
            )
    return read_line(halves[0], UPPER), read_line(halves[1], LOWER)


# --- judging ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """One position (1-based) of a couplet: the two characters, their tones (平, 仄 or
    either), whether the position is a rhythm position and the tones there are opposed (None
    where one is either or it is no rhythm position), and the pair's 对仗 score."""

    position: int
    upper: str
    lower: str
    upper_tone: str
    lower_tone: str
    rhythm: bool
    opposed: bool | None
    pair_score: float


@dataclass(frozen=True)
class CoupletReport:
    """What :func:`check_couplet` finds in a couplet (characters simplified)."""

    upper: str  # the 上联, its internal comma kept
    lower: str
    same_length: bool
    same_comma: bool  # the internal comma at the same place in both, or in neither
    upper_close: str  # the 上联's last tone: it wants 仄
    lower_close: str  # the 下联's: it wants 平
    closes_ok: bool
    tone_opposed: int  # rhythm positions whose known tones are opposed
    tone_checked: int  # rhythm positions where both tones are known
    borrowed: list[str]  # characters of the 上联 the 下联 uses at a position it does not repeat
    repeats_match: bool  # the 下联 repeats a character exactly where the 上联 does
    parallelism: float  # the corpus measure: the mean pair score over positions
    positions: list[Position]
    segments: list[list[str]]  # jieba's words of each 联
    same_segmentation: bool
    word_classes: list[list[str]]  # jieba's class of each word of the 上联 and the 下联
    same_class: int  # words spanning the same positions in both and of one class
    aligned_words: int  # words spanning the same positions in both

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def ok(self) -> bool:
        """Whether the rules a couplet must keep hold: length, comma, closes, no borrowing."""
        return (self.same_length and self.same_comma and self.closes_ok and not self.borrowed
                and self.repeats_match)  # fmt: skip


def _tone(char: str) -> str:
    tone = tone_of(char)
    return "either" if tone is None else tone


def borrowed_chars(upper: str, lower: str) -> list[str]:
    """Characters of ``upper`` that ``lower`` uses, but where ``upper`` repeats a character
    and ``lower`` repeats one at the same positions (marks left out)."""
    upper, lower = (_MARKS.sub("", line) for line in (upper, lower))
    mirrored = {
        lower[i] for i, j in itertools.combinations(range(min(len(upper), len(lower))), 2)
        if upper[i] == upper[j] and lower[i] == lower[j] and upper[i] != lower[i]
    }  # fmt: skip
    return [c for c in dict.fromkeys(lower) if c in upper and c not in mirrored]


def repeats_match(upper: str, lower: str) -> bool:
    """Whether ``lower`` repeats a character at exactly the pairs of positions ``upper`` does."""
    upper, lower = (_MARKS.sub("", line) for line in (upper, lower))
    pairs = itertools.combinations(range(min(len(upper), len(lower))), 2)
    return all((upper[i] == upper[j]) == (lower[i] == lower[j]) for i, j in pairs)


def _words(text: str) -> tuple[list[str], list[str]]:
    """jieba's words of ``text`` and their classes (the first letter of its part-of-speech
    tag: n noun, v verb, a adjective, m numeral, ...)."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    pairs = [(p.word, p.flag[:1]) for p in jieba.posseg.lcut(text)]
    return [w for w, _ in pairs], [f for _, f in pairs]


def _spans(words: list[str]) -> list[tuple[int, int]]:
    ends = list(itertools.accumulate(map(len, words)))
    return [(end - len(word), end) for word, end in zip(words, ends, strict=True)]


def check_couplet(text: str | tuple[str, str]) -> CoupletReport:
    """Check a couplet: ``text`` as :func:`read_couplet` reads it, or its (上联, 下联)."""
    if isinstance(text, tuple):
        upper_parts, lower_parts = read_line(text[0], UPPER), read_line(text[1], LOWER)
    else:
        upper_parts, lower_parts = read_couplet(text)
    upper, lower = "".join(upper_parts), "".join(lower_parts)
    rhythm = set(couplet_rhythm(len(upper)))
    positions = []
    for p, (a, b) in enumerate(zip(upper, lower, strict=False), start=1):
        ta, tb = tone_of(a), tone_of(b)
        known = p in rhythm and ta is not None and tb is not None
        positions.append(Position(p, a, b, _tone(a), _tone(b), p in rhythm,
                                  ta != tb if known else None, pair_score(a, b)))  # fmt: skip
    checked = [pos for pos in positions if pos.opposed is not None]
    (upper_words, upper_classes), (lower_words, lower_classes) = _words(upper), _words(lower)
    upper_spans = dict(zip(_spans(upper_words), upper_classes, strict=True))
    lower_spans = dict(zip(_spans(lower_words), lower_classes, strict=True))
    aligned = set(upper_spans) & set(lower_spans)
    return CoupletReport(
        upper=joined(upper_parts),
        lower=joined(lower_parts),
        same_length=len(upper) == len(lower),
        same_comma=[len(p) for p in upper_parts[:-1]] == [len(p) for p in lower_parts[:-1]],
        upper_close=_tone(upper[-1]),
        lower_close=_tone(lower[-1]),
        closes_ok=tone_of(upper[-1]) != LEVEL and tone_of(lower[-1]) != OBLIQUE,
        tone_opposed=sum(bool(pos.opposed) for pos in checked),
        tone_checked=len(checked),
        borrowed=borrowed_chars(upper, lower),
        repeats_match=repeats_match(upper, lower),
        parallelism=parallelism(upper, lower) if len(upper) == len(lower) else 0.0,
        positions=positions,
        segments=[upper_words, lower_words],
        same_segmentation=set(upper_spans) == set(lower_spans),
        word_classes=[upper_classes, lower_classes],
        same_class=sum(upper_spans[span] == lower_spans[span] for span in aligned),
        aligned_words=len(aligned),
    )


def format_couplet_report(report: CoupletReport) -> str:
    """The report for a terminal: the two 联 with tone signs, then each check in a line."""
    signs = {LEVEL: TONE_SIGNS[LEVEL], OBLIQUE: TONE_SIGNS[OBLIQUE], "either": TONE_SIGNS[None]}
    rows = [f"上联 {report.upper}", f"下联 {report.lower}", ""]
    rows.append("position  " + " ".join(f"{p.position:>2}" for p in report.positions))
    rows.append("上联      " + " ".join(f"{p.upper}" for p in report.positions))
    rows.append("          " + "  ".join(signs[p.upper_tone] for p in report.positions))
    rows.append("下联      " + " ".join(f"{p.lower}" for p in report.positions))
    rows.append("          " + "  ".join(signs[p.lower_tone] for p in report.positions))
    rows.append("对仗      " + " ".join(f"{p.pair_score:.1f}"[:3] for p in report.positions))
    rows.append("")
    length = "the same" if report.same_length else "different — a couplet's 联 are of one length"
    rows.append(f"length: {len(report.upper.replace('，', ''))} and "
                f"{len(report.lower.replace('，', ''))} characters, {length}")  # fmt: skip
    if not report.same_comma:
        rows.append("comma: not at the same place in both 联")
    closes = "as they should" if report.closes_ok else "the 上联 wants 仄, the 下联 平"
    rows.append(f"closes: 上联 {report.upper_close}, 下联 {report.lower_close} — {closes}")
    rows.append(f"tones: {report.tone_opposed} of {report.tone_checked} rhythm positions opposed")
    for p in report.positions:
        if p.opposed is False:
            rows.append(f"position {p.position} ({p.upper}/{p.lower}): both {p.upper_tone}")
    if report.borrowed:
        rows.append(f"borrowed from the 上联: {' '.join(report.borrowed)}")
    else:
        rows.append("borrowed from the 上联: none")
    if not report.repeats_match:
        rows.append("repeats: the 下联 does not repeat characters where the 上联 does")
    rows.append(f"对仗 (corpus measure, mean pair score): {report.parallelism:.2f}")
    words = " / ".join(" ".join(words) for words in report.segments)
    same = "the same" if report.same_segmentation else "different"
    rows.append(
        f"words (jieba, a modern tagger): {words} — segmentation {same}, "
        f"{report.same_class} of {report.aligned_words} aligned words of one class"
    )
    return "\n".join(rows)


# --- measures of many ------------------------------------------------------------------------

#: The measures of :func:`couplet_measures`, each with what it says.
MEASURES = (
    ("length", "same length as the 上联, the comma at the same place"),
    ("final_tone", "the 下联 ends 平 (or a character of either tone)"),
    ("no_borrowed", "no character of the 上联 borrowed, its repeats mirrored"),
    ("tone_opposition", "rhythm positions of known tones that are opposed"),
    ("parallelism", "对仗: mean pair score, the corpus measure (parallelism.parallelism)"),
    ("same_segmentation", "jieba segments both 联 alike (a modern tagger)"),
    ("same_word_class", "aligned words of one jieba class"),
)


def couplet_measures(pairs: list[tuple[str, str]]) -> dict:
    """The measures (:data:`MEASURES`) of the couplets (上联, 下联): the shares of couplets
    that keep each rule, the tone opposition and word classes pooled over their positions, the
    mean 对仗; with the number of couplets, ``n``."""
    reports = [check_couplet(pair) for pair in pairs]
    n = len(reports)
    if not n:
        raise PoetryError("no couplets to measure")
    checked = sum(r.tone_checked for r in reports)
    aligned = sum(r.aligned_words for r in reports)
    return {
        "n": n,
        "length": sum(r.same_length and r.same_comma for r in reports) / n,
        "final_tone": sum(r.lower_close != OBLIQUE for r in reports) / n,
        "no_borrowed": sum(not r.borrowed and r.repeats_match for r in reports) / n,
        "tone_opposition": sum(r.tone_opposed for r in reports) / checked if checked else None,
        "parallelism": sum(r.parallelism for r in reports) / n,
        "same_segmentation": sum(r.same_segmentation for r in reports) / n,
        "same_word_class": sum(r.same_class for r in reports) / aligned if aligned else None,
    }
