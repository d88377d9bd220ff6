"""Training the CharRNN: ``python -m poetry_rnn.train``, on a GPU, a CPU, or many of either.

One code path: on CUDA it adds bf16 autocast, TF32 and pinned-memory copies; under ``torchrun``
it wraps the model in DistributedDataParallel (nccl on CUDA, gloo on CPU). A run directory
holds the best model (``model/``), the training state to resume from, ``metrics.csv``,
``curves.png`` and ``train.log`` (poetry_rnn/runs.py); every file is written atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from poetry_rnn.corpus.batching import LengthBucketedBatches
from poetry_rnn.corpus.data import (
    EncodedCorpus,
    add_corpus_arguments,
    corpus_from_arguments,
    load_corpus,
)
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import LOG_FORMAT, ArgumentParser, PoetryError, run_cli, setup_logging
from poetry_rnn.files import user_path
from poetry_rnn.model.charrnn import (
    DIRECTIONS,
    PRESETS,
    CharRNN,
    masked_loss,
    preset_config,
    total_nll,
)
from poetry_rnn.model.checkpoint import (
    TrainingState,
    from_pretrained,
    save_pretrained,
)
from poetry_rnn.training.runs import (
    Resumed,
    RunState,
    TrainConfig,
    learning_rate,
    read_run_state,
    write_metrics,
    write_run_state,
)
from poetry_rnn.training.runtime import Runtime, agree, start_runtime
from poetry_rnn.writing.decoding import Composer, Plan
from poetry_rnn.writing.sampling import Sampling

log = logging.getLogger("poetry_rnn.training.train")  # also when run as __main__

STATE_FILE = "training_state.safetensors"
MODEL_DIR = "model"
LOG_EVERY = 50  # steps between loss read-backs (each one waits for the device)


def predicted_tokens(corpus: EncodedCorpus, rows: np.ndarray) -> int:
    """How many tokens a batch predicts: each row's tokens but the start."""
    return int(corpus.lengths[rows].sum()) - len(rows)


# --- the loop -----------------------------------------------------------------------------


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


class RunClock:
    """The seconds a run has spent, its earlier commands' included: steps, validations, saves.

    Read every step from the host's monotonic clock, which costs nothing and waits for no
    device. Under torchrun every process must change the rate and stop at the same step, so
    there the clock is rank 0's, shared at each epoch's start and every LOG_EVERY steps, and
    counted on between shares at the pace of the steps before.
    """

    def __init__(self, runtime: Runtime, seconds: float) -> None:
        self.runtime = runtime
        self.origin = time.monotonic() - seconds
        self.shared, self.shared_step, self.pace = seconds, 0, 0.0

    def local(self) -> float:
        """This process's own reading."""
        return time.monotonic() - self.origin

    def read(self, step: int) -> float:
        """The reading after ``step``, the same on every process."""
        if self.runtime.world_size == 1:
            return self.local()
        if step - self.shared_step >= LOG_EVERY:
            return self.share(step)
        return self.shared + self.pace * (step - self.shared_step)

    def share(self, step: int, pace: bool = True) -> float:
        """Rank 0's reading on every process; with ``pace``, the pace of the steps since the
        last share is measured too (without: time other than steps passed since)."""
        now = agree(self.runtime, self.local())
        if pace and step > self.shared_step:
            self.pace = (now - self.shared) / (step - self.shared_step)
        self.shared, self.shared_step = now, step
        return now


class Diverged(PoetryError):
    """The loss stopped being a finite number: the run stops, its last good state kept."""


class Trainer:
    """One run: the model, its optimizer and data, and the loop over epochs.

    Validation reads the val split of the corpus's first collection (Tang in a Tang and Song
    corpus), so that figures stay comparable whatever else the model trains on. ``train_on``
    names one collection to train on (all of them if None), its vocabulary still the corpus's.
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
        self.val_rows = corpus.indices("val", corpus.sources[0])
        if len(self.train_rows) == 0 or len(self.val_rows) == 0:
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
        self.composer: Composer | None = None  # made on first use: it reads the prosody tables
        self.clock = RunClock(runtime, self.run_state.seconds)
        #: With a time budget: the run's seconds when training ends (see training_end), and
        #: the seconds an epoch's end (validation, saving) took last.
        self.end_of_training = train_config.minutes * 60
        self.reserve = 0.0

    @property
    def total_steps(self) -> int:
        return self.config.epochs * len(self.batches)

    @property
    def direction(self) -> str:
        return self.model.config.direction

    @property
    def time_spent(self) -> float:
        """The share of the training time that the time budget (``--minutes``) allows that is
        used; 0 without a budget. The learning rate's cosine follows it to its floor."""
        if not self.config.minutes:
            return 0.0
        return self.run_state.seconds / max(self.end_of_training, 1e-9)

    def training_end(self, epoch_end: float) -> float:
        """When training ends, in the run's seconds: ``reserve`` before the budget's end, so
        that the final validation and saving end with the budget; or at the end of this epoch
        (``epoch_end``, projected) where no other epoch would fit after it."""
        deadline = self.config.minutes * 60 - self.reserve
        return epoch_end if deadline - self.reserve <= epoch_end < deadline else deadline

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
                self.reserve = self.clock.share(run_state.step, pace=False) - trained_until
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
                self.end_of_training = self.training_end(run_state.seconds + pace * left)
            bar.update()
            if run_state.batch_in_epoch % LOG_EVERY == 0:
                seconds = time.monotonic() - started
                bar.set_postfix(
                    loss=f"{self.finite(loss_sum.item()) / run_state.epoch_tokens:.3f}",
                    tok_s=f"{run_state.epoch_tokens * runtime.world_size / seconds:,.0f}",
                )
            mid_epoch = run_state.batch_in_epoch < len(epoch_batches)
            if mid_epoch and run_state.step % self.config.save_every == 0:
                run_state.epoch_loss_sum = self.finite(loss_sum.item())
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
        run_state.epoch_loss_sum = self.finite(loss_sum.item())
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

    def finite(self, loss: float) -> float:
        """``loss`` if it is a finite number; else the run has diverged and stops here, before
        anything of it is saved."""
        if not math.isfinite(loss):
            raise Diverged(
                f"training diverged at step {self.run_state.step} (loss {loss}); the last good "
                f"state is kept in {self.out}: resume it with a lower --lr"
            )
        return loss

    def end_epoch(self) -> None:
        """Validate, record, keep the best model, decide on early stopping, save the state."""
        improved = False
        if self.runtime.main:
            row = self.validate()
            improved = row["val_ppl"] < self.run_state.best_val_ppl
            if improved:
                self.run_state.best_val_ppl = row["val_ppl"]
                save_pretrained(self.out / MODEL_DIR, self.model, self.corpus.vocab, {"best": row})
            write_metrics(self.out, self.run_state.history)
            self.log_samples()
        self.stop_early_unless(agree(self.runtime, improved))
        self.run_state.next_epoch()
        self.checkpoint()

    def validate(self) -> dict:
        """The epoch's row of metrics.csv, logged and added to the history."""
        run_state, runtime = self.run_state, self.runtime
        started = time.monotonic()
        val_loss = self.finite(validation_loss(self.model, self.corpus, self.val_rows, runtime))
        row = {
            "epoch": run_state.epoch + 1,
            "step": run_state.step,
            "train_loss": round(run_state.epoch_loss_sum / max(run_state.epoch_tokens, 1), 5),
            "val_loss": round(val_loss, 5),
            "val_ppl": round(math.exp(min(val_loss, 700.0)), 4),
            "lr": self.optimizer.param_groups[0]["lr"],
            "tokens_per_s": round(
                run_state.epoch_tokens * runtime.world_size / max(run_state.epoch_seconds, 1e-9)
            ),
            "seconds": round(run_state.epoch_seconds, 2),
            "val_seconds": round(time.monotonic() - started, 2),
            "elapsed": round(self.clock.local(), 2),  # the run's seconds, this validation's too
        }
        run_state.history.append(row)
        log.info(
            "epoch %d: train loss %.4f, val loss %.4f, val ppl %.2f, %s tokens/s",
            row["epoch"], row["train_loss"], row["val_loss"], row["val_ppl"],
            f"{row['tokens_per_s']:,}",
        )  # fmt: skip
        return row

    def stop_early_unless(self, improved: bool) -> None:
        """Count epochs without improvement; past ``patience`` of them the run is finished."""
        run_state = self.run_state
        run_state.epochs_without_improvement = (
            0 if improved else run_state.epochs_without_improvement + 1
        )
        if self.config.patience and run_state.epochs_without_improvement >= self.config.patience:
            log.info("no improvement for %d epochs: stopping early", self.config.patience)
            run_state.finished = True

    def log_samples(self) -> None:
        if not self.config.samples:
            return
        if self.composer is None:
            self.composer = Composer(self.model, self.corpus.vocab)
        plan, sampling = Plan(), Sampling()
        for poem in self.composer.decode(plan, self.config.samples, sampling, self.run_state.epoch):
            log.info("sample: %s", poem if self.direction == "forward" else poem[::-1])

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


# --- command line -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.train",
        description="Train a CharRNN on a poem corpus (under torchrun: on many processes).",
    )
    source = parser.add_argument_group(
        "data (--corpus or --data; a resumed run reads its own data unless given)"
    )
    source.add_argument("--data", type=Path, help="a corpus .npz from python -m poetry_rnn.data")
    source.add_argument(
        "--train-on", metavar="COLLECTION",
        help="train on this collection of the corpus alone (e.g. tang), keeping the whole "
        "corpus's vocabulary (default: every collection; a resumed run: its own)",
    )  # fmt: skip
    add_corpus_arguments(parser, required=False)
    model = parser.add_argument_group("model")
    model.add_argument("--preset", help=f"one of {', '.join(PRESETS)} (default small)")
    for name, what in (
        ("embedding_dim", "the size of a character's embedding"),
        ("hidden_size", "the size of each LSTM layer's state"),
        ("num_layers", "the number of LSTM layers"),
    ):
        model.add_argument(f"--{name.replace('_', '-')}", type=int, help=f"{what} (the preset's)")
    model.add_argument("--dropout", type=float, help="dropout between layers (the preset's)")
    model.add_argument(
        "--tie-weights", action=argparse.BooleanOptionalAction, default=None,
        help="share the embedding with the output layer (the preset's)",
    )  # fmt: skip
    model.add_argument(
        "--direction", choices=DIRECTIONS, default="forward",
        help="backward trains a right-to-left model, which scores whole lines from their end",
    )  # fmt: skip
    model.add_argument(
        "--init", type=Path, metavar="MODEL_DIR",
        help="start from this model's shape and weights (e.g. poetry_rnn/pretrained), its "
        "characters' rows kept wherever the new vocabulary has them",
    )  # fmt: skip
    train = parser.add_argument_group("training")
    defaults = TrainConfig()
    for option in fields(TrainConfig):
        default = getattr(defaults, option.name)
        train.add_argument(
            f"--{option.name.replace('_', '-')}", type=type(default), help=f"default {default}"
        )
    train.add_argument("--device", default="auto", help="auto, cpu or cuda")
    train.add_argument("--precision", default="auto", help="auto (bf16 where native), bf16 or fp32")
    train.add_argument("--out", type=Path, help="run directory (default runs/<preset>)")
    train.add_argument("--resume", type=Path, help="continue the run in this directory")
    train.add_argument(
        "--overwrite", action="store_true",
        help="replace the run that --out holds (without it, a run is never replaced)",
    )  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser


def train_config_from(args: argparse.Namespace, base: TrainConfig | None = None) -> TrainConfig:
    """``base`` (or the defaults) with every option given on the command line."""
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    given = {name: value for name, value in given.items() if value is not None}
    return TrainConfig(**(asdict(base or TrainConfig()) | given))


def load_training_data(
    args: argparse.Namespace, runtime: Runtime, resumed: Resumed | None
) -> tuple[EncodedCorpus, str]:
    """The corpus from --data or --corpus (rank 0 builds a missing cache first), else the one
    a resumed run trained on; and the path of its prepared file."""
    if args.corpus is not None:
        if runtime.main:
            corpus = corpus_from_arguments(args, progress=sys.stderr.isatty())
        if runtime.world_size > 1:
            dist.barrier()
        if not runtime.main:
            corpus = corpus_from_arguments(args, progress=False)
        return corpus, corpus.stats["cache"]
    data = args.data or (resumed and resumed.data_path)
    if not data:
        raise PoetryError("give the training data: --corpus PATH or --data FILE.npz")
    return load_corpus(data), str(data)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    runtime = start_runtime(args.device, args.precision)
    setup_logging(args.verbose)
    if not runtime.main:
        logging.getLogger("poetry_rnn").setLevel(logging.WARNING)
    try:
        return train(args, runtime)
    finally:
        if runtime.world_size > 1:
            dist.destroy_process_group()


def train(args: argparse.Namespace, runtime: Runtime) -> int:
    resumed = None
    if args.resume is not None:
        resumed = read_run_state(args.resume / STATE_FILE)
        out = args.out or args.resume
        train_config = train_config_from(args, resumed.train_config)
        train_on = args.train_on or resumed.train_on
    else:
        out = args.out or Path("runs") / (args.preset or "small")
        train_config = train_config_from(args)
        train_on = args.train_on
    out = user_path(out, "the run directory")
    replacing = holds_run(out) and not (resumed is not None and _same(out, args.resume))
    if replacing and not args.overwrite:
        raise PoetryError(
            f"{out} holds a run already: continue it with --resume {out}, "
            "or replace it with --overwrite"
        )
    if args.overwrite and resumed is not None and _same(out, args.resume):
        raise PoetryError("--overwrite would replace the run that --resume continues")
    corpus, data_path = load_training_data(args, runtime, resumed)
    if corpus.headed and args.direction == "backward":
        raise PoetryError(
            "a headed corpus (--headed) is read forward; prepare a backward model's data without it"
        )
    if resumed is not None and resumed.vocab != corpus.vocab:
        raise PoetryError(
            f"the run in {args.resume} was trained on another vocabulary; "
            "prepare the data with the same corpus and options"
        )
    if runtime.main:
        if replacing:
            remove_run(out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise PoetryError(f"cannot create the run directory {out}: {error.strerror}") from None
    with run_log(out / "train.log" if runtime.main else None):
        if resumed is not None:
            model, run_state = resumed.state.model, resumed.run_state
            run_state.finished = False
        else:
            torch.manual_seed(train_config.seed)  # the same initial weights on every rank
            model, run_state = initial_model(args, corpus.vocab), RunState()
            torch.manual_seed(train_config.seed + runtime.rank)  # dropout differs per rank
        trainer = Trainer(corpus, model, train_config, out, runtime, data_path, run_state, train_on)
        log.info(
            "%s: %s parameters (%s), %d train poems (%s), %d processes on %s%s; config %s",
            out, f"{model.num_parameters():,}", model.config.direction, len(trainer.train_rows),
            train_on or "+".join(corpus.sources), runtime.world_size, runtime.device,
            " (bf16)" if runtime.bf16 else "", json.dumps(asdict(train_config)),
        )  # fmt: skip
        log.info(
            "validating on the %s val split: %d poems", corpus.sources[0], len(trainer.val_rows)
        )
        if resumed is not None:
            trainer.restore(resumed.state)
            at = (run_state.epoch + 1, run_state.batch_in_epoch)
            log.info("resuming at epoch %d, batch %d", *at)
        final = trainer.run()
        log.info("best validation perplexity %.2f in %s", final.best_val_ppl, out / MODEL_DIR)
    return 0


def initial_model(args: argparse.Namespace, vocab: Vocab) -> CharRNN:
    """A new model for ``vocab``: of the preset and shape options, or (``--init``) of a
    trained model's shape, holding its weights."""
    shape = {
        "embedding_dim": args.embedding_dim,
        "hidden_size": args.hidden_size,
        "num_layers": args.num_layers,
        "tie_weights": args.tie_weights,
    }
    if args.init is None:
        config = preset_config(
            args.preset or "small", len(vocab), **shape, dropout=args.dropout,
            direction=args.direction,
        )  # fmt: skip
        return CharRNN(config)
    given = [f"--{name.replace('_', '-')}" for name, value in shape.items() if value is not None]
    if args.preset is not None or given:
        options = ", ".join((["--preset"] if args.preset is not None else []) + given)
        raise PoetryError(f"--init takes the shape of its model: leave out {options}")
    source, source_vocab = from_pretrained(args.init, direction=args.direction)
    config = replace(source.config, vocab_size=len(vocab))
    if args.dropout is not None:
        config = replace(config, dropout=args.dropout)
    model = CharRNN(config)
    transplant(source, source_vocab, model, vocab)
    kept = sum(token in source_vocab.index for token in vocab.tokens)
    log.info("initialised from %s: %d of %d tokens kept their rows", args.init, kept, len(vocab))
    return model


@torch.no_grad()
def transplant(source: CharRNN, source_vocab: Vocab, target: CharRNN, vocab: Vocab) -> None:
    """Copy ``source``'s weights into ``target``, a model of the same shape over ``vocab``.

    Rows indexed by token (the embedding, and an untied output layer) move with their token;
    a token new to ``target`` keeps its fresh embedding and takes the output bias of
    ``<unk>``, the id that stood for it in ``source``; but a new ``<sep>``, which ends a title
    where the poem begins, starts as ``<s>``, the token that began every poem so far.
    """
    old = torch.tensor([source_vocab.index.get(token, -1) for token in vocab.tokens])
    known = old >= 0
    by_token = {"embedding.weight", "decoder.weight", "decoder.bias"}
    targets = target.state_dict(keep_vars=True)
    for name, weight in source.state_dict().items():
        if name not in by_token:
            targets[name].copy_(weight)
    target.embedding.weight[known] = source.embedding.weight[old[known]]
    if not target.config.tie_weights:
        target.decoder.weight[known] = source.decoder.weight[old[known]]
    target.decoder.bias[known] = source.decoder.bias[old[known]]
    target.decoder.bias[~known] = source.decoder.bias[source_vocab.unk_id]
    if vocab.sep_id is not None and source_vocab.sep_id is None:
        target.embedding.weight[vocab.sep_id] = source.embedding.weight[source_vocab.start_id]
        if not target.config.tie_weights:
            target.decoder.weight[vocab.sep_id] = source.decoder.weight[source_vocab.start_id]


#: What a run leaves in its directory (poetry_rnn/runs.py); --overwrite removes them.
RUN_FILES = (STATE_FILE, MODEL_DIR, "metrics.csv", "curves.png", "train.log")


def holds_run(directory: Path) -> bool:
    """True where ``directory`` holds a run's training state or best model."""
    return (directory / STATE_FILE).exists() or (directory / MODEL_DIR).exists()


def remove_run(directory: Path) -> None:
    """Remove the run that ``directory`` holds, and nothing else of it."""
    log.info("replacing the run in %s (--overwrite)", directory)
    try:
        for name in RUN_FILES:
            path = directory / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    except OSError as error:
        raise PoetryError(f"cannot replace the run in {directory}: {error.strerror}") from None


def _same(one: Path, other: Path) -> bool:
    return one.resolve() == other.resolve()


@contextlib.contextmanager
def run_log(path: Path | None) -> Iterator[None]:
    """Also log the package's messages to ``path`` while the block runs."""
    if path is None:
        yield
        return
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as error:
        raise PoetryError(f"cannot write {path}: {error.strerror or error}") from None
    handler.setFormatter(LOG_FORMAT)
    package = logging.getLogger("poetry_rnn")
    package.addHandler(handler)
    try:
        yield
    finally:
        package.removeHandler(handler)
        handler.close()


if __name__ == "__main__":
    sys.exit(run_cli(main))
