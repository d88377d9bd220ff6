"""Drawing a token: temperature, top-k and nucleus (top-p) sampling over the tokens a step
allows, fast on a CPU."""

from __future__ import annotations

from dataclasses import dataclass

import torch


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
    logits = (logits.float() / sampling.temperature).masked_fill(~allowed, float("-inf"))
    probabilities = logits.softmax(-1)
    if sampling.top_k:
        top, order = probabilities.topk(min(sampling.top_k, logits.shape[-1]), dim=-1)
        top = top / top.sum(-1, keepdim=True)
    elif sampling.top_p < 1:
        top, order = _head(probabilities, sampling.top_p)
    else:
        return _sample(probabilities, generator)
    if sampling.top_p < 1:  # the nucleus: the fewest most likely tokens that hold top_p
        top = top.masked_fill(top.cumsum(-1) - top > sampling.top_p, 0.0)
    return order.gather(1, _sample(top, generator)[:, None]).squeeze(1)


def _sample(weights: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One column per row, drawn in proportion to ``weights`` (a row's zeros never): by the
    inverse of the cumulative weights, far faster than ``torch.multinomial`` on a CPU."""
    cumulative = weights.cumsum(-1)
    uniform = torch.rand(len(weights), 1, generator=generator) * cumulative[:, -1:]
    column = torch.searchsorted(cumulative, uniform, right=True).clamp_(max=weights.shape[-1] - 1)
    # Rounding may land on a zero weight at the very end: take the row's likeliest instead.
    zero = weights.gather(1, column) == 0
    return torch.where(zero, weights.argmax(-1, keepdim=True), column).squeeze(1)


def _head(
    probabilities: torch.Tensor, top_p: float, width: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's most likely tokens, most likely first, enough to hold ``top_p`` in every row.

    Sorting the whole vocabulary every step is the slow part; the ``width`` most likely tokens
    almost always hold ``top_p`` already, and four times as many where a row needs more.
    """
    size = probabilities.shape[-1]
    while True:
        top, order = probabilities.topk(min(width, size), dim=-1)
        if width >= size or not bool((top.sum(-1) < top_p).any()):
            return top, order
        width *= 4
