"""Poem forms (GUIDE §4): the one place that knows what 五言绝句 and its siblings are."""

from __future__ import annotations

from dataclasses import dataclass

from poetry_rnn.errors import PoetryError
from poetry_rnn.text import split_lines


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
