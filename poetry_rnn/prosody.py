"""Prosody (GUIDE §4–§5): forms, rhyme groups, tones and the checkers that score a poem.

The one place that knows the rules. Top to bottom: the four forms; the 14 rhyme groups of
中华新韵; the tone (平/仄) of a character; the tone rules at the even positions; the checkers
(format, rhyme, tone conformance) that score generated and real poems alike.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from pypinyin import Style, pinyin

from poetry_rnn.errors import PoetryError
from poetry_rnn.text import is_han, split_lines, to_simplified

# --- forms ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """A fixed form: so many lines of so many characters."""

    name: str
    lines: int
    chars: int


FORMS: dict[str, Form] = {
    form.name: form
    for form in (
        Form("五言绝句", 4, 5),
        Form("七言绝句", 4, 7),
        Form("五言律诗", 8, 5),
        Form("七言律诗", 8, 7),
    )
}


def get_form(name: str) -> Form:
    """The form called ``name``; a :class:`PoetryError` naming the known forms otherwise."""
    try:
        return FORMS[name]
    except KeyError:
        raise PoetryError(f"unknown form {name!r}; choose one of {', '.join(FORMS)}") from None


def form_of(text: str) -> Form | None:
    """The fixed form a cleaned poem has, or None for any other shape."""
    lengths = [len(line) for line in split_lines(text)]
    for form in FORMS.values():
        if len(lengths) == form.lines and all(n == form.chars for n in lengths):
            return form
    return None


def join_lines(lines: Sequence[str]) -> str:
    """A poem's canonical text (GUIDE §3): ``，`` after odd lines, ``。`` after even lines."""
    return "".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(lines))


# --- rhyme groups (中华新韵) ---------------------------------------------------------------

#: The pinyin finals of each group, as pypinyin writes them with ``strict=True`` (ü as v,
#: iu as iou, ui as uei, un as uen). The bare ``i`` is split by the initial, see below.
_GROUP_FINALS: dict[str, tuple[str, ...]] = {
    "一麻": ("a", "ia", "ua"),
    "二波": ("o", "e", "uo"),
    "三皆": ("ie", "ve"),
    "四开": ("ai", "uai"),
    "五微": ("ei", "uei"),
    "六豪": ("ao", "iao"),
    "七尤": ("ou", "iou"),
    "八寒": ("an", "ian", "uan", "van"),
    "九文": ("en", "in", "uen", "vn"),
    "十唐": ("ang", "iang", "uang"),
    "十一庚": ("eng", "ing", "ong", "iong", "ueng"),
    "十二齐": ("i", "er", "v"),
    "十三支": (),  # the -i of zhi chi shi ri zi ci si
    "十四姑": ("u",),
}
RHYME_GROUPS: tuple[str, ...] = tuple(_GROUP_FINALS)
_GROUP_OF_FINAL = {final: group for group, finals in _GROUP_FINALS.items() for final in finals}
_APICAL_INITIALS = frozenset({"zh", "ch", "sh", "r", "z", "c", "s"})


@functools.cache
def rhyme_group(char: str) -> str | None:
    """The 中华新韵 group of a character's default reading, or None (not Han, no reading)."""
    if not is_han(char):
        return None
    finals = pinyin(char, style=Style.FINALS, strict=True, errors="ignore")
    initials = pinyin(char, style=Style.INITIALS, strict=True, errors="ignore")
    if not finals or not initials:
        return None
    final, initial = finals[0][0], initials[0][0]
    if final == "i" and initial in _APICAL_INITIALS:
        return "十三支"
    return _GROUP_OF_FINAL.get(final)


# --- tones (平仄) --------------------------------------------------------------------------

LEVEL, OBLIQUE = "平", "仄"
#: The shipped table (built by ``python -m poetry_rnn.build_tones``): simplified characters
#: under "平", "仄", and "either" for those the Tang corpus labels both ways.
TONE_TABLE = "tones.json"
EITHER = "either"


@functools.cache
def _tone_table() -> dict[str, str | None]:
    """Character → 平, 仄 or None (either), read once from the package's tone table."""
    try:
        text = resources.files("poetry_rnn").joinpath(TONE_TABLE).read_text(encoding="utf-8")
        data = json.loads(text)
        groups = {LEVEL: data[LEVEL], OBLIQUE: data[OBLIQUE], None: data[EITHER]}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PoetryError(f"cannot read the tone table {TONE_TABLE}: {error}") from error
    return {char: tone for tone, chars in groups.items() for char in chars}


@functools.cache
def tone_of(char: str) -> str | None:
    """平, 仄, or None ("either"): the Tang table first, pypinyin for characters it lacks.

    A character the table marks "either" stays None; pypinyin is never asked about it.
    """
    if not is_han(char):
        return None
    table = _tone_table()
    if char in table:
        return table[char]
    return _modern_tone(char)


def _modern_tone(char: str) -> str | None:
    """The tone of the default Mandarin reading: 1, 2 → 平; 3, 4 → 仄; neutral → None."""
    readings = pinyin(char, style=Style.TONE3, errors="ignore")
    tone = readings[0][0][-1:] if readings else ""
    return LEVEL if tone in ("1", "2") else OBLIQUE if tone in ("3", "4") else None


def is_level(char: str) -> bool:
    """True for a level-toned (平) character: what the rhyme of regulated verse needs."""
    return tone_of(char) == LEVEL


# --- tone rules ----------------------------------------------------------------------------
#
# Checked at the even positions p of each line i (1-based p, 0-based i):
#   二四六分明  the tone at p differs from the tone at p + 2 of the same line;
#   对          in the second line of a couplet (i odd), it differs from line i - 1 at p;
#   粘          in the first line of a later couplet (i even, i >= 2), it equals line i - 1.
# A rule involving an "either" (None) tone holds. Together the rules fix every even position
# once one is known: the tone at (i, p) is the tone at (0, 2) flipped _flips(i, p) times.


def tone_positions(form: Form) -> list[int]:
    """The 1-based positions the tone rules check: 2, 4 (五言) or 2, 4, 6 (七言)."""
    return list(range(2, form.chars, 2))


def _rules(line: int, position: int, positions: Sequence[int]) -> list[tuple[int, int, bool]]:
    """The rules checked at (line, position): (other line, other position, tones equal)."""
    rules = []
    if position + 2 in positions:
        rules.append((line, position + 2, False))  # 二四六分明
    if line % 2 == 1:
        rules.append((line - 1, position, False))  # 对
    elif line >= 2:
        rules.append((line - 1, position, True))  # 粘
    return rules


def _holds(tone: str | None, other: str | None, equal: bool) -> bool:
    return tone is None or other is None or (tone == other) == equal


def _flips(line: int, position: int) -> int:
    """How often the tone has changed from (0, 2) to (line, position) in a conforming poem."""
    return (line + 1) // 2 + position // 2 - 1


def _opposite(tone: str) -> str:
    return OBLIQUE if tone == LEVEL else LEVEL


def required_tone(tones: Sequence[Sequence[str | None]], line: int, position: int) -> str | None:
    """The tone (平/仄) the rules demand at ``position`` (1-based) of ``line`` (0-based).

    ``tones`` holds the tones chosen so far, line by line (the current line may be partial;
    anything at or after (line, position) is ignored). Odd positions are free. The first
    known tone at an even position, in reading order, sets the poem's pattern; before it every
    position is free (None). A poem whose even positions all get the demanded tone or an
    "either" character conforms fully.
    """
    if position % 2:
        return None
    for i, line_tones in enumerate(tones[: line + 1]):
        end = min(position - 1, len(line_tones)) if i == line else len(line_tones)
        for p in range(2, end + 1, 2):
            tone = line_tones[p - 1]
            if tone is not None:
                flipped = (_flips(line, position) - _flips(i, p)) % 2
                return _opposite(tone) if flipped else tone
    return None


# --- checkers ------------------------------------------------------------------------------


def check_format(text: str, form: Form) -> bool:
    """GUIDE §5 format: exactly the form's lines of Han characters, ，/。 alternating, no more."""
    lines = split_lines(text)
    return (
        len(lines) == form.lines
        and all(_is_full_line(line, form) for line in lines)
        and text == join_lines(lines)
    )


def _is_full_line(line: str, form: Form) -> bool:
    return len(line) == form.chars and all(is_han(char) for char in line)


def rhyme_positions(form: Form) -> list[int]:
    """The 0-based lines whose last characters must rhyme: 1, 3 (, 5, 7)."""
    return list(range(1, form.lines, 2))


def check_rhyme(text: str, form: Form) -> bool:
    """True when the required rhyme characters share one group (line 1 may join, need not).

    A missing rhyme line, or a rhyme character without a group, fails.
    """
    lines = split_lines(text)
    positions = rhyme_positions(form)
    if len(lines) <= positions[-1]:
        return False
    groups = {rhyme_group(lines[i][-1]) for i in positions}
    return len(groups) == 1 and None not in groups


def tone_conformance(text: str, form: Form) -> tuple[int, int]:
    """(satisfied, checked) even positions under the tone rules.

    Only the leading complete lines count (at most the form's lines, each of exactly its
    length in Han characters): a broken line ends the chain of 粘 and 对.
    """
    lines = []
    for line in split_lines(text)[: form.lines]:
        if not _is_full_line(line, form):
            break
        lines.append([tone_of(char) for char in line])
    positions = tone_positions(form)
    satisfied = checked = 0
    for i, tones in enumerate(lines):
        for p in positions:
            checked += 1
            rules = _rules(i, p, positions)
            satisfied += all(_holds(tones[p - 1], lines[j][q - 1], eq) for j, q, eq in rules)
    return satisfied, checked


@dataclass(frozen=True)
class PoemChecks:
    """What the checkers say about one poem."""

    format_ok: bool
    rhyme_ok: bool
    tone_satisfied: int
    tone_checked: int

    @property
    def tone_rate(self) -> float:
        """Satisfied share of the checked positions; 0.0 when nothing could be checked."""
        return self.tone_satisfied / self.tone_checked if self.tone_checked else 0.0


def check_poem(text: str, form: Form) -> PoemChecks:
    """All checks of ``text`` against ``form``.

    When the format fails the others still run on the lines there are: the rhyme fails if a
    rhyme line is missing, the tone rules cover the leading complete lines only.
    """
    satisfied, checked = tone_conformance(text, form)
    return PoemChecks(check_format(text, form), check_rhyme(text, form), satisfied, checked)


@dataclass(frozen=True)
class Mark:
    """One character of a poem as the rules see it: its tone, and its rhyme group where it
    ends a line that rhymes."""

    char: str
    tone: str | None  # 平, 仄, or None (either)
    rhyme: str | None = None


def annotate(text: str) -> list[list[Mark]]:
    """The marks of each line of ``text`` (punctuation left out), for showing a poem's prosody.

    The last characters of the even lines carry their rhyme group, and the first line's last
    character too where it joins the group of the second line's (首句入韵).
    """
    lines = split_lines(text)
    simplified = [[to_simplified(char) for char in line] for line in lines]
    groups = [rhyme_group(line[-1]) if line else None for line in simplified]
    rhyming = set(range(1, len(lines), 2))
    if len(lines) > 1 and groups[0] is not None and groups[0] == groups[1]:
        rhyming.add(0)
    return [
        [
            Mark(char, tone_of(plain), groups[n] if n in rhyming and i == len(line) - 1 else None)
            for i, (char, plain) in enumerate(zip(line, simplified[n], strict=True))
        ]
        for n, line in enumerate(lines)
    ]
