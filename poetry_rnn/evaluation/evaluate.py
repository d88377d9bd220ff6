"""Evaluation (docs/metrics.md): perplexity on a corpus, the metrics of generated poems, and
the same metrics on real poems, so that every figure of the model stands beside the poets'.

``python -m poetry_rnn.evaluate perplexity|generation|corpus|report``; every metric is
reported with its sample size. ``blind`` and ``blind-score`` run the blind reading kit
(:mod:`poetry_rnn.evaluation.reading`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from poetry_rnn.corpus.data import FORM_CHOICES, SPLITS, keep_form, split_of
from poetry_rnn.corpus.sources import COLLECTIONS, DEFAULT_INCLUDE
from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli, setup_logging
from poetry_rnn.evaluation.metrics import (
    corpus_lines,
    corpus_metrics,
    generation_metrics,
    perplexity,
    read_cleaned,
    read_titled,
)
from poetry_rnn.evaluation.prompts import (
    PROMPT_SOURCES,
    middle_couplets,
    prompts,
)
from poetry_rnn.forms import FORMS, Form, get_form
from poetry_rnn.model.charrnn import CharRNN
from poetry_rnn.model.checkpoint import from_pretrained, load_models
from poetry_rnn.poetics.couplets import MEASURES, couplet_measures
from poetry_rnn.poetics.rhymes import RHYME_BOOK_NAMES, RHYME_BOOKS
from poetry_rnn.text import split_lines, two_columns
from poetry_rnn.writing.controls import Controls, add_writing_arguments, writing_options
from poetry_rnn.writing.generate import MODES, STEERS, Poem, PoetryGenerator
from poetry_rnn.writing.plans import REPEAT_RATES

log = logging.getLogger("poetry_rnn.evaluation.evaluate")  # also when run as __main__

DEFAULT_N = 200
DEFAULT_COUPLETS = 48
KIT_KINDS = ("poems", "couplet")
#: The tunes of a blind kit of 词 by default: those aichpoem writes (issue 43).
KIT_TUNES = (
    "浣溪沙", "鹧鸪天", "蝶恋花", "西江月", "清平乐",
    "菩萨蛮", "点绛唇", "念奴娇", "满江红", "浪淘沙",
)  # fmt: skip
GENERATION_BATCH = 50  # poems per decoding batch


# --- generation ---------------------------------------------------------------------------


def generate_poems(
    generator: PoetryGenerator,
    n: int,
    mode: str,
    controls: Controls,
    steer: str = "plan",
    progress: bool = False,
) -> list[Poem]:
    """``n`` poems in ``mode`` and the form of ``controls``, the mode's prompts cycled across
    them, decoded in batches (one prompt a batch, the seeds counting up from ``controls.seed``,
    0 when unset)."""
    if n < 1:
        raise PoetryError(f"n must be at least 1, got {n}")
    if mode not in MODES:
        raise PoetryError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if controls.form is None or controls.form not in FORMS:
        raise PoetryError(f"evaluation needs one of the forms {', '.join(FORMS)}")
    chosen = prompts(generator, mode, FORMS[controls.form])
    jobs = []  # (prompt, poems in the batch)
    for number, prompt in enumerate(chosen):
        count = len(range(number, n, len(chosen)))  # poem i takes prompt i % len(chosen)
        batches = range(0, count, GENERATION_BATCH)
        jobs += [(prompt, min(GENERATION_BATCH, count - start)) for start in batches]
    first_seed = controls.seed or 0
    poems: list[Poem] = []
    for number, (prompt, size) in enumerate(tqdm(jobs, desc="generating", disable=not progress)):
        batch = replace(controls, n=size, seed=first_seed + number)
        poems += generator.write(mode, prompt, batch, steer)
    return poems


# --- command line -------------------------------------------------------------------------


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


def scored_texts(
    corpus: str | Path,
    include: Sequence[str] = DEFAULT_INCLUDE,
    split: str = "all",
    form: str = "any",
    progress: bool = False,
) -> list[str]:
    """The cleaned poems of ``corpus`` that perplexity scores: those of one ``split`` (as
    training splits them by default) and ``form``, or all."""
    return scored_poems(corpus, include, split, form, progress)[1]


def scored_poems(
    corpus: str | Path,
    include: Sequence[str] = DEFAULT_INCLUDE,
    split: str = "all",
    form: str = "any",
    progress: bool = False,
) -> tuple[list[str], list[str]]:
    """The titles and texts of :func:`scored_texts`'s poems."""
    titles, texts = read_titled(corpus, tuple(include), progress)
    chosen = [
        i for i, text in enumerate(texts)
        if (split == "all" or split_of(text) == SPLITS.index(split)) and keep_form(text, form)
    ]  # fmt: skip
    if not chosen:
        raise PoetryError(f"{corpus} holds no poems of split {split}, form {form}")
    return [titles[i] for i in chosen], [texts[i] for i in chosen]


def run_perplexity(args: argparse.Namespace, progress: bool) -> dict:
    model, vocab, _ = load_models(args.model, precision=args.precision)
    titles_of = args.titles or ("given" if vocab.sep_id is not None else "none")
    if titles_of != "none" and vocab.sep_id is None:
        raise PoetryError(f"--titles {titles_of}: this model was not trained with titles")
    titles, texts = scored_poems(args.corpus, args.include, args.split, args.form, progress)
    headers = {"none": None, "given": titles, "empty": [""] * len(texts)}
    scores = perplexity(model, vocab, texts, progress, headers[titles_of])
    where = {
        "corpus": args.corpus, "model": model_name(args.model), "split": args.split,
        "form": args.form, "titles": titles_of,
    }  # fmt: skip
    return where | {"precision": args.precision} | scores


def model_name(path: Path | None) -> str:
    """How a report names the model: its directory, or the shipped model."""
    return str(path) if path is not None else "shipped model"


def settings(controls: Controls) -> dict:
    """The controls a report's poems were written with."""
    return {
        "rhyme": controls.rhyme, "rhyme_book": controls.rhyme_book, "tone": controls.tone,
        "temperature": controls.temperature, "top_k": controls.top_k, "top_p": controls.top_p,
    }  # fmt: skip


def run_generation(args: argparse.Namespace, progress: bool) -> dict:
    controls = Controls(
        **writing_options(args), form=args.form, rhyme=not args.no_rhyme,
        tone=not args.no_tone, seed=args.seed,
    )  # fmt: skip
    form = get_form(args.form)
    generator = PoetryGenerator.from_pretrained(args.model)
    lines = None
    if args.corpus is not None:
        lines = corpus_lines(read_cleaned(args.corpus, tuple(args.include), progress))
    started = time.perf_counter()
    poems = generate_poems(generator, args.n, args.mode, controls, args.steer, progress)
    seconds = time.perf_counter() - started
    texts = [poem.text for poem in poems]
    return {
        "model": model_name(args.model),
        "mode": args.mode,
        "prompts": prompts(generator, args.mode, form) if args.mode != "free" else [],
        "seed": args.seed,
        **settings(controls),
        **({"steer": args.steer} if args.mode == "theme" else {}),
        "corpus": args.corpus,
        **generation_metrics(texts, form, lines, controls.rhyme_book),
        **fluency_and_theme(generator, from_pretrained(args.model)[0], args.mode, form, texts),
        "generation_seconds": round(seconds, 2),
        "texts": texts,
    }


def run_blind(args: argparse.Namespace, progress: bool) -> str:
    """Write a blind reading kit; say where it is and what to hand readers."""
    from poetry_rnn.evaluation import (
        reading,  # it builds on this module, so it is imported when used
    )

    base = Controls(**writing_options(args), rhyme=not args.no_rhyme, tone=not args.no_tone)
    generator = PoetryGenerator.from_pretrained(args.model)
    started = time.perf_counter()
    if args.kind == "couplet":
        if args.variants:
            raise PoetryError("--variants compare poems: a couplet kit reads one model")
        key = reading.write_couplet_kit(
            args.out, generator, args.corpus, args.n, base, args.seed, tuple(args.include),
            about={"model": model_name(args.model)}, progress=progress,
        )  # fmt: skip
        return (
            f"{key['n']} couplets in {args.out} in {time.perf_counter() - started:.1f} s: give "
            f"readers {reading.POEMS_FILE} and {reading.RUBRIC_FILE}, keep {reading.KEY_FILE}; "
            f"then python -m poetry_rnn.evaluate blind-score {args.out}"
        )
    variants = reading.parse_variants(args.variants, base)
    key = reading.write_kit(
        args.out, generator, args.corpus, args.n, variants, args.seed, tuple(args.include),
        about={"model": model_name(args.model)}, progress=progress, prompt_source=args.prompts,
        tunes=tuple(KIT_TUNES if args.tunes == [] else args.tunes or ()),
    )  # fmt: skip
    return (
        f"{key['n']} poems ({', '.join(key['variants'])}) in {args.out} in "
        f"{time.perf_counter() - started:.1f} s: give readers {reading.POEMS_FILE} and "
        f"{reading.RUBRIC_FILE}, keep {reading.KEY_FILE}; then python -m poetry_rnn.evaluate "
        f"blind-score {args.out}"
    )


def run_ci(args: argparse.Namespace, progress: bool) -> str:
    """The 词牌 table of rates, as Markdown or JSON."""
    from poetry_rnn.evaluation.ci_rates import ci_table, format_ci_table

    generator = PoetryGenerator.from_pretrained(args.model)
    result = ci_table(generator, args.corpus, args.n, args.tunes, args.modes,
                      Controls(seed=args.seed), progress)  # fmt: skip
    result["model"] = model_name(args.model)
    return json.dumps(result, ensure_ascii=False) if args.json else format_ci_table(result)


def run_blind_score(args: argparse.Namespace) -> str:
    """The scores of a kit's ratings, as Markdown or JSON."""
    from poetry_rnn.evaluation import (
        reading,  # it builds on this module, so it is imported when used
    )

    scores = reading.score_kit(args.kit, args.against)
    return json.dumps(scores, ensure_ascii=False) if args.json else reading.format_scores(scores)


def fluency_and_theme(
    generator: PoetryGenerator, scorer: CharRNN, mode: str, form: Form, texts: list[str]
) -> dict:
    """How the model itself scores what it wrote (``scorer``: the generator's model in fp32;
    lower perplexity reads more fluently) and, in theme mode, the share of lines holding a
    theme keyword character."""
    result = {"model_perplexity": perplexity(scorer, generator.vocab, texts)["perplexity"]}
    if mode == "theme":
        themes = prompts(generator, mode, form)
        keywords = {char for theme in themes for char in generator.theme_characters(theme)}
        lines = [line for text in texts for line in split_lines(text)]
        covered = sum(any(char in keywords for char in line) for line in lines)
        result["theme_coverage"] = covered / len(lines)
    return result


def run_couplet(args: argparse.Namespace, progress: bool) -> dict:
    """The model's 下联 to ``--n`` real 上联, measured beside the poets' own."""
    pairs = middle_couplets(args.corpus, args.n, args.seed, args.include, progress)
    controls = Controls(**writing_options(args))
    generator = PoetryGenerator.from_pretrained(args.model, backward=args.backward)
    written = []
    for number, (upper, _) in enumerate(tqdm(pairs, desc="couplets", disable=not progress)):
        (poem,) = generator.couplet(upper, controls=replace(controls, seed=args.seed + number))
        written.append(poem.lower)
    return {
        "corpus": args.corpus, "model": model_name(args.model),
        "backward": None if args.backward is None else str(args.backward), "seed": args.seed,
        **settings(controls),
        "poets": couplet_measures(pairs),
        "model_couplets": couplet_measures(
            [(u, own) for (u, _), own in zip(pairs, written, strict=True)]
        ),
        "couplets": [{"upper": u, "poet": lower, "model": own}
                     for (u, lower), own in zip(pairs, written, strict=True)],
    }  # fmt: skip


def format_couplets(result: dict, examples: int = 12) -> str:
    """The couplet measures as Markdown: the poets beside the model, then couplets side by
    side."""
    poets, model = result["poets"], result["model_couplets"]
    rows = [
        f"下联 to {poets['n']} 上联 of middle couplets of the test split's 律诗 "
        f"({result['corpus']}); model: {result['model']}, backward: "
        f"{result['backward'] or 'none'}; seed {result['seed']}, temperature "
        f"{result['temperature']}, top-p {result['top_p']}; "
        f"{result['seconds']} s",
        "",
        "| measure | what it says | poets | model |",
        "| --- | --- | --- | --- |",
    ]
    rows += [f"| {name} | {says} | {_share(poets[name], 2)} | {_share(model[name], 2)} |"
             for name, says in MEASURES]  # fmt: skip
    rows += ["", "| 上联 | the poet's 下联 | the model's 下联 |", "| --- | --- | --- |"]
    rows += [f"| {c['upper']} | {c['poet']} | {c['model']} |"
             for c in result["couplets"][:examples]]  # fmt: skip
    return "\n".join(rows)


def run_corpus(args: argparse.Namespace, progress: bool) -> dict:
    forms = [get_form(args.form).name] if args.form is not None else list(FORMS)
    texts = scored_texts(args.corpus, args.include, args.split, progress=progress)
    return {
        "corpus": args.corpus, "split": args.split, "poems": len(texts),
        "forms": corpus_metrics(texts, forms),
    }  # fmt: skip


def run_report(args: argparse.Namespace, progress: bool) -> dict:
    """Every form × mode with the constraints on, beside the poets."""
    if args.n < 1:
        raise PoetryError(f"--n must be at least 1, got {args.n}")
    controls = Controls(**writing_options(args), seed=args.seed)
    generator = PoetryGenerator.from_pretrained(args.model)
    scorer, _ = from_pretrained(args.model)  # fp32: scores are not approximated
    texts = read_cleaned(args.corpus, tuple(args.include), progress)
    lines = corpus_lines(texts)
    written = []
    for form in FORMS.values():
        for mode in generator.modes:
            in_form = replace(controls, form=form.name)
            poems = generate_poems(generator, args.n, mode, in_form, progress=progress)
            poem_texts = [poem.text for poem in poems]
            written.append(
                {"mode": mode, "first_poem": poem_texts[0]}
                | generation_metrics(poem_texts, form, lines, controls.rhyme_book)
                | fluency_and_theme(generator, scorer, mode, form, poem_texts)
            )
    return {
        "model": model_name(args.model),
        "corpus": args.corpus,
        "seed": args.seed,
        **settings(controls),
        "generated": written,
        "poets": corpus_metrics(texts),
    }


def format_report(result: dict) -> str:
    """A Markdown table: each form's real poems, then each mode of the model."""
    rows = [
        f"| form | written by | n | format | {_BOOK_COLUMNS} | 首句 | tone | 叠字 | 重字 | 重词 "
        "| repeats a poem | 重词 a poem | copy | distinct-2 (all) | coherence | clash "
        "| 对仗 middle | 对仗 other | model ppl | theme coverage |",
        "| --- " * 21 + "|",
    ]
    for name, poets in result["poets"].items():
        if poets["n"]:
            rows.append(
                f"| {name} | Tang poets | {poets['n']} | {_share(poets['format_accuracy'])} "
                f"| {_rhyme_cells(poets)} | {_share(poets['unrhymed_opening_rate'])} "
                f"| {_share(poets['tone_conformance'])} "
                f"| {_share(poets['unattested_double_rate'])} "
                f"| {_share(poets['line_repeat_rate'])} | {_share(poets['word_repeat_rate'])} "
                f"| {_repeat_cells(poets)} | | {_share(poets['distinct_2_batch'])} "
                f"| {_share(poets['coherence'])} "
                f"| {_share(poets['clash_rate'])} | {_parallel_cells(poets)} | | |"
            )
        for row in (row for row in result["generated"] if row["form"] == name):
            rows.append(
                f"| {name} | model, {row['mode']} | {row['n']} "
                f"| {_share(row['format_accuracy'])} | {_rhyme_cells(row)} "
                f"| {_share(row['unrhymed_opening_rate'])} | {_share(row['tone_conformance'])} "
                f"| {_share(row['unattested_double_rate'])} | {_share(row['line_repeat_rate'])} "
                f"| {_share(row['word_repeat_rate'])} | {_repeat_cells(row)} "
                f"| {_share(row['copy_rate'])} "
                f"| {_share(row['distinct_2_batch'])} "
                f"| {_share(row['coherence'])} | {_share(row['clash_rate'])} "
                f"| {_parallel_cells(row)} | {row['model_perplexity']:.1f} "
                f"| {_share(row['theme_coverage']) if 'theme_coverage' in row else ''} |"
            )
    notes = [
        f"model {result['model']}; seed {result['seed']}; {_sampling(result)}; rhyme rates "
        f"under each book; 首句: the share of poems whose first line ends 平 without rhyming; "
        "叠字: the share of poems doubling a character no poet doubles; 重字: the share of lines "
        "holding a character twice other than as a doubling; 重词: the share of poems saying a "
        "two-character word twice; repeats a poem: the times a poem says a character again "
        "(but as a doubling the poets attest), 重词 a poem: the words it says again; copy "
        f"rate against the lines of {result['corpus']}; theme coverage: the share of lines with "
        "a keyword character; coherence: the mean association of the content characters of "
        "different lines (docs/coherence.md); clash: the share of poems marking two seasons or "
        "two times of day that poets keep apart; 对仗: the mean parallelism of the middle "
        f"couplets of a 律诗 and of the other couplets (docs/metrics.md); {result['seconds']} s",
    ]
    return "\n".join([*rows, "", *notes])


def _share(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


#: How the tables name the rhyme books.
_BOOK_COLUMNS = " | ".join(f"rhyme {RHYME_BOOK_NAMES[book]}" for book in RHYME_BOOKS)


def _rhyme_cells(metrics: dict) -> str:
    """The rhyme rate under each book, one table cell each."""
    return " | ".join(_share(metrics["rhyme_rate_by_book"][book]) for book in RHYME_BOOKS)


def _repeat_cells(metrics: dict) -> str:
    """The characters and the words said again a poem, one table cell each."""
    chars, words = metrics["repeats_per_poem"], metrics["word_repeats_per_poem"]
    return f"{_share(chars, 2)} | {_share(words)}"


def _parallel_cells(metrics: dict) -> str:
    """The 对仗 of the middle couplets and of the others, one table cell each."""
    return f"{_share(metrics['parallelism_middle'])} | {_share(metrics['parallelism_other'])}"


def _sampling(result: dict) -> str:
    rules = [name for name in ("rhyme", "tone") if result[name]]
    forced = f"{' and '.join(rules)} forced" if rules else "no rules forced"
    book = f"rhyme book {RHYME_BOOK_NAMES[result['rhyme_book']]}"
    top_k = f", top-k {result['top_k']}" if result["top_k"] else ""
    return f"{forced}, {book}, temperature {result['temperature']}{top_k}, top-p {result['top_p']}"


def _perplexity_rows(result: dict) -> list[tuple[str, object]]:
    return [
        ("corpus", result["corpus"]),
        ("model", result["model"]),
        ("split", result["split"]),
        ("form", result["form"]),
        ("precision", result["precision"]),
        ("poems", result["poems"]),
        ("tokens", f"{result['tokens']} (characters + one end token a poem)"),
        ("OOV", f"{result['oov']} ({result['oov_rate']:.4%} of characters, scored as <unk>)"),
        ("perplexity", f"{result['perplexity']:.3f}"),
        ("seconds", result["seconds"]),
    ]


def _generation_rows(result: dict) -> list[tuple[str, object]]:
    copy = "n/a (give --corpus)"
    if result["copy_rate"] is not None:
        copy = f"{result['copy_rate']:.3f} ({result['copied_lines']}/{result['lines']} lines)"
    prompts_used = f" ({' '.join(result['prompts'])})" if result["prompts"] else ""
    return [
        ("model", result["model"]),
        ("form", result["form"]),
        ("mode", result["mode"] + prompts_used),
        ("poems (n)", result["n"]),
        ("sampling", _sampling(result)),
        ("format accuracy", _share(result["format_accuracy"])),
        ("rhyme rate", ", ".join(f"{_share(result['rhyme_rate_by_book'][book])} "
                                 f"{RHYME_BOOK_NAMES[book]}" for book in RHYME_BOOKS)),
        ("tone conformance", f"{_share(result['tone_conformance'])} "
                             f"({result['tone_satisfied']}/{result['tone_checked']} positions)"),
        ("unattested 叠字", f"{_share(result['unattested_double_rate'])} "
                          f"({result['unattested_doubles']}/{result['n']} poems)"),
        ("重字 in a line", f"{_share(result['line_repeat_rate'])} of the lines"),
        ("重词 in a poem", f"{_share(result['word_repeat_rate'])} "
                          f"({result['word_repeats']}/{result['n']} poems)"),
        ("said again a poem", _said_again(result)),
        ("首句 平, unrhymed", f"{_share(result['unrhymed_opening_rate'])} of the poems"),
        ("copy rate", copy),
        ("coherence", f"{result['coherence']:.3f} (mean over the poems)"),
        ("season/time clashes", f"{_share(result['clash_rate'])} "
                                f"({result['clashes']}/{result['n']} poems)"),
        ("对仗", f"{_share(result['parallelism_middle'])} middle couplets, "
                 f"{_share(result['parallelism_other'])} the others"),
        ("distinct-1", f"{_share(result['distinct_1_poem'])} in a poem, "
                       f"{_share(result['distinct_1_batch'])} across the poems"),
        ("distinct-2", f"{_share(result['distinct_2_poem'])} in a poem, "
                       f"{_share(result['distinct_2_batch'])} across the poems"),
        ("model perplexity", f"{result['model_perplexity']:.1f} (the model's own, of its poems)"),
        *([("theme coverage", f"{result['theme_coverage']:.3f} of the lines hold a keyword "
                              "character")] if "theme_coverage" in result else []),
        ("seconds", f"{result['generation_seconds']} generating, {result['seconds']} in all"),
    ]  # fmt: skip


def _said_again(result: dict) -> str:
    """The characters and words the poems say again, a poem, beside the poets' in the form."""
    said = (f"{result['repeats_per_poem']:.2f} characters, "
            f"{result['word_repeats_per_poem']:.3f} words")  # fmt: skip
    rate = REPEAT_RATES.get(result["form"])
    return f"{said} (the poets': {rate.poets:.2f}, {rate.poets_words:.3f})" if rate else said


REPORTS = {"perplexity": _perplexity_rows, "generation": _generation_rows}


def _split_named(split: str) -> str:
    return "" if split == "all" else f", {split} split"


def format_corpus(result: dict) -> str:
    """The poets' figures as a Markdown table, one row per form."""
    header = [
        f"| form | n | format accuracy | {_BOOK_COLUMNS} | tone conformance | unattested 叠字 "
        "| repeats a poem | 重词 a poem | distinct-1 poem / all | distinct-2 poem / all "
        "| 对仗 middle | 对仗 other |",
        "| --- " * 13 + "|",
    ]
    rows = []
    for name, metrics in result["forms"].items():
        if not metrics["n"]:
            rows.append(f"| {name} | 0 |" + " |" * 11)
            continue
        rows.append(
            f"| {name} | {metrics['n']} | {_share(metrics['format_accuracy'])} "
            f"| {_rhyme_cells(metrics)} | {_share(metrics['tone_conformance'])} "
            f"| {_share(metrics['unattested_double_rate'])} | {_repeat_cells(metrics)} "
            f"| {_share(metrics['distinct_1_poem'])} / {_share(metrics['distinct_1_batch'])} "
            f"| {_share(metrics['distinct_2_poem'])} / {_share(metrics['distinct_2_batch'])} "
            f"| {_parallel_cells(metrics)} |"
        )
    notes = [
        f"corpus {result['corpus']}{_split_named(result['split'])}: {result['poems']} poems "
        "after cleaning; a form's poems are those whose lines have its shape.",
        "format accuracy < 1 only where a line ends in ？！； rather than ，/。 alternating; "
        "unattested 叠字: the share of poems doubling a character no poet doubles; repeats a "
        "poem: the times a poem says a character again (but as a doubling the poets attest), "
        "重词 a poem: the two-character words it says again; 对仗: the "
        "mean parallelism of a 律诗's middle couplets and of the other couplets; "
        f"{result['seconds']} s",
    ]
    return "\n".join([*header, *rows, "", *notes])


if __name__ == "__main__":
    sys.exit(run_cli(main))
