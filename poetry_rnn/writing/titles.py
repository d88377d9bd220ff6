"""Titles: what a poem is written to (命题).

A user's title is checked and cleaned like the corpus's (:func:`user_title`). A request without
one gets a real title from the bank of the corpus's common titles (``titles.json``, built by
``python -m poetry_rnn.writing.build_titles``): one that shares a character with what the user gave
(a start, heads, kept lines), where the bank has such titles, drawn by the request's seed and
weighted by how often poets used the title. The poem is then written to it, as to a title the
user gave.
"""

from __future__ import annotations

import json
import math
import random
import re
from functools import cache
from importlib import resources

from poetry_rnn.corpus.cleaning import MAX_TITLE_CHARS, clean_title
from poetry_rnn.errors import PoetryError
from poetry_rnn.text import HAN_RANGES, PUNCTUATION, to_simplified

TITLE_BANK = "titles.json"
#: A user's title longer than this is refused, not cut: a sentence is a theme, not a title.
MAX_USER_TITLE_CHARS = MAX_TITLE_CHARS
_MARKS = re.compile(f"[{PUNCTUATION}、·・《》〈〉\"'“”‘’「」『』\\s]")
_HAN = re.compile(f"[{HAN_RANGES}]")


def user_title(text: object) -> str:
    """A title a user typed, cleaned as the corpus's are (simplified, marks and spaces
    dropped); "" for none. Latin letters, digits, emoji and the like are refused, as is a title
    of marks alone or longer than :data:`MAX_USER_TITLE_CHARS` characters."""
    if not isinstance(text, str):
        raise PoetryError(f"the title must be text, got {type(text).__name__}")
    if not text.strip():
        return ""
    bare = _MARKS.sub("", to_simplified(text.strip()))
    if not bare:
        raise PoetryError("the title has no Han characters, only marks")
    foreign = [char for char in bare if not _HAN.fullmatch(char)]
    if foreign:
        raise PoetryError(f"the title must be Chinese characters; it holds {foreign[0]!r}")
    if len(bare) > MAX_USER_TITLE_CHARS:
        raise PoetryError(
            f"the title is too long: {len(bare)} characters, at most {MAX_USER_TITLE_CHARS} "
            "(a longer text is a theme: --theme)"
        )
    return clean_title(bare)


@cache
def title_bank() -> dict[str, int]:
    """The shipped bank: each title and how many poems of the corpus bear it."""
    data = json.loads(resources.files("poetry_rnn").joinpath(TITLE_BANK).read_text("utf-8"))
    return data["titles"]


def choose_title(
    prompt: str, seed: int, bank: dict[str, int] | None = None, avoid: frozenset[str] = frozenset()
) -> str:
    """A title of ``bank`` (default: the shipped one) for a poem whose user text is
    ``prompt`` ("" for none): among the titles sharing a character with it, or all where none
    does, one drawn by ``seed``, each weighted by the square root of its count (the commonest
    titles would win too often by their counts). ``avoid``: titles not to draw (another poem
    of the same call has them) while others are left."""
    bank = title_bank() if bank is None else bank
    chars = set(prompt)
    fitting = [title for title in bank if chars & set(title)] or list(bank)
    fresh = [title for title in fitting if title not in avoid] or fitting
    weights = [math.sqrt(bank[title]) for title in fresh]
    return random.Random(seed).choices(fresh, weights)[0]
