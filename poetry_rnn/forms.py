"""The fixed forms of shi by name and shape: so many lines of so many characters; and a poem's
canonical text. Every layer reads them (the corpus filters by form); their rules are in
:mod:`poetry_rnn.poetics`."""

from __future__ import annotations

from collections.abc import Sequence
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
    except (KeyError, TypeError):  # TypeError: a list, say, cannot even be looked up
        raise PoetryError(f"unknown form {name!r}; choose one of {', '.join(FORMS)}") from None


def form_of(text: str) -> Form | None:
    """The fixed form a cleaned poem has, or None for any other shape."""
    lengths = [len(line) for line in split_lines(text)]
    for form in FORMS.values():
        if len(lengths) == form.lines and all(n == form.chars for n in lengths):
            return form
    return None


def join_lines(lines: Sequence[str]) -> str:
    """A poem's canonical text: ``，`` after odd lines, ``。`` after even lines."""
    return "".join(line + ("，" if i % 2 == 0 else "。") for i, line in enumerate(lines))
