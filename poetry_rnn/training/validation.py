"""Measuring a run: batches on the device, the validation loss, each epoch's row of metrics.csv
and its sample poems; a loss that is no finite number stops the run."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from poetry_rnn.corpus.batching import LengthBucketedBatches
from poetry_rnn.corpus.data import EncodedCorpus
from poetry_rnn.errors import PoetryError
from poetry_rnn.model.charrnn import CharRNN, total_nll
from poetry_rnn.training.budget import RunClock
from poetry_rnn.training.runs import RunState
from poetry_rnn.training.runtime import Runtime
from poetry_rnn.writing.decoding import Composer
from poetry_rnn.writing.plans import Plan
from poetry_rnn.writing.sampling import Sampling

log = logging.getLogger("poetry_rnn.training.train")  # the run's log, as the loop's


def predicted_tokens(corpus: EncodedCorpus, rows: np.ndarray) -> int:
    """How many tokens a batch predicts: each row's tokens but the start."""
    return int(corpus.lengths[rows].sum()) - len(rows)


def device_batches(
    corpus: EncodedCorpus, batches: Sequence[np.ndarray], device: torch.device, direction: str
) -> Iterator[tuple[torch.Tensor, int]]:
    """Batches as int64 tensors on ``device``, read in ``direction``, with their
    predicted-token counts.

    On CUDA each batch is copied from pinned memory without waiting, so the next batch travels
    while the current step computes.
    """
    for rows in batches:
        batch = torch.from_numpy(corpus.batch(rows, direction))
        if device.type == "cuda":
            batch = batch.pin_memory().to(device, non_blocking=True)
        yield batch, predicted_tokens(corpus, rows)


def validation_loss(
    model: CharRNN, corpus: EncodedCorpus, rows: np.ndarray, runtime: Runtime
) -> float:
    """Mean negative log-likelihood per predicted token over ``rows`` (docs/metrics.md)."""
    order = LengthBucketedBatches(corpus.lengths[rows], 256, shuffle=False)
    batches = device_batches(
        corpus, [rows[b] for b in order], runtime.device, model.config.direction
    )
    headers = (torch.from_numpy(corpus.header[rows[b]]) for b in order)
    total, tokens = total_nll(
        model, (batch for batch, _ in batches), [corpus.vocab.pad_id], runtime.autocast, headers
    )
    return total / max(tokens, 1)


class Diverged(PoetryError):
    """The loss stopped being a finite number: the run stops, its last good state kept."""


def finite(loss: float, step: int, out: Path) -> float:
    """``loss`` if it is a finite number; else the run in ``out`` has diverged at ``step`` and
    stops here, before anything of it is saved."""
    if not math.isfinite(loss):
        raise Diverged(
            f"training diverged at step {step} (loss {loss}); the last good "
            f"state is kept in {out}: resume it with a lower --lr"
        )
    return loss


class Validation:
    """An epoch's measures, taken on the main process: the validation loss, the row of
    metrics.csv, sample poems in the log.

    Validation reads the val split of the corpus's first collection (Tang in a Tang and Song
    corpus), so that figures stay comparable whatever else the model trains on.
    """

    def __init__(
        self, corpus: EncodedCorpus, model: CharRNN, runtime: Runtime, out: Path, samples: int
    ) -> None:
        self.corpus = corpus
        self.model = model
        self.runtime = runtime
        self.out = out
        self.samples = samples
        self.rows = corpus.indices("val", corpus.sources[0])
        self.composer: Composer | None = None  # made on first use: it reads the prosody tables

    def validate(self, run_state: RunState, lr: float, clock: RunClock) -> dict:
        """The epoch's row of metrics.csv, logged and added to the history."""
        runtime = self.runtime
        started = time.monotonic()
        val_loss = validation_loss(self.model, self.corpus, self.rows, runtime)
        val_loss = finite(val_loss, run_state.step, self.out)
        row = {
            "epoch": run_state.epoch + 1,
            "step": run_state.step,
            "train_loss": round(run_state.epoch_loss_sum / max(run_state.epoch_tokens, 1), 5),
            "val_loss": round(val_loss, 5),
            "val_ppl": round(math.exp(min(val_loss, 700.0)), 4),
            "lr": lr,
            "tokens_per_s": round(
                run_state.epoch_tokens * runtime.world_size / max(run_state.epoch_seconds, 1e-9)
            ),
            "seconds": round(run_state.epoch_seconds, 2),
            "val_seconds": round(time.monotonic() - started, 2),
            "elapsed": round(clock.local(), 2),  # the run's seconds, this validation's too
        }
        run_state.history.append(row)
        log.info(
            "epoch %d: train loss %.4f, val loss %.4f, val ppl %.2f, %s tokens/s",
            row["epoch"], row["train_loss"], row["val_loss"], row["val_ppl"],
            f"{row['tokens_per_s']:,}",
        )  # fmt: skip
        return row

    def log_samples(self, epoch: int) -> None:
        """Log ``samples`` poems of the model, drawn with ``epoch`` as the seed."""
        if not self.samples:
            return
        if self.composer is None:
            self.composer = Composer(self.model, self.corpus.vocab)
        plan, sampling = Plan(), Sampling()
        for poem in self.composer.decode(plan, self.samples, sampling, epoch):
            log.info("sample: %s", poem if self.model.config.direction == "forward" else poem[::-1])
