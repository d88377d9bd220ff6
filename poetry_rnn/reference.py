"""The textbook CharRNN recipe (GUIDE §6), the baseline every figure is compared against.

``Embedding(V, 128)`` → 2-layer ``LSTM(128, 256)`` → ``Linear(256, V)`` (the ``reference``
preset); each poem wrapped in start/end tokens, front-padded and cut to 125 tokens;
cross-entropy over every position, padding included; Adam lr 1e-3, batch 128, fp32.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from poetry_rnn.data import TEXTBOOK_MAXLEN, EncodedCorpus
from poetry_rnn.model import CharRNN
from poetry_rnn.vocab import Vocab

BATCH_SIZE = 128
LEARNING_RATE = 1e-3


def textbook_batch(
    corpus: EncodedCorpus, rows: np.ndarray, width: int = TEXTBOOK_MAXLEN
) -> np.ndarray:
    """The rows front-padded and cut to ``width`` tokens, as the textbook's tang.npz lays them
    out (125 tokens)."""
    batch = np.full((len(rows), width), corpus.vocab.pad_id, dtype=np.int64)
    for i, row in enumerate(rows):
        tokens = corpus.tokens[row, : corpus.lengths[row]][:width]
        batch[i, width - len(tokens) :] = tokens
    return batch


def textbook_real_tokens(corpus: EncodedCorpus, rows: np.ndarray) -> int:
    """Real (non-padding) tokens the textbook layout predicts in ``rows``."""
    return int(np.minimum(corpus.lengths[rows], TEXTBOOK_MAXLEN).sum()) - len(rows)


def reference_optimizer(model: CharRNN) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)


def reference_step(model: CharRNN, optimizer: torch.optim.Optimizer, batch: torch.Tensor) -> float:
    """One textbook training step: every position is a target, padding included."""
    logits, _ = model(batch[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


@torch.no_grad()
def textbook_loss(model: CharRNN, corpus: EncodedCorpus, rows: np.ndarray) -> float:
    """Mean negative log-likelihood per predicted token (GUIDE §5) of ``rows``, each poem
    front-padded as the textbook model was trained but never cut: the characters and the end
    token are predicted, the padding and the start token are not."""
    model.eval()
    total, predicted = 0.0, 0
    rows = rows[np.argsort(corpus.lengths[rows], kind="stable")]
    for start in range(0, len(rows), BATCH_SIZE):
        part = rows[start : start + BATCH_SIZE]
        batch = torch.from_numpy(textbook_batch(corpus, part, int(corpus.lengths[part].max())))
        targets = batch[:, 1:].masked_fill(batch[:, 1:] == corpus.vocab.start_id, -100)
        targets = targets.masked_fill(targets == corpus.vocab.pad_id, -100)
        logits, _ = model(batch[:, :-1])
        total += F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1), reduction="sum"
        ).item()
        predicted += int((targets != -100).sum())
    model.train()
    return total / predicted


@torch.no_grad()
def greedy_poem(
    model: CharRNN, vocab: Vocab, start: str = "", max_chars: int = 125, stop_at_end: bool = True
) -> str:
    """The textbook generator: feed the start, then take the most likely token until the end
    token or ``max_chars`` — no form, no rhyme, no tones. ``stop_at_end=False`` always writes
    ``max_chars`` tokens (for timing a fixed length)."""
    model.eval()
    logits, state = None, None
    for token in [vocab.start_id, *vocab.encode(start)]:
        logits, state = model.step(torch.tensor([token]), state)
    chosen = []
    for _ in range(max_chars):
        token = int(logits.argmax(-1))
        if token == vocab.end_id and stop_at_end:
            break
        chosen.append(token)
        logits, state = model.step(torch.tensor([token]), state)
    return start + vocab.decode(chosen)
