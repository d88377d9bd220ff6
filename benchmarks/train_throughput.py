"""Training throughput: real (non-padding) characters per second, project vs reference recipe.

    python benchmarks/train_throughput.py [--data data/tang.npz] [--steps 24] [--batch-size 128]
        [--device all|cpu|cuda] [--presets small base] [--json]

Both recipes run on the same model shape (the ``reference`` preset), the same machine and the
same corpus, interleaved in rounds inside one run; the ratio is the figure. The ``--presets``
(default ``small`` and ``base``; ``large`` is what a GPU run trains, docs/gpu.md) are measured
with the project's step too. The reference keeps the textbook's
batch of 128; ``--batch-size`` sets the project's (where a GPU waits on its time steps, a
larger batch is what its length bucketing can afford). CPU always, CUDA when present.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from reference import (
    BATCH_SIZE,
    reference_optimizer,
    reference_step,
    textbook_batch,
    textbook_real_tokens,
)

from poetry_rnn.corpus.data import CorpusOptions, load_corpus, prepare_corpus
from poetry_rnn.model.charrnn import PRESETS, CharRNN, native_bf16, preset_config
from poetry_rnn.training.runs import TrainConfig
from poetry_rnn.training.runtime import Runtime
from poetry_rnn.training.train import Trainer
from poetry_rnn.training.validation import device_batches

ROOT = Path(__file__).resolve().parents[1]
SHARED_CORPUS = ROOT.parent / "shared/corpora/chinese-poetry"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class ReferenceRecipe:
    """The textbook step on randomly drawn batches of 128 front-padded poems."""

    def __init__(self, corpus, device: torch.device) -> None:
        torch.manual_seed(0)
        self.corpus, self.device = corpus, device
        self.model = CharRNN(preset_config("reference", len(corpus.vocab))).to(device)
        self.optimizer = reference_optimizer(self.model)
        self.rows = corpus.indices("train")
        self.rng = np.random.default_rng(0)

    def step(self) -> int:
        rows = self.rng.choice(self.rows, BATCH_SIZE, replace=False)
        batch = torch.from_numpy(textbook_batch(self.corpus, rows)).to(self.device)
        reference_step(self.model, self.optimizer, batch)
        return textbook_real_tokens(self.corpus, rows)


class ProjectRecipe:
    """The project's training step (``Trainer.train_step``) on its length-bucketed batches."""

    def __init__(
        self,
        corpus,
        preset: str,
        device: torch.device,
        out: Path,
        batch_size: int,
        bf16: bool | None = None,
    ) -> None:
        torch.manual_seed(0)
        runtime = Runtime(device, bf16=native_bf16(device) if bf16 is None else bf16)
        model = CharRNN(preset_config(preset, len(corpus.vocab)))
        config = TrainConfig(batch_size=batch_size, samples=0)
        self.trainer = Trainer(corpus, model, config, out, runtime, data_path="")
        train_rows = self.trainer.train_rows
        batches = [train_rows[rows] for rows in self.trainer.batches]
        self.stream = device_batches(corpus, batches, device, "forward")
        self.bf16 = runtime.bf16

    def step(self) -> int:
        batch, tokens = next(self.stream)
        self.trainer.train_step(batch)
        return tokens


def timed(recipe, steps: int, device: torch.device) -> tuple[int, float]:
    synchronize(device)
    started = time.perf_counter()
    tokens = sum(recipe.step() for _ in range(steps))
    synchronize(device)
    return tokens, time.perf_counter() - started


def measure_device(
    corpus, device: torch.device, steps: int, rounds: int, batch_size: int, presets: list[str]
) -> dict:
    with tempfile.TemporaryDirectory() as out:
        recipes = {
            "reference recipe": ReferenceRecipe(corpus, device),
            "project, reference shape": ProjectRecipe(
                corpus, "reference", device, Path(out), batch_size
            ),
            "project, ref. shape, fp32": ProjectRecipe(
                corpus, "reference", device, Path(out), batch_size, bf16=False
            ),
        } | {
            f"project, {preset}": ProjectRecipe(corpus, preset, device, Path(out), batch_size)
            for preset in presets
        }
        for recipe in recipes.values():
            timed(recipe, 2, device)  # warm-up
        totals = {name: [0, 0.0] for name in recipes}
        for _ in range(rounds):  # interleaved, so drift in machine speed hits all alike
            for name, recipe in recipes.items():
                tokens, seconds = timed(recipe, steps // rounds, device)
                totals[name][0] += tokens
                totals[name][1] += seconds
    rates = {name: tokens / seconds for name, (tokens, seconds) in totals.items()}
    base_rate = rates["reference recipe"]
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "bf16": recipes["project, reference shape"].bf16,
        "steps": steps,
        "project_batch_size": batch_size,
        "chars_per_s": {name: round(rate) for name, rate in rates.items()},
        "ratio_vs_reference": {name: round(rate / base_rate, 2) for name, rate in rates.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a prepared corpus .npz (default: Tang)")
    parser.add_argument("--corpus", type=Path, default=SHARED_CORPUS)
    parser.add_argument("--steps", type=int, default=24, help="timed steps per recipe")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, help="the project's poems a step"
    )
    parser.add_argument("--device", choices=("all", "cpu", "cuda"), default="all")
    parser.add_argument(
        "--presets", nargs="*", choices=[p for p in PRESETS if p != "reference"],
        default=["small", "base"], help="the presets measured with the project's step",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.rounds <= args.steps:
        parser.error("--rounds must be at least 1 and at most --steps")

    if args.data:
        corpus = load_corpus(args.data)
    else:
        corpus = prepare_corpus(args.corpus, CorpusOptions(), ROOT / "data", progress=False)
    devices = [torch.device("cpu")] if args.device in ("all", "cpu") else []
    if args.device in ("all", "cuda") and torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        devices.append(torch.device("cuda"))
    results = [
        measure_device(corpus, device, args.steps, args.rounds, args.batch_size, args.presets)
        for device in devices
    ]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for result in results:
        print(
            f"\n{result['device']} (project bf16: {result['bf16']}, {result['steps']} steps, "
            f"project batch {result['project_batch_size']})"
        )
        print(f"{'recipe':<26} {'real chars/s':>13} {'vs reference':>13}")
        for name, rate in result["chars_per_s"].items():
            print(f"{name:<26} {rate:>13,} {result['ratio_vs_reference'][name]:>12.2f}x")


if __name__ == "__main__":
    main()
