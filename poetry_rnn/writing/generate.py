"""Writing poems: ``Controls``, ``PoetryGenerator`` and ``python -m poetry_rnn.generate``.

Every mode — free, 续写 from a start, acrostic (藏头) and theme — builds a :class:`Plan` and
hands it to the one decoding loop in :mod:`poetry_rnn.writing.decoding`.
:meth:`PoetryGenerator.write` is the one way in by mode name, for the CLI, the demo, evaluation and
the benchmarks. :meth:`PoetryGenerator.revise` rewrites a poem around the parts a user keeps,
through the same plan and loop.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import secrets
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from poetry_rnn.corpus.cleaning import clean_title
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli
from poetry_rnn.forms import FORMS, Form
from poetry_rnn.model.checkpoint import Models, load_models
from poetry_rnn.poetics.check import ci_checks, read_poem
from poetry_rnn.poetics.coherence import plan_keywords
from poetry_rnn.poetics.couplets import (
    LOWER,
    UPPER,
    joined,
    read_line,
    refuse_level_upper,
    refuse_oblique_lower,
)
from poetry_rnn.poetics.patterns import (
    BANNER,
    COUPLET,
    COUPLET_LENGTHS,
    Family,
    banner_pattern,
    couplet_pattern,
    family_of,
    form_list,
    is_tune,
    tune_variants,
)
from poetry_rnn.poetics.prosody import PoemChecks, check_poem
from poetry_rnn.text import (
    PUNCTUATION,
    is_han,
    split_lines,
    to_simplified,
    to_traditional,
    user_text,
)
from poetry_rnn.writing.controls import (
    FREE,
    MAX_INPUT_CHARS,
    Controls,
    add_writing_arguments,
    controls_with,
    is_integer,
    writing_options,
)
from poetry_rnn.writing.decoding import (
    COHERENCE_WEIGHT,
    DEFAULT_BEAMS,
    DEFAULT_CANDIDATES,
    SEARCHES,
    Composer,
    Plan,
    form_plan,
)
from poetry_rnn.writing.titles import choose_title, user_title

STEERS = ("plan", "prime", "both")
THEME_KEYWORDS = 8
PLAN_BONUS = 3.0  # logit bonus for a line's planned keyword
MAX_THEME_TITLE_CHARS = 10  # a theme of more characters is a sentence, not a title
ACROSTIC_FORMS = {4: "七言绝句", 8: "七言律诗"}
#: The characters of each 联 of a couplet written to a theme, by default: most 春联 are 七言.
COUPLET_LENGTH = 7
#: Keyword characters a 联 written to a theme favours, and the logit bonus of each.
COUPLET_KEYWORDS, COUPLET_BONUS = 3, 1.5 * PLAN_BONUS
#: Words that make a theme the new year's (春联): its keywords then take in NEW_YEAR_SEEDS, the
#: images of the season's couplets that Tang verse knows too.
NEW_YEAR_WORDS = ("新春", "春节", "新年", "过年", "除夕", "元旦", "元日", "春联", "迎春", "贺岁",
                  "拜年", "守岁", "岁首", "新岁", "辞旧", "迎新")  # fmt: skip
NEW_YEAR_SEEDS = "春岁福喜新瑞梅"
#: What a new year's couplet keeps away from (Tang verse grieves at spring's end): a logit
#: malus on each, in every line.
NEW_YEAR_AVOIDS = "愁泪残恨悲哀死断孤苦怨衰病老泣"
BACKWARD_HELP = "a backward model's directory: its score of each poem joins the search's"


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
        start = self._start_text(start)
        mode = "start" if start else "title" if controls.title else "free"
        return self._titled(controls, start, lambda titled: self._continued(start, mode, titled))

    def _continued(self, start: str, mode: str, controls: Controls) -> list[Poem]:
        style = self._style(controls)
        if controls.form == FREE:
            plan = Plan(
                context=start,
                style=style,
                repeat_ok=_repeated(start),
                title=controls.title,
                repeat_penalty=controls.repeat_penalty,
            )
        else:
            form = _shape(controls.form) if controls.form else self._chosen_form(start, style)
            fixed = _align_start(start, form)
            plan = self._form_plan(form, controls, fixed, style=style, repeat_ok=_repeated(start))
            if controls.plan:
                return self._planned(plan, controls, mode, start, printed=start, source=mode)
        return self._decode(plan, controls, mode)

    def acrostic(
        self, heads: str, controls: Controls | None = None, **options: object
    ) -> list[Poem]:
        """Poems whose lines begin with the characters of ``heads`` (藏头诗)."""
        controls = controls_with(controls, options)
        heads = self._user_text(heads, "acrostic", required=True)
        return self._titled(controls, heads, lambda titled: self._acrostic(heads, titled))

    def _acrostic(self, heads: str, controls: Controls) -> list[Poem]:
        if controls.form == FREE:
            raise PoetryError("an acrostic needs a regulated form, not free length")
        if controls.form is None:
            if len(heads) not in ACROSTIC_FORMS:
                raise PoetryError(
                    f"an acrostic of {len(heads)} characters fits no form: "
                    "give 4 (绝句) or 8 (律诗) characters"
                )
            form = FORMS[ACROSTIC_FORMS[len(heads)]]
        elif is_tune(controls.form):
            form = _acrostic_variant(controls.form, len(heads))
        else:
            form = FORMS[controls.form]
        if len(heads) != _line_count(form):
            fits = ", ".join(f.name for f in FORMS.values() if f.lines == len(heads)) or "none"
            raise PoetryError(
                f"an acrostic of {len(heads)} characters does not fit {form.name} "
                f"({form.lines} lines); forms that fit: {fits}"
            )
        fixed = {(line, 1): char for line, char in enumerate(heads)}
        style = self._style(controls)
        plan = self._form_plan(form, controls, fixed, style=style, repeat_ok=_repeated(heads))
        if controls.plan:
            return self._planned(plan, controls, "acrostic", heads, printed=heads, source="heads")
        return self._decode(plan, controls, "acrostic")

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
        text = self._user_text(text, "theme", required=True, check_vocab=False, punctuation=True)
        chars = self.theme_characters(text)
        if not controls.title and self.vocab.sep_id is not None:
            controls = replace(controls, title=_as_title(text))
        return self._titled(
            controls, "".join(chars), lambda titled: self._themed(chars, steer, titled)
        )

    def _themed(self, chars: list[str], steer: str, controls: Controls) -> list[Poem]:
        style = self._style(controls) + ("".join(chars) if steer != "plan" else "")
        if controls.form == FREE:  # free length: no lines to plan into
            bias = {-1: dict.fromkeys(chars, PLAN_BONUS / 3)} if steer != "prime" else {}
            plan = Plan(
                style=style,
                bias=bias,
                title=controls.title,
                repeat_penalty=controls.repeat_penalty,
            )
            return self._decode(plan, controls, "theme")
        form = _shape(controls.form) if controls.form else self._chosen_form("", style)
        plan = self._form_plan(form, controls, {}, style=style)
        if steer == "prime":
            return self._decode(plan, controls, "theme")
        if controls.plan:
            theme = "".join(chars)
            return self._planned(plan, controls, "theme", theme, printed="", source="theme")
        keywords = [chars[line % len(chars)] for line in range(_line_count(form))]
        return self._decode(
            _steered(plan, keywords, self.vocab), controls, "theme", keywords, "theme"
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
        if controls.form == FREE:
            raise PoetryError("revising keeps the poem's own form, not free length")
        lines, form = read_poem(poem.text if isinstance(poem, Poem) else poem, controls.form)
        fixed = _kept(lines, form, keep)
        kept = "".join(fixed.values())
        unknown = self.vocab.unknown_chars(kept)
        if unknown:
            raise PoetryError(f"the kept characters include ones the model does not know: "
                              f"{' '.join(unknown)}")  # fmt: skip
        return self._titled(controls, kept, lambda titled: self._revised(form, fixed, titled))

    def _revised(self, form: Form, fixed: dict, controls: Controls) -> list[Poem]:
        kept = "".join(fixed.values())
        style = self._style(controls)
        plan = self._form_plan(form, controls, fixed, style=style, repeat_ok=_repeated(kept))
        return self._decode(plan, controls, "revise")

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
        if upper is not None and lower is not None:
            raise PoetryError("give a 上联 or a 下联, not both: the other is written")
        if upper is None and lower is None and theme is None:
            raise PoetryError("a couplet needs a 上联, a 下联 or a theme")
        if upper is not None:
            parts = read_line(upper, UPPER)
            refuse_level_upper("".join(parts))
            pattern, given = couplet_pattern(joined(parts)), 0
        elif lower is not None:
            parts = read_line(lower, LOWER)
            refuse_oblique_lower("".join(parts))
            comma = len(parts[0]) if len(parts) == 2 else None
            chars = "".join(parts)
            pattern, given = couplet_pattern(len(chars), comma, lower=chars), len(parts)
        else:
            if not is_integer(length) or length not in COUPLET_LENGTHS:
                raise PoetryError(f"a 联 has {COUPLET_LENGTHS[0]} to {COUPLET_LENGTHS[-1]} "
                                  f"characters, got {length!r}")  # fmt: skip
            parts, pattern, given = [], couplet_pattern(length), 0
        fixed = {(given + line, p): char for line, part in enumerate(parts)
                 for p, char in enumerate(part, start=1)}  # fmt: skip
        plan = self._form_plan(
            Family(COUPLET, (pattern,)), controls, fixed, style=self._style(controls),
            repeat_ok=_repeated("".join(parts)),
        )  # fmt: skip
        keywords = self.couplet_keywords(theme, len(pattern.lines), "".join(parts)) if theme else []
        avoided = [c for c in NEW_YEAR_AVOIDS if c in self.vocab] if _new_year(theme) else []
        avoids = dict.fromkeys(avoided, -COUPLET_BONUS)
        bias = {
            line: avoids | dict.fromkeys(keywords[line] if keywords else "", COUPLET_BONUS)
            for line in range(len(pattern.lines))
        }
        bias = {line: chars for line, chars in bias.items() if chars}
        flat = [char for chars in keywords for char in chars]
        simplified = replace(controls, script="simplified")
        poems = self._decode(
            replace(plan, bias=bias), simplified, "couplet", flat, "theme" * bool(theme)
        )
        with_banner = theme is not None if banner is None else banner
        return [self._couplet(poem, flat, controls, with_banner) for poem in poems]

    def couplet_keywords(self, theme: str, lines: int, printed: str = "") -> list[list[str]]:
        """The keyword characters each of a couplet's ``lines`` favours: the theme's (and for a
        new-year theme, :data:`NEW_YEAR_SEEDS`), grown with the corpus statistics
        (:func:`poetry_rnn.poetics.coherence.plan_keywords`), :data:`COUPLET_KEYWORDS` a line in
        turn; ``printed``: the given 联, whose characters steer nothing."""
        theme = self._user_text(theme, "theme", required=True, check_vocab=False, punctuation=True)
        chars = self.theme_characters(theme)
        seeds = "".join(chars) + (NEW_YEAR_SEEDS if _new_year(theme) else "")
        grown = plan_keywords(seeds, COUPLET_KEYWORDS * lines, printed) or chars
        known = [c for c in grown if c in self.vocab and c not in printed] or chars
        return [known[line::lines] for line in range(lines)]

    def _couplet(self, poem: Poem, keywords: list[str], controls: Controls, banner: bool) -> Poem:
        """``poem`` (a couplet's text) with its 上联, 下联 and, where asked, a 横批 written after
        it by the same model and search, favouring the keywords; in the controls' script."""
        half = len(poem.lines) // 2
        upper, lower = ("".join(poem.lines[:half]), "".join(poem.lines[half:]))
        written = ""
        if banner:
            plan = self._form_plan(
                Family(BANNER, (banner_pattern(),)), controls, {}, context=poem.text,
                style=self._style(controls),
            )  # fmt: skip
            plan = replace(
                plan, bias={0: dict.fromkeys(keywords, COUPLET_BONUS)} if keywords else {}
            )
            single = replace(controls, n=1, seed=poem.seed, script="simplified")
            (written_poem,) = self._decode(plan, single, "banner")
            written = written_poem.text[len(poem.text) :].rstrip(PUNCTUATION)
        convert = to_traditional if controls.script == "traditional" else str
        return replace(
            poem, text=convert(poem.text), lines=[convert(upper), convert(lower)], form=COUPLET,
            upper=convert(upper[:-1]), lower=convert(lower[:-1]), banner=convert(written),
        )  # fmt: skip

    def theme_characters(self, text: str) -> list[str]:
        """The characters of ``text``'s jieba keywords that the vocabulary knows, in order; where
        no keyword has one (jieba passes over single characters amid other text), the known
        Han characters of ``text`` itself."""
        import jieba
        import jieba.analyse

        jieba.setLogLevel(logging.WARNING)  # not its dictionary-loading chatter on stderr
        text = to_simplified(text)
        words = jieba.analyse.extract_tags(text, topK=THEME_KEYWORDS) or [text]
        chars = [c for word in words for c in word if is_han(c) and c in self.vocab]
        chars = chars or [c for c in text if is_han(c) and c in self.vocab]
        if not chars:
            raise PoetryError("none of the theme's words are in the model's vocabulary")
        return list(dict.fromkeys(chars))

    # --- shared steps -----------------------------------------------------------------------

    def _titled(
        self, controls: Controls, prompt: str, write: Callable[[Controls], list[Poem]]
    ) -> list[Poem]:
        """The poems ``write`` writes to the controls' title; where there is none (and the
        model knows titles), each poem to a title of its own, drawn from the bank by the
        user's ``prompt`` and the poem's seed (:func:`poetry_rnn.writing.titles.choose_title`), best
        first. A model trained without titles takes none. A 词 is headed by its tune, not by a
        title of the bank (:meth:`_form_plan`)."""
        if self.vocab.sep_id is None or controls.title or is_tune(controls.form):
            if controls.title and self.vocab.sep_id is None:
                raise PoetryError("this model was not trained with titles: it cannot take one")
            return write(controls)
        seed = _seed(controls)
        poems: list[Poem] = []
        taken: frozenset[str] = frozenset()  # as drawn: a poem prints its title in its script
        for number in range(controls.n):
            title = choose_title(prompt, seed + number, avoid=taken)
            taken |= {title}
            poems += write(replace(controls, title=title, n=1, seed=seed + number))
        return sorted(poems, key=lambda poem: -(poem.score or 0.0))

    def _start_text(self, start: str) -> str:
        """The start, checked: Han characters, each mark ending a line; empty for none."""
        start = self._user_text(start, "start", required=False, punctuation=True)
        if not start:
            return start
        if not any(is_han(char) for char in start):
            raise PoetryError("the start has no Han characters")
        if start[0] in PUNCTUATION:
            raise PoetryError(f"the start begins with {start[0]}: a mark may only end a line")
        if any(a in PUNCTUATION and b in PUNCTUATION for a, b in itertools.pairwise(start)):
            raise PoetryError("the start has two marks in a row: one mark ends a line")
        return start

    def _style(self, controls: Controls) -> str:
        return self._user_text(controls.style, "style", required=False, punctuation=True)

    def _chosen_form(self, start: str, style: str) -> Form:
        """The regulated form for a start (or none) when the user names no form: 4 lines, 8
        where the start needs more; 5 or 7 characters a line as the start's first mark says,
        else as the model prefers after the start (:meth:`_preferred_line_length`)."""
        marks = [i for i, char in enumerate(start) if char in PUNCTUATION]
        chars = marks[0] if marks else self._preferred_line_length(start, style)
        if chars not in (5, 7):
            raise PoetryError(
                f"the start's first line has {chars} characters, but the lines of a regulated "
                f"poem have 5 or 7 (the form {FREE!r} takes any length)"
            )
        quatrain, regulated = (
            next(f for f in FORMS.values() if (f.lines, f.chars) == (lines, chars))
            for lines in (4, 8)
        )
        lines_used = sum(math.ceil(len(line) / chars) for line in split_lines(start))
        return quatrain if lines_used <= quatrain.lines else regulated

    @torch.inference_mode()
    def _preferred_line_length(self, start: str, style: str) -> int:
        """5 or 7: where the model would end the first line after ``start`` (no marks in it).

        Along the start, then its greedy continuation in Han characters, compare the chance of
        a mark after the 5th character with the chance of none after the 5th and 6th and one
        after the 7th. A prefix pass and seven steps of the model, one row.
        """
        model, vocab, tables = self.composer.model, self.vocab, self.composer.tables
        device = self.composer.device
        prefix = [*(vocab.encode(style, wrap=True) if style else []), vocab.start_id]
        was_training = model.training
        model.eval()
        try:
            logits, state = model(torch.tensor([prefix], device=device))
            logits, ends = logits[0, -1].float().cpu(), []
            for i in range(7):
                if i < len(start):
                    token = vocab.index[start[i]]
                else:
                    token = int(logits.masked_fill(~tables.han, float("-inf")).argmax())
                logits, state = model.step(torch.tensor([token], device=device), state)
                logits = logits[0].float().cpu()
                ends.append(float(logits.softmax(-1)[tables.punctuation].sum()))
        finally:
            model.train(was_training)
        after_five, after_six, after_seven = ends[4:]
        return 7 if (1 - after_five) * (1 - after_six) * after_seven > after_five else 5

    def _form_plan(
        self, form: Form | Family, controls: Controls, fixed: dict, **options: object
    ) -> Plan:
        """The plan of ``form``: a shi form under the controls' rhyme book, its header the
        controls' title; a 词牌's family under its own book (词林正韵), its header the tune,
        as the corpus's 词 were trained (``<s>浣溪沙<sep>``, the tune's name cleaned as the
        corpus's titles are); the user's title of a 词 steers
        through the plan's keywords (:meth:`_planned`) and names the poem after the tune."""
        ci = isinstance(form, Family) and form.kind == "ci"
        return form_plan(
            form, fixed, rhyme=controls.rhyme, tone=controls.tone,
            rhyme_book=form.rhyme_book if ci else controls.rhyme_book,
            search=controls.line_search, parallel=controls.parallel,
            coherence=controls.coherence,
            title=clean_title(_tune(form.name)) if ci else controls.title,
            repeat_penalty=controls.repeat_penalty, **options,
        )  # fmt: skip

    def _user_text(
        self,
        text: str,
        what: str,
        required: bool,
        punctuation: bool = False,
        check_vocab: bool = True,
    ) -> str:
        """User text, simplified and checked: Han characters (and punctuation where allowed)."""
        text = user_text(text, what, MAX_INPUT_CHARS)
        if not text:
            if required:
                raise PoetryError(f"the {what} is empty")
            return text
        allowed = PUNCTUATION if punctuation else ""
        other = [c for c in dict.fromkeys(text) if not is_han(c) and c not in allowed]
        if other and (check_vocab or not any(is_han(c) for c in text)):
            listed = " ".join(other)
            raise PoetryError(f"the {what} has characters that are not Han characters: {listed}")
        if check_vocab:
            unknown = [c for c in self.vocab.unknown_chars(text) if c not in PUNCTUATION]
            if unknown:
                raise PoetryError(
                    f"the {what} has characters the model does not know: {' '.join(unknown)}"
                )
        return text

    def _planned(
        self, plan: Plan, controls: Controls, mode: str, seeds: str, source: str, printed: str
    ) -> list[Poem]:
        """Poems of ``plan``, each line steered by its keyword: the plan grown from ``seeds``
        and the title (``printed``: the text the poem prints anyway), or, where the statistics
        know none of them, from the model's own first line."""
        assert plan.pattern is not None and plan.slots is not None
        lines = len(plan.pattern.lengths)
        keywords = plan_keywords(seeds + controls.title, lines, printed)
        source = "title" if controls.title and not seeds else source
        if keywords:
            return self._decode(
                _steered(plan, keywords, self.vocab), controls, mode, keywords, source
            )
        # The first line alone, n of them; then each poem planned from its own first line.
        seed = _seed(controls)
        first = replace(plan, slots=plan.slots[: plan.pattern.lengths[0] + 1])
        poems = []
        for number, text in enumerate(
            self.composer.decode(first, controls.n, controls.sampling, seed)
        ):
            line = split_lines(text)[0]
            keywords = plan_keywords(line, lines, printed=line)
            slots = tuple(
                replace(slot, fixed=line[slot.position - 1])
                if slot.line == 0 and slot.position else slot
                for slot in plan.slots
            )  # fmt: skip
            one = _steered(replace(plan, slots=slots), keywords, self.vocab)
            single = replace(controls, n=1, seed=(seed + number) % SEEDS)
            poems += self._decode(one, single, mode, keywords, "first line" if keywords else "")
        return poems

    def _decode(
        self,
        plan: Plan,
        controls: Controls,
        mode: str,
        keywords: Sequence[str] = (),
        source: str = "",
    ) -> list[Poem]:
        seed = _seed(controls)
        scored = self.composer.decode_scored(plan, controls.n, controls.sampling, seed)
        poems = []
        ci = plan.pattern is not None and plan.pattern.kind == "ci"
        name = plan.pattern.name if ci else plan.form.name if plan.form else None
        for text, score in scored:
            if ci:
                checks = ci_checks(text, plan.pattern.patterns[0])
                title = "·".join(filter(None, (_tune(name), controls.title)))
            else:
                checks = None if plan.form is None else check_poem(text, plan.form, plan.rhyme_book)
                title = plan.title
            if controls.script == "traditional":
                text, title = to_traditional(text), to_traditional(title)
            poems.append(
                Poem(
                    text=text,
                    lines=_printed_lines(text),
                    form=name,
                    mode=mode,
                    seed=seed,
                    checks=checks,
                    score=score,
                    plan=list(keywords),
                    plan_source=source,
                    title=title,
                )
            )
        return poems


#: Seeds run from 0 to this less one; the poems after a seed take the next ones, from 0 again
#: past the last.
SEEDS = 2**63


def _seed(controls: Controls) -> int:
    """The user's seed, or one drawn afresh; the poems report it, so they can be written again."""
    return controls.seed if controls.seed is not None else secrets.randbelow(2**31)


def _new_year(theme: str | None) -> bool:
    """Whether ``theme`` names the new year (:data:`NEW_YEAR_WORDS`)."""
    return theme is not None and any(word in to_simplified(theme) for word in NEW_YEAR_WORDS)


def _as_title(theme: str) -> str:
    """A theme that reads as a title (秋夜思乡: a phrase of Han characters, not a sentence)
    stands as the poem's title; "" for any other."""
    try:
        title = user_title(theme)
    except PoetryError:
        return ""
    return title if len(title) <= MAX_THEME_TITLE_CHARS else ""


def _title_required(text: str) -> str:
    if not user_title(text):
        raise PoetryError("the title is empty")
    return text


def _start_required(text: str) -> str:
    if not text.split():
        raise PoetryError("the start is empty")
    return text


#: Each mode and how it writes: (generator, the user's text, controls, steer) → poems.
MODES: dict[str, Callable[[PoetryGenerator, str, Controls, str], list[Poem]]] = {
    "free": lambda g, text, controls, _: g.generate(
        controls=replace(controls, style=controls.style + text)
    ),
    "start": lambda g, text, controls, _: g.generate(_start_required(text), controls),
    "acrostic": lambda g, text, controls, _: g.acrostic(text, controls),
    "theme": lambda g, text, controls, steer: g.themed(text, steer, controls),
    "title": lambda g, text, controls, _: g.generate(
        controls=replace(controls, title=_title_required(text))
    ),
}
#: The modes that need a model trained with titles.
TITLED_MODES = frozenset({"title"})


def _steered(plan: Plan, keywords: Sequence[str], vocab: Vocab) -> Plan:
    """``plan`` with each line favouring its keyword (one the vocabulary has)."""
    bias = {line: {char: PLAN_BONUS} for line, char in enumerate(keywords) if char in vocab}
    return replace(plan, bias=bias)


def _repeated(text: str) -> frozenset[str]:
    """Characters the user's text itself uses more than once: they may recur."""
    return frozenset(c for c, k in Counter(text).items() if k > 1 and c not in PUNCTUATION)


def _kept(
    lines: list[str], form: Form, keep: Sequence[int] | Mapping[tuple[int, int], str]
) -> dict[tuple[int, int], str]:
    """The fixed characters of a form plan for what ``keep`` keeps of a poem's ``lines``."""
    if isinstance(keep, Mapping):
        wanted = dict(keep)
    elif isinstance(keep, Sequence) and not isinstance(keep, str | bytes | bytearray | memoryview):
        for line in keep:
            _check_line(line, form)
        wanted = {(line, p): None for line in keep for p in range(1, form.chars + 1)}
    else:
        raise PoetryError(
            f"keep must be line numbers or {{(line, position): character}}, got {keep!r}"
        )
    fixed = {}
    for where, char in wanted.items():
        if not (isinstance(where, tuple) and len(where) == 2):
            raise PoetryError(f"a kept position must be (line, position), got {where!r}")
        line, position = where
        _check_line(line, form)
        if not is_integer(position) or not 1 <= position <= form.chars:
            raise PoetryError(
                f"character {position!r} is out of range: a line of {form.name} has characters "
                f"1–{form.chars}"
            )
        own = lines[line - 1][position - 1]
        if char is not None and (not isinstance(char, str) or to_simplified(char) != own):
            raise PoetryError(f"line {line}, character {position} is {own}, not {char!r}")
        fixed[(line - 1, position)] = own
    return fixed


def _check_line(line: object, form: Form) -> None:
    if not is_integer(line) or not 1 <= line <= form.lines:
        raise PoetryError(f"line {line!r} is out of range: a {form.name} has lines 1–{form.lines}")


def _shape(name: str) -> Form | Family:
    """The form a plan lays out for ``name``: a shi form, or a 词牌's family (its most common
    variant, or the variant named)."""
    return FORMS[name] if name in FORMS else family_of(name)


def _tune(name: str) -> str:
    """The tune of a 词牌 or variant name: 浣溪沙 for 浣溪沙·2."""
    return name.partition("·")[0]


def _lengths(form: Form | Family) -> tuple[int, ...]:
    return form.lengths if isinstance(form, Family) else (form.chars,) * form.lines


def _line_count(form: Form | Family) -> int:
    return len(_lengths(form))


def _acrostic_variant(name: str, heads: int) -> Family:
    """The variant of the 词牌 ``name`` with a line for each of ``heads`` heads (the most
    common such); a PoetryError telling the line counts of its variants otherwise."""
    variants = tune_variants(name)
    fitting = [pattern for pattern in variants if len(pattern.lines) == heads]
    if not fitting:
        counts = " or ".join(str(n) for n in sorted({len(p.lines) for p in variants}))
        raise PoetryError(
            f"an acrostic of {heads} characters fits no variant of {name}: give {counts} "
            "characters, one a line"
        )
    return Family(fitting[0].name, fitting[:1])


def _align_start(start: str, form: Form | Family) -> dict[tuple[int, int], str]:
    """Place the start text's characters in the form's slots; punctuation must end lines."""
    lengths = _lengths(form)
    fixed: dict[tuple[int, int], str] = {}
    line, position = 0, 0
    for char in start:
        if char in PUNCTUATION:
            if position != lengths[line]:
                if isinstance(form, Family):
                    raise PoetryError(
                        f"the start's line {line + 1} has {position} characters, "
                        f"but line {line + 1} of {form.name} has {lengths[line]}"
                    )
                raise PoetryError(
                    f"the start's line {line + 1} has {position} characters, but "
                    f"{form.name} lines have {form.chars}"
                )
            line, position = line + 1, 0
            continue
        if line < len(lengths) and position == lengths[line]:
            line, position = line + 1, 0
        position += 1
        if line >= len(lengths):
            if isinstance(form, Family):
                raise PoetryError(
                    f"the start is longer than {form.name} holds "
                    f"({sum(lengths)} characters in {len(lengths)} lines)"
                )
            raise PoetryError(
                f"the start is longer than {form.name} holds "
                f"({form.lines} lines of {form.chars} characters)"
            )
        fixed[(line, position)] = char
    return fixed


def _printed_lines(text: str) -> list[str]:
    """The poem's lines, each with the punctuation that ends it."""
    lines, current = [], ""
    for char in text:
        current += char
        if char in PUNCTUATION:
            lines.append(current)
            current = ""
    return [*lines, current] if current else lines


# --- command line -------------------------------------------------------------------------


def _printed(poem: Poem) -> str:
    """A poem as the command line prints it: its title or 横批 (where it has one), then a line
    a row."""
    heading = poem.title or (f"{BANNER}：{poem.banner}" if poem.banner else "")
    return "\n".join([heading, *poem.lines] if heading else poem.lines)


def _kept_lines(value: str) -> list[int]:
    """--keep's line numbers: "1,3" → [1, 3]; "" → none."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not all(item.isdecimal() for item in items):
        raise PoetryError(f"--keep wants line numbers, e.g. 1,3, got {value!r}")
    return [int(item) for item in items]


def _couplet_request(args: argparse.Namespace) -> dict | None:
    """The arguments of :meth:`PoetryGenerator.couplet` that --couplet asks for; None without
    it. Options that go with other modes only are one line."""
    if args.couplet is None:
        for given in ("couplet_lower", "banner"):
            if getattr(args, given):
                raise PoetryError(f"--{given.replace('_', '-')} goes with --couplet")
        return None
    for other in ("start", "acrostic", "revise", "form"):
        if getattr(args, other) is not None:
            raise PoetryError(f"--couplet does not go with --{other}")
    text = args.couplet if args.couplet or args.theme is None else None
    given = "lower" if args.couplet_lower else "upper"
    return {given: text, "theme": args.theme, "length": args.length,
            "banner": True if args.banner else None}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.generate", description="Write classical Chinese poems."
    )
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--start", help="续写: the poem begins with this text")
    given.add_argument("--acrostic", help="藏头: the lines begin with these characters")
    given.add_argument("--theme", help="主题: modern or classical text whose keywords steer")
    given.add_argument("--revise", help="重写: a poem of one of the forms, rewritten but --keep")
    parser.add_argument(
        "--keep", default="", help="with --revise: the lines kept (1-based), e.g. 1,3"
    )
    parser.add_argument(
        "--title", default="",
        help="命题: the title the poems are written to (default: each poem a title of its own)",
    )  # fmt: skip
    parser.add_argument(
        "--couplet", nargs="?", const="", metavar="UPPER",
        help="对联: write the 下联 to this 上联 (4 to 11 characters, one comma allowed); with "
        "--theme and no 上联, a whole couplet and its 横批",
    )  # fmt: skip
    parser.add_argument(
        "--couplet-lower", action="store_true",
        help="with --couplet: the text is a 下联 (it ends 平); write its 上联",
    )  # fmt: skip
    parser.add_argument("--banner", action="store_true", help="with --couplet: a 横批 as well")
    parser.add_argument(
        "--length", type=int, default=COUPLET_LENGTH,
        help=f"with --couplet --theme: the characters of each 联 (default {COUPLET_LENGTH})",
    )  # fmt: skip
    parser.add_argument("--style", default="", help="text that primes the mood, not printed")
    parser.add_argument(
        "--steer", choices=STEERS, default="plan",
        help="how --theme steers: keywords planned into the lines, priming the state, or both",
    )  # fmt: skip
    parser.add_argument(
        "--form",
        help=f"{', '.join(FORMS)}, a 词牌 (浣溪沙, or a variant: 浣溪沙·2; see --list-forms) "
        f"or {FREE} (any length); default: a regulated poem of 4 lines, 5 or 7 characters as "
        "the start's punctuation or the model sets them (an acrostic: by its number of heads)",
    )  # fmt: skip
    parser.add_argument(
        "--list-forms", action="store_true",
        help="print the shi forms and the 词牌 with their line lengths, and exit",
    )  # fmt: skip
    parser.add_argument("--n", type=int, default=1, help="how many poems")
    add_writing_arguments(parser)
    parser.add_argument("--seed", type=int, help="the same seed writes the same poems")
    parser.add_argument("--no-rhyme", action="store_true", help="do not force the rhyme")
    parser.add_argument("--no-tone", action="store_true", help="do not force the tones")
    parser.add_argument(
        "--search", choices=SEARCHES, default="lines",
        help="a form's decoding: whole-line search (default) or token sampling",
    )  # fmt: skip
    parser.add_argument("--beams", type=int, default=DEFAULT_BEAMS, help="partial poems kept")
    parser.add_argument(
        "--candidates", type=int, default=DEFAULT_CANDIDATES,
        help="lines sampled from each kept poem",
    )  # fmt: skip
    parser.add_argument("--no-parallel", action="store_true", help="do not favour 对仗")
    parser.add_argument(
        "--coherence", type=float, default=COHERENCE_WEIGHT,
        help="weight of the poem's coherence in the search's score (0: off)",
    )  # fmt: skip
    parser.add_argument("--no-plan", action="store_true", help="do not plan one keyword per line")
    parser.add_argument("--traditional", action="store_true", help="print traditional characters")
    parser.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    parser.add_argument("--backward", type=Path, help=BACKWARD_HELP)
    parser.add_argument("--json", action="store_true", help="print a JSON list of poems")
    args = parser.parse_args(argv)
    if args.list_forms:
        print(form_list())
        return 0

    controls = Controls(
        **writing_options(args), form=args.form, rhyme=not args.no_rhyme,
        tone=not args.no_tone, seed=args.seed,
        n=args.n, style=args.style, script="traditional" if args.traditional else "simplified",
        search=args.search, beams=args.beams, candidates=args.candidates,
        parallel=not args.no_parallel, coherence=args.coherence, plan=not args.no_plan,
        title=args.title,
    )  # fmt: skip
    if args.keep and args.revise is None:
        raise PoetryError("--keep goes with --revise")
    mode = next((m for m in ("start", "acrostic", "theme") if getattr(args, m) is not None), "free")
    text = getattr(args, mode, None) or ""
    couplet = _couplet_request(args)
    generator = PoetryGenerator.from_pretrained(args.model, backward=args.backward)
    if couplet is not None:
        poems = generator.couplet(controls=controls, **couplet)
    elif args.revise is not None:
        poems = generator.revise(args.revise, _kept_lines(args.keep), controls)
    else:
        poems = generator.write(mode, text, controls, steer=args.steer)
    if args.json:
        print(json.dumps([poem.to_dict() for poem in poems], ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(_printed(poem) for poem in poems))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
