"""Character classes and script conversion shared by the corpus pipeline and user input."""

from __future__ import annotations

import functools
import re
import unicodedata

from opencc import OpenCC

#: The only punctuation a cleaned poem keeps: line ends.
PUNCTUATION = "，。？！；"

#: CJK Unified Ideographs, Extensions A to H, and the compatibility ideographs.
HAN_RANGES = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0002ebef\U0002f800-\U0002fa1f\U00030000-\U000323af"
)
_HAN = re.compile(f"[{HAN_RANGES}]")
_LINE = re.compile(f"[^{PUNCTUATION}]+")


def is_han(char: str) -> bool:
    """True for one Han character (ideograph)."""
    return _HAN.fullmatch(char) is not None


def han_count(text: str) -> int:
    """The number of Han characters in ``text``."""
    return len(_HAN.findall(text))


def split_lines(text: str) -> list[str]:
    """The lines of a cleaned poem: the runs of characters between punctuation marks."""
    return _LINE.findall(text)


@functools.cache
def _converter(config: str) -> OpenCC:
    return OpenCC(config)


def to_simplified(text: str) -> str:
    """Traditional to simplified Chinese (opencc ``t2s``); simplified text passes unchanged."""
    return _converter("t2s").convert(text)


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
