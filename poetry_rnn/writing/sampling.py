"""Drawing a token: temperature, top-k and nucleus (top-p) sampling over the tokens a step
allows, fast on a CPU."""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: A temperature below this draws as this one does: the draw is greedy already (logits 0.01
#: apart are e^100 apart), and a smaller one would scale the logits past float32's range,
#: where the allowed-token mask no longer holds.
MIN_TEMPERATURE = 1e-4


@dataclass(frozen=True)
class Sampling:
    """How the next token is drawn from the allowed ones."""

    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 0.9


def draw(
    logits: torch.Tensor, allowed: torch.Tensor, sampling: Sampling, generator: torch.Generator
) -> torch.Tensor:
    """One token per row from ``logits`` within ``allowed``: temperature, top-k, top-p."""
    # As bytes: masks of bools are several times slower on a CPU. A closed token's logit
    # becomes the lowest float, which softmax turns into exactly 0.
    closed = (~allowed).view(torch.uint8)
    temperature = max(sampling.temperature, MIN_TEMPERATURE)
    logits = (logits.float() / temperature).sub_(closed, alpha=torch.finfo().max)
    probabilities = logits.softmax(-1)
    if sampling.top_k:
        top, order = probabilities.topk(min(sampling.top_k, logits.shape[-1]), dim=-1)
        return _from_head(top / top.sum(-1, keepdim=True), order, sampling.top_p, generator)
    if sampling.top_p < 1:
        return _nucleus(probabilities, sampling.top_p, generator)
    return _sample(probabilities, generator)


def _nucleus(
    probabilities: torch.Tensor, top_p: float, generator: torch.Generator, tries: int = 4
) -> torch.Tensor:
    """One token per row from its nucleus: the fewest most likely tokens that hold ``top_p``.

    Sorting the vocabulary is the slow part of a step, so this draws by rejection instead: a
    token drawn from the whole row is kept when the tokens likelier than it hold at most
    ``top_p``, which leaves exactly the nucleus, in proportion. The nucleus holds ``top_p`` or
    more, so a row is rarely drawn twice; a row missed ``tries`` times is drawn from its head.
    """
    tokens = torch.empty(len(probabilities), dtype=torch.long)
    pending, rows = torch.arange(len(probabilities)), probabilities
    for _ in range(tries):
        drawn = _sample(rows, generator)
        likelier = (rows * (rows > rows.gather(1, drawn[:, None])).view(torch.uint8)).sum(-1)
        inside = likelier <= top_p
        if len(pending) == len(probabilities) and bool(inside.all()):
            return drawn  # every row at the first draw, as is usual
        tokens[pending[inside]] = drawn[inside]
        pending, rows = pending[~inside], rows[~inside]
        if not len(pending):
            return tokens
    tokens[pending] = _from_head(*_head(rows, top_p), top_p, generator)
    return tokens


def _from_head(
    top: torch.Tensor, order: torch.Tensor, top_p: float, generator: torch.Generator
) -> torch.Tensor:
    """One token per row from a row's most likely tokens ``order`` (most likely first) with
    their probabilities ``top``, within the nucleus ``top_p``."""
    if top_p < 1:  # the tokens before it hold at most top_p
        top = top.masked_fill(top.cumsum(-1) - top > top_p, 0.0)
    return order.gather(1, _sample(top, generator)[:, None]).squeeze(1)


def _sample(weights: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One column per row, drawn in proportion to ``weights`` (a row's zeros never): by the
    inverse of the cumulative weights, far faster than ``torch.multinomial`` on a CPU."""
    cumulative = weights.cumsum(-1)
    uniform = torch.rand(len(weights), 1, generator=generator) * cumulative[:, -1:]
    column = torch.searchsorted(cumulative, uniform, right=True).clamp_(max=weights.shape[-1] - 1)
    # Rounding may land on a zero weight at the very end: take the row's likeliest instead.
    zero = weights.gather(1, column) == 0
    if zero.any():
        column = torch.where(zero, weights.argmax(-1, keepdim=True), column)
    return column.squeeze(1)


def _head(
    probabilities: torch.Tensor, top_p: float, width: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's most likely tokens, most likely first, enough to hold ``top_p`` in every row:
    the ``width`` most likely, and four times as many while a row needs more."""
    size = probabilities.shape[-1]
    while True:
        top, order = probabilities.topk(min(width, size), dim=-1)
        if width >= size or not bool((top.sum(-1) < top_p).any()):
            return top, order
        width *= 4
