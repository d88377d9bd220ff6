"""Batches from a prepared corpus: rows of token ids made from its flat stream (forward or
backward, right- or front-padded), and batches of rows of similar length, so little of a batch
is padding."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError

#: The textbook layout (docs/baseline.md): every poem front-padded and cut to 125 tokens.
TEXTBOOK_MAXLEN = 125


def padded_rows(
    chars: np.ndarray,
    offsets: np.ndarray,
    rows: Sequence[int] | np.ndarray,
    vocab: Vocab,
    maxlen: int,
    direction: str = "forward",
    padding: str = "right",
    width: int | None = None,
) -> np.ndarray:
    """Rows of ``start, characters, end`` ids (characters last to first when ``direction`` is
    backward), each cut to ``maxlen`` tokens, padded to ``width`` (default: the longest row)
    on the right or, with ``padding="left"``, in front."""
    if direction not in ("forward", "backward") or padding not in ("right", "left"):
        raise PoetryError(f"no {direction} {padding}-padded layout")
    rows = np.asarray(rows, dtype=np.int64)
    starts = offsets[rows]
    counts = offsets[rows + 1] - starts
    lengths = np.minimum(counts + 2, maxlen)
    width = int(lengths.max(initial=0)) if width is None else width
    lengths = np.minimum(lengths, width)
    out = np.full((len(rows), width), vocab.pad_id, dtype=np.int64)
    # Every kept token at once: its row, its position in the row, and what stands there.
    row = np.repeat(np.arange(len(rows)), lengths)
    position = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    count = np.repeat(counts, lengths)
    char = position - 1 if direction == "forward" else count - position
    source = np.clip(np.repeat(starts, lengths) + char, 0, max(len(chars) - 1, 0))
    token = chars[source].astype(np.int64) if len(chars) else np.zeros(len(position), np.int64)
    token[position == 0] = vocab.start_id
    token[position == count + 1] = vocab.end_id
    column = position if padding == "right" else position + np.repeat(width - lengths, lengths)
    out[row, column] = token
    return out


def headed_stream(
    chars: np.ndarray,
    offsets: np.ndarray,
    title_chars: np.ndarray,
    title_offsets: np.ndarray,
    sep_id: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The poems' stream with each poem's title and ``sep_id`` in front of it: (chars,
    offsets, header lengths), a row's header being its title and the separator."""
    title_lengths, poem_lengths = np.diff(title_offsets), np.diff(offsets)
    header = title_lengths + 1
    starts = np.concatenate(([0], np.cumsum(header + poem_lengths))).astype(np.int64)
    out = np.empty(int(starts[-1]), dtype=chars.dtype)
    title_at = np.repeat(starts[:-1] - title_offsets[:-1], title_lengths)
    out[title_at + np.arange(len(title_chars))] = title_chars
    out[starts[:-1] + title_lengths] = sep_id
    poem_at = np.repeat(starts[:-1] + header - offsets[:-1], poem_lengths)
    out[poem_at + np.arange(len(chars))] = chars
    return out, starts, header.astype(np.int64)


class LengthBucketedBatches:
    """Batches of row numbers whose poems have similar lengths, so little is padding.

    Each epoch shuffles the rows, sorts them by length inside pools of ``pool`` batches, cuts
    the pools into batches and shuffles the batches. With ``world_size`` > 1 each rank gets
    its own equal share of the batches. Deterministic for a given seed and epoch.
    """

    def __init__(
        self,
        lengths: np.ndarray,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        pool: int = 64,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if batch_size < 1:
            raise PoetryError(f"batch size must be at least 1, got {batch_size}")
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.pool = pool
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order the next iteration gives."""
        self.epoch = epoch

    def _all_batches(self) -> list[np.ndarray]:
        order = np.arange(len(self.lengths))
        rng = np.random.default_rng((self.seed, self.epoch))
        if self.shuffle:
            rng.shuffle(order)
        pool_rows = self.batch_size * self.pool
        batches = []
        for start in range(0, len(order), pool_rows):
            pool = order[start : start + pool_rows]
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            batches.extend(np.split(pool, range(self.batch_size, len(pool), self.batch_size)))
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[np.ndarray]:
        batches = self._all_batches()
        per_rank = len(batches) // self.world_size
        yield from batches[self.rank :: self.world_size][:per_rank]

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size) // self.world_size


def padding_share(lengths: np.ndarray, batches: Sequence[np.ndarray]) -> float:
    """The share of a batch stream's tokens that are padding, each batch cut to its longest row."""
    real = sum(int(lengths[rows].sum()) for rows in batches)
    total = sum(len(rows) * int(lengths[rows].max()) for rows in batches)
    return 1 - real / total if total else 0.0


def textbook_padding_share(char_counts: np.ndarray) -> float:
    """Padding share of the textbook layout: start + text + end, padded and cut to 125 tokens."""
    real = np.minimum(np.asarray(char_counts) + 2, TEXTBOOK_MAXLEN)
    return float(1 - real.sum() / (len(real) * TEXTBOOK_MAXLEN)) if len(real) else 0.0
