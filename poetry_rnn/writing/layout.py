"""Laying a request out on a form: which form it writes (the one named, the one a start or the
model sets, an acrostic's) and the slots its fixed characters take (a start, kept characters).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch

from poetry_rnn.errors import PoetryError
from poetry_rnn.forms import FORMS, Form
from poetry_rnn.poetics.patterns import Family, family_of, is_tune, tune_variants
from poetry_rnn.text import PUNCTUATION, split_lines, to_simplified
from poetry_rnn.writing.controls import FREE, is_integer
from poetry_rnn.writing.decoding import Composer

ACROSTIC_FORMS = {4: "七言绝句", 8: "七言律诗"}


def chosen_form(composer: Composer, start: str, style: str) -> Form:
    """The regulated form for a start (or none) when the user names no form: 4 lines, 8
    where the start needs more; 5 or 7 characters a line as the start's first mark says,
    else as the model prefers after the start (:func:`preferred_line_length`)."""
    marks = [i for i, char in enumerate(start) if char in PUNCTUATION]
    chars = marks[0] if marks else preferred_line_length(composer, start, style)
    if chars not in (5, 7):
        raise PoetryError(
            f"the start's first line has {chars} characters, but the lines of a regulated "
            f"poem have 5 or 7 (the form {FREE!r} takes any length)"
        )
    quatrain, regulated = (
        next(f for f in FORMS.values() if (f.lines, f.chars) == (lines, chars)) for lines in (4, 8)
    )
    lines_used = sum(math.ceil(len(line) / chars) for line in split_lines(start))
    return quatrain if lines_used <= quatrain.lines else regulated


@torch.inference_mode()
def preferred_line_length(composer: Composer, start: str, style: str) -> int:
    """5 or 7: where the model would end the first line after ``start`` (no marks in it).

    Along the start, then its greedy continuation in Han characters, compare the chance of
    a mark after the 5th character with the chance of none after the 5th and 6th and one
    after the 7th. A prefix pass and seven steps of the model, one row.
    """
    model, vocab, tables = composer.model, composer.vocab, composer.tables
    device = composer.device
    prefix = [*(vocab.encode(style, wrap=True) if style else []), vocab.start_id]
    was_training = model.training
    model.eval()
    try:
        logits, state = model(torch.tensor([prefix], device=device))
        logits, ends = logits[0, -1].float().cpu(), []
        for i in range(7):
            if i < len(start):
                token = vocab.index[start[i]]
            else:
                token = int(logits.masked_fill(~tables.han, float("-inf")).argmax())
            logits, state = model.step(torch.tensor([token], device=device), state)
            logits = logits[0].float().cpu()
            ends.append(float(logits.softmax(-1)[tables.punctuation].sum()))
    finally:
        model.train(was_training)
    after_five, after_six, after_seven = ends[4:]
    return 7 if (1 - after_five) * (1 - after_six) * after_seven > after_five else 5


def kept_slots(
    lines: list[str], form: Form, keep: Sequence[int] | Mapping[tuple[int, int], str]
) -> dict[tuple[int, int], str]:
    """The fixed characters of a form plan for what ``keep`` keeps of a poem's ``lines``."""
    if isinstance(keep, Mapping):
        wanted = dict(keep)
    elif isinstance(keep, Sequence) and not isinstance(keep, str | bytes | bytearray | memoryview):
        for line in keep:
            _check_line(line, form)
        wanted = {(line, p): None for line in keep for p in range(1, form.chars + 1)}
    else:
        raise PoetryError(
            f"keep must be line numbers or {{(line, position): character}}, got {keep!r}"
        )
    fixed = {}
    for where, char in wanted.items():
        if not (isinstance(where, tuple) and len(where) == 2):
            raise PoetryError(f"a kept position must be (line, position), got {where!r}")
        line, position = where
        _check_line(line, form)
        if not is_integer(position) or not 1 <= position <= form.chars:
            raise PoetryError(
                f"character {position!r} is out of range: a line of {form.name} has characters "
                f"1–{form.chars}"
            )
        own = lines[line - 1][position - 1]
        if char is not None and (not isinstance(char, str) or to_simplified(char) != own):
            raise PoetryError(f"line {line}, character {position} is {own}, not {char!r}")
        fixed[(line - 1, position)] = own
    return fixed


def _check_line(line: object, form: Form) -> None:
    if not is_integer(line) or not 1 <= line <= form.lines:
        raise PoetryError(f"line {line!r} is out of range: a {form.name} has lines 1–{form.lines}")


def shape(name: str) -> Form | Family:
    """The form a plan lays out for ``name``: a shi form, or a 词牌's family (its most common
    variant, or the variant named)."""
    return FORMS[name] if name in FORMS else family_of(name)


def tune(name: str) -> str:
    """The tune of a 词牌 or variant name: 浣溪沙 for 浣溪沙·2."""
    return name.partition("·")[0]


def _lengths(form: Form | Family) -> tuple[int, ...]:
    return form.lengths if isinstance(form, Family) else (form.chars,) * form.lines


def line_count(form: Form | Family) -> int:
    return len(_lengths(form))


def acrostic_form(name: str | None, heads: int) -> Form | Family:
    """The form of an acrostic of ``heads`` heads: the one ``name`` names (a 词牌: its variant
    with a line a head), by default the 绝句 or 律诗 of as many lines."""
    if name == FREE:
        raise PoetryError("an acrostic needs a regulated form, not free length")
    if name is None:
        if heads not in ACROSTIC_FORMS:
            raise PoetryError(
                f"an acrostic of {heads} characters fits no form: "
                "give 4 (绝句) or 8 (律诗) characters"
            )
        form = FORMS[ACROSTIC_FORMS[heads]]
    elif is_tune(name):
        form = _acrostic_variant(name, heads)
    else:
        form = FORMS[name]
    if heads != line_count(form):
        fits = ", ".join(f.name for f in FORMS.values() if f.lines == heads) or "none"
        raise PoetryError(
            f"an acrostic of {heads} characters does not fit {form.name} "
            f"({form.lines} lines); forms that fit: {fits}"
        )
    return form


def _acrostic_variant(name: str, heads: int) -> Family:
    """The variant of the 词牌 ``name`` with a line for each of ``heads`` heads (the most
    common such); a PoetryError telling the line counts of its variants otherwise."""
    variants = tune_variants(name)
    fitting = [pattern for pattern in variants if len(pattern.lines) == heads]
    if not fitting:
        counts = " or ".join(str(n) for n in sorted({len(p.lines) for p in variants}))
        raise PoetryError(
            f"an acrostic of {heads} characters fits no variant of {name}: give {counts} "
            "characters, one a line"
        )
    return Family(fitting[0].name, fitting[:1])


def align_start(start: str, form: Form | Family) -> dict[tuple[int, int], str]:
    """Place the start text's characters in the form's slots; punctuation must end lines."""
    lengths = _lengths(form)
    fixed: dict[tuple[int, int], str] = {}
    line, position = 0, 0
    for char in start:
        if char in PUNCTUATION:
            if position != lengths[line]:
                if isinstance(form, Family):
                    raise PoetryError(
                        f"the start's line {line + 1} has {position} characters, "
                        f"but line {line + 1} of {form.name} has {lengths[line]}"
                    )
                raise PoetryError(
                    f"the start's line {line + 1} has {position} characters, but "
                    f"{form.name} lines have {form.chars}"
                )
            line, position = line + 1, 0
            continue
        if line < len(lengths) and position == lengths[line]:
            line, position = line + 1, 0
        position += 1
        if line >= len(lengths):
            if isinstance(form, Family):
                raise PoetryError(
                    f"the start is longer than {form.name} holds "
                    f"({sum(lengths)} characters in {len(lengths)} lines)"
                )
            raise PoetryError(
                f"the start is longer than {form.name} holds "
                f"({form.lines} lines of {form.chars} characters)"
            )
        fixed[(line, position)] = char
    return fixed
