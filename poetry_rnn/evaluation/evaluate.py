"""Evaluation (docs/metrics.md): perplexity on a corpus, the metrics of generated poems, and
the same metrics on real poems, so that every figure of the model stands beside the poets'.

Each command of ``python -m poetry_rnn.evaluate`` (:mod:`poetry_rnn.app.evaluate_cli`) computes
its result here, as a dict every metric of which comes with its sample size;
:mod:`poetry_rnn.evaluation.reports` prints it.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from poetry_rnn.corpus.data import SPLITS, keep_form, split_of
from poetry_rnn.corpus.sources import DEFAULT_INCLUDE
from poetry_rnn.errors import PoetryError
from poetry_rnn.evaluation.metrics import (
    corpus_lines,
    corpus_metrics,
    generation_metrics,
    perplexity,
    read_cleaned,
    read_titled,
)
from poetry_rnn.evaluation.prompts import middle_couplets, prompts
from poetry_rnn.forms import FORMS, Form, get_form
from poetry_rnn.model.charrnn import CharRNN
from poetry_rnn.model.checkpoint import from_pretrained, load_models
from poetry_rnn.poetics.couplets import couplet_measures
from poetry_rnn.text import split_lines
from poetry_rnn.writing.controls import Controls, writing_options
from poetry_rnn.writing.generate import MODES, Poem, PoetryGenerator

log = logging.getLogger(__name__)

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
