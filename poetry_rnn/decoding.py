"""The decoding loop: tokens from a CharRNN, one step at a time, for a batch of poems."""

from __future__ import annotations

import torch

from poetry_rnn.model import CharRNN
from poetry_rnn.vocab import Vocab


@torch.no_grad()
def sample(
    model: CharRNN,
    vocab: Vocab,
    n: int = 1,
    prefix: str = "",
    max_chars: int = 96,
    temperature: float = 0.8,
    top_k: int = 0,
    seed: int = 0,
) -> list[str]:
    """``n`` poems sampled after ``<s>`` + ``prefix``, each ending at ``</s>`` or ``max_chars``."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator(device="cpu").manual_seed(seed)
    prompt = torch.tensor([vocab.start_id, *vocab.encode(prefix)], device=device)
    logits, state = model(prompt.repeat(n, 1))
    logits = logits[:, -1]
    never = torch.tensor([vocab.pad_id, vocab.start_id, vocab.unk_id], device=device)
    chosen: list[torch.Tensor] = []
    finished = torch.zeros(n, dtype=torch.bool)
    for _ in range(max_chars):
        logits = logits.float().cpu() / temperature
        logits[:, never.cpu()] = float("-inf")
        if top_k:
            cutoff = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
            logits[logits < cutoff] = float("-inf")
        token = torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(1)
        token[finished] = vocab.pad_id
        chosen.append(token)
        finished |= token == vocab.end_id
        if finished.all():
            break
        logits, state = model.step(token.to(device), state)
    model.train(was_training)
    rows = torch.stack(chosen, dim=1).tolist() if chosen else [[] for _ in range(n)]
    return [prefix + vocab.decode(row) for row in rows]
