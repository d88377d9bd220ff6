"""Character classes and script conversion shared by the corpus pipeline and user input.

Simplified text is opencc's ``t2s`` and then the variant table: a variant character (异体字)
that ``t2s`` leaves alone (鴈, 疎, 巵, 猨, 堦) becomes its standard form (雁, 疏, 卮, 猿, 阶).
``variants.json`` ships in the package, built from the corpus's counts by
``python -m poetry_rnn.poetics.build_tables --variants`` (see
:mod:`poetry_rnn.poetics.build_association_tables`).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from importlib import resources

from opencc import OpenCC

from poetry_rnn.errors import PoetryError

VARIANT_TABLE = "variants.json"
#: The only punctuation a cleaned poem keeps: line ends.
PUNCTUATION = "，。？！；"

#: CJK Unified Ideographs, Extensions A to H, and the compatibility ideographs.
HAN_RANGES = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0002ebef\U0002f800-\U0002fa1f\U00030000-\U000323af"
)
_HAN = re.compile(f"[{HAN_RANGES}]")
_LINE = re.compile(f"[^{PUNCTUATION}]+")
#: The ASCII marks a user may type for the line ends.
_ASCII_MARKS = str.maketrans(",.?!;", PUNCTUATION)


def is_han(char: str) -> bool:
    """True for one Han character (ideograph)."""
    return _HAN.fullmatch(char) is not None


def han_count(text: str) -> int:
    """The number of Han characters in ``text``."""
    return len(_HAN.findall(text))


def split_lines(text: str) -> list[str]:
    """The lines of a cleaned poem: the runs of characters between punctuation marks."""
    return _LINE.findall(text)


def full_width(text: str) -> str:
    """``text`` with the ASCII marks , . ? ! ; read as the line ends ，。？！；."""
    return text.translate(_ASCII_MARKS)


def user_text(text: object, what: str, most: int, keep_breaks: bool = False) -> str:
    """A user's ``text`` as the package reads it: simplified (:func:`to_simplified`), ASCII
    marks as full-width ones, spaces and line breaks dropped unless ``keep_breaks``. Not text,
    or longer than ``most`` characters: a :class:`PoetryError` naming ``what``, checked before
    anything is converted."""
    if not isinstance(text, str):
        raise PoetryError(f"the {what} must be text, got {type(text).__name__}")
    if len(text) > most:
        raise PoetryError(f"the {what} is too long: at most {most} characters")
    text = full_width(to_simplified(text))
    return text if keep_breaks else "".join(text.split())


@functools.cache
def _converter(config: str) -> OpenCC:
    return OpenCC(config)


def to_simplified(text: str) -> str:
    """Traditional to simplified Chinese (opencc ``t2s``), each variant character then its
    standard form (:func:`standard_form`); simplified text of standard forms passes unchanged."""
    return t2s(text).translate(_variant_map())


def t2s(text: str) -> str:
    """opencc's ``t2s`` alone, variants left as they are (what the variant table is built on)."""
    return _converter("t2s").convert(text)


def standard_form(char: str) -> str:
    """The standard form of a variant character of ``variants.json``; any other as it is."""
    return variants().get(char, char)


@functools.cache
def variants() -> dict[str, str]:
    """The shipped variant table: variant character → its standard form."""
    table = json.loads(resources.files("poetry_rnn").joinpath(VARIANT_TABLE).read_text("utf-8"))
    return table["variants"]


@functools.cache
def _variant_map() -> dict[int, str]:
    return str.maketrans(variants())


def to_traditional(text: str) -> str:
    """Simplified to traditional Chinese (opencc ``s2t``)."""
    return _converter("s2t").convert(text)


def display_width(text: str) -> int:
    """Terminal columns of ``text``: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def two_columns(rows: list[tuple[str, object]]) -> str:
    """Labels and values as an aligned table for a terminal, wide characters counted as two."""
    width = max(display_width(label) for label, _ in rows)
    return "\n".join(
        f"{label}{' ' * (width - display_width(label))}  {value}" for label, value in rows
    )
