"""Whole-poem coherence: how well a poem's characters belong together in real poems.

The shipped table ``coherence.npz`` (built by ``python -m poetry_rnn.poetics.build_tables``, see
there) holds, for each content character of the Tang and Song poems, a vector ``x`` and one sign per
dimension ``s``, so that the association of two characters is ``x_a · diag(s) · x_b``: the
smoothed PMI of the two appearing in different couplets of one poem. Positive: poets write them
together (春/花, 雪/梅); negative: they avoid it (春/秋, 晨/夜). Function characters, which go
with anything, are not in the table.

- :func:`coherences`: the mean association of the content characters of different lines.
- :func:`clashes`: markers of two seasons, or two times of day, that poets keep apart.
- :func:`plan_keywords`: a few seed characters grown into one keyword per line.
"""

from __future__ import annotations

import functools
import io
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import torch

from poetry_rnn.errors import PoetryError
from poetry_rnn.text import split_lines

#: The association table (see the module docstring).
COHERENCE_TABLE = "coherence.npz"
#: The families of marked characters: seasons and times of day, each seeded by these.
FAMILIES = {"season": "春夏秋冬", "time": "晨午暮夜"}
#: The largest table the loader reads (bytes).
MAX_TABLE_BYTES = 8_000_000


@dataclass(frozen=True)
class Associations:
    """The loaded table: its characters, their vectors and signs, the marker classes."""

    chars: str
    index: dict[str, int]
    vectors: torch.Tensor  # (chars, dimensions) float32
    signs: torch.Tensor  # (dimensions,) float32, each ±1
    markers: dict[str, dict[str, str]]  # family → seed → its marker characters (the seed too)
    clashing: dict[str, frozenset[str]]  # family → the seed pairs that clash, e.g. "春秋"

    def score(self, a: str, b: str) -> float:
        """The association of characters ``a`` and ``b``; 0 where either is not in the table."""
        if a not in self.index or b not in self.index or a == b:
            return 0.0
        x, y = self.vectors[self.index[a]], self.vectors[self.index[b]]
        return float((x * self.signs * y).sum())

    def vectors_of(self, tokens: Sequence[str]) -> torch.Tensor:
        """(tokens, dimensions): each token's vector, zeros for a token not in the table."""
        rows = torch.tensor([self.index.get(token, -1) for token in tokens])
        found = (rows >= 0)[:, None]
        return torch.where(found, self.vectors[rows.clamp(min=0)], 0.0)

    def class_of(self, char: str, family: str) -> str | None:
        """The seed of the ``family`` class that marks ``char`` first, or None."""
        return self._classes[family].get(char)

    def classes_in(self, text: str, family: str) -> set[str]:
        """The seeds of the ``family`` classes that mark a character of ``text``."""
        classes = self._classes[family]
        return {classes[char] for char in set(text) if char in classes}

    @functools.cached_property
    def _classes(self) -> dict[str, dict[str, str]]:
        """family → character → :meth:`class_of`; the search asks thousands of times a poem."""
        return {
            family: {char: seed for seed, chars in reversed(seeds.items()) for char in chars}
            for family, seeds in self.markers.items()
        }


@functools.cache
def associations() -> Associations:
    """The shipped table, read once."""
    try:
        raw = resources.files("poetry_rnn").joinpath(COHERENCE_TABLE).read_bytes()
        if len(raw) > MAX_TABLE_BYTES:
            raise ValueError(f"over {MAX_TABLE_BYTES} bytes")
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            chars = str(data["chars"])
            vectors = torch.from_numpy(data["vectors"].astype(np.float32))
            signs = torch.from_numpy(data["signs"].astype(np.float32))
            markers = {
                family: dict(zip(seeds, map(str, data[f"{family}_markers"]), strict=True))
                for family, seeds in FAMILIES.items()
            }
            clashing = {
                family: frozenset(map(str, data[f"{family}_clashes"])) for family in FAMILIES
            }
    except (OSError, ValueError, KeyError) as error:
        raise PoetryError(f"cannot read the table {COHERENCE_TABLE}: {error!r}") from error
    if vectors.shape != (len(chars), len(signs)):
        raise PoetryError(f"malformed table {COHERENCE_TABLE}: {tuple(vectors.shape)} vectors")
    index = {char: i for i, char in enumerate(chars)}
    return Associations(chars, index, vectors, signs, markers, clashing)


# --- the score --------------------------------------------------------------------------


def coherence_of(
    vectors: torch.Tensor, ids: torch.Tensor, lines: torch.Tensor, signs: torch.Tensor
) -> torch.Tensor:
    """(rows,): the mean association of the pairs of content characters in different lines.

    ``vectors`` (rows, positions, dimensions): each position's vector, zeros where it holds no
    content character; ``ids`` (rows, positions): the characters (a character paired with
    itself counts nothing); ``lines`` (rows, positions): their line numbers. 0 where a row has
    no such pair.
    """
    content = vectors.abs().sum(-1) > 0
    pairs = (
        (lines[:, :, None] != lines[:, None, :])
        & (ids[:, :, None] != ids[:, None, :])
        & content[:, :, None]
        & content[:, None, :]
    )
    scores = torch.einsum("rik,rjk->rij", vectors * signs, vectors)
    counts = pairs.sum((1, 2))
    return torch.where(counts > 0, (scores * pairs).sum((1, 2)) / counts.clamp(min=1), 0.0)


#: The most pair scores :func:`coherences` holds at once (rows × positions²), a bound on its
#: memory whatever the poems' lengths.
MAX_PAIRS = 1 << 22


def coherences(texts: Sequence[str]) -> list[float]:
    """Each text's whole-poem coherence: the mean association of the content characters of
    different lines (0 for a poem with fewer than two such lines), scored many at a time."""
    table = associations()
    poems = [
        [(number, char) for number, line in enumerate(split_lines(text)) for char in line]
        for text in texts
    ]
    scores: list[float] = []
    for chunk in _chunks(poems):
        width = max(1, *map(len, chunk))
        rows = [poem + [(-1, "")] * (width - len(poem)) for poem in chunk]  # "" has no vector
        vectors = table.vectors_of([char for row in rows for _, char in row])
        ids = torch.tensor([[ord(char) if char else -1 for _, char in row] for row in rows])
        lines = torch.tensor([[number for number, _ in row] for row in rows])
        scores += coherence_of(vectors.view(len(rows), width, -1), ids, lines, table.signs).tolist()
    return scores


def _chunks(poems: list[list]) -> Iterator[list[list]]:
    """``poems`` in order, in runs whose rows × longest² stays within :data:`MAX_PAIRS`."""
    chunk: list[list] = []
    width = 1
    for poem in poems:
        if chunk and (len(chunk) + 1) * max(width, len(poem)) ** 2 > MAX_PAIRS:
            yield chunk
            chunk, width = [], 1
        chunk.append(poem)
        width = max(width, len(poem))
    if chunk:
        yield chunk


def coherence(text: str) -> float:
    """The whole-poem coherence of one text (see :func:`coherences`)."""
    return coherences([text])[0]


def clashes(text: str) -> str | None:
    """The first clash of ``text`` — markers of two seasons or two times of day that the poets
    keep apart, as "春/秋" — or None."""
    table = associations()
    for family in FAMILIES:
        marked = table.classes_in(text, family)
        seeds = [seed for seed in FAMILIES[family] if seed in marked]
        for a, b in itertools.combinations(seeds, 2):
            if _clash(table, family, a, b):
                return f"{a}/{b}"
    return None


def _clash(table: Associations, family: str, a: str, b: str) -> bool:
    return a + b in table.clashing[family] or b + a in table.clashing[family]


def _fits(table: Associations, char: str, text: str) -> bool:
    """True when ``char`` marks no class that clashes with a class marked in ``text``."""
    for family in FAMILIES:
        own = table.class_of(char, family)
        if own is not None and any(
            (seed := table.class_of(c, family)) is not None and _clash(table, family, own, seed)
            for c in text
        ):
            return False
    return True


# --- the plan ---------------------------------------------------------------------------

#: Keyword candidates: the table's characters ranked at most this far by poem frequency (the
#: table is in that order), so that a plan names common images, not rarities.
PLAN_CANDIDATES = 1500


def plan_keywords(seeds: str, lines: int, printed: str = "") -> list[str]:
    """One keyword per line: ``seeds``' characters that the table knows (in order, each once),
    then the characters that go best with all those chosen so far (the highest mean
    association), none clashing with them. Characters of ``printed`` (text the poem prints
    anyway) steer nothing, so they are context, never keywords. Empty where the table knows
    no seed."""
    table = associations()
    context = [c for c in dict.fromkeys(seeds + printed) if c in table.index]
    if not context or lines < 1:
        return []
    plan = [c for c in dict.fromkeys(seeds) if c in table.index and c not in printed][:lines]
    candidates = torch.tensor(
        [i for i, c in enumerate(table.chars[:PLAN_CANDIDATES]) if c not in seeds + printed]
    )
    scaled = table.vectors[candidates] * table.signs
    while len(plan) < lines and len(candidates):
        chosen = table.vectors[[table.index[c] for c in dict.fromkeys(context + plan)]]
        fit = (scaled @ chosen.T).mean(1)
        for row in fit.argsort(descending=True).tolist():
            char = table.chars[int(candidates[row])]
            if char not in plan and _fits(table, char, "".join(context + plan)):
                plan.append(char)
                break
        else:
            break
    return plan
