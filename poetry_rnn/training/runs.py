"""What a training run is and what it leaves behind: its hyper-parameters, where it stands
(saved in the training state it resumes from), and its records ``metrics.csv`` and
``curves.png``; every file is written atomically."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch

from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError
from poetry_rnn.files import user_path, write_bytes_atomic, write_text_atomic
from poetry_rnn.model.charrnn import CharRNN
from poetry_rnn.model.checkpoint import TrainingState, load_training_state, save_training_state

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
    minutes: float = 0.0  # a budget of training time; 0: none (the epochs alone end the run)

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
            "minutes": self.minutes >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise PoetryError(f"training option {name} is out of range: {getattr(self, name)}")


def learning_rate(
    step: int, total_steps: int, config: TrainConfig, time_spent: float = 0.0
) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``lr * min_lr_ratio`` at ``total_steps``,
    or sooner where ``time_spent`` (the share of a time budget used) is further along."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    by_steps = (step - config.warmup_steps) / max(1, total_steps - config.warmup_steps)
    decayed = min(1.0, max(by_steps, time_spent))
    floor = config.lr * config.min_lr_ratio
    return floor + (config.lr - floor) * 0.5 * (1 + math.cos(math.pi * decayed))


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
    seconds: float = 0.0  # of training, all epochs and resumed commands together
    history: list[dict] = field(default_factory=list)
    finished: bool = False

    def next_epoch(self) -> None:
        """Move to the start of the next epoch."""
        self.epoch += 1
        self.batch_in_epoch = 0
        self.epoch_loss_sum = 0.0
        self.epoch_tokens = 0
        self.epoch_seconds = 0.0


def write_run_state(
    path: Path,
    model: CharRNN,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    run_state: RunState,
    vocab: Vocab,
    data_path: str,
    train_on: str | None,
) -> None:
    """Write everything a resumed run needs as one atomic training-state file."""
    metadata = {
        "train_config": json.dumps(asdict(config)),
        "run_state": json.dumps(asdict(run_state)),
        "vocab": vocab.to_json(),
        "data": data_path,
        "train_on": train_on or "",
    }
    save_training_state(path, model, optimizer, metadata)


@dataclass
class Resumed:
    """A run read back from its training state."""

    state: TrainingState
    vocab: Vocab
    train_config: TrainConfig
    run_state: RunState
    data_path: str  # the prepared corpus it trained on
    train_on: str | None  # the one collection of it trained on; None: all of them


def read_run_state(path: Path) -> Resumed:
    """Read a training state written by :func:`write_run_state`."""
    if not user_path(path, "the training state").is_file():
        raise PoetryError(f"no training state to resume from: {path} is missing")
    state = load_training_state(path)
    try:
        train_config = TrainConfig(**json.loads(state.metadata["train_config"]))
        run_state = RunState(**json.loads(state.metadata["run_state"]))
        vocab = Vocab.from_json(state.metadata["vocab"])
        data_path = state.metadata["data"]
        train_on = state.metadata.get("train_on") or None  # absent in states of before it
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise PoetryError(f"damaged training state {path}: {error}") from error
    return Resumed(state, vocab, train_config, run_state, data_path, train_on)


# --- records: metrics.csv, curves.png -----------------------------------------------------


def write_metrics(out: Path, history: list[dict]) -> None:
    """metrics.csv and curves.png from the epoch history, both atomically."""
    if not history:
        return
    text = io.StringIO()
    columns = list(dict.fromkeys(name for row in history for name in row))  # older runs: fewer
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
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
