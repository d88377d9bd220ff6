"""词 by 词牌, measured: the format, rhyme and tone rates of the model's 词 of every tune beside
the Song poets' own on the same pattern (``python -m poetry_rnn.evaluate ci``), and the
prompts of each mode that a tune's pattern can take.

The poets' 词 are the corpus's 宋词 as training cleans them (:func:`poetry_rnn.evaluation.metrics.
read_titled`, the tune as the title), those of the tune's main variant's shape: their format
is 1 by that choice; rhyme and tones are judged as ``check`` judges them
(:func:`poetry_rnn.poetics.check.check_ci`). The model's 词 are judged by the same pattern, their
format exactly (line lengths and marks).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from poetry_rnn.corpus.cleaning import clean_title
from poetry_rnn.errors import PoetryError
from poetry_rnn.evaluation.metrics import read_titled
from poetry_rnn.poetics.check import check_ci
from poetry_rnn.poetics.patterns import Pattern, cipai, family_of
from poetry_rnn.poetics.prosody import PoemChecks
from poetry_rnn.poetics.tones import tone_of
from poetry_rnn.text import split_lines
from poetry_rnn.writing.controls import Controls
from poetry_rnn.writing.generate import Poem, PoetryGenerator

log = logging.getLogger("poetry_rnn.evaluation.evaluate")

CI_COLLECTION = ("ci",)
#: The prompts of each mode, cycled across a tune's 词: starts and heads are taken where the
#: tune's pattern allows their tones (a start of 平 characters where it wants 仄 would break
#: the tones before the model writes a character).
STARTS = ("小院", "春风", "明月", "江上", "故人", "青山", "秋风", "白日")
HEADS = "春花秋月江山风雨云水日夜天地人家楼台烟柳梦归心事酒诗长清远近东西南北"
THEMES = ("秋夜思乡", "春日登山", "送别友人", "江南春色")
TITLES = ("秋夜", "登楼", "江上", "春望", "寄远", "夜泊")


def _fits(chars: str, pattern: Pattern, line: int, first: int = 1) -> bool:
    """Whether ``chars`` at ``first``.. of ``line`` keep the tones the pattern fixes there."""
    return all(
        pattern.tone(line, p) in (None, tone_of(c)) or tone_of(c) is None
        for p, c in enumerate(chars, start=first)
    )


def tune_prompt(mode: str, pattern: Pattern, number: int) -> str:
    """The ``number``-th prompt of ``mode`` for a 词 of ``pattern``: a start whose tones it
    allows, a head a line (each allowed there, none twice), a theme, a title; "" for free."""
    if mode == "start":
        fitting = [s for s in STARTS if _fits(s, pattern, 0)] or list(STARTS)
        return fitting[number % len(fitting)]
    if mode == "acrostic":
        pool = HEADS[number % len(HEADS) :] + HEADS[: number % len(HEADS)]
        heads = ""
        for line in range(len(pattern.lines)):
            heads += next(c for c in pool if c not in heads and _fits(c, pattern, line))
        return heads
    if mode == "theme":
        return THEMES[number % len(THEMES)]
    if mode == "title":
        return TITLES[number % len(TITLES)]
    return ""


def poets_ci(corpus: str | Path, progress: bool = False) -> dict[str, list[str]]:
    """The corpus's cleaned 词 of each tune of the table (their titles cleaned as the tune's
    name is: 望江南・忆江南 reads 望江南忆江南)."""
    titles, texts = read_titled(corpus, CI_COLLECTION, progress)
    tunes = {clean_title(tune): tune for tune in cipai()}
    found: dict[str, list[str]] = {tune: [] for tune in cipai()}
    for title, text in zip(titles, texts, strict=True):
        if title in tunes:
            found[tunes[title]].append(text)
    return found


def of_shape(texts: Sequence[str], pattern: Pattern) -> list[str]:
    """The texts whose line lengths are ``pattern``'s."""
    return [text for text in texts if tuple(map(len, split_lines(text))) == pattern.lengths]


def rates(checks: Sequence[PoemChecks]) -> dict:
    """Format and rhyme: shares of the 词; tones: conforming over fixed positions, pooled."""
    checked = sum(c.tone_checked for c in checks)
    return {
        "n": len(checks),
        "format": sum(c.format_ok for c in checks) / len(checks) if checks else None,
        "rhyme": sum(c.rhyme_ok for c in checks) / len(checks) if checks else None,
        "tone": sum(c.tone_satisfied for c in checks) / checked if checked else None,
    }


def model_ci(
    generator: PoetryGenerator, tune: str, n: int, controls: Controls, modes: Sequence[str]
) -> list[Poem]:
    """``n`` 词 of ``tune``, poem i in mode ``modes[i % len(modes)]`` with that mode's prompt,
    seed ``controls.seed + i``."""
    pattern = family_of(tune).patterns[0]
    poems = []
    for number in range(n):
        mode = modes[number % len(modes)]
        prompt = tune_prompt(mode, pattern, number // len(modes))
        one = replace(controls, form=tune, n=1, seed=(controls.seed or 0) + number)
        poems += generator.write(mode, prompt, one)
    return poems


def ci_table(
    generator: PoetryGenerator,
    corpus: str | Path,
    n: int,
    tunes: Sequence[str] | None = None,
    modes: Sequence[str] | None = None,
    controls: Controls | None = None,
    progress: bool = False,
) -> dict:
    """For each tune (default: every tune of the table; a variant named alone: its own
    pattern), the poets' rates on its main variant's pattern beside those of ``n`` 词 the
    model writes to it, the modes cycled."""
    if n < 1:
        raise PoetryError(f"--n must be at least 1, got {n}")
    tunes = list(tunes or cipai())
    for tune in tunes:
        if family_of(tune).kind != "ci":
            raise PoetryError(f"{tune} is a shi form, not a 词牌")
    modes = list(modes or generator.modes)
    unknown = sorted(set(modes) - set(generator.modes))
    if unknown:
        raise PoetryError(f"this model cannot write in mode {', '.join(unknown)}")
    controls = controls or Controls(seed=0)
    poets = poets_ci(corpus, progress)
    rows = []
    for tune in tqdm(tunes, desc="tunes", disable=not progress):
        pattern = family_of(tune).patterns[0]
        written = model_ci(generator, tune, n, controls, modes)
        own = of_shape(poets[tune.partition("·")[0]], pattern)
        real = [check_ci(split_lines(text), pattern).checks for text in own]
        row = {"tune": tune, "shape": list(pattern.lengths), "poets": rates(real),
               "model": rates([poem.checks for poem in written]),
               "first_ci": written[0].text}  # fmt: skip
        log.info("%s: poets %s, model %s", tune, row["poets"], row["model"])
        rows.append(row)
    return {"corpus": str(corpus), "n": n, "modes": modes, "seed": controls.seed or 0,
            "tunes": rows}  # fmt: skip


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def format_ci_table(result: dict) -> str:
    """The table as Markdown: each tune, the poets' 词 of its shape beside the model's."""
    rows = [
        "| 词牌 | poets n | rhyme | tone | model n | format | rhyme | tone |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in result["tunes"]:
        poets, model = row["poets"], row["model"]
        rows.append(
            f"| {row['tune']} | {poets['n']} | {_cell(poets['rhyme'])} | {_cell(poets['tone'])} "
            f"| {model['n']} | {_cell(model['format'])} | {_cell(model['rhyme'])} "
            f"| {_cell(model['tone'])} |"
        )
    rows.append(f"\nmodes cycled: {', '.join(result['modes'])}; seeds from {result['seed']}")
    return "\n".join(rows)
