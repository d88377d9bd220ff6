"""``python -m poetry_rnn.train``: the command line that starts or resumes a training run
(:mod:`poetry_rnn.training.train`): its flags, the run directory, the data, the initial model."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from pathlib import Path

import torch
import torch.distributed as dist

from poetry_rnn.app.data_cli import add_corpus_arguments, corpus_from_arguments
from poetry_rnn.corpus.data import EncodedCorpus, load_corpus
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli, setup_logging
from poetry_rnn.files import user_path
from poetry_rnn.model.charrnn import DIRECTIONS, PRESETS, CharRNN, preset_config
from poetry_rnn.model.checkpoint import from_pretrained
from poetry_rnn.training.run_directory import (
    MODEL_DIR,
    STATE_FILE,
    holds_run,
    remove_run,
    run_log,
)
from poetry_rnn.training.runs import Resumed, RunState, TrainConfig, read_run_state
from poetry_rnn.training.runtime import Runtime, start_runtime
from poetry_rnn.training.train import Trainer
from poetry_rnn.training.warm_start import transplant

log = logging.getLogger("poetry_rnn.training.train")  # the run's log, as the loop's


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
            "validating on the %s val split: %d poems",
            corpus.sources[0],
            len(trainer.validation.rows),
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


def _same(one: Path, other: Path) -> bool:
    return one.resolve() == other.resolve()


if __name__ == "__main__":
    sys.exit(run_cli(main))
