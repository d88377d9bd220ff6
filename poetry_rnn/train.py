"""Training the CharRNN: ``python -m poetry_rnn.train``, on a GPU, a CPU, or many of either.

One code path: on CUDA it adds bf16 autocast, TF32 and pinned-memory copies; under ``torchrun``
it wraps the model in DistributedDataParallel (nccl on CUDA, gloo on CPU). A run directory
holds the best model (``model/``), the training state to resume from, ``metrics.csv``,
``curves.png`` and ``train.log``; every file is written atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import logging
import math
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from poetry_rnn.checkpoint import (
    TrainingState,
    load_training_state,
    save_pretrained,
    save_training_state,
)
from poetry_rnn.data import (
    EncodedCorpus,
    LengthBucketedBatches,
    add_corpus_arguments,
    corpus_from_arguments,
    load_corpus,
)
from poetry_rnn.decoding import Decoder, Plan, Sampling
from poetry_rnn.errors import LOG_FORMAT, PoetryError, run_cli, setup_logging
from poetry_rnn.files import write_bytes_atomic, write_text_atomic
from poetry_rnn.model import (
    DIRECTIONS,
    PRESETS,
    CharRNN,
    masked_loss,
    native_bf16,
    preset_config,
    total_nll,
)
from poetry_rnn.vocab import Vocab

log = logging.getLogger("poetry_rnn.train")  # also when run as __main__

STATE_FILE = "training_state.safetensors"
MODEL_DIR = "model"
LOG_EVERY = 50  # steps between loss read-backs (each one waits for the device)
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 65_536


@dataclass(frozen=True)
class TrainConfig:
    """The hyper-parameters of a run, saved with its state."""

    epochs: int = 20
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.01
    warmup_steps: int = 200
    min_lr_ratio: float = 0.05
    clip: float = 1.0
    seed: int = 0
    patience: int = 0
    save_every: int = 500
    samples: int = 3

    def __post_init__(self) -> None:
        for option in fields(self):
            value = getattr(self, option.name)
            number = int if option.type == "int" else int | float
            if isinstance(value, bool) or not isinstance(value, number):
                raise PoetryError(f"training option {option.name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise PoetryError(f"training option {option.name} must be finite, got {value}")
        checks = {
            "epochs": 1 <= self.epochs <= MAX_EPOCHS,
            "batch_size": 1 <= self.batch_size <= MAX_BATCH_SIZE,
            "lr": 0 < self.lr <= 1,
            "weight_decay": self.weight_decay >= 0,
            "warmup_steps": self.warmup_steps >= 0,
            "min_lr_ratio": 0 <= self.min_lr_ratio <= 1,
            "clip": self.clip > 0,
            "patience": self.patience >= 0,
            "save_every": self.save_every >= 1,
            "samples": 0 <= self.samples <= 64,
        }
        for name, ok in checks.items():
            if not ok:
                raise PoetryError(f"training option {name} is out of range: {getattr(self, name)}")


def learning_rate(step: int, total_steps: int, config: TrainConfig) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``lr * min_lr_ratio`` at ``total_steps``."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    decayed = min(1.0, (step - config.warmup_steps) / max(1, total_steps - config.warmup_steps))
    floor = config.lr * config.min_lr_ratio
    return floor + (config.lr - floor) * 0.5 * (1 + math.cos(math.pi * decayed))


def predicted_tokens(corpus: EncodedCorpus, rows: np.ndarray) -> int:
    """How many tokens a batch predicts: each row's tokens but the start."""
    return int(corpus.lengths[rows].sum()) - len(rows)


# --- the run's context: device, processes -------------------------------------------------


@dataclass(frozen=True)
class Runtime:
    """Where this process trains: its device, and its rank among ``world_size`` processes."""

    device: torch.device
    bf16: bool = False
    rank: int = 0
    world_size: int = 1

    def autocast(self) -> torch.autocast:
        """bf16 mixed precision where the hardware runs it natively; else a no-op."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"


def start_runtime(device: str, precision: str = "auto") -> Runtime:
    """Pick the device and precision; join the process group when started by torchrun."""
    if device == "cuda" and not torch.cuda.is_available():
        raise PoetryError("--device cuda was asked for, but no CUDA device is available")
    if device not in ("auto", "cpu", "cuda"):
        raise PoetryError(f"--device must be auto, cpu or cuda, got {device!r}")
    if precision not in ("auto", "bf16", "fp32"):
        raise PoetryError(f"--precision must be auto, bf16 or fp32, got {precision!r}")
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if use_cuda:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        chosen = torch.device("cuda", local_rank)
    else:
        chosen = torch.device("cpu")
    bf16 = precision == "bf16" or (precision == "auto" and native_bf16(chosen))
    if world_size > 1:
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Runtime(chosen, bf16, rank, world_size)


def agree(runtime: Runtime, value: object) -> object:
    """Rank 0's ``value``, on every rank."""
    if runtime.world_size == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


# --- state: everything a resumed run needs ------------------------------------------------


@dataclass
class RunState:
    """Where a run stands; saved in the training state."""

    epoch: int = 0
    batch_in_epoch: int = 0
    step: int = 0
    best_val_ppl: float = math.inf
    epochs_without_improvement: int = 0
    epoch_loss_sum: float = 0.0
    epoch_tokens: int = 0
    epoch_seconds: float = 0.0
    history: list[dict] = field(default_factory=list)
    finished: bool = False

    def next_epoch(self) -> None:
        """Move to the start of the next epoch."""
        self.epoch += 1
        self.batch_in_epoch = 0
        self.epoch_loss_sum = 0.0
        self.epoch_tokens = 0
        self.epoch_seconds = 0.0


def write_run_state(path: Path, trainer: Trainer) -> None:
    """Write everything a resumed run needs as one atomic training-state file."""
    metadata = {
        "train_config": json.dumps(asdict(trainer.config)),
        "run_state": json.dumps(asdict(trainer.run_state)),
        "vocab": trainer.corpus.vocab.to_json(),
        "data": trainer.data_path,
    }
    save_training_state(path, trainer.model, trainer.optimizer, metadata)


@dataclass
class Resumed:
    """A run read back from its training state."""

    state: TrainingState
    vocab: Vocab
    train_config: TrainConfig
    run_state: RunState
    data_path: str  # the prepared corpus it trained on


def read_run_state(path: Path) -> Resumed:
    """Read a training state written by :func:`write_run_state`."""
    if not path.is_file():
        raise PoetryError(f"no training state to resume from: {path} is missing")
    state = load_training_state(path)
    try:
        train_config = TrainConfig(**json.loads(state.metadata["train_config"]))
        run_state = RunState(**json.loads(state.metadata["run_state"]))
        vocab = Vocab.from_json(state.metadata["vocab"])
        data_path = state.metadata["data"]
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise PoetryError(f"damaged training state {path}: {error}") from error
    return Resumed(state, vocab, train_config, run_state, data_path)


# --- records: metrics.csv, curves.png -----------------------------------------------------


def write_metrics(out: Path, history: list[dict]) -> None:
    """metrics.csv and curves.png from the epoch history, both atomically."""
    if not history:
        return
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(history[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_text_atomic(out / "metrics.csv", text.getvalue())

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    epochs = [row["epoch"] for row in history]
    figure, (loss_axes, ppl_axes) = plt.subplots(1, 2, figsize=(10, 4))
    loss_axes.plot(epochs, [row["train_loss"] for row in history], marker="o", label="train")
    loss_axes.plot(epochs, [row["val_loss"] for row in history], marker="o", label="validation")
    loss_axes.set(xlabel="epoch", ylabel="loss (nats per token)", title="Loss")
    loss_axes.legend()
    ppl_axes.plot(epochs, [row["val_ppl"] for row in history], marker="o", color="C1")
    ppl_axes.set(xlabel="epoch", ylabel="perplexity", title="Validation perplexity")
    for axes in (loss_axes, ppl_axes):
        axes.grid(alpha=0.3)
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=100)
    plt.close(figure)
    write_bytes_atomic(out / "curves.png", image.getvalue())


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
    total, tokens = total_nll(
        model, (batch for batch, _ in batches), [corpus.vocab.pad_id], runtime.autocast
    )
    return total / max(tokens, 1)


class Diverged(PoetryError):
    """The loss stopped being a finite number: the run stops, its last good state kept."""


class Trainer:
    """One run: the model, its optimizer and data, and the loop over epochs.

    Validation reads the val split of the corpus's first collection (Tang in a Tang and Song
    corpus), so that figures stay comparable whatever else the model trains on.
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
    ) -> None:
        self.corpus = corpus
        self.model = model.to(runtime.device)
        self.config = train_config
        self.out = out
        self.runtime = runtime
        self.data_path = data_path
        self.run_state = run_state or RunState()
        self.train_rows = corpus.indices("train")
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
        self.decoder: Decoder | None = None  # made on first use: it reads the prosody tables

    @property
    def total_steps(self) -> int:
        return self.config.epochs * len(self.batches)

    @property
    def direction(self) -> str:
        return self.model.config.direction

    def run(self) -> RunState:
        """Train until the last epoch or early stopping; returns the final run state."""
        while self.run_state.epoch < self.config.epochs and not self.run_state.finished:
            self.train_epoch()
        self.run_state.finished = True
        self.checkpoint()
        return self.run_state

    def train_epoch(self) -> None:
        run_state, runtime = self.run_state, self.runtime
        self.batches.set_epoch(run_state.epoch)
        epoch_batches = [self.train_rows[rows] for rows in self.batches]
        remaining = epoch_batches[run_state.batch_in_epoch :]
        loss_sum = torch.tensor(run_state.epoch_loss_sum, device=runtime.device)
        started = time.perf_counter() - run_state.epoch_seconds
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
            bar.update()
            if run_state.batch_in_epoch % LOG_EVERY == 0:
                seconds = time.perf_counter() - started
                bar.set_postfix(
                    loss=f"{self.finite(loss_sum.item()) / run_state.epoch_tokens:.3f}",
                    tok_s=f"{run_state.epoch_tokens * runtime.world_size / seconds:,.0f}",
                )
            mid_epoch = run_state.batch_in_epoch < len(epoch_batches)
            if mid_epoch and run_state.step % self.config.save_every == 0:
                run_state.epoch_loss_sum = self.finite(loss_sum.item())
                run_state.epoch_seconds = time.perf_counter() - started
                log.info(
                    "epoch %d, batch %d/%d: train loss %.4f, %s tokens/s",
                    run_state.epoch + 1, run_state.batch_in_epoch, len(epoch_batches),
                    run_state.epoch_loss_sum / run_state.epoch_tokens,
                    f"{run_state.epoch_tokens * runtime.world_size / run_state.epoch_seconds:,.0f}",
                )  # fmt: skip
                self.checkpoint()
        bar.close()
        run_state.epoch_loss_sum = self.finite(loss_sum.item())
        run_state.epoch_seconds = time.perf_counter() - started
        self.end_epoch()

    def train_step(self, batch: torch.Tensor) -> torch.Tensor:
        """One optimizer step on ``batch``; returns the loss without waiting for the device."""
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.run_state.step, self.total_steps, self.config)
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
        if self.decoder is None:
            self.decoder = Decoder(self.model, self.corpus.vocab)
        plan, sampling = Plan(), Sampling()
        for poem in self.decoder.decode(plan, self.config.samples, sampling, self.run_state.epoch):
            log.info("sample: %s", poem if self.direction == "forward" else poem[::-1])

    def checkpoint(self) -> None:
        """Save the training state (on the main process), then wait for every process."""
        if self.runtime.main:
            write_run_state(self.out / STATE_FILE, self)
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
    parser = argparse.ArgumentParser(
        prog="python -m poetry_rnn.train",
        description="Train a CharRNN on a poem corpus (under torchrun: on many processes).",
    )
    source = parser.add_argument_group(
        "data (--corpus or --data; a resumed run reads its own data unless given)"
    )
    source.add_argument("--data", type=Path, help="a corpus .npz from python -m poetry_rnn.data")
    add_corpus_arguments(parser, required=False)
    model = parser.add_argument_group("model")
    model.add_argument("--preset", default="small", help=f"one of {', '.join(PRESETS)}")
    for name in ("embedding_dim", "hidden_size", "num_layers"):
        model.add_argument(f"--{name.replace('_', '-')}", type=int)
    model.add_argument("--dropout", type=float)
    model.add_argument("--tie-weights", action=argparse.BooleanOptionalAction, default=None)
    model.add_argument(
        "--direction", choices=DIRECTIONS, default="forward",
        help="backward trains a right-to-left model, which scores whole lines from their end",
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
    parser.add_argument("-v", "--verbose", action="store_true")
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
    else:
        out = args.out or Path("runs") / args.preset
        train_config = train_config_from(args)
    corpus, data_path = load_training_data(args, runtime, resumed)
    if resumed is not None:
        if resumed.vocab != corpus.vocab:
            raise PoetryError(
                f"the run in {args.resume} was trained on another vocabulary; "
                "prepare the data with the same corpus and options"
            )
        model, run_state = resumed.state.model, resumed.run_state
        run_state.finished = False
    else:
        model_config = preset_config(
            args.preset,
            len(corpus.vocab),
            embedding_dim=args.embedding_dim,
            hidden_size=args.hidden_size,
            num_layers=args.num_layers,
            dropout=args.dropout,
            tie_weights=args.tie_weights,
            direction=args.direction,
        )
        torch.manual_seed(train_config.seed)  # the same initial weights on every rank
        model, run_state = CharRNN(model_config), RunState()
        torch.manual_seed(train_config.seed + runtime.rank)  # dropout differs per rank
    if runtime.main:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise PoetryError(f"cannot create the run directory {out}: {error.strerror}") from None
    with run_log(out / "train.log" if runtime.main else None):
        log.info(
            "%s: %s parameters (%s), %d train poems, %d processes on %s%s; config %s",
            out, f"{model.num_parameters():,}", model.config.direction,
            len(corpus.indices("train")), runtime.world_size, runtime.device,
            " (bf16)" if runtime.bf16 else "", json.dumps(asdict(train_config)),
        )  # fmt: skip
        trainer = Trainer(corpus, model, train_config, out, runtime, data_path, run_state)
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


@contextlib.contextmanager
def run_log(path: Path | None) -> Iterator[None]:
    """Also log the package's messages to ``path`` while the block runs."""
    if path is None:
        yield
        return
    handler = logging.FileHandler(path, encoding="utf-8")
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
