"""``python -m poetry_rnn.checkpoint``: copy a model directory, or a run's training state, in
another precision, in shards or with a smaller vocabulary (:mod:`poetry_rnn.model.checkpoint`)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli
from poetry_rnn.files import user_path
from poetry_rnn.model.charrnn import CharRNN
from poetry_rnn.model.checkpoint import METRICS, from_pretrained, save_pretrained, trimmed
from poetry_rnn.training.runs import read_run_state

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.checkpoint",
        description="Copy a model directory, in another precision or in shards (e.g. to ship it).",
    )
    parser.add_argument(
        "source", type=Path,
        help="a model directory (e.g. runs/small/model), or a run's training state "
        "(runs/small/training_state.safetensors): the weights where the run stands",
    )  # fmt: skip
    parser.add_argument("out", type=Path, help="where the copy goes")
    parser.add_argument(
        "--dtype", choices=list(DTYPES), default="fp32",
        help="the precision of the copied weights (default fp32)",
    )  # fmt: skip
    parser.add_argument(
        "--max-shard-mb", type=_megabytes, help="split the weights into shards of this size"
    )
    parser.add_argument(
        "--vocab-size", type=int,
        help="keep only the special tokens and the most frequent characters, this many tokens "
        "in all; the others read as <unk> (makes the copy smaller)",
    )  # fmt: skip
    parser.add_argument(
        "--direction", choices=("forward", "backward"), default="forward",
        help="the direction the source's model reads in; another is refused (default forward)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if user_path(args.source, "the source").is_file():
        model, vocab, metrics = _from_run_state(args.source, args.direction)
    else:
        model, vocab = from_pretrained(args.source, direction=args.direction)
        metrics = _read_metrics(args.source / METRICS)
    if args.vocab_size is not None:
        model, vocab = trimmed(model, vocab, args.vocab_size)
    shard_bytes = None if args.max_shard_mb is None else int(args.max_shard_mb * 2**20)
    save_pretrained(args.out, model, vocab, metrics, DTYPES[args.dtype], shard_bytes)
    size = sum(path.stat().st_size for path in args.out.iterdir())
    print(f"wrote {args.out} ({size / 2**20:.1f} MiB)")
    return 0


def _read_metrics(path: Path) -> dict | None:
    """A model directory's metrics.json, None where it has none."""
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        detail = error.strerror if isinstance(error, OSError) else error
        raise PoetryError(f"damaged {path}: {detail or error}") from None
    if not isinstance(metrics, dict):
        raise PoetryError(f"damaged {path}: not a JSON object")
    return metrics


def _megabytes(text: str) -> float:
    """--max-shard-mb: a finite number of megabytes above 0."""
    try:
        size = float(text)
    except ValueError:
        size = math.nan
    if not (math.isfinite(size) and size > 0):
        raise argparse.ArgumentTypeError(f"expected a number of megabytes above 0, got {text!r}")
    return size


def _from_run_state(path: Path, direction: str) -> tuple[CharRNN, Vocab, dict]:
    """The model of a run's training state, its vocabulary, and where the run stood."""
    resumed = read_run_state(path)
    model = resumed.state.model
    if model.config.direction != direction:
        raise PoetryError(
            f"{path} holds a {model.config.direction} model, but a {direction} one is needed"
        )
    run = resumed.run_state
    where = {
        "epoch": run.epoch + 1, "batch_in_epoch": run.batch_in_epoch, "step": run.step,
        "finished": run.finished,
    }  # fmt: skip
    return model, resumed.vocab, {"training_state": where, "history": run.history}


if __name__ == "__main__":
    sys.exit(run_cli(main))
