"""Prosody: the checkers that score a poem (its format, rhyme and tones) and the marks that
show a poem's tones and rhymes.

The rules live by concern: tones and the tone rules in :mod:`poetry_rnn.poetics.tones`, the
rhyme books in :mod:`poetry_rnn.poetics.rhymes`, 叠字 and repeats in
:mod:`poetry_rnn.poetics.repeats`, 对仗 in :mod:`poetry_rnn.poetics.parallelism`; the decoder
and the checkers both read them there.
"""

from __future__ import annotations

from dataclasses import dataclass

from poetry_rnn.forms import Form, join_lines
from poetry_rnn.poetics.rhymes import (
    DEFAULT_RHYME_BOOK,
    book_groups,
    rhyme_groups,
    rhyme_positions,
    shared_rhymes,
)
from poetry_rnn.poetics.tones import broken_rules, tone_of, tone_positions
from poetry_rnn.text import is_han, split_lines, to_simplified


def check_format(text: str, form: Form) -> bool:
    """Exactly the form's lines of Han characters, ，/。 alternating, nothing else."""
    lines = split_lines(text)
    return (
        len(lines) == form.lines
        and all(_is_full_line(line, form) for line in lines)
        and text == join_lines(lines)
    )


def _is_full_line(line: str, form: Form) -> bool:
    return len(line) == form.chars and all(is_han(char) for char in line)


def check_rhyme(text: str, form: Form, book: str = DEFAULT_RHYME_BOOK) -> bool:
    """True when the required rhyme characters share a group of ``book`` that may rhyme (a
    level group of 平水韵); line 1 may join, need not. A missing rhyme line fails."""
    lines = split_lines(text)
    positions = rhyme_positions(form)
    if len(lines) <= positions[-1]:
        return False
    return bool(shared_rhymes((lines[i][-1] for i in positions), book))


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
    satisfied = checked = 0
    for i in range(len(lines)):
        for p in tone_positions(form):
            checked += 1
            satisfied += not broken_rules(lines, form, i, p)
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


def check_poem(text: str, form: Form, rhyme_book: str = DEFAULT_RHYME_BOOK) -> PoemChecks:
    """All checks of ``text`` against ``form``, the rhyme by ``rhyme_book``.

    When the format fails the others still run on the lines there are: the rhyme fails if a
    rhyme line is missing, the tone rules cover the leading complete lines only.
    """
    satisfied, checked = tone_conformance(text, form)
    rhyme_ok = check_rhyme(text, form, rhyme_book)
    return PoemChecks(check_format(text, form), rhyme_ok, satisfied, checked)


@dataclass(frozen=True)
class Mark:
    """One character of a poem as the rules see it: its tone, and its rhyme group where it
    ends a line that rhymes."""

    char: str
    tone: str | None  # 平, 仄, or None (either)
    rhyme: str | None = None


def annotate(text: str, rhyme_book: str = DEFAULT_RHYME_BOOK) -> list[list[Mark]]:
    """The marks of each line of ``text`` (punctuation left out), for showing a poem's prosody.

    The last characters of the even lines carry their group in ``rhyme_book``: the group they
    share (the first in the book's order where they share several), which the first line's
    last character joins where it belongs to it too (首句入韵); where they share none, each
    shows its own groups, joined by "/".
    """
    lines = split_lines(text)
    simplified = [[to_simplified(char) for char in line] for line in lines]
    ends = [rhyme_groups(line[-1], rhyme_book) for line in simplified]
    rhyming = list(range(1, len(lines), 2))
    shared = shared_rhymes((simplified[n][-1] for n in rhyming), rhyme_book) if rhyming else None
    if shared and shared & ends[0]:
        shared &= ends[0]
        rhyming.insert(0, 0)
    order = book_groups(rhyme_book).index
    labels = {
        n: min(shared, key=order) if shared else "/".join(sorted(ends[n], key=order)) or None
        for n in rhyming
    }
    return [
        [
            Mark(char, tone_of(plain), labels.get(n) if i == len(line) - 1 else None)
            for i, (char, plain) in enumerate(zip(line, simplified[n], strict=True))
        ]
        for n, line in enumerate(lines)
    ]
