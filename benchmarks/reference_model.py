"""Train the reference recipe (docs/baseline.md) for a time budget and compare it with a model.

    python benchmarks/reference_model.py train --data data/tang.npz --minutes 110 \\
        [--out runs/reference] [--device cuda]
    python benchmarks/reference_model.py compare --data data/tang.npz \\
        --reference runs/reference/model [--model DIR] [--json]

``train`` runs the textbook recipe on the project's split of the corpus: 20 epochs at most,
stopped when ``--minutes`` have passed, the validation perplexity measured after every epoch
(and where the budget cut one short) and the best model kept in ``OUT/model``. Its
``metrics.csv`` ``train_loss`` is the textbook's own loss, padding included.

``compare`` scores both models on the same validation poems, in fp32, each in the layout it was
trained on, and writes the reference's greedy poems (docs/baseline.md: top-1 decoding from the start
token and from common openings), with the metrics of docs/metrics.md of each form beside them.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from reference import (
    BATCH_SIZE,
    greedy_poem,
    reference_optimizer,
    reference_step,
    textbook_batch,
    textbook_loss,
)
from tqdm import tqdm

from poetry_rnn.corpus.data import load_corpus
from poetry_rnn.errors import PoetryError, run_cli, setup_logging
from poetry_rnn.evaluation.metrics import corpus_lines, generation_metrics
from poetry_rnn.evaluation.prompts import STARTS
from poetry_rnn.forms import FORMS
from poetry_rnn.model.charrnn import CharRNN, preset_config
from poetry_rnn.model.checkpoint import SHIPPED_MODEL, from_pretrained, save_pretrained
from poetry_rnn.text import two_columns
from poetry_rnn.training.runs import write_metrics
from poetry_rnn.training.runtime import Runtime, start_runtime
from poetry_rnn.training.validation import validation_loss

log = logging.getLogger("poetry_rnn.reference_model")
EPOCHS = 20  # the textbook's


def train(data: Path, minutes: float, out: Path, seed: int, device: str) -> None:
    corpus = load_corpus(data)
    torch.manual_seed(seed)
    on = start_runtime(device, "fp32").device  # the textbook trains in fp32
    model = CharRNN(preset_config("reference", len(corpus.vocab))).to(on)
    optimizer = reference_optimizer(model)
    rows, val_rows = corpus.indices("train"), corpus.indices("val")
    rng = np.random.default_rng(seed)
    started = time.monotonic()
    deadline = started + minutes * 60
    history: list[dict] = []
    best = math.inf
    log.info("reference recipe: %d train poems, %g minutes at most on %s", len(rows), minutes, on)
    for epoch in range(1, EPOCHS + 1):
        order = rng.permutation(rows)
        batches = range(0, len(order), BATCH_SIZE)
        losses = []
        for start in tqdm(batches, desc=f"epoch {epoch}", disable=not sys.stderr.isatty()):
            part = order[start : start + BATCH_SIZE]
            batch = torch.from_numpy(textbook_batch(corpus, part)).to(on)
            losses.append(reference_step(model, optimizer, batch))
            if time.monotonic() > deadline:
                break
        val_loss = textbook_loss(model, corpus, val_rows)
        history.append({
            "epoch": round(epoch - 1 + len(losses) / len(batches), 3),
            "train_loss": sum(losses) / len(losses),
            "val_loss": val_loss,
            "val_ppl": math.exp(val_loss),
            "minutes": round((time.monotonic() - started) / 60, 1),
        })  # fmt: skip
        write_metrics(out, history)
        log.info("epoch %s: validation perplexity %.2f", history[-1]["epoch"], math.exp(val_loss))
        if val_loss < best:
            best = val_loss
            save_pretrained(out / "model", model, corpus.vocab, metrics=history[-1])
        if time.monotonic() > deadline:
            break
    log.info("best validation perplexity %.2f in %s", math.exp(best), out / "model")


def compare(data: Path, model_dir: Path, reference_dir: Path) -> dict:
    corpus = load_corpus(data)
    val_rows = corpus.indices("val")
    ours, ours_vocab = from_pretrained(model_dir)
    reference, reference_vocab = from_pretrained(reference_dir)
    if ours_vocab != corpus.vocab or reference_vocab != corpus.vocab:
        raise PoetryError("both models must be trained on the vocabulary of --data")
    fp32: Runtime = start_runtime("cpu", "fp32")
    ours_ppl = math.exp(validation_loss(ours, corpus, val_rows, fp32))
    reference_ppl = math.exp(textbook_loss(reference, corpus, val_rows))
    prompts = ["", *STARTS]
    poems = [greedy_poem(reference, reference_vocab, prompt) for prompt in prompts]
    lines = corpus_lines(corpus.texts(corpus.indices("train")))
    return {
        "val_poems": len(val_rows),
        "val_ppl": {"project": ours_ppl, "reference": reference_ppl},
        "reduction": 1 - ours_ppl / reference_ppl,
        "greedy": {
            "prompts": prompts,
            "poems": poems,
            "forms": {name: generation_metrics(poems, name, lines) for name in FORMS},
        },
    }


def report(result: dict) -> str:
    rows: list[tuple[str, object]] = [
        ("validation poems", result["val_poems"]),
        ("project val ppl", f"{result['val_ppl']['project']:.2f}"),
        ("reference val ppl", f"{result['val_ppl']['reference']:.2f}"),
        ("reduction", f"{result['reduction']:.1%}"),
    ]
    for name, metrics in result["greedy"]["forms"].items():
        figures = ("format_accuracy", "rhyme_rate", "tone_conformance", "copy_rate")
        shown = " ".join(
            f"{figure}={metrics[figure]:.2f}" if metrics[figure] is not None else f"{figure}=n/a"
            for figure in figures
        )
        rows.append((f"greedy as {name} (n={metrics['n']})", shown))
    poems = "\n".join(f"  {p or '(free)'}: {poem}" for p, poem in zip(
        result["greedy"]["prompts"], result["greedy"]["poems"], strict=True
    ))  # fmt: skip
    return two_columns(rows) + "\n\nreference greedy poems:\n" + poems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    training = commands.add_parser("train", help="train the reference recipe")
    training.add_argument("--data", type=Path, required=True, help="a right-padded corpus .npz")
    training.add_argument("--minutes", type=float, required=True, help="wall-clock budget")
    training.add_argument("--out", type=Path, default=Path("runs/reference"))
    training.add_argument("--seed", type=int, default=0)
    training.add_argument("--device", default="auto", help="auto, cpu or cuda")
    comparing = commands.add_parser("compare", help="compare a model with the reference")
    comparing.add_argument("--data", type=Path, required=True)
    comparing.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    comparing.add_argument("--reference", type=Path, required=True)
    comparing.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    setup_logging()
    if args.command == "train":
        train(args.data, args.minutes, args.out, args.seed, args.device)
        return 0
    result = compare(args.data, args.model or SHIPPED_MODEL, args.reference)
    print(json.dumps(result, ensure_ascii=False) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
