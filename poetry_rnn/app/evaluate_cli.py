"""``python -m poetry_rnn.evaluate perplexity|generation|corpus|report|couplet|ci``: evaluate a
model (docs/metrics.md, :mod:`poetry_rnn.evaluation.evaluate`); ``blind`` and ``blind-score``
write a blind reading kit (:mod:`poetry_rnn.evaluation.reading`) and score its ratings
(:mod:`poetry_rnn.evaluation.ratings`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from poetry_rnn.corpus.data import FORM_CHOICES, SPLITS
from poetry_rnn.corpus.sources import COLLECTIONS, DEFAULT_INCLUDE
from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli, setup_logging
from poetry_rnn.evaluation.ci_rates import ci_table, format_ci_table
from poetry_rnn.evaluation.evaluate import (
    model_name,
    run_corpus,
    run_couplet,
    run_generation,
    run_perplexity,
    run_report,
)
from poetry_rnn.evaluation.prompts import PROMPT_SOURCES
from poetry_rnn.evaluation.ratings import KEY_FILE, format_scores, score_kit
from poetry_rnn.evaluation.reading import (
    POEMS_FILE,
    RUBRIC_FILE,
    parse_variants,
    write_couplet_kit,
    write_kit,
)
from poetry_rnn.evaluation.reports import REPORTS, format_corpus, format_couplets, format_report
from poetry_rnn.forms import FORMS
from poetry_rnn.text import two_columns
from poetry_rnn.writing.controls import Controls, add_writing_arguments, writing_options
from poetry_rnn.writing.generate import MODES, STEERS, PoetryGenerator

DEFAULT_N = 200
DEFAULT_COUPLETS = 48
KIT_KINDS = ("poems", "couplet")
#: The tunes of a blind kit of 词 by default: those aichpoem writes (issue 43).
KIT_TUNES = (
    "浣溪沙", "鹧鸪天", "蝶恋花", "西江月", "清平乐",
    "菩萨蛮", "点绛唇", "念奴娇", "满江红", "浪淘沙",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.evaluate",
        description="Evaluate a model (docs/metrics.md): perplexity, generated poems, real poems.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, summary: str, corpus_required: bool) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=summary, description=summary)
        command.add_argument(
            "--corpus",
            required=corpus_required,
            help="a chinese-poetry checkout, a folder or a JSON file",
        )
        add_include(command)
        command.add_argument("--json", action="store_true", help="print one JSON object")
        return command

    scoring = add("perplexity", "perplexity of a model on the cleaned poems of a corpus", True)
    scoring.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    scoring.add_argument(
        "--split", choices=("all", *SPLITS), default="all",
        help="score only the poems of one split, as training splits them by default (default all)",
    )  # fmt: skip
    scoring.add_argument(
        "--form", choices=FORM_CHOICES, default="any",
        help="score only the poems of this form, or of any regulated form (default any)",
    )  # fmt: skip
    scoring.add_argument(
        "--titles", choices=("given", "empty", "none"),
        help="a titled model scores each poem given its title (given, the default for such a "
        "model), after an empty title (empty), or as an untitled model does (none)",
    )  # fmt: skip
    scoring.add_argument(
        "--precision", choices=("fp32", "bf16", "int8"), default="fp32",
        help="score in a precision poems are written in (int8: what the CPU decodes in by "
        "default); default fp32",
    )  # fmt: skip

    writing = add("generation", "metrics of poems the model writes", False)
    writing.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    writing.add_argument("--n", type=int, default=DEFAULT_N, help="how many poems (default 200)")
    writing.add_argument("--form", required=True, help=f"one of {', '.join(FORMS)}")
    writing.add_argument("--mode", default="free", help=f"one of {', '.join(MODES)}")
    add_sampling(writing)
    writing.add_argument("--no-rhyme", action="store_true", help="do not force the rhyme")
    writing.add_argument("--no-tone", action="store_true", help="do not force the tones")
    writing.add_argument("--steer", choices=STEERS, default="plan", help="theme steering")

    real = add("corpus", "the same metrics on the real poems of a corpus", True)
    real.add_argument("--form", help="one form (default: every regulated form)")
    real.add_argument(
        "--split", choices=("all", *SPLITS), default="all",
        help="only the poems of one split, as training splits them by default (default all)",
    )  # fmt: skip

    card = add("report", "every form and mode of a model beside the real poems (Markdown)", True)
    card.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    card.add_argument("--n", type=int, default=DEFAULT_N, help="poems a form and mode (200)")
    add_sampling(card)

    couplet = add(
        "couplet", "下联 written to real 上联 beside the poets' own: the middle couplets of the "
        "test split's 律诗 (docs/couplet.md)", True,
    )  # fmt: skip
    couplet.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    couplet.add_argument("--backward", type=Path, help="a backward model's directory")
    couplet.add_argument("--n", type=int, default=DEFAULT_COUPLETS, help="couplets (default 48)")
    couplet.add_argument(
        "--examples", type=int, default=12, help="couplets printed beside each other (default 12)"
    )
    add_sampling(couplet)

    tunes = commands.add_parser(
        "ci", help="format, rhyme and tone rates of model 词 by 词牌, beside the Song poets'",
        description="For every 词牌 (or those named), the rates of the corpus's 词 of its "
        "shape beside those of --n 词 the model writes to it, the modes cycled (docs/cipai.md)",
    )  # fmt: skip
    tunes.add_argument("--corpus", required=True, help="a chinese-poetry checkout (its 宋词)")
    tunes.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    tunes.add_argument("--n", type=int, default=10, help="词 the model writes a tune (10)")
    tunes.add_argument("--tunes", nargs="+", help="the 词牌 (default: every one of the table)")
    tunes.add_argument("--modes", nargs="+", help="the modes cycled (default: the model's)")
    tunes.add_argument("--seed", type=int, default=0, help="seed of each tune's first 词")
    tunes.add_argument("--json", action="store_true", help="print one JSON object")
    kit = commands.add_parser(
        "blind", help="a blind reading kit: real and generated poems, shuffled (docs/metrics.md)"
    )
    kit.add_argument("--out", type=Path, required=True, help="the kit's directory")
    kit.add_argument(
        "--kind", choices=KIT_KINDS, default="poems",
        help="poems: real and model poems of the regulated forms; couplet: middle couplets of "
        "律诗, each 上联 with the poet's 下联 and with the model's (default poems)",
    )  # fmt: skip
    kit.add_argument("--n", type=int, default=48, help="poems in all, 4 to 400 (default 48)")
    kit.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    kit.add_argument("--corpus", required=True, help="the corpus whose test split gives poems")
    add_include(kit)
    add_sampling(kit)
    kit.add_argument("--no-rhyme", action="store_true", help="do not force the rhyme")
    kit.add_argument("--no-tone", action="store_true", help="do not force the tones")
    kit.add_argument(
        "--prompts", choices=PROMPT_SOURCES, default="corpus",
        help="corpus: each model poem's start, heads or theme from another poem of the test "
        "split (its first two characters, its line heads, its title); fixed: the fixed prompts",
    )  # fmt: skip
    kit.add_argument(
        "--variants", nargs="+", default=[], metavar="NAME=JSON",
        help='named control sets (and models: "model": DIR, "backward": DIR, "precision": P) '
        'compared on the same prompts, e.g. sample=\'{"top_p": 1}\'',
    )  # fmt: skip
    kit.add_argument(
        "--tunes", nargs="*", metavar="词牌",
        help="a kit of 词 instead: real 词 of these tunes (without names: the ten of issue 43) "
        "from the test split, and the model's 词 of the same tunes",
    )  # fmt: skip

    score = commands.add_parser("blind-score", help="the scores of a blind reading kit's ratings")
    score.add_argument("kit", type=Path, help="a kit's directory with readers' ratings-*.json")
    score.add_argument(
        "--against", metavar="VARIANT",
        help="the variant the others are paired with, prompt by prompt (default: the first)",
    )  # fmt: skip
    score.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def add_include(command: argparse.ArgumentParser) -> None:
    """The collections of a chinese-poetry checkout a command reads."""
    command.add_argument(
        "--include", nargs="+", choices=COLLECTIONS, default=list(DEFAULT_INCLUDE),
        help="collections of a chinese-poetry checkout (default: tang)",
    )  # fmt: skip


def add_sampling(command: argparse.ArgumentParser) -> None:
    """The seed, sampling and rhyme book options of the commands that write poems."""
    command.add_argument("--seed", type=int, default=0, help="seed of the first batch")
    add_writing_arguments(command)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    progress = sys.stderr.isatty()
    started = time.perf_counter()
    if args.command == "blind":
        print(run_blind(args, progress))
        return 0
    if args.command == "blind-score":
        print(run_blind_score(args))
        return 0
    if args.command == "ci":
        print(run_ci(args, progress))
        return 0
    if args.command == "perplexity":
        result = run_perplexity(args, progress)
    elif args.command == "couplet":
        result = run_couplet(args, progress)
    elif args.command == "generation":
        result = run_generation(args, progress)
    elif args.command == "corpus":
        result = run_corpus(args, progress)
    else:
        result = run_report(args, progress)
    result["seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    elif args.command == "corpus":
        print(format_corpus(result))
    elif args.command == "report":
        print(format_report(result))
    elif args.command == "couplet":
        print(format_couplets(result, args.examples))
    else:
        print(two_columns(REPORTS[args.command](result)))
    return 0


def run_blind(args: argparse.Namespace, progress: bool) -> str:
    """Write a blind reading kit; say where it is and what to hand readers."""
    base = Controls(**writing_options(args), rhyme=not args.no_rhyme, tone=not args.no_tone)
    generator = PoetryGenerator.from_pretrained(args.model)
    started = time.perf_counter()
    if args.kind == "couplet":
        if args.variants:
            raise PoetryError("--variants compare poems: a couplet kit reads one model")
        key = write_couplet_kit(
            args.out, generator, args.corpus, args.n, base, args.seed, tuple(args.include),
            about={"model": model_name(args.model)}, progress=progress,
        )  # fmt: skip
        return (
            f"{key['n']} couplets in {args.out} in {time.perf_counter() - started:.1f} s: give "
            f"readers {POEMS_FILE} and {RUBRIC_FILE}, keep {KEY_FILE}; "
            f"then python -m poetry_rnn.evaluate blind-score {args.out}"
        )
    variants = parse_variants(args.variants, base)
    key = write_kit(
        args.out, generator, args.corpus, args.n, variants, args.seed, tuple(args.include),
        about={"model": model_name(args.model)}, progress=progress, prompt_source=args.prompts,
        tunes=tuple(KIT_TUNES if args.tunes == [] else args.tunes or ()),
    )  # fmt: skip
    return (
        f"{key['n']} poems ({', '.join(key['variants'])}) in {args.out} in "
        f"{time.perf_counter() - started:.1f} s: give readers {POEMS_FILE} and "
        f"{RUBRIC_FILE}, keep {KEY_FILE}; then python -m poetry_rnn.evaluate "
        f"blind-score {args.out}"
    )


def run_ci(args: argparse.Namespace, progress: bool) -> str:
    """The 词牌 table of rates, as Markdown or JSON."""
    generator = PoetryGenerator.from_pretrained(args.model)
    result = ci_table(generator, args.corpus, args.n, args.tunes, args.modes,
                      Controls(seed=args.seed), progress)  # fmt: skip
    result["model"] = model_name(args.model)
    return json.dumps(result, ensure_ascii=False) if args.json else format_ci_table(result)


def run_blind_score(args: argparse.Namespace) -> str:
    """The scores of a kit's ratings, as Markdown or JSON."""
    scores = score_kit(args.kit, args.against)
    return json.dumps(scores, ensure_ascii=False) if args.json else format_scores(scores)


if __name__ == "__main__":
    sys.exit(run_cli(main))
