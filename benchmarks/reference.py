"""The textbook CharRNN recipe (docs/baseline.md), the baseline every figure is compared with.

``Embedding(V, 128)`` → 2-layer ``LSTM(128, 256)`` → ``Linear(256, V)`` (the ``reference``
preset); each poem wrapped in start/end tokens, front-padded and cut to 125 tokens;
cross-entropy over every position, padding included; Adam lr 1e-3, batch 128, fp32.
"""

from __future__ import annotations

import numpy as np
import torch

from poetry_rnn.corpus.batching import TEXTBOOK_MAXLEN
from poetry_rnn.corpus.data import EncodedCorpus
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.model.charrnn import CharRNN, masked_loss, total_nll

BATCH_SIZE = 128
LEARNING_RATE = 1e-3


def textbook_batch(
    corpus: EncodedCorpus, rows: np.ndarray, width: int = TEXTBOOK_MAXLEN
) -> np.ndarray:
    """The rows front-padded and cut to ``width`` tokens, as the textbook's tang.npz lays them
    out (125 tokens)."""
    return corpus.batch(rows, padding="left", width=width)


def textbook_real_tokens(corpus: EncodedCorpus, rows: np.ndarray) -> int:
    """Real (non-padding) tokens the textbook layout predicts in ``rows``."""
    return int(np.minimum(corpus.lengths[rows], TEXTBOOK_MAXLEN).sum()) - len(rows)


def reference_optimizer(model: CharRNN) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)


def reference_step(model: CharRNN, optimizer: torch.optim.Optimizer, batch: torch.Tensor) -> float:
    """One textbook training step: every position is a target, padding included."""
    loss = masked_loss(model, batch, ignore=[])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def textbook_loss(model: CharRNN, corpus: EncodedCorpus, rows: np.ndarray) -> float:
    """Mean negative log-likelihood per predicted token (docs/metrics.md) of ``rows``, each poem
    front-padded as the textbook model was trained but never cut: the characters and the end
    token are predicted, the padding and the start token are not."""
    rows = rows[np.argsort(corpus.lengths[rows], kind="stable")]
    parts = [rows[start : start + BATCH_SIZE] for start in range(0, len(rows), BATCH_SIZE)]
    device = next(model.parameters()).device
    batches = (
        torch.from_numpy(textbook_batch(corpus, part, int(corpus.lengths[part].max()))).to(device)
        for part in parts
    )
    total, predicted = total_nll(
        model, batches, ignore=[corpus.vocab.pad_id, corpus.vocab.start_id]
    )
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
