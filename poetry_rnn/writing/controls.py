"""``Controls``: what every mode of writing shares (form, rhyme, tones, sampling, search),
checked once when made, so that every entry point — the command line, the demo, evaluation,
the benchmarks — hands the generator the same validated request."""

from __future__ import annotations

import argparse
import math
import numbers
from dataclasses import dataclass, fields, replace

from poetry_rnn.errors import PoetryError, is_integer
from poetry_rnn.forms import FORMS
from poetry_rnn.poetics.patterns import is_tune, unknown_form
from poetry_rnn.poetics.rhymes import DEFAULT_RHYME_BOOK, RHYME_BOOKS
from poetry_rnn.writing.plans import (
    COHERENCE_WEIGHT,
    DEFAULT_BEAMS,
    DEFAULT_CANDIDATES,
    SEARCHES,
    Search,
)
from poetry_rnn.writing.sampling import Sampling
from poetry_rnn.writing.titles import user_title

MAX_POEMS = 256
MAX_COHERENCE = 20.0
MAX_REPEAT_PENALTY = 10.0
#: The most characters a user's text may have, in every mode and in the demo: a whole 七言律诗
#: start with its marks is 64, and a theme of a sentence or two fits.
MAX_INPUT_CHARS = 100
FREE = "free"  # the form that means free length
SCRIPTS = ("simplified", "traditional")


@dataclass(frozen=True)
class Controls:
    """What every mode shares, checked when made: a bad value is a :class:`PoetryError`.

    ``form``: None lets the generator choose a regulated form (an acrostic's by its number of
    heads; otherwise 4 lines, 5 or 7 characters as the start's punctuation or the model sets
    them), ``"free"`` writes free length, a name of ``FORMS``, or a 词牌 (浣溪沙; a variant:
    浣溪沙·2), whose 词 rhyme by 词林正韵 whatever ``rhyme_book`` says. ``seed`` None draws one.
    ``style`` primes the mood without being printed. ``rhyme_book``: the book the rhyme follows
    and is checked by, 平水韵 ("pingshui", the classical book) or 中华新韵 ("xinyun").
    ``search``: how a form is decoded, "lines" (whole-line search: ``beams`` partial poems kept,
    ``candidates`` lines sampled from each, the likeliest kept) or "sample" (token by token);
    free length always samples. ``parallel``: favour 对仗 in a 律诗's middle couplets.
    ``coherence``: the whole-line search's weight of the poem's coherence (0 turns it off).
    ``plan``: grow the user's keywords (or the model's first line) into one keyword per line
    with the corpus statistics, and steer each line toward its keyword. ``title``: the title
    the poems are written to (命题; cleaned as :func:`poetry_rnn.writing.titles.user_title` says);
    "" gives each poem a title of its own. ``repeat_penalty``: how hard the decoder keeps a poem
    from saying a character again, in units of the penalty that writes as many repeats as the
    poets in the form (:data:`poetry_rnn.writing.plans.REPEAT_RATES`): 1 by default, 0 off; the
    rule of at most twice a poem, once a line, holds either way.
    """

    form: str | None = None
    rhyme: bool = True
    rhyme_book: str = DEFAULT_RHYME_BOOK
    tone: bool = True
    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 0.9
    seed: int | None = None
    n: int = 1
    style: str = ""
    script: str = "simplified"
    search: str = "lines"
    beams: int = DEFAULT_BEAMS
    candidates: int = DEFAULT_CANDIDATES
    parallel: bool = True
    coherence: float = COHERENCE_WEIGHT
    plan: bool = True
    title: str = ""
    repeat_penalty: float = 1.0

    def __post_init__(self) -> None:
        if self.form is not None and self.form != FREE:
            if not isinstance(self.form, str):
                raise PoetryError(f"form must be a form's name, got {self.form!r}")
            if self.form not in FORMS and not is_tune(self.form):
                raise PoetryError(unknown_form(self.form))
        for name in ("rhyme", "tone", "parallel", "plan"):
            if not isinstance(getattr(self, name), bool):
                raise PoetryError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.rhyme_book not in RHYME_BOOKS:
            books = ", ".join(RHYME_BOOKS)
            raise PoetryError(f"unknown rhyme book {self.rhyme_book!r}; choose one of {books}")
        temperature = self.temperature
        if not _is_real(temperature) or not (math.isfinite(temperature) and temperature > 0):
            raise PoetryError(f"temperature must be a finite number above 0, got {temperature!r}")
        if not is_integer(self.top_k) or self.top_k < 0:
            raise PoetryError(f"top_k must be 0 (off) or a positive integer, got {self.top_k!r}")
        if not _is_real(self.coherence) or not 0 <= self.coherence <= MAX_COHERENCE:
            raise PoetryError(
                f"coherence must be a number from 0 (off) to {MAX_COHERENCE:g}, "
                f"got {self.coherence!r}"
            )
        if not _is_real(self.repeat_penalty) or not (
            0 <= self.repeat_penalty <= MAX_REPEAT_PENALTY
        ):
            raise PoetryError(
                f"repeat_penalty must be a number from 0 (off) to {MAX_REPEAT_PENALTY:g}, "
                f"got {self.repeat_penalty!r}"
            )
        if not _is_real(self.top_p) or not 0 < self.top_p <= 1:
            raise PoetryError(f"top_p must be a number in (0, 1], got {self.top_p!r}")
        if self.seed is not None and (not is_integer(self.seed) or not 0 <= self.seed < 2**63):
            raise PoetryError(f"seed must be an integer from 0 to 2**63 - 1, got {self.seed!r}")
        if not is_integer(self.n) or not 1 <= self.n <= MAX_POEMS:
            raise PoetryError(f"n must be an integer between 1 and {MAX_POEMS}, got {self.n!r}")
        if not isinstance(self.style, str):
            raise PoetryError(f"the style must be text, got {type(self.style).__name__}")
        if len(self.style) > MAX_INPUT_CHARS:
            raise PoetryError(f"the style is too long: at most {MAX_INPUT_CHARS} characters")
        object.__setattr__(self, "title", user_title(self.title))
        if not isinstance(self.script, str) or self.script not in SCRIPTS:
            raise PoetryError(f"script must be simplified or traditional, got {self.script!r}")
        if not isinstance(self.search, str) or self.search not in SEARCHES:
            raise PoetryError(f"search must be lines or sample, got {self.search!r}")
        Search(self.beams, self.candidates)  # a value out of range is a PoetryError
        # Plain Python numbers from here on (numpy's, say, would not survive json.dumps).
        for name in ("temperature", "top_p", "coherence", "repeat_penalty"):
            object.__setattr__(self, name, float(getattr(self, name)))
        for name in ("top_k", "n", "beams", "candidates"):
            object.__setattr__(self, name, int(getattr(self, name)))
        if self.seed is not None:
            object.__setattr__(self, "seed", int(self.seed))

    @property
    def sampling(self) -> Sampling:
        return Sampling(self.temperature, self.top_k, self.top_p)

    @property
    def line_search(self) -> Search | None:
        """The whole-line search a form is decoded with; None for token sampling."""
        return Search(self.beams, self.candidates) if self.search == "lines" else None


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def controls_with(controls: Controls | None, options: dict[str, object]) -> Controls:
    """``controls`` (default: the defaults) with ``options`` (fields of Controls) changed.

    ``controls`` must be a :class:`Controls` or None: a dict of fields is refused rather than
    read, so that a request is checked in one place, when its Controls is made; pass
    ``Controls(**fields)``, or the fields themselves as ``options``."""
    if controls is not None and not isinstance(controls, Controls):
        raise PoetryError(
            f"controls must be a Controls, got {type(controls).__name__}: pass "
            "Controls(**fields), or the fields as keyword arguments"
        )
    unknown = sorted(set(options) - {field.name for field in fields(Controls)})
    if unknown:
        raise PoetryError(f"unknown controls: {', '.join(unknown)}")
    return replace(controls or Controls(), **options)


def add_writing_arguments(parser: argparse.ArgumentParser) -> None:
    """The sampling, rhyme book and repetition options of every command that writes poems,
    with :class:`Controls`'s defaults."""
    parser.add_argument(
        "--temperature", type=float, default=Controls.temperature,
        help="below 1 keeps to the likelier characters, above 1 takes more risks "
        "(default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--top-k", type=int, default=Controls.top_k,
        help="sample among the k likeliest characters only (default 0: off)",
    )  # fmt: skip
    parser.add_argument(
        "--top-p", type=float, default=Controls.top_p,
        help="sample among the likeliest characters that make up this share of the chance "
        "(default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--rhyme-book", choices=RHYME_BOOKS, default=DEFAULT_RHYME_BOOK,
        help="平水韵 (pingshui, the classical book; default) or 中华新韵 (xinyun)",
    )  # fmt: skip
    parser.add_argument(
        "--repeat-penalty", type=float, default=Controls.repeat_penalty,
        help="how hard a poem is kept from saying a character again: 1 (default) writes about "
        "as many repeats as the poets, 0 turns it off, more writes fewer",
    )  # fmt: skip


def writing_options(args: argparse.Namespace) -> dict[str, object]:
    """The :class:`Controls` fields of :func:`add_writing_arguments`'s options."""
    names = ("temperature", "top_k", "top_p", "rhyme_book", "repeat_penalty")
    return {name: getattr(args, name) for name in names}
