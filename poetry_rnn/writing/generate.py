"""Writing poems: :class:`PoetryGenerator`, the library's way in, and the :class:`Poem` it writes.

Every mode — free, 续写 from a start, acrostic (藏头) and theme — reads the user's request into a
plan (:mod:`poetry_rnn.writing.requests`) and hands it to the one decoding loop in
:mod:`poetry_rnn.writing.decoding`. :meth:`PoetryGenerator.write` is the one way in by mode
name, for the CLI, the demo, evaluation and the benchmarks. :meth:`PoetryGenerator.revise`
rewrites a poem around the parts a user keeps, through the same plan and loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError
from poetry_rnn.model.checkpoint import Models, load_models
from poetry_rnn.poetics.check import ci_checks
from poetry_rnn.poetics.patterns import COUPLET
from poetry_rnn.poetics.prosody import PoemChecks, check_poem
from poetry_rnn.text import PUNCTUATION, split_lines, to_traditional
from poetry_rnn.writing import requests
from poetry_rnn.writing.controls import Controls, controls_with
from poetry_rnn.writing.decoding import Composer
from poetry_rnn.writing.layout import tune
from poetry_rnn.writing.requests import Request, seed_of

STEERS = ("plan", "prime", "both")
#: The characters of each 联 of a couplet written to a theme, by default: most 春联 are 七言.
COUPLET_LENGTH = 7
#: Seeds run from 0 to this less one; the poems after a seed take the next ones, from 0 again
#: past the last.
SEEDS = 2**63


@dataclass(frozen=True)
class Poem:
    """A generated poem and how it fares against its form.

    ``score``: the decoder's score of the poem per token (its characters, marks and end): for
    a form, the score whole-line search ranks poems by — the model's log-likelihood at
    temperature 1, plus a backward model's where there is one, plus the 对仗 of the middle
    couplets, plus ``controls.coherence`` times its characters times its coherence, less the
    form's repeat penalty for each character said again — and for free length the
    log-likelihood. Higher is better; the poems of one call are ordered by it under whole-line
    search.
    """

    text: str
    lines: list[str]
    form: str | None
    mode: str
    seed: int
    checks: PoemChecks | None
    score: float | None = None
    plan: list[str] = field(default_factory=list)  # one keyword per line, or none
    plan_source: str = ""  # "theme", "start", "heads", "title" or "first line"; "" without a plan
    title: str = ""  # what it was written to; "" from a model trained without titles
    # (a 词: its tune, ·the user's title where one was given, whatever the model)
    upper: str = ""  # a 对联's 上联 (its internal comma kept, its close left out)
    lower: str = ""  # its 下联
    banner: str = ""  # its 横批, where one was asked for

    def to_dict(self) -> dict:
        data = asdict(self)
        if self.form != COUPLET:
            del data["upper"], data["lower"], data["banner"]
        elif not self.banner:
            del data["banner"]
        if self.checks is not None:
            data["checks"] |= {"tone_rate": self.checks.tone_rate}
        return data


class PoetryGenerator:
    """Writes poems with a trained CharRNN."""

    def __init__(
        self, model: torch.nn.Module, vocab: Vocab, backward: torch.nn.Module | None = None
    ) -> None:
        self.vocab = vocab
        self.composer = Composer(model, vocab, backward)

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path | None = None,
        device: str = "cpu",
        precision: str = "auto",
        backward: str | Path | None = None,
    ) -> PoetryGenerator:
        """A generator from a model directory (see ``poetry_rnn.training.train``); by default the
        model that ships inside the package (MODEL_CARD.md). ``device``: "cpu", "cuda" or "cuda:N".
        ``backward``: the directory of a model trained with ``--direction backward`` on the
        same vocabulary, whose reading of each poem from its end joins the search's score.
        ``precision``: see :func:`poetry_rnn.model.checkpoint.load_models`.
        """
        return cls(*load_models(path, backward, device, precision))

    @property
    def modes(self) -> tuple[str, ...]:
        """The modes this generator's model writes in: those of titles need a titled model."""
        titled = self.vocab.sep_id is not None
        return tuple(mode for mode in MODES if titled or mode not in TITLED_MODES)

    @property
    def models(self) -> Models:
        """The models the generator writes with, as :func:`load_models` gives them."""
        return Models(self.composer.model, self.vocab, self.composer.backward)

    # --- the modes --------------------------------------------------------------------------

    def write(
        self, mode: str, text: str = "", controls: Controls | None = None, steer: str = "plan"
    ) -> list[Poem]:
        """Poems in ``mode`` (one of ``MODES``) from the user's ``text``: for "free" an optional
        mood primer (added to the style), for "start" the start (required), for "acrostic" the
        heads, for "theme" the theme, for "title" the title (命题); ``steer`` is the theme's
        (see :meth:`themed`)."""
        if not isinstance(mode, str) or mode not in MODES:
            raise PoetryError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if not isinstance(text, str):
            raise PoetryError(f"the {mode} text must be text, got {type(text).__name__}")
        return MODES[mode](self, text, controls_with(controls, {}), steer)

    def generate(
        self, start: str = "", controls: Controls | None = None, **options: object
    ) -> list[Poem]:
        """Poems continuing ``start`` (续写; it may span lines, with punctuation ending them), or
        free poems without one. ``options`` are fields of :class:`Controls`."""
        controls = controls_with(controls, options)
        start = requests.start_text(self.vocab, start)
        mode = "start" if start else "title" if controls.title else "free"
        return self._titled(
            controls,
            start,
            lambda titled: requests.start_request(self.composer, start, mode, titled),
        )

    def acrostic(
        self, heads: str, controls: Controls | None = None, **options: object
    ) -> list[Poem]:
        """Poems whose lines begin with the characters of ``heads`` (藏头诗)."""
        controls = controls_with(controls, options)
        heads = requests.checked_text(self.vocab, heads, "acrostic", required=True)
        return self._titled(
            controls, heads, lambda titled: requests.acrostic_request(self.vocab, heads, titled)
        )

    def themed(
        self,
        text: str,
        steer: str = "plan",
        controls: Controls | None = None,
        **options: object,
    ) -> list[Poem]:
        """Poems on the theme of ``text``, steered by jieba's keywords.

        ``steer``: "plan" (each line favours one keyword character; the default, measured to
        read better), "prime" (the keywords prime the state as an unprinted prefix, as the
        textbook's 意境 prefix does), or "both". With ``controls.plan`` the keywords grow into
        one per line (:func:`poetry_rnn.poetics.coherence.plan_keywords`); without, they cycle.
        """
        if steer not in STEERS:
            raise PoetryError(f"steer must be plan, prime or both, got {steer!r}")
        controls = controls_with(controls, options)
        text = requests.theme_text(self.vocab, text)
        chars = self.theme_characters(text)
        if not controls.title and self.vocab.sep_id is not None:
            controls = replace(controls, title=requests.as_title(text))
        return self._titled(
            controls,
            "".join(chars),
            lambda titled: requests.theme_request(self.composer, chars, steer, titled),
        )

    def revise(
        self,
        poem: str | Poem,
        keep: Sequence[int] | Mapping[tuple[int, int], str],
        controls: Controls | None = None,
        **options: object,
    ) -> list[Poem]:
        """Poems that keep what ``keep`` names of ``poem`` and rewrite the rest in the poem's
        own form, under the controls' rhyme, rhyme book, tones and search.

        ``poem``: a poem of one of the four forms, as :func:`poetry_rnn.poetics.check.check` reads
        it (simplified or traditional; lines ended by marks or line breaks), or a :class:`Poem`
        this generator wrote. ``keep``: the lines
        to keep (1-based), or ``{(line, position): char}`` (both 1-based), each ``char`` the
        poem's own there. Kept characters take part from the first step: a kept rhyme sets the
        rhyme group, and the kept tones set the tone pattern of the lines written around them.
        """
        controls = controls_with(controls, options)
        text = poem.text if isinstance(poem, Poem) else poem
        form, fixed = requests.kept_characters(self.vocab, text, keep, controls)
        return self._titled(
            controls,
            "".join(fixed.values()),
            lambda titled: requests.revision_request(self.vocab, form, fixed, titled),
        )

    def couplet(
        self,
        upper: str | None = None,
        theme: str | None = None,
        controls: Controls | None = None,
        lower: str | None = None,
        length: int = COUPLET_LENGTH,
        banner: bool | None = None,
        **options: object,
    ) -> list[Poem]:
        """对联: the 下联 to ``upper``, the 上联 to ``lower``, or with neither a whole couplet of
        ``length`` characters a 联 to ``theme``; with a 横批 where ``banner`` (by default where
        there is a theme). The given 联 is fixed in the plan, the other decoded against it
        (:class:`poetry_rnn.writing.constraints.Constraints`: no borrowed character, the repeats
        mirrored, the tones opposed); a theme's keywords steer the lines written
        (:meth:`couplet_keywords`). The poems have ``upper``, ``lower`` and ``banner``."""
        controls = controls_with(controls, options)
        request = requests.couplet_request(self.vocab, controls, upper, lower, theme, length)
        poems = self._decode(request, replace(controls, script="simplified"))
        with_banner = theme is not None if banner is None else banner
        banners = [
            self._banner(p, request.keywords, controls) if with_banner else "" for p in poems
        ]
        return [
            _as_couplet(poem, banner, controls.script)
            for poem, banner in zip(poems, banners, strict=True)
        ]

    def couplet_keywords(self, theme: str, lines: int, printed: str = "") -> list[list[str]]:
        """The keyword characters each of a couplet's ``lines`` favours
        (:func:`poetry_rnn.writing.requests.couplet_keywords`)."""
        return requests.couplet_keywords(self.vocab, theme, lines, printed)

    def theme_characters(self, text: str) -> list[str]:
        """The characters of ``text``'s keywords that the vocabulary knows
        (:func:`poetry_rnn.writing.requests.theme_characters`)."""
        return requests.theme_characters(self.vocab, text)

    # --- shared steps -----------------------------------------------------------------------

    def _titled(
        self, controls: Controls, prompt: str, read: Callable[[Controls], Request]
    ) -> list[Poem]:
        """The poems of the request ``read`` reads to the controls' title; where there is none
        (and the model knows titles), each poem to a title of its own, drawn by the user's
        ``prompt`` (:func:`poetry_rnn.writing.requests.titled_controls`), best first."""
        each = requests.titled_controls(self.vocab, controls, prompt)
        if each is None:
            return self._written(read(controls), controls)
        poems = [poem for one in each for poem in self._written(read(one), one)]
        return sorted(poems, key=lambda poem: -(poem.score or 0.0))

    def _written(self, request: Request, controls: Controls) -> list[Poem]:
        """The poems of ``request``; where it plans from first lines, the first line alone, n
        of them, then each poem planned from its own first line."""
        if not request.from_first_line:
            return self._decode(request, controls)
        plan, seed = request.plan, seed_of(controls)
        first = replace(plan, slots=plan.slots[: plan.pattern.lengths[0] + 1])
        poems = []
        for number, text in enumerate(
            self.composer.decode(first, controls.n, controls.sampling, seed)
        ):
            one = requests.from_first_line(self.vocab, request, split_lines(text)[0])
            single = replace(controls, n=1, seed=(seed + number) % SEEDS)
            poems += self._decode(one, single)
        return poems

    def _banner(self, poem: Poem, keywords: Sequence[str], controls: Controls) -> str:
        """A 横批 for the couplet ``poem``, written after it by the same model and search."""
        request = requests.banner_request(self.vocab, poem.text, keywords, controls)
        single = replace(controls, n=1, seed=poem.seed, script="simplified")
        (written,) = self._decode(request, single)
        return written.text[len(poem.text) :].rstrip(PUNCTUATION)

    def _decode(self, request: Request, controls: Controls) -> list[Poem]:
        seed = seed_of(controls)
        scored = self.composer.decode_scored(request.plan, controls.n, controls.sampling, seed)
        return [_poem(text, score, request, controls, seed) for text, score in scored]


#: Each mode and how it writes: (generator, the user's text, controls, steer) → poems.
MODES: dict[str, Callable[[PoetryGenerator, str, Controls, str], list[Poem]]] = {
    "free": lambda g, text, controls, _: g.generate(
        controls=replace(controls, style=controls.style + text)
    ),
    "start": lambda g, text, controls, _: g.generate(requests.required_start(text), controls),
    "acrostic": lambda g, text, controls, _: g.acrostic(text, controls),
    "theme": lambda g, text, controls, steer: g.themed(text, steer, controls),
    "title": lambda g, text, controls, _: g.generate(
        controls=replace(controls, title=requests.required_title(text))
    ),
}
#: The modes that need a model trained with titles.
TITLED_MODES = frozenset({"title"})


def _poem(text: str, score: float, request: Request, controls: Controls, seed: int) -> Poem:
    """The poem a decoded ``text`` makes: checked against its form, titled, in the controls'
    script."""
    plan = request.plan
    ci = plan.pattern is not None and plan.pattern.kind == "ci"
    name = plan.pattern.name if ci else plan.form.name if plan.form else None
    if ci:
        checks = ci_checks(text, plan.pattern.patterns[0])
        title = "·".join(filter(None, (tune(name), controls.title)))
    else:
        checks = None if plan.form is None else check_poem(text, plan.form, plan.rhyme_book)
        title = plan.title
    if controls.script == "traditional":
        text, title = to_traditional(text), to_traditional(title)
    return Poem(
        text=text,
        lines=_printed_lines(text),
        form=name,
        mode=request.mode,
        seed=seed,
        checks=checks,
        score=score,
        plan=list(request.keywords),
        plan_source=request.source,
        title=title,
    )


def _as_couplet(poem: Poem, banner: str, script: str) -> Poem:
    """``poem`` (a couplet's text) with its 上联, 下联 and 横批 (or ""), in ``script``."""
    half = len(poem.lines) // 2
    upper, lower = ("".join(poem.lines[:half]), "".join(poem.lines[half:]))
    convert = to_traditional if script == "traditional" else str
    return replace(
        poem, text=convert(poem.text), lines=[convert(upper), convert(lower)], form=COUPLET,
        upper=convert(upper[:-1]), lower=convert(lower[:-1]), banner=convert(banner),
    )  # fmt: skip


def _printed_lines(text: str) -> list[str]:
    """The poem's lines, each with the punctuation that ends it."""
    lines, current = [], ""
    for char in text:
        current += char
        if char in PUNCTUATION:
            lines.append(current)
            current = ""
    return [*lines, current] if current else lines
