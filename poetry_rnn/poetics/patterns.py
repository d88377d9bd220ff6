"""Patterns: a form as data, read alike by the decoder, ``check`` and ``suggest``.

A :class:`Pattern` is a list of lines. Each :class:`Line` has its length, its closing mark and,
for every character position, its tone: 平, 仄 or 中 (either). Its last character may rhyme, in
one of the pattern's rhyme segments (a 词 may change rhyme, 换韵); each segment's rhymes have a
tone class (平, 仄 or 入). Pairs of lines of one length are parallel (对仗) position by
position. The pattern names its kind ("shi", "ci", "couplet"), its rhyme book and, for a 词, its
stanzas (片).

A :class:`Family` is the patterns a form allows, all of one shape. A shi form has four, compiled
here from the rules of :mod:`poetry_rnn.poetics.tones`: the tonal opening (平起 or 仄起: the tone
at line 1, character 2) and whether line 1 rhymes (首句入韵). The tone rules (二四六分明, 对, 粘)
then fix every even position; the odd ones are free (一三五不论) but for the last character of
a line: a rhyme is level, and line 1 of a 首句不入韵 pattern closes 仄. A 律诗's middle couplets
are parallel. The decoder narrows a family to the member the poem's first tones choose; the
checker judges a finished poem by the member it fits best.

词牌 come from a table (:func:`load_cipai`), a 对联 from :func:`couplet_pattern` (its 横批 from
:func:`banner_pattern`).
"""

from __future__ import annotations

import difflib
import functools
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

from poetry_rnn.errors import PoetryError
from poetry_rnn.forms import FORMS, Form
from poetry_rnn.poetics.parallelism import parallel_couplets
from poetry_rnn.poetics.rhymes import DEFAULT_RHYME_BOOK, rhyme_positions
from poetry_rnn.poetics.tones import LEVEL, OBLIQUE, tone_of, tone_positions, tone_rules
from poetry_rnn.text import PUNCTUATION, is_han

#: A position's tone in a pattern: level, oblique, or either.
EITHER_TONE = "中"
TONE_MARKS = (LEVEL, OBLIQUE, EITHER_TONE)
ENTERING = "入"
#: The tone class of a rhyme segment's rhymes.
SEGMENT_TONES = (LEVEL, OBLIQUE, ENTERING)
KINDS = ("shi", "ci", "couplet")
CI_RHYME_BOOK = "cilin"  # 词林正韵
CIPAI_TABLE = "cipai.json"
COUPLET = "对联"
COUPLET_LENGTHS = range(4, 12)
BANNER, BANNER_LENGTH = "横批", 4


def _reject_unknown(data: object, cls: type, what: str) -> dict:
    """``data`` as a dict whose keys are all fields of ``cls``; a PoetryError otherwise."""
    if not isinstance(data, dict):
        raise PoetryError(f"{what} must be a JSON object, got {type(data).__name__}")
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise PoetryError(f"unknown {what} keys: {', '.join(sorted(map(str, unknown)))}")
    return data


@dataclass(frozen=True)
class Line:
    """One line: its tones (one of 平 仄 中 a position), its closing mark, and the rhyme
    segment its last character rhymes in (None: it does not rhyme)."""

    tones: str
    mark: str
    rhyme: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.tones, str) or not self.tones:
            raise PoetryError(f"a line's tones must be a non-empty string, got {self.tones!r}")
        if set(self.tones) - set(TONE_MARKS):
            raise PoetryError(f"a line's tones are 平, 仄 or 中, got {self.tones!r}")
        if not isinstance(self.mark, str) or len(self.mark) != 1 or self.mark not in PUNCTUATION:
            raise PoetryError(f"a line's mark is one of {PUNCTUATION}, got {self.mark!r}")
        if self.rhyme is not None and (
            not isinstance(self.rhyme, int) or isinstance(self.rhyme, bool) or self.rhyme < 0
        ):
            raise PoetryError(f"a line's rhyme is a segment number or null, got {self.rhyme!r}")

    @property
    def length(self) -> int:
        return len(self.tones)

    def tone(self, position: int) -> str | None:
        """平, 仄, or None (either) at ``position`` (1-based)."""
        tone = self.tones[position - 1]
        return None if tone == EITHER_TONE else tone


@dataclass(frozen=True)
class Pattern:
    """A form as data: its lines, rhyme segments, parallel line pairs, stanzas and rhyme book.

    ``segments[i]``: the tone class of segment i's rhymes. ``parallel``: pairs of 0-based lines
    (first, second) parallel position by position. ``stanzas``: the lines of each 片 of a 词, in
    order (empty: one stanza).
    """

    name: str
    kind: str
    lines: tuple[Line, ...]
    segments: tuple[str, ...] = (LEVEL,)
    rhyme_book: str = DEFAULT_RHYME_BOOK
    parallel: tuple[tuple[int, int], ...] = ()
    stanzas: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PoetryError(f"a pattern's kind is one of {', '.join(KINDS)}, got {self.kind!r}")
        if not self.lines or not all(isinstance(line, Line) for line in self.lines):
            raise PoetryError(f"the pattern {self.name} needs lines")
        if set(self.segments) - set(SEGMENT_TONES):
            raise PoetryError(f"a rhyme segment's tone is 平, 仄 or 入, got {self.segments!r}")
        for line in self.lines:
            if line.rhyme is not None and line.rhyme >= len(self.segments):
                raise PoetryError(f"{self.name}: a line rhymes in segment {line.rhyme}, but "
                                  f"there are {len(self.segments)}")  # fmt: skip
        for first, second in self.parallel:
            if not 0 <= first < second < len(self.lines):
                raise PoetryError(f"{self.name}: parallel lines {first}, {second} out of range")
            if self.lines[first].length != self.lines[second].length:
                raise PoetryError(f"{self.name}: parallel lines {first}, {second} differ in length")
        if self.stanzas and (sum(self.stanzas) != len(self.lines) or min(self.stanzas) < 1):
            raise PoetryError(f"{self.name}: stanzas {self.stanzas} do not share its lines")

    @property
    def lengths(self) -> tuple[int, ...]:
        return tuple(line.length for line in self.lines)

    @property
    def first_rhymes(self) -> bool:
        """Whether line 1 rhymes (首句入韵)."""
        return self.lines[0].rhyme is not None

    def tone(self, line: int, position: int) -> str | None:
        """The tone at ``position`` (1-based) of ``line`` (0-based): 平, 仄 or None (either)."""
        return self.lines[line].tone(position)

    @property
    def sections(self) -> tuple[int, ...]:
        """Each rhyme segment's 部, as the first segment of that 部: a segment an earlier one
        resumes after (西江月's 仄 rhymes, amid its 平 ones) rhymes in that segment's 部, on
        its own tone (叶韵); a segment after the earlier ones have ended changes the rhyme
        (换韵, as in 菩萨蛮) and opens a 部 of its own. Only 词林正韵 joins the 平 and 仄
        groups of a 部; other books read every segment apart."""
        ends = [self.rhyme_lines(segment) for segment in range(len(self.segments))]
        sections: list[int] = []
        for segment, lines in enumerate(ends):
            earlier = (s for s in range(segment) if lines and ends[s] and ends[s][-1] > lines[0])
            kin = next(earlier, None) if self.rhyme_book == CI_RHYME_BOOK else None
            sections.append(segment if kin is None else sections[kin])
        return tuple(sections)

    def rhyme_lines(self, segment: int | None = None) -> list[int]:
        """The 0-based lines whose last characters rhyme (in ``segment``, where given)."""
        return [
            i
            for i, line in enumerate(self.lines)
            if line.rhyme is not None and segment in (None, line.rhyme)
        ]

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "lines": [{"tones": x.tones, "mark": x.mark, "rhyme": x.rhyme} for x in self.lines],
            "segments": list(self.segments),
            "rhyme_book": self.rhyme_book,
            "parallel": [list(pair) for pair in self.parallel],
            "stanzas": list(self.stanzas),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Pattern:
        """The pattern :meth:`to_dict` wrote; unknown keys are a :class:`PoetryError`."""
        data = dict(_reject_unknown(data, cls, "pattern"))
        for key in ("name", "kind", "lines"):
            if key not in data:
                raise PoetryError(f"the pattern has no {key}")
        try:
            lines = tuple(Line(**_reject_unknown(x, Line, "pattern line")) for x in data["lines"])
            data["lines"] = lines
            data["parallel"] = tuple(tuple(pair) for pair in data.get("parallel", ()))
            for key in ("segments", "stanzas"):
                if key in data:
                    data[key] = tuple(data[key])
        except TypeError as error:
            raise PoetryError(f"a malformed pattern: {error}") from None
        return cls(**data)


def _shape(pattern: Pattern) -> tuple:
    """What the members of a family share: all but the tones and which lines rhyme."""
    marks = tuple(line.mark for line in pattern.lines)
    return (pattern.lengths, marks, pattern.kind, pattern.rhyme_book, pattern.segments,
            pattern.parallel, pattern.stanzas)  # fmt: skip


@dataclass(frozen=True)
class Family:
    """The patterns a form allows (a shi form's tonal openings), all of one shape: the same
    line lengths, marks, kind and rhyme book."""

    name: str
    patterns: tuple[Pattern, ...]

    def __post_init__(self) -> None:
        if not self.patterns:
            raise PoetryError(f"the form {self.name} has no pattern")
        first = self.patterns[0]
        for other in self.patterns[1:]:
            if _shape(other) != _shape(first):
                raise PoetryError(f"the patterns of {self.name} differ in shape")

    @property
    def lengths(self) -> tuple[int, ...]:
        return self.patterns[0].lengths

    @property
    def segments(self) -> tuple[str, ...]:
        return self.patterns[0].segments

    @property
    def parallel(self) -> tuple[tuple[int, int], ...]:
        return self.patterns[0].parallel

    @property
    def marks(self) -> tuple[str, ...]:
        return tuple(line.mark for line in self.patterns[0].lines)

    @property
    def kind(self) -> str:
        return self.patterns[0].kind

    @property
    def rhyme_book(self) -> str:
        return self.patterns[0].rhyme_book

    def fitting(self, lines: Sequence[str], first_rhymes: bool | None = None) -> Pattern:
        """The member ``lines`` (a poem of the family's shape) fit best: the most positions of
        known tone where the pattern has that tone; on a tie, the member whose tone the first
        such position takes (as the decoder's first tone chooses), then the one whose 首句入韵
        is ``first_rhymes``."""

        def fit(pattern: Pattern) -> tuple[int, int, bool]:
            hits, first = 0, None
            for i, text in enumerate(lines):
                for p, char in enumerate(text, start=1):
                    tone, wanted = tone_of(char), pattern.tone(i, p)
                    if tone is None or wanted is None:
                        continue
                    hits += tone == wanted
                    first = tone == wanted if first is None else first
            return hits, bool(first), pattern.first_rhymes == first_rhymes

        return max(self.patterns, key=fit)  # the first of the best, in the family's order


# --- shi: compiled from the tone rules -------------------------------------------------------


def _opposite(tone: str) -> str:
    return OBLIQUE if tone == LEVEL else LEVEL


def shi_pattern(form: Form, opening: str, first_rhymes: bool, rhyme_book: str) -> Pattern:
    """The pattern of ``form`` whose line 1, character 2 has the tone ``opening`` (平起 or
    仄起), line 1 rhyming or not: the tone rules of :mod:`poetry_rnn.poetics.tones` propagated
    from that position over every even one."""
    even = {(0, 2): opening}
    todo = [(i, p) for i in range(form.lines) for p in tone_positions(form)]
    while len(even) < len(todo):
        for i, p in todo:
            for rule in tone_rules(i, p, form):
                ends = ((i, p), (rule.line, rule.position))
                for known, other in (ends, ends[::-1]):
                    if known in even and other not in even:
                        tone = even[known]
                        even[other] = tone if rule.equal else _opposite(tone)
    rhyming = set(rhyme_positions(form)) | ({0} if first_rhymes else set())
    lines = []
    for i in range(form.lines):
        tones = [even.get((i, p), EITHER_TONE) for p in range(1, form.chars + 1)]
        if i in rhyming:
            tones[-1] = LEVEL  # the rhyme of regulated verse is level
        elif i == 0:
            tones[-1] = OBLIQUE  # a level close of line 1 is heard as a rhyme
        mark = "，" if i % 2 == 0 else "。"
        lines.append(Line("".join(tones), mark, 0 if i in rhyming else None))
    couplets = tuple((first, first + 1) for first in parallel_couplets(form))
    opening_name = "平起" if opening == LEVEL else "仄起"
    rhyme_name = "首句入韵" if first_rhymes else "首句不入韵"
    return Pattern(
        f"{form.name}·{opening_name}{rhyme_name}", "shi", tuple(lines), (LEVEL,), rhyme_book,
        couplets,
    )  # fmt: skip


def shi_family(form: Form, rhyme_book: str = DEFAULT_RHYME_BOOK) -> Family:
    """The four patterns of a shi form: 平起 and 仄起, each with line 1 rhyming and not."""
    return Family(
        form.name,
        tuple(
            shi_pattern(form, opening, first_rhymes, rhyme_book)
            for opening in (LEVEL, OBLIQUE)
            for first_rhymes in (True, False)
        ),
    )


# --- 对联 ------------------------------------------------------------------------------------


def _rhythm(length: int, close: str) -> list[str]:
    """A couplet line's tones: the even (rhythm) positions alternate back from the last one,
    which takes the tone of the close; the others are free, but for the close itself."""
    last_even = length - length % 2
    tones = [EITHER_TONE] * length
    for p in range(2, length + 1, 2):
        tones[p - 1] = close if (last_even - p) % 4 == 0 else _opposite(close)
    tones[-1] = close
    return tones


def couplet_rhythm(length: int) -> list[int]:
    """The rhythm positions (1-based) of a 联 of ``length`` characters whose tones a couplet
    opposes, its close left out: the even ones."""
    return [p for p in range(2, length, 2)]


def couplet_pattern(upper: str | int, comma: int | None = None, lower: str = "") -> Pattern:
    """A 对联: the 上联 ending 仄, the 下联 ending 平, of one length (4 to 11 characters), their
    rhythm positions (the even ones) opposed, the two parallel position by position.

    ``upper``: the 上联's text (its one internal comma, if any, splits both lines at the same
    place) or its length (``comma``: the characters before an internal comma). Given a text,
    the 下联 answers its tones: opposed wherever the 上联's character has a known tone. Given
    the 下联's characters instead (``lower``, with a length), the 上联 answers them. An internal
    comma makes each 联 two pattern lines."""
    if isinstance(upper, str):
        text = upper.replace(",", "，").rstrip("，。；")
        parts = text.split("，")
        if len(parts) > 2 or not all(parts) or not all(is_han(c) for c in "".join(parts)):
            raise PoetryError(f"a 上联 is Han characters, at most one internal comma: {upper!r}")
        chars, comma = "".join(parts), (len(parts[0]) if len(parts) == 2 else None)
        length = len(chars)
    elif isinstance(upper, int) and not isinstance(upper, bool):
        chars, length = "", upper
    else:
        raise PoetryError(f"a 上联 is a text or a length, got {type(upper).__name__}")
    if length not in COUPLET_LENGTHS:
        raise PoetryError(f"a 联 has {COUPLET_LENGTHS[0]} to {COUPLET_LENGTHS[-1]} characters, "
                          f"got {length}")  # fmt: skip
    if comma is not None and not 2 <= comma <= length - 2:
        raise PoetryError(f"an internal comma stands between two parts of 2 or more: {comma}")
    if lower and (chars or len(lower) != length):
        raise PoetryError("a couplet pattern answers a 上联's text or a 下联's, of its length")
    high = _rhythm(length, OBLIQUE)
    low = [_opposite(t) if t != EITHER_TONE else t for t in high]
    for given, answer in ((chars, low), (lower, high)):
        for p in couplet_rhythm(len(given)):
            tone = tone_of(given[p - 1])
            if tone is not None:
                answer[p - 1] = _opposite(tone)
    cut = [0, comma, length] if comma else [0, length]
    lines = []
    for tones, close in ((high, "；" if comma else "，"), (low, "。")):
        spans = list(itertools.pairwise(cut))
        for k, (begin, end) in enumerate(spans):
            mark = close if k == len(spans) - 1 else "，"
            lines.append(Line("".join(tones[begin:end]), mark))
    half = len(lines) // 2
    parallel = tuple((k, k + half) for k in range(half))
    return Pattern(COUPLET, "couplet", tuple(lines), (), DEFAULT_RHYME_BOOK, parallel)


def banner_pattern() -> Pattern:
    """A 横批: one line of four characters, of any tones, above a door's couplet."""
    return Pattern(BANNER, "couplet", (Line(EITHER_TONE * BANNER_LENGTH, "。"),), ())


# --- 词牌 ------------------------------------------------------------------------------------

_TUNE_KEYS = {"ci", "variants"}
_VARIANT_KEYS = {"ci", "stanzas", "lines", "segments"}
_LINE_KEYS = {"tones", "rhyme", "mark"}


def _keys(data: object, allowed: set[str], what: str) -> dict:
    if not isinstance(data, dict):
        raise PoetryError(f"{what} must be a JSON object, got {type(data).__name__}")
    unknown = set(data) - allowed
    if unknown:
        raise PoetryError(f"unknown {what} keys: {', '.join(sorted(map(str, unknown)))}")
    missing = allowed - set(data) - {"ci"}
    if missing:
        raise PoetryError(f"{what} lacks {', '.join(sorted(missing))}")
    return data


def ci_variant(tune: str, number: int, variant: dict, rhyme_book: str = CI_RHYME_BOOK) -> Pattern:
    """Variant ``number`` (0-based, most common first) of ``tune`` as the 词牌 table writes it."""
    what = f"the 词牌 {tune}, variant {number + 1}"
    variant = _keys(variant, _VARIANT_KEYS, what)
    try:
        lines = tuple(
            Line(**_keys(line, _LINE_KEYS, f"a line of {what}")) for line in variant["lines"]
        )
        name = tune if number == 0 else f"{tune}·{number + 1}"
        return Pattern(name, "ci", lines, tuple(variant["segments"]), rhyme_book, (),
                       tuple(variant["stanzas"]))  # fmt: skip
    except TypeError as error:
        raise PoetryError(f"{what} is malformed: {error}") from None


def load_cipai(path: str | Path | None = None, rhyme_book: str = CI_RHYME_BOOK) -> dict:
    """The 词牌 table: tune → its variants as patterns, most common first. ``path``: a table
    of the layout ``{"about": ..., "tunes": {tune: {"ci": count, "variants": [...]}}}``; by
    default the package's ``cipai.json``. A missing or malformed table is a PoetryError."""
    try:
        if path is None:
            text = resources.files("poetry_rnn").joinpath(CIPAI_TABLE).read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        data = json.loads(text)
    except (OSError, ValueError) as error:
        raise PoetryError(f"cannot read the 词牌 table {path or CIPAI_TABLE}: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tunes"), dict):
        raise PoetryError("the 词牌 table has no tunes")
    tunes = {}
    for tune, entry in data["tunes"].items():
        entry = _keys(entry, _TUNE_KEYS, f"the 词牌 {tune}")
        if not isinstance(entry["variants"], list) or not entry["variants"]:
            raise PoetryError(f"the 词牌 {tune} has no variants")
        tunes[tune] = tuple(
            ci_variant(tune, n, variant, rhyme_book) for n, variant in enumerate(entry["variants"])
        )
    return tunes


# --- by name ---------------------------------------------------------------------------------


def shi_families(rhyme_book: str = DEFAULT_RHYME_BOOK) -> dict[str, Family]:
    """Each shi form's family, by the form's name."""
    return {name: shi_family(form, rhyme_book) for name, form in FORMS.items()}


@functools.cache
def cipai() -> dict[str, tuple[Pattern, ...]]:
    """The package's 词牌 table (:func:`load_cipai`), read once."""
    return load_cipai()


def tune_variants(name: str) -> tuple[Pattern, ...]:
    """The patterns a 词牌 name allows: a tune's variants, most common first, or one variant
    named alone (浣溪沙·2); empty where ``name`` is no 词牌."""
    tunes = cipai()
    if name in tunes:
        return tunes[name]
    tune = name.partition("·")[0]
    return tuple(p for p in tunes.get(tune, ()) if p.name == name)


def is_tune(name: object) -> bool:
    """Whether ``name`` names a 词牌 or one of its variants."""
    return isinstance(name, str) and bool(tune_variants(name))


def family_of(name: str, rhyme_book: str = DEFAULT_RHYME_BOOK) -> Family:
    """The family called ``name``: a shi form (its four patterns), or one pattern of it (such
    as 七言律诗·平起首句入韵), alone; a 词牌, its most common variant, or a variant named
    alone (浣溪沙·2), rhymed by 词林正韵 whatever ``rhyme_book`` says. A PoetryError naming
    the closest known names otherwise."""
    families = shi_families(rhyme_book)
    if not isinstance(name, str):
        raise PoetryError(f"a form is named by text, got {type(name).__name__}")
    if name in families:
        return families[name]
    for family in families.values():
        for pattern in family.patterns:
            if pattern.name == name:
                return Family(name, (pattern,))
    variants = tune_variants(name)
    if variants:
        return Family(name, variants[:1])
    raise PoetryError(unknown_form(name))


def unknown_form(name: str) -> str:
    """One line for an unknown form: the known names closest to ``name``."""
    known = [*FORMS, *cipai()]
    closest = difflib.get_close_matches(name, known, n=3, cutoff=0.3)
    if not closest:
        closest = difflib.get_close_matches(name, pattern_names(), n=3, cutoff=0.3)
    near = ", ".join(closest) if closest else ", ".join(FORMS)
    return f"unknown form {name!r}; the closest: {near} (--list-forms lists them all)"


def pattern_names() -> list[str]:
    """Every name :func:`family_of` knows: the forms, their patterns, the 词牌 and their
    variants."""
    families = shi_families()
    tunes = cipai()
    return [*families, *(p.name for f in families.values() for p in f.patterns), *tunes,
            *(p.name for v in tunes.values() for p in v[1:])]  # fmt: skip


def shape_line(pattern: Pattern) -> str:
    """A pattern's line lengths, its 片 apart: 浣溪沙 ``7 7 7 | 7 7 7``."""
    lengths, cuts, at = [str(n) for n in pattern.lengths], set(), 0
    for count in pattern.stanzas[:-1]:
        at += count
        cuts.add(at)
    return " ".join(("| " if i in cuts else "") + n for i, n in enumerate(lengths))


def form_list() -> str:
    """What ``--list-forms`` prints: the shi forms, then each 词牌 and its variants with
    their line lengths, the 片 break as |."""
    rows = ["诗:"]
    rows += [f"  {name}  {form.lines} lines of {form.chars}" for name, form in FORMS.items()]
    rows.append("词牌 (词林正韵; variants as 浣溪沙·2):")
    for variants in cipai().values():
        rows += [f"  {pattern.name}  {shape_line(pattern)}" for pattern in variants]
    return "\n".join(rows)
