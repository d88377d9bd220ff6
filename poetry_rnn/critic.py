"""The critic: how much a poem reads like the poets' rather than like the model's own poems.

A logistic regression, poets' poems against the shipped model's, over features counted line by
line: each character, each pair of adjacent characters in a line (hashed into ``BUCKETS``), and
each character that stands in an earlier line (重字). Its log-odds is an estimate of the ratio
of the two distributions, poets' over model's: whole-line search adds ``critic`` times it to a
poem's score, which draws the model's poems toward the poets' (the weight 1 would reweight
them to the poets' distribution exactly, were the estimate exact). The model's tell is its
taste for the commonest characters (处, 里, 相 three times as often as the poets): the critic
learns it from the two sets of poems, not from a hand-written list.

Built by ``python -m poetry_rnn.critic build`` from the corpus's train split and poems the
model writes with the defaults (the critic off); shipped as ``critic.npz``.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import torch

from poetry_rnn.errors import PoetryError

CRITIC_TABLE = "critic.npz"
#: The hashed buckets of the adjacent-pair weights.
BUCKETS = 1 << 18
MAX_TABLE_BYTES = 4_000_000


def bucket(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The bucket of each adjacent pair of code points ``a``, ``b`` (int64 tensors)."""
    return (a * 1_000_003 + b) % BUCKETS


@dataclass(frozen=True)
class Critic:
    """The loaded weights: per character, per pair bucket, per repeated character."""

    chars: str
    unigram: torch.Tensor  # (chars,) float32
    bigram: torch.Tensor  # (BUCKETS,) float32
    repeat: float

    def unigram_of(self, tokens: Sequence[str]) -> torch.Tensor:
        """(tokens,): each token's character weight, 0 for a token not in the table."""
        index = {char: i for i, char in enumerate(self.chars)}
        rows = torch.tensor([index.get(token, -1) for token in tokens])
        return torch.where(rows >= 0, self.unigram[rows.clamp(min=0)], 0.0)

    def score(
        self, tokens: torch.Tensor, unigram: torch.Tensor, codes: torch.Tensor, han: torch.Tensor
    ) -> torch.Tensor:
        """(rows,): the log-odds, less the bias, of each row of ``tokens`` (rows, steps), whose
        tokens have the weights ``unigram``, the code points ``codes`` (0 for a token that is
        not one character) and are Han characters where ``han`` (each over the vocabulary)."""
        is_han_token = han[tokens]
        score = unigram[tokens].sum(1)
        adjacent = is_han_token[:, 1:] & is_han_token[:, :-1]
        pairs = self.bigram[bucket(codes[tokens[:, :-1]], codes[tokens[:, 1:]])]
        score += (pairs * adjacent).sum(1)
        line = (~is_han_token).long().cumsum(1)  # a character's line: the marks before it
        same = tokens[:, :, None] == tokens[:, None, :]
        earlier = line[:, None, :] < line[:, :, None]
        repeated = (same & earlier).any(2) & is_han_token
        return score + self.repeat * repeated.sum(1)


@functools.cache
def critic() -> Critic:
    """The shipped critic, read once."""
    try:
        raw = resources.files("poetry_rnn").joinpath(CRITIC_TABLE).read_bytes()
        if len(raw) > MAX_TABLE_BYTES:
            raise ValueError(f"over {MAX_TABLE_BYTES} bytes")
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            chars = str(data["chars"])
            unigram = torch.from_numpy(data["unigram"].astype(np.float32))
            bigram = torch.from_numpy(data["bigram"].astype(np.float32))
            repeat = float(data["repeat"])
    except (OSError, ValueError, KeyError) as error:
        raise PoetryError(f"cannot read the table {CRITIC_TABLE}: {error!r}") from error
    if unigram.shape != (len(chars),) or bigram.shape != (BUCKETS,):
        raise PoetryError(f"malformed table {CRITIC_TABLE}")
    return Critic(chars, unigram, bigram, repeat)
