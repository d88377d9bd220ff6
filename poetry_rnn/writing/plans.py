"""What a batch decodes: a :class:`Plan` of slots laid out on a pattern, and the search.

A :class:`Plan` says what every step may emit. With a pattern, each step is a slot: a character
of line i at position p (fixed, such as a start or acrostic character, or chosen), the line's
closing mark, or the end; lines may differ in length (a 词). Without one the model writes
freely until it ends the poem. Plans, keywords, locked lines and heads are requests that fill
fixed slots.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

from poetry_rnn.errors import PoetryError
from poetry_rnn.forms import Form
from poetry_rnn.poetics.patterns import Family, Pattern, shi_family
from poetry_rnn.poetics.rhymes import DEFAULT_RHYME_BOOK, book_groups

SEARCHES = ("lines", "sample")  # whole-line search, token sampling
#: Blind readers could not tell 2 × 8, 4 × 8 and 8 × 16 apart (round 2, docs/experiments): the
#: cheapest is the default.
DEFAULT_BEAMS = 2
DEFAULT_CANDIDATES = 8
MAX_BEAMS = MAX_CANDIDATES = 64
#: The most rows (beams × candidates of each search) the searches for a call's poems decode at
#: once: bounds their memory, about 100 KB a row with the shipped model's vocabulary.
MAX_SEARCH_ROWS = 2048
#: w_coherence: the default weight, per character, of the poem's coherence in its score.
COHERENCE_WEIGHT = 2.0


@dataclass(frozen=True)
class RepeatRate:
    """How often the poets say a character again in a form's poems, and the penalty that
    brings the model there."""

    poets: float  # characters said again a poem (repeats.repeated_chars), Tang test split
    poets_words: float  # two-character words said again a poem (repeats.repeated_words)
    #: w_repeat: the logit penalty of a character the poem holds already, and the search's
    #: score penalty for each time the poem says one again (Plan.repeat_penalty times it).
    penalty: float


#: The poets' figures: ``python -m poetry_rnn.evaluate corpus --split test`` on the Tang poems
#: (82, 221, 292 and 163 poems); the penalties tuned so that the shipped model's poems
#: (``evaluate generation --n 48``, free mode, seed 0) come within 0.2 of them (MODEL_CARD.md,
#: "Repetition").
REPEAT_RATES = {
    "五言绝句": RepeatRate(poets=0.28, poets_words=0.012, penalty=1.5),
    "七言绝句": RepeatRate(poets=0.60, poets_words=0.050, penalty=1.3),
    "五言律诗": RepeatRate(poets=0.59, poets_words=0.065, penalty=1.8),
    "七言律诗": RepeatRate(poets=0.91, poets_words=0.043, penalty=2.0),
}
#: w_repeat for what the table lacks (free length, 词, 对联): the gentlest of its penalties.
OTHER_REPEAT_PENALTY = min(rate.penalty for rate in REPEAT_RATES.values())


@dataclass(frozen=True)
class Search:
    """Whole-line search: keep the best ``beams`` partial poems, sampling ``candidates`` lines
    from each of them for every line. A value out of range is a :class:`PoetryError`."""

    beams: int = DEFAULT_BEAMS
    candidates: int = DEFAULT_CANDIDATES

    def __post_init__(self) -> None:
        for name, most in (("beams", MAX_BEAMS), ("candidates", MAX_CANDIDATES)):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                raise PoetryError(f"{name} must be an integer from 1 to {most}, got {value!r}")
            if not 1 <= value <= most:
                raise PoetryError(f"{name} must be an integer from 1 to {most}, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.rows > MAX_SEARCH_ROWS:
            raise PoetryError(
                f"beams × candidates must be at most {MAX_SEARCH_ROWS}, "
                f"got {self.beams} × {self.candidates}"
            )

    @property
    def rows(self) -> int:
        """The rows one search decodes: each kept poem's candidate lines."""
        return self.beams * self.candidates


@dataclass(frozen=True)
class Slot:
    """One step of a planned poem: a character of ``line`` at ``position`` (1-based), or the
    punctuation after ``line`` (position 0), or the end (line -1). ``fixed`` forces a token."""

    line: int
    position: int
    fixed: str | None = None


@dataclass(frozen=True)
class Plan:
    """What a batch decodes: the context fed first, then a slot per step or free writing."""

    context: str = ""  # characters fed after <s> (a free poem's start text)
    slots: tuple[Slot, ...] | None = None  # None: free length, ending at </s>
    form: Form | None = None  # the shi form the pattern was compiled from, where it was
    rhyme: bool = True
    tone: bool = True
    style: str = ""  # primes the state before <s> without being printed
    bias: dict[int, dict[str, float]] = field(default_factory=dict)  # line (-1 free) → bonuses
    repeat_ok: frozenset[str] = frozenset()  # characters the user's text repeats
    rhyme_book: str = DEFAULT_RHYME_BOOK
    search: Search | None = Search()  # None: token sampling (a free plan always samples)
    parallel: bool = True  # favour 对仗 in the pattern's parallel lines
    coherence: float = COHERENCE_WEIGHT  # the search's weight of coherence per character
    pattern: Family | None = None  # the patterns the slots are laid out on
    title: str = ""  # what a titled model writes to: <s> title <sep> before the poem
    repeat_penalty: float = 1.0  # times the form's w_repeat (REPEAT_RATES); 0: off

    def __post_init__(self) -> None:
        book_groups(self.rhyme_book)  # an unknown book is a PoetryError here, not mid-decoding

    @property
    def repeat_weight(self) -> float:
        """w_repeat for this plan: ``repeat_penalty`` times its form's (REPEAT_RATES)."""
        rate = REPEAT_RATES.get(self.form.name) if self.form is not None else None
        return self.repeat_penalty * (rate.penalty if rate else OTHER_REPEAT_PENALTY)


def form_plan(form: Form | Family, fixed: dict[tuple[int, int], str], **options: object) -> Plan:
    """The slots of ``form`` with ``fixed[(line, position)]`` characters forced: a shi form,
    compiled into its family of patterns under the plan's rhyme book, or a family itself (a
    词's variant, a 对联), whose rhyme book the plan takes unless ``options`` name one."""
    if isinstance(form, Form):
        family = shi_family(form, str(options.get("rhyme_book", DEFAULT_RHYME_BOOK)))
        options["form"] = form
    else:
        family = form
        options.setdefault("rhyme_book", family.rhyme_book)
    slots = []
    for line, (length, mark) in enumerate(zip(family.lengths, family.marks, strict=True)):
        for position in range(1, length + 1):
            slots.append(Slot(line, position, fixed.get((line, position))))
        slots.append(Slot(line, 0, mark))
    slots.append(Slot(-1, 0, None))
    return Plan(slots=tuple(slots), pattern=family, **options)  # type: ignore[arg-type]


def step_of(pattern: Family | Pattern, line: int, position: int) -> int:
    """The step of :func:`form_plan`'s slots that writes ``position`` (1-based) of ``line``:
    the characters and marks of the lines before it, then its own before it."""
    return sum(pattern.lengths[:line]) + line + position - 1


def _lines(slots: Sequence[Slot]) -> list[list[Slot]]:
    """A form plan's slots line by line, each with its punctuation; the end joins the last."""
    lines: list[list[Slot]] = [[]]
    for slot in slots:
        lines[-1].append(slot)
        if slot.position == 0 and slot.line != -1:
            lines.append([])
    lines[-2].extend(lines.pop())
    return lines
