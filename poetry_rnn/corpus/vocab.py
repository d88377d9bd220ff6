"""The character vocabulary: special tokens first, then characters by frequency."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from poetry_rnn.errors import PoetryError
from poetry_rnn.files import write_text_atomic

PAD, START, END, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = (PAD, START, END, UNK)
#: Ends a row's header (a title, or a ci's 词牌) where the poem begins: ``<s>静夜思<sep>床前…</s>``.
SEP = "<sep>"


class Vocab:
    """Maps characters to ids and back; ids 0–3 are padding, start, end and unknown.

    A vocabulary of headed rows also holds :data:`SEP` (``sep_id``; None where it has none).
    """

    pad_id, start_id, end_id, unk_id = range(len(SPECIALS))

    def __init__(self, tokens: Sequence[str], min_freq: int = 1) -> None:
        if tuple(tokens[: len(SPECIALS)]) != SPECIALS:
            raise PoetryError(f"a vocabulary must begin with the special tokens {SPECIALS}")
        if len(set(tokens)) != len(tokens):
            raise PoetryError("a vocabulary must not repeat a token")
        self.tokens: list[str] = list(tokens)
        self.min_freq = min_freq
        self.index: dict[str, int] = {token: i for i, token in enumerate(self.tokens)}
        self.sep_id: int | None = self.index.get(SEP)

    @classmethod
    def build(cls, texts: Iterable[str], min_freq: int = 1, headed: bool = False) -> Vocab:
        """Characters of ``texts`` seen at least ``min_freq`` times, most frequent first;
        :data:`SEP` after the special tokens where ``headed``."""
        if min_freq < 1:
            raise PoetryError(f"min_freq must be at least 1, got {min_freq}")
        counts = Counter()
        for text in texts:
            counts.update(text)
        chars = sorted(
            (char for char, count in counts.items() if count >= min_freq),
            key=lambda char: (-counts[char], char),
        )
        return cls([*SPECIALS, *([SEP] if headed else []), *chars], min_freq)

    def with_sep(self) -> Vocab:
        """This vocabulary with :data:`SEP` appended, every other id kept (itself if it has it)."""
        return self if self.sep_id is not None else Vocab([*self.tokens, SEP], self.min_freq)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, char: str) -> bool:
        return char in self.index and char not in SPECIALS and char != SEP

    def encode(self, text: str, wrap: bool = False) -> list[int]:
        """Ids of ``text``'s characters, unknown ones as ``unk_id``; ``wrap`` adds start, end."""
        ids = [self.index.get(char, self.unk_id) for char in text]
        return [self.start_id, *ids, self.end_id] if wrap else ids

    def header(self, title: str) -> list[int]:
        """The ids a headed row begins with: start, the title's characters, :data:`SEP`."""
        if self.sep_id is None:
            raise PoetryError("this model was not trained with titles")
        return [self.start_id, *self.encode(title), self.sep_id]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``, leaving out padding, start and end."""
        skip = {self.pad_id, self.start_id, self.end_id, self.sep_id}
        return "".join(self.tokens[i] for i in ids if i not in skip)

    def unknown_chars(self, text: str) -> list[str]:
        """The distinct characters of ``text`` the vocabulary lacks, in order of appearance."""
        return list(dict.fromkeys(char for char in text if char not in self))

    def digest(self) -> str:
        """SHA-256 of the tokens in order: two vocabularies with one digest encode alike."""
        return hashlib.sha256(json.dumps(self.tokens, ensure_ascii=False).encode()).hexdigest()

    def to_json(self) -> str:
        return json.dumps({"tokens": self.tokens, "min_freq": self.min_freq}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        try:
            data = json.loads(text)
            return cls(data["tokens"], int(data.get("min_freq", 1)))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise PoetryError(f"damaged vocabulary: {error}") from error

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the vocabulary as JSON, atomically."""
        write_text_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise PoetryError(f"cannot read vocabulary {path}: {error}") from error
        return cls.from_json(text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.tokens == other.tokens

    def __hash__(self) -> int:
        return hash(tuple(self.tokens))
