"""Training the CharRNN: the loop over epochs, on a GPU, a CPU, or many of either.

One code path: on CUDA it adds bf16 autocast, TF32 and pinned-memory copies; under ``torchrun``
it wraps the model in DistributedDataParallel (nccl on CUDA, gloo on CPU). A run directory
holds the best model (``model/``), the training state to resume from, ``metrics.csv``,
``curves.png`` and ``train.log`` (training/run_directory.py); every file is written atomically.
``python -m poetry_rnn.train`` (app/train_cli.py) starts or resumes a run.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from poetry_rnn.corpus.batching import LengthBucketedBatches
from poetry_rnn.corpus.data import EncodedCorpus
from poetry_rnn.errors import PoetryError
from poetry_rnn.model.charrnn import CharRNN, masked_loss
from poetry_rnn.model.checkpoint import TrainingState, save_pretrained
from poetry_rnn.training.budget import LOG_EVERY, RunClock, TimeBudget
from poetry_rnn.training.run_directory import MODEL_DIR, STATE_FILE
from poetry_rnn.training.runs import (
    RunState,
    TrainConfig,
    learning_rate,
    write_metrics,
    write_run_state,
)
from poetry_rnn.training.runtime import Runtime, agree
from poetry_rnn.training.validation import Validation, device_batches, finite

log = logging.getLogger("poetry_rnn.training.train")


class Trainer:
    """One run: the model, its optimizer and data, and the loop over epochs.

    ``train_on`` names one collection to train on (all of them if None), its vocabulary still
    the corpus's; validation reads the first collection's (see Validation).
    """

    def __init__(
        self,
        corpus: EncodedCorpus,
        model: CharRNN,
        train_config: TrainConfig,
        out: Path,
        runtime: Runtime,
        data_path: str,
        run_state: RunState | None = None,
        train_on: str | None = None,
    ) -> None:
        self.corpus = corpus
        self.model = model.to(runtime.device)
        self.config = train_config
        self.out = out
        self.runtime = runtime
        self.data_path = data_path
        self.train_on = train_on
        self.run_state = run_state or RunState()
        self.train_rows = corpus.indices("train", train_on)
        self.validation = Validation(corpus, self.model, runtime, out, train_config.samples)
        if len(self.train_rows) == 0 or len(self.validation.rows) == 0:
            raise PoetryError("the corpus needs poems in both its train and val splits")
        self.batches = LengthBucketedBatches(
            corpus.lengths[self.train_rows],
            train_config.batch_size,
            seed=train_config.seed,
            rank=runtime.rank,
            world_size=runtime.world_size,
        )
        if len(self.batches) == 0:
            raise PoetryError("fewer training poems than one batch per process: lower --batch-size")
        self.network: torch.nn.Module = self.model
        if runtime.world_size > 1:
            device_ids = [runtime.device.index] if runtime.cuda else None
            self.network = DistributedDataParallel(self.model, device_ids=device_ids)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=train_config.lr, weight_decay=train_config.weight_decay
        )
        self.clock = RunClock(runtime, self.run_state.seconds)
        self.budget = TimeBudget(train_config.minutes)

    @property
    def total_steps(self) -> int:
        return self.config.epochs * len(self.batches)

    @property
    def direction(self) -> str:
        return self.model.config.direction

    @property
    def time_spent(self) -> float:
        """The share of the time budget (``--minutes``) spent; 0 without one."""
        return self.budget.spent(self.run_state.seconds)

    def run(self) -> RunState:
        """Train until the last epoch, the time budget or early stopping; returns the final
        run state."""
        run_state = self.run_state
        while True:
            run_state.seconds = self.clock.share(run_state.step, pace=False)
            if run_state.epoch >= self.config.epochs or run_state.finished:
                break
            if self.time_spent >= 1:
                log.info("the time budget of %g minutes is spent", self.config.minutes)
                break
            trained_until = self.train_epoch()
            if self.config.minutes:
                self.budget.reserve = self.clock.share(run_state.step, pace=False) - trained_until
        run_state.finished = True
        self.checkpoint()
        log.info("%s: %.1f seconds in all", self.out, run_state.seconds)
        return run_state

    def train_epoch(self) -> float:
        """Train to the epoch's end or the time budget's, then end the epoch; returns the run's
        seconds when training stopped."""
        run_state, runtime = self.run_state, self.runtime
        self.batches.set_epoch(run_state.epoch)
        epoch_batches = [self.train_rows[rows] for rows in self.batches]
        remaining = epoch_batches[run_state.batch_in_epoch :]
        loss_sum = torch.tensor(run_state.epoch_loss_sum, device=runtime.device)
        started = time.monotonic() - run_state.epoch_seconds
        first_step, first_seconds = run_state.step, run_state.seconds
        bar = tqdm(
            total=len(epoch_batches),
            initial=run_state.batch_in_epoch,
            desc=f"epoch {run_state.epoch + 1}/{self.config.epochs}",
            unit="batch",
            disable=not runtime.main or not sys.stderr.isatty(),
        )
        self.network.train()
        batches = device_batches(self.corpus, remaining, runtime.device, self.direction)
        for batch, tokens in batches:
            loss_sum += self.train_step(batch) * tokens
            run_state.epoch_tokens += tokens
            run_state.step += 1
            run_state.batch_in_epoch += 1
            run_state.seconds = self.clock.read(run_state.step)
            if self.config.minutes:
                pace = (run_state.seconds - first_seconds) / (run_state.step - first_step)
                left = len(epoch_batches) - run_state.batch_in_epoch
                self.budget.end_of_training = self.budget.training_end(
                    run_state.seconds + pace * left
                )
            bar.update()
            if run_state.batch_in_epoch % LOG_EVERY == 0:
                seconds = time.monotonic() - started
                epoch_loss = finite(loss_sum.item(), run_state.step, self.out)
                bar.set_postfix(
                    loss=f"{epoch_loss / run_state.epoch_tokens:.3f}",
                    tok_s=f"{run_state.epoch_tokens * runtime.world_size / seconds:,.0f}",
                )
            mid_epoch = run_state.batch_in_epoch < len(epoch_batches)
            if mid_epoch and run_state.step % self.config.save_every == 0:
                run_state.epoch_loss_sum = finite(loss_sum.item(), run_state.step, self.out)
                run_state.epoch_seconds = time.monotonic() - started
                log.info(
                    "epoch %d, batch %d/%d: train loss %.4f, %s tokens/s",
                    run_state.epoch + 1, run_state.batch_in_epoch, len(epoch_batches),
                    run_state.epoch_loss_sum / run_state.epoch_tokens,
                    f"{run_state.epoch_tokens * runtime.world_size / run_state.epoch_seconds:,.0f}",
                )  # fmt: skip
                self.checkpoint()
            if self.time_spent >= 1:
                break
        bar.close()
        trained_until = run_state.seconds
        run_state.epoch_loss_sum = finite(loss_sum.item(), run_state.step, self.out)
        run_state.epoch_seconds = time.monotonic() - started
        self.end_epoch()
        return trained_until

    def train_step(self, batch: torch.Tensor) -> torch.Tensor:
        """One optimizer step on ``batch``; returns the loss without waiting for the device."""
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(
                self.run_state.step, self.total_steps, self.config, self.time_spent
            )
        with self.runtime.autocast():
            loss = masked_loss(self.network, batch, [self.corpus.vocab.pad_id])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip)
        self.optimizer.step()
        return loss.detach()

    def end_epoch(self) -> None:
        """Validate, record, keep the best model, decide on early stopping, save the state."""
        improved = False
        if self.runtime.main:
            lr = self.optimizer.param_groups[0]["lr"]
            row = self.validation.validate(self.run_state, lr, self.clock)
            improved = row["val_ppl"] < self.run_state.best_val_ppl
            if improved:
                self.run_state.best_val_ppl = row["val_ppl"]
                save_pretrained(self.out / MODEL_DIR, self.model, self.corpus.vocab, {"best": row})
            write_metrics(self.out, self.run_state.history)
            self.validation.log_samples(self.run_state.epoch)
        self.stop_early_unless(agree(self.runtime, improved))
        self.run_state.next_epoch()
        self.checkpoint()

    def stop_early_unless(self, improved: bool) -> None:
        """Count epochs without improvement; past ``patience`` of them the run is finished."""
        run_state = self.run_state
        run_state.epochs_without_improvement = (
            0 if improved else run_state.epochs_without_improvement + 1
        )
        if self.config.patience and run_state.epochs_without_improvement >= self.config.patience:
            log.info("no improvement for %d epochs: stopping early", self.config.patience)
            run_state.finished = True

    def checkpoint(self) -> None:
        """Save the training state (on the main process), then wait for every process."""
        if self.runtime.main:
            write_run_state(
                self.out / STATE_FILE, self.model, self.optimizer, self.config, self.run_state,
                self.corpus.vocab, self.data_path, self.train_on,
            )  # fmt: skip
        if self.runtime.world_size > 1:
            dist.barrier()

    def restore(self, state: TrainingState) -> None:
        """Continue exactly where ``state`` left off: optimizer and random number generators."""
        self.optimizer.load_state_dict(state.optimizer_state)
        torch.set_rng_state(state.rng["cpu"])
        if self.runtime.cuda and "cuda" in state.rng:
            torch.cuda.set_rng_state(state.rng["cuda"])
