"""Cleaning raw corpus text into canonical poem text, one named rule at a time.

Each rule takes a poem's text and returns the cleaned text, or None to drop the poem. The
rules run in the order of :data:`RULES`; :func:`clean_texts` counts, per rule, how many poems
it changed or dropped, and finally drops duplicates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from poetry_rnn.text import HAN_RANGES, PUNCTUATION, han_count, to_simplified

#: Poems with fewer Han characters than this (one 五言 couplet) are too short to learn from.
MIN_CHARS = 10

_NUMERALS = "一二三四五六七八九十○〇"
_INNERMOST_ANNOTATION = re.compile(r"（[^（）]*）|\([^()]*\)|〖[^〖〗]*〗|【[^【】]*】")
_SQUARE_BRACKETS = re.compile(r"[\[［]([^\[\]［］]*)[\]］]")
_RESTORED_CHAR = re.compile(f"[{HAN_RANGES}]")
_DESCRIBED_CHAR = re.compile(r"\{[^{}]*\}")
_LOST_CHAR = re.compile("[□■○●◯◎△▲◇◆\u2ff0-\u2fff\ufffd\ue000-\uf8ff]")
_TITLE_MARKS = re.compile("[《》〈〉]")
_MARKUP = re.compile(r"<[^<>]*>|&[a-zA-Z]+;|&#\d+;")
_ASCII_AND_DIGITS = re.compile(r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ\"#$%&'*+/<=>@\\^_`|~\-]")
_PUNCTUATION_MAP = str.maketrans(",.?!;:：、．﹐﹒", "，。？！；，，，。，。")
_DROPPED_MARKS = re.compile(r"[「」『』“”‘’\"'…—─·・\s]+")
_PUNCTUATION_RUN = re.compile(f"[{PUNCTUATION}]+")
_NOT_ALLOWED = re.compile(f"[^{HAN_RANGES}{PUNCTUATION}]")


def strip_annotations(text: str) -> str:
    """Remove editors' notes in （）, (), 〖〗, 【】 and [], nested ones too.

    A single Han character in [] is an editor's restoration of the verse (``[爽]節在重九``):
    the brackets go, the character stays. Curly braces describe a lost character and are left
    for :func:`drop_lost_characters`.
    """
    previous = None
    while previous != text:
        previous, text = text, _INNERMOST_ANNOTATION.sub("", text)
    return _SQUARE_BRACKETS.sub(_restored_or_nothing, text)


def _restored_or_nothing(match: re.Match[str]) -> str:
    inner = match.group(1)
    if _RESTORED_CHAR.fullmatch(inner) and inner not in _NUMERALS:
        return inner
    return ""


def drop_lost_characters(text: str) -> str | None:
    """Drop poems with a lost character: □, ○ and the like, or a ``{…}`` or ⿰ description."""
    if _LOST_CHAR.search(text) or _DESCRIBED_CHAR.search(text):
        return None
    return text


def strip_title_marks(text: str) -> str:
    """Remove the book-title marks 《》〈〉; inside a verse the title's characters are verse."""
    return _TITLE_MARKS.sub("", text)


def strip_markup_and_ascii(text: str) -> str:
    """Remove markup tags and entities, stray digits, Latin letters and ASCII symbols."""
    return _ASCII_AND_DIGITS.sub("", _MARKUP.sub("", text))


def normalise_punctuation(text: str) -> str:
    """Keep only ，。？！； as line ends: map the others, drop quotes and ellipses, end with 。."""
    text = _DROPPED_MARKS.sub("", text.translate(_PUNCTUATION_MAP))
    text = _PUNCTUATION_RUN.sub(lambda run: run.group()[-1], text).lstrip(PUNCTUATION)
    if not text:
        return text
    if text[-1] not in "。？！":
        text = text.rstrip(PUNCTUATION) + "。"
    return text


def drop_non_han(text: str) -> str | None:
    """Drop poems that still hold anything but Han characters and the five punctuation marks."""
    return None if _NOT_ALLOWED.search(text) else text


def drop_too_short(text: str) -> str | None:
    """Drop empty poems and poems shorter than one 五言 couplet."""
    return text if han_count(text) >= MIN_CHARS else None


@dataclass(frozen=True)
class Rule:
    """A cleaning step: ``apply`` returns the new text, or None to drop the poem."""

    name: str
    apply: Callable[[str], str | None]
    drops: bool = False


#: The cleaning rules in the order they run; duplicates are dropped after all of them.
RULES: tuple[Rule, ...] = (
    Rule("annotations", strip_annotations),
    Rule("lost_characters", drop_lost_characters, drops=True),
    Rule("title_marks", strip_title_marks),
    Rule("markup_and_ascii", strip_markup_and_ascii),
    Rule("punctuation", normalise_punctuation),
    Rule("non_han", drop_non_han, drops=True),
    Rule("too_short", drop_too_short, drops=True),
    Rule("simplified", to_simplified),
)
DUPLICATES = "duplicates"


@dataclass
class CleaningReport:
    """How many poems each rule changed or dropped."""

    changed: dict[str, int] = field(
        default_factory=lambda: {rule.name: 0 for rule in RULES if not rule.drops}
    )
    dropped: dict[str, int] = field(
        default_factory=lambda: {rule.name: 0 for rule in RULES if rule.drops} | {DUPLICATES: 0}
    )


def clean_text(text: str, report: CleaningReport | None = None) -> str | None:
    """Run every rule on one poem's text; None when a rule drops it."""
    for rule in RULES:
        cleaned = rule.apply(text)
        if report is not None:
            if cleaned is None:
                report.dropped[rule.name] += 1
            elif cleaned != text:
                report.changed[rule.name] += 1
        if cleaned is None:
            return None
        text = cleaned
    return text


# --- titles -------------------------------------------------------------------------------

#: A title is cut to this many characters: longer ones are prefaces more than titles.
MAX_TITLE_CHARS = 16
_SERIES_TAIL = re.compile(f"\\s+[其第{_NUMERALS}百].*$")
_SERIES_COUNT = re.compile(f"[{_NUMERALS}百]+首$")
_NOT_HAN = re.compile(f"[^{HAN_RANGES}]")


def strip_series_number(title: str) -> str:
    """Remove a poem's number in its series: ``秋兴八首 其一`` and ``杂诗 二`` lose the tail,
    ``寒夜思友三首`` its count."""
    return _SERIES_COUNT.sub("", _SERIES_TAIL.sub("", title.strip()))


def keep_han(title: str) -> str:
    """Keep only the Han characters: a title is one phrase, without marks."""
    return _NOT_HAN.sub("", title)


def cut_title(title: str) -> str:
    """Cut a title to :data:`MAX_TITLE_CHARS` characters."""
    return title[:MAX_TITLE_CHARS]


#: The title rules in the order they run; a title they leave empty is the empty title.
TITLE_RULES: tuple[Rule, ...] = (
    Rule("annotations", strip_annotations),
    Rule("series_number", strip_series_number),
    Rule("title_marks", strip_title_marks),
    Rule("han_only", keep_han),
    Rule("simplified", to_simplified),
    Rule("length", cut_title),
)


def clean_title(title: str) -> str:
    """A corpus title as the model reads it: numbering, notes and marks gone, simplified,
    cut; "" where nothing usable is left."""
    for rule in TITLE_RULES:
        title = rule.apply(title)
    return title


def clean_texts(texts: Iterable[str]) -> tuple[list[int], list[str], CleaningReport]:
    """Clean many poems and drop duplicates; returns (indices kept, clean texts, report)."""
    report = CleaningReport()
    seen: set[str] = set()
    kept: list[int] = []
    cleaned_texts: list[str] = []
    for index, text in enumerate(texts):
        cleaned = clean_text(text, report)
        if cleaned is None:
            continue
        if cleaned in seen:
            report.dropped[DUPLICATES] += 1
            continue
        seen.add(cleaned)
        kept.append(index)
        cleaned_texts.append(cleaned)
    return kept, cleaned_texts, report
