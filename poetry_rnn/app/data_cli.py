"""``python -m poetry_rnn.data``: prepare a corpus (:mod:`poetry_rnn.corpus.data`) from the
command line and print what every step did; its corpus options are the trainer's too."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence

from poetry_rnn.corpus.data import (
    DEFAULT_MAXLEN,
    FORM_CHOICES,
    CorpusOptions,
    EncodedCorpus,
    prepare_corpus,
)
from poetry_rnn.corpus.sources import COLLECTIONS, DEFAULT_INCLUDE
from poetry_rnn.errors import ArgumentParser, run_cli, setup_logging
from poetry_rnn.text import two_columns


def format_stats(stats: dict) -> str:
    """The stats of a prepared corpus as an aligned two-column table."""
    rows = [
        ("corpus", stats["corpus"]),
        ("files read", stats["files"]),
        ("bad files skipped", len(stats["bad_files"])),
        ("poems read", stats["poems_read"]),
        *((f"  dropped: {rule}", n) for rule, n in stats["dropped"].items() if n),
        *((f"  changed: {rule}", n) for rule, n in stats["changed"].items() if n),
        *((f"  filtered: {name}", n) for name, n in stats["filtered"].items() if n),
        ("poems kept", stats["poems_kept"]),
        ("  with a title", stats["titled"]),
        ("split train/val/test", "/".join(str(n) for n in stats["split"].values())),
        ("vocabulary size", f"{stats['vocab_size']} (min freq {stats['min_freq']})"),
        ("OOV share", f"{stats['oov_share']:.4%}"),
        ("chars per poem", " ".join(f"{k}={v}" for k, v in stats["chars_per_poem"].items())),
        *((f"  form: {name}", n) for name, n in stats["forms"].items()),
        (f"cut by maxlen {stats['maxlen']}", stats["cut_by_maxlen"]),
        ("padding: textbook 125", f"{stats['padding_share']['textbook_125']:.1%}"),
        ("padding: bucketed 128", f"{stats['padding_share']['bucketed_128']:.1%}"),
        ("cache", f"{stats['cache']} ({'loaded' if stats['cached'] else 'built'})"),
        ("seconds", stats["seconds"]),
    ]
    return two_columns(rows)


def _split_shares(text: str) -> tuple[float, float, float]:
    try:
        parts = [float(part) for part in text.split("/")]
    except ValueError:
        parts = []
    if len(parts) != 3 or not all(math.isfinite(p) and p >= 0 for p in parts) or sum(parts) <= 0:
        raise argparse.ArgumentTypeError(f"expected three shares like 96/2/2, got {text!r}")
    return tuple(part / sum(parts) for part in parts)  # type: ignore[return-value]


def add_corpus_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """The options that choose and prepare a corpus (shared with the trainer)."""
    group = parser.add_argument_group("corpus")
    group.add_argument(
        "--corpus", required=required, help="a chinese-poetry checkout, a folder or a JSON file"
    )
    group.add_argument(
        "--include", nargs="+", choices=COLLECTIONS, default=list(DEFAULT_INCLUDE),
        help="collections of a chinese-poetry checkout (default: tang)",
    )  # fmt: skip
    group.add_argument("--form", choices=FORM_CHOICES, default="any", help="keep only this form")
    group.add_argument("--author", help="keep only this poet's poems")
    group.add_argument("--min-chars", type=int, default=0, help="keep poems at least this long")
    group.add_argument("--max-chars", type=int, help="keep poems at most this long")
    group.add_argument("--min-freq", type=int, default=2, help="rarer characters become <unk>")
    group.add_argument("--maxlen", type=int, default=DEFAULT_MAXLEN, help="tokens per row")
    group.add_argument("--split", type=_split_shares, default=(0.96, 0.02, 0.02),
                       help="train/val/test shares (default 96/2/2)")  # fmt: skip
    group.add_argument(
        "--headed", action="store_true",
        help="rows are <s> title <sep> poem </s> (a ci's title is its 词牌), for a titled model",
    )  # fmt: skip
    group.add_argument(
        "--vocab", help="encode in this vocabulary (a model's vocab.json) instead of building one"
    )
    group.add_argument("--cache-dir", default="data", help="where the cache goes (default data/)")
    group.add_argument(
        "--name", help="cache file stem (default: the collections, e.g. tang, and an options hash)"
    )
    group.add_argument("--rebuild", action="store_true", help="ignore an existing cache")
    group.add_argument("--skip-bad", action="store_true", help="skip malformed files, counted")


def corpus_from_arguments(args: argparse.Namespace, progress: bool = True) -> EncodedCorpus:
    """Prepare (or load from cache) the corpus the parsed arguments describe."""
    options = CorpusOptions(
        include=tuple(args.include),
        form=args.form,
        author=args.author,
        min_chars=args.min_chars,
        max_chars=args.max_chars,
        min_freq=args.min_freq,
        maxlen=args.maxlen,
        split=tuple(args.split),
        headed=args.headed,
        vocab=args.vocab,
    )
    return prepare_corpus(
        args.corpus, options, args.cache_dir, args.name, args.rebuild, args.skip_bad, progress
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.data",
        description="Prepare a chinese-poetry corpus: clean, simplify, encode, cache.",
    )
    add_corpus_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the stats as one JSON object")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    corpus = corpus_from_arguments(args, progress=not args.json and sys.stderr.isatty())
    if args.json:
        print(json.dumps(corpus.stats, ensure_ascii=False))
    else:
        print(format_stats(corpus.stats))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
