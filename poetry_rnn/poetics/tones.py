"""Tones (平仄): the tone of a character, and the tone rules of regulated verse.

A character's tone is 平 (level) or 仄 (oblique) in the Tang sense, from a table derived from
the Tang corpus; a character it labels both ways is "either" (None).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

from pypinyin import Style, pinyin

from poetry_rnn.forms import Form
from poetry_rnn.poetics.tables import TONE_TABLE, read_table
from poetry_rnn.text import is_han, standard_form

LEVEL, OBLIQUE = "平", "仄"
EITHER = "either"
#: How a tone is shown: ○ 平, ● 仄, ◐ either.
TONE_SIGNS = {LEVEL: "○", OBLIQUE: "●", None: "◐"}


@functools.cache
def _tone_table() -> dict[str, str | None]:
    """Character → 平, 仄 or None (either)."""
    level, oblique, either = read_table(TONE_TABLE, LEVEL, OBLIQUE, EITHER)
    labels = {LEVEL: level, OBLIQUE: oblique, None: either}
    return {char: tone for tone, chars in labels.items() for char in chars}


@functools.cache
def tone_of(char: str) -> str | None:
    """平, 仄, or None ("either"): the Tang table first, pypinyin for characters it lacks.

    A character the table marks "either" stays None; pypinyin is never asked about it. A
    variant character has its standard form's tone (:func:`poetry_rnn.text.standard_form`).
    """
    if not is_han(char):
        return None
    char = standard_form(char)
    table = _tone_table()
    if char in table:
        return table[char]
    return mandarin_tone(char)


def modern_reading(char: str) -> str | None:
    """The default Mandarin reading :func:`tone_of` assumes for a Han character the Tang table
    lacks (see :func:`mandarin_reading`). None for a character the table labels, and for a
    non-Han one."""
    if not is_han(char) or char in _tone_table():
        return None
    return mandarin_reading(char)


def mandarin_reading(char: str) -> str:
    """A character's default Mandarin reading, whatever the Tang table says, in pinyin with its
    tone number ("ta1"; none for the neutral tone); "" where pypinyin knows none."""
    readings = pinyin(char, style=Style.TONE3, errors="ignore")
    return readings[0][0] if readings else ""


def mandarin_tone(char: str) -> str | None:
    """The tone of :func:`mandarin_reading`: 1, 2 → 平; 3, 4 → 仄; neutral or none → None."""
    tone = mandarin_reading(char)[-1:]
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


class ToneRule(NamedTuple):
    """A tone rule checked at a position, against the position ``line`` (0-based),
    ``position`` (1-based): the two tones must be ``equal`` (粘) or differ."""

    name: str  # 二四六分明, 对 or 粘
    line: int
    position: int
    equal: bool


def tone_rules(line: int, position: int, form: Form) -> list[ToneRule]:
    """The rules checked at ``position`` (1-based, even) of ``line`` (0-based)."""
    rules = []
    if position + 2 < form.chars:
        rules.append(ToneRule("二四六分明", line, position + 2, False))
    if line % 2 == 1:
        rules.append(ToneRule("对", line - 1, position, False))
    elif line >= 2:
        rules.append(ToneRule("粘", line - 1, position, True))
    return rules


def broken_rules(
    tones: Sequence[Sequence[str | None]], form: Form, line: int, position: int
) -> list[ToneRule]:
    """The rules checked at (``line``, ``position``) that ``tones`` (each line's tones, None
    for "either") break; a rule involving an "either" character holds."""
    tone = tones[line][position - 1]
    return [
        rule
        for rule in tone_rules(line, position, form)
        if not _holds(tone, tones[rule.line][rule.position - 1], rule.equal)
    ]


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
