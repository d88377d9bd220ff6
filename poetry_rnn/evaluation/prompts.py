"""What the model is asked to write when it is measured: the fixed prompts of each mode, the
prompts a model can take, and the real middle couplets whose 上联 it answers."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from poetry_rnn.corpus.data import SPLITS, split_of
from poetry_rnn.corpus.sources import DEFAULT_INCLUDE
from poetry_rnn.errors import PoetryError
from poetry_rnn.evaluation.metrics import read_cleaned
from poetry_rnn.forms import Form, form_of
from poetry_rnn.poetics.parallelism import parallel_couplets
from poetry_rnn.poetics.tones import LEVEL, tone_of
from poetry_rnn.text import split_lines
from poetry_rnn.writing.generate import PoetryGenerator

#: Prompts cycled across the poems of a mode: common openings, heads (by the form's number of
#: lines) and themes.
STARTS = ("床前", "春风", "明月", "白日", "青山", "秋风", "江上", "故人")
HEADS = {
    4: ("风花雪月", "山高水长", "花开月明", "江山万里"),
    8: ("风花雪月山高水长", "春风秋月江山万里", "白云青山明月清风"),
}
THEMES = ("秋夜思乡", "春日登山", "边塞征战", "送别友人")
TITLES = ("送友人", "秋夜", "登楼", "山居", "江上", "春望", "寄远", "夜泊")
#: Where a blind kit's prompts come from: other poems of the test split, or the ones above.
PROMPT_SOURCES = ("corpus", "fixed")
MAX_COUPLETS = 2000


def prompts(generator: PoetryGenerator, mode: str, form: Form) -> list[str]:
    """The prompts cycled across the poems of ``mode`` that the model's vocabulary can take."""
    candidates = {
        "free": ("",), "start": STARTS, "acrostic": HEADS[form.lines], "theme": THEMES,
        "title": TITLES,
    }  # fmt: skip
    usable = [prompt for prompt in candidates[mode] if usable_prompt(generator, mode, prompt)]
    if not usable:
        raise PoetryError(f"the model's vocabulary lacks characters of every {mode} prompt")
    return usable


def usable_prompt(generator: PoetryGenerator, mode: str, prompt: str) -> bool:
    """Whether the model can write in ``mode`` from ``prompt``: its vocabulary has the
    characters (for a theme, of its keywords; a title needs a model trained with titles)."""
    if mode == "title":
        return mode in generator.modes
    if mode != "theme":
        return all(char in generator.vocab for char in prompt)
    try:
        generator.theme_characters(prompt)
    except PoetryError:
        return False
    return True


def middle_couplets(
    corpus: str | Path,
    n: int,
    seed: int = 0,
    include: Sequence[str] = DEFAULT_INCLUDE,
    progress: bool = False,
) -> list[tuple[str, str]]:
    """``n`` middle couplets (颔联, 颈联) of the 律诗 of the corpus's test split, cleaned as for
    training, drawn at random by ``seed``: (上联, 下联), each 上联 one a couplet may begin with
    (not ending 平)."""
    if not 1 <= n <= MAX_COUPLETS:
        raise PoetryError(f"--n must be from 1 to {MAX_COUPLETS}, got {n}")
    pairs = []
    for text in read_cleaned(corpus, tuple(include), progress):
        form = form_of(text)
        if form is None or split_of(text) != SPLITS.index("test"):
            continue
        lines = split_lines(text)
        for first in parallel_couplets(form):
            if tone_of(lines[first][-1]) != LEVEL:
                pairs.append((lines[first], lines[first + 1]))
    if len(pairs) < n:
        raise PoetryError(f"the test split of {corpus} holds {len(pairs)} middle couplets, "
                          f"{n} asked for")  # fmt: skip
    return random.Random(seed).sample(pairs, n)
