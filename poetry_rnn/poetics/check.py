"""Write with the poet: check a poem of one's own against the rules, and suggest characters.

    python -m poetry_rnn.check 床前明月光，疑是地上霜。举头望明月，低头思故乡。 [--suggest 3:4]

:func:`check` says which form a poem has, whether it rhymes and which characters break the
rhyme, the tone of every position the tone rules look at and the rule each broken one breaks
(in words: 二四六分明, 对, 粘), and the doublings no poet attests. The tone each position wants
is the pattern's (:mod:`poetry_rnn.poetics.patterns`): of the form's patterns, the one the poem fits
best; :func:`suggest` offers that tone there, so the two agree. :func:`suggest` finds the
characters that satisfy the rules at one position, ranked by the model reading the whole poem
with each in place. The rules themselves live in :mod:`poetry_rnn.poetics.tones`,
:mod:`poetry_rnn.poetics.rhymes`, :mod:`poetry_rnn.poetics.repeats` and
:mod:`poetry_rnn.poetics.parallelism`.

Checking needs no model: the suggestions (:mod:`poetry_rnn.poetics.suggest`, which needs torch) are
imported only when asked for, so that ``python -m poetry_rnn.check`` answers without torch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

from poetry_rnn.errors import PoetryError
from poetry_rnn.forms import FORMS, Form, form_of, join_lines
from poetry_rnn.poetics.parallelism import parallelism
from poetry_rnn.poetics.patterns import CI_RHYME_BOOK, Pattern, cipai, family_of
from poetry_rnn.poetics.prosody import PoemChecks, annotate
from poetry_rnn.poetics.repeats import repeated_words, unattested_doubles
from poetry_rnn.poetics.rhymes import (
    DEFAULT_RHYME_BOOK,
    RHYME_BOOK_NAMES,
    book_groups,
    cilin_section,
    cilin_tone,
    require_rhyme_book,
    rhyme_groups,
    rhyme_positions,
    rhyming_groups,
    shared_rhymes,
)
from poetry_rnn.poetics.tones import (
    EITHER,
    TONE_SIGNS,
    broken_rules,
    modern_reading,
    tone_of,
    tone_positions,
)
from poetry_rnn.text import PUNCTUATION, full_width, is_han, split_lines, to_simplified, user_text

#: The most characters a poem to check may have, marks and line breaks included: a 七言律诗
#: with its marks is 64.
MAX_INPUT_CHARS = 200
#: --form's name for a couplet (:mod:`poetry_rnn.poetics.couplets`).
COUPLET_FORM = "couplet"
_SEPARATORS = re.compile(f"[{PUNCTUATION}\\s]+")
_MARK = re.compile(f"[{PUNCTUATION}]")
_TITLE_MARKS = re.compile("[《》〈〉\\s]")

# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RhymeCheck:
    """A rhyme position: the last character of a line (1-based) and its groups in the book."""

    line: int
    char: str
    groups: list[str]  # in the book's order
    required: bool  # False for line 1, which joins the rhyme but need not
    ok: bool  # False where this character breaks the rhyme


@dataclass(frozen=True)
class ToneBreak:
    """A tone rule broken at a position, and the character it is broken against."""

    rule: str  # 二四六分明, 对 or 粘
    line: int
    position: int
    char: str
    wants: str  # the tone the poem's pattern wants at the broken position


@dataclass(frozen=True)
class ToneCheck:
    """An even position of a line (both 1-based), as the tone rules see it."""

    line: int
    position: int
    char: str
    tone: str  # 平, 仄 or "either"
    source: str  # "corpus" (the Tang table) or "modern" (the default Mandarin reading)
    reading: str | None  # the modern reading assumed, pinyin with tone number ("" for none)
    wants: str  # the tone the poem's pattern wants here; "either" where it leaves it free
    breaks: list[ToneBreak]

    @property
    def ok(self) -> bool:
        return not self.breaks


@dataclass(frozen=True)
class LineMisfit:
    """A line of a 词 whose length is not its pattern's (0: the pattern or the poem lacks it)."""

    line: int
    length: int
    wants: int


#: The rule a 词's tone breaks: its tune's pattern wants the other tone there.
TUNE_RULE = "词谱"


@dataclass(frozen=True)
class CheckReport:
    """What :func:`check` finds in a poem; characters simplified, lines and positions 1-based."""

    text: str  # the poem's canonical text
    lines: list[str]
    form: str
    pattern: str  # the form's pattern the poem fits best (七言律诗·平起首句入韵)
    rhyme_book: str
    rhymes: bool
    rhyme_groups: list[str]  # the groups the rhyme is judged by
    rhyme: list[RhymeCheck]
    tone_satisfied: int
    tone_checked: int
    tones: list[ToneCheck]
    unattested_doubles: list[str]
    repeated_words: list[str]  # two-character words said twice (春风 … 春风)
    parallelism: list[float]  # the 对仗 score of each couplet
    misfits: list[LineMisfit] = field(default_factory=list)  # a 词's lines of the wrong length
    kind: str = "shi"  # the pattern's kind: "shi" or "ci"
    title: str = ""  # the title line above the poem, where it had one

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def checks(self) -> PoemChecks:
        """The report as the metrics count it: format (a 词: every line of its length), rhyme,
        and the positions whose tone conforms."""
        return PoemChecks(not self.misfits, self.rhymes, self.tone_satisfied, self.tone_checked)


def check(text: str, form: str | None = None, rhyme_book: str = DEFAULT_RHYME_BOOK) -> CheckReport:
    """Check ``text`` (simplified or traditional; lines ended by ，。？！；, their ASCII forms
    or line breaks) against ``form`` (by default the form its shape has) and ``rhyme_book``.

    ``form`` may also name one pattern of a form (七言律诗·平起首句入韵): the poem is judged
    by it, not by the pattern of its form it fits best. ``form`` may name a 词牌 (or one of its
    variants, 浣溪沙·2): the 词 is judged by its pattern under 词林正韵 (:func:`check_ci`), its
    lines of the wrong length reported line by line, not refused. Without ``form`` a poem of a
    shi form's shape is judged as that form, one of a 词牌's shape as that tune; where both fit
    (玉楼春 and 七言律诗), by the one whose rhyme, then tones, it keeps best, a tie to the
    shi. A title line above the poem is read as its title (:func:`split_title`). Text of neither
    shape is a :class:`PoetryError`.
    """
    require_rhyme_book(rhyme_book)
    title, body = split_title(text)
    return replace(_checked(body, form, rhyme_book), title=title)


def _checked(text: str, form: str | None, rhyme_book: str) -> CheckReport:
    family = family_of(form) if form is not None else None
    if family is not None and family.kind == "ci":
        return check_ci(_poem_lines(text), family.patterns[0])
    if form is None:
        lines = _poem_lines(text)
        tunes = fitting_tunes(lines)
        if form_of(join_lines(lines)) is None and not tunes:
            raise PoetryError(f"{_shape_words(lines)}: not one of {', '.join(FORMS)}, "
                              "nor the shape of a 词牌")  # fmt: skip
        shi = [_check_shi(lines, None, rhyme_book)] if form_of(join_lines(lines)) else []
        reports = shi + [check_ci(lines, pattern) for pattern in tunes]
        # The report the poem fits best: its rhyme, then its tones; a tie goes to the shi form.
        return max(reports, key=lambda r: (r.rhymes, r.checks.tone_rate))
    return _check_shi(_poem_lines(text), form, rhyme_book)


def _check_shi(lines: list[str], form: str | None, rhyme_book: str) -> CheckReport:
    """The report of a shi's ``lines`` against ``form`` (by default the form of its shape)."""
    chosen = _fitting_form(lines, form)
    required = [lines[i][-1] for i in rhyme_positions(chosen)]
    rhymes = bool(shared_rhymes(required, rhyme_book))
    first = lines[0][-1]
    target = rhyme_target(required, first, rhyme_book)
    joins = rhymes and bool(target & rhyme_groups(first, rhyme_book))
    if joins:
        target &= rhyme_groups(first, rhyme_book)
    rhyme = []
    for i in ([0] if joins else []) + rhyme_positions(chosen):
        groups = rhyme_groups(lines[i][-1], rhyme_book)
        ok = bool(target & groups)
        rhyme.append(RhymeCheck(i + 1, lines[i][-1], _ordered(groups, rhyme_book), i > 0, ok))
    pattern = family_of(form or chosen.name, rhyme_book).fitting(lines, first_rhymes=joins)
    return _report(
        join_lines(lines), lines, form=chosen.name, pattern=pattern.name,
        rhyme_book=rhyme_book, rhymes=rhymes, rhyme_groups=_ordered(target, rhyme_book),
        rhyme=rhyme, tones=_tone_checks(lines, chosen, pattern),
        parallelism=_parallelism(lines, chosen),
    )  # fmt: skip


def _report(text: str, lines: list[str], tones: list[ToneCheck], **fields: object) -> CheckReport:
    """The report of a poem's ``text`` and ``lines``: its tone counts and the repetitions found
    in it, beside the ``fields`` its form's checks give."""
    return CheckReport(
        text=text, lines=lines, tones=tones, tone_satisfied=sum(t.ok for t in tones),
        tone_checked=len(tones), unattested_doubles=unattested_doubles(text),
        repeated_words=repeated_words(text), **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def fitting_tunes(lines: Sequence[str]) -> list[Pattern]:
    """The 词牌 variants whose line lengths ``lines`` have, the most written tunes first."""
    lengths = tuple(map(len, lines))
    return [p for variants in cipai().values() for p in variants if p.lengths == lengths]


def check_ci(lines: list[str], pattern: Pattern) -> CheckReport:
    """A 词's ``lines`` against its tune's ``pattern``: each line of the wrong length (and each
    line missing or extra) as a misfit; the rhyme by segment (the ends of a segment share a
    group of 词林正韵 of its tone class, a segment of an earlier one's 部 in that 部); the tone
    of every position the pattern fixes, in the lines of the right length."""
    book, wanted = CI_RHYME_BOOK, pattern.lengths
    misfits = [
        LineMisfit(i + 1, len(lines[i]) if i < len(lines) else 0,
                   wanted[i] if i < len(wanted) else 0)
        for i in range(max(len(lines), len(wanted)))
        if i >= len(lines) or i >= len(wanted) or len(lines[i]) != wanted[i]
    ]  # fmt: skip
    rhyme, targets, sections = [], frozenset(), pattern.sections
    section_of: dict[int, str] = {}
    for segment, tone in enumerate(pattern.segments):
        present = [i for i in pattern.rhyme_lines(segment) if i < len(lines)]
        among = [g for g in book_groups(book) if cilin_tone(g) == tone]
        kin = section_of.get(sections[segment])
        if kin is not None:
            among = [g for g in among if cilin_section(g) == kin] or among
        target = rhyme_target([lines[i][-1] for i in present], None, book, among)
        if target and sections[segment] not in section_of:
            section_of[sections[segment]] = cilin_section(min(target, key=book_groups(book).index))
        targets |= target
        for i in present:
            groups = rhyme_groups(lines[i][-1], book)
            rhyme.append(RhymeCheck(i + 1, lines[i][-1], _ordered(groups, book), True,
                                    bool(target & groups)))  # fmt: skip
    rhyme.sort(key=lambda r: r.line)
    missing = any(i >= len(lines) for i in pattern.rhyme_lines())
    tones = []
    misfit_lines = {m.line for m in misfits}
    for i, line in enumerate(lines[: len(wanted)]):
        if i + 1 in misfit_lines:
            continue
        for p, char in enumerate(line, start=1):
            wants = pattern.tone(i, p)
            if wants is None:
                continue
            tone, reading = tone_of(char), modern_reading(char)
            broken = tone is not None and tone != wants
            tones.append(ToneCheck(
                line=i + 1, position=p, char=char, tone=tone_label(tone),
                source="corpus" if reading is None else "modern", reading=reading, wants=wants,
                breaks=[ToneBreak(TUNE_RULE, i + 1, p, char, wants)] if broken else [],
            ))  # fmt: skip
    marks = [line.mark for line in pattern.lines] + ["。"] * max(0, len(lines) - len(wanted))
    return _report(
        _joined(lines, marks), lines, form=pattern.name.partition("·")[0], pattern=pattern.name,
        rhyme_book=book, rhymes=not missing and all(r.ok for r in rhyme),
        rhyme_groups=_ordered(targets, book), rhyme=rhyme, tones=tones, parallelism=[],
        misfits=misfits, kind="ci",
    )  # fmt: skip


def ci_checks(text: str, pattern: Pattern) -> PoemChecks:
    """The metrics of a written 词 ``text`` against ``pattern``: format (every line of its
    length and mark, nothing else), rhyme by segment and the tones it fixes."""
    lines = split_lines(text)
    report = check_ci(lines, pattern)
    marks = [char for char in text if char in PUNCTUATION]
    exact = marks == [line.mark for line in pattern.lines] and text == _joined(lines, marks)
    return replace(report.checks, format_ok=report.checks.format_ok and exact)


def _joined(lines: Sequence[str], marks: Sequence[str]) -> str:
    return "".join(line + mark for line, mark in zip(lines, marks, strict=False))


def read_poem(text: str, form: str | None = None) -> tuple[list[str], Form]:
    """A user's poem as :func:`check` reads it: its lines (simplified, marks left out) and
    ``form`` (by default the form its shape has). Not a poem of that form: a PoetryError."""
    lines = _poem_lines(split_title(text)[1])
    return lines, _fitting_form(lines, form)


def split_title(text: object) -> tuple[str, str]:
    """(title, poem) of a user's text: its first row is a title where it holds no mark and the
    rows after it hold the poem, and either it stands in 《》, or the poem has marks, or it is
    not as long as the poem's first row (a poem of bare rows begins with a line); else ("",
    text)."""
    if not isinstance(text, str) or "\n" not in text.strip():
        return "", text  # type: ignore[return-value]
    first, rest = text.strip().split("\n", 1)
    first = first.strip()
    rows = [row for row in _SEPARATORS.split(full_width(rest)) if row]
    bare = _TITLE_MARKS.sub("", first)
    is_title = (
        bool(bare) and bool(rows) and not _MARK.search(full_width(first))
        and (bare != first or bool(_MARK.search(rest)) or len(bare) != len(rows[0]))
    )  # fmt: skip
    return (to_simplified(bare), rest) if is_title else ("", text)


def _poem_lines(text: str) -> list[str]:
    """The lines of a user's poem, simplified: runs of Han characters between marks or breaks."""
    text = user_text(text, "poem", MAX_INPUT_CHARS, keep_breaks=True)
    lines = [line for line in _SEPARATORS.split(text) if line]
    if not lines:
        raise PoetryError("the poem is empty")
    other = [char for char in dict.fromkeys("".join(lines)) if not is_han(char)]
    if other:
        raise PoetryError(f"the poem has characters that are not Han characters: {' '.join(other)}")
    return lines


def _fitting_form(lines: list[str], name: str | None) -> Form:
    """``name``'s form, or the form the lines have; a PoetryError naming the shape otherwise."""
    found = form_of(join_lines(lines))
    wanted = FORMS.values() if name is None else [_shape(name)]
    if found is not None and found in wanted:
        return found
    shape = _shape_words(lines)
    if name is None:
        raise PoetryError(f"{shape}: not one of {', '.join(FORMS)}")
    form = _shape(name)
    raise PoetryError(f"{shape}: not {name} ({form.lines} lines of {form.chars})")


def _shape_words(lines: Sequence[str]) -> str:
    lengths = ", ".join(str(len(line)) for line in lines)
    return f"{len(lines)} line{'s' if len(lines) > 1 else ''} of {lengths} characters"


def _shape(name: str) -> Form:
    """The form whose shape the form or pattern ``name`` has; a PoetryError for none."""
    lengths = family_of(name).lengths
    return next(f for f in FORMS.values() if (f.chars,) * f.lines == lengths)


def _ordered(groups: frozenset[str], book: str) -> list[str]:
    return sorted(groups, key=book_groups(book).index)


def rhyme_target(
    chars: Sequence[str], first: str | None, book: str, among: Sequence[str] | None = None
) -> frozenset[str]:
    """The groups a rhyme is judged by: those all of ``chars`` (the required rhyme characters)
    share, or where they share none, the one most of them stand in; on a tie the one ``first``
    (line 1's last character) stands in, then the first in the book's order. Empty where not
    one of them stands in a group that may rhyme. A character outside it breaks the rhyme.
    ``among``: the groups it may be (a 词's segment: those of its tone class); default: every
    group of the book that may rhyme."""
    candidates = rhyming_groups(book) if among is None else among
    shared = shared_rhymes(chars, book) & frozenset(candidates)
    if shared:
        return shared
    votes = {
        group: (sum(group in rhyme_groups(c, book) for c in chars),
                first is not None and group in rhyme_groups(first, book))
        for group in candidates
    }  # fmt: skip
    best = max(votes, key=votes.__getitem__)
    return frozenset({best}) if votes[best][0] else frozenset()


def tone_label(tone: str | None) -> str:
    return EITHER if tone is None else tone


def _tone_checks(lines: list[str], form: Form, pattern: Pattern) -> list[ToneCheck]:
    """Each tone position: the tone ``pattern`` wants there, and the rules broken at it, each
    with the tone the pattern wants at the position."""
    tones = [[tone_of(char) for char in line] for line in lines]
    checks = []
    for i, line in enumerate(lines):
        for p in tone_positions(form):
            reading = modern_reading(line[p - 1])
            wants = tone_label(pattern.tone(i, p))
            breaks = [
                ToneBreak(rule.name, rule.line + 1, rule.position,
                          lines[rule.line][rule.position - 1], wants=wants)
                for rule in broken_rules(tones, form, i, p)
            ]  # fmt: skip
            checks.append(
                ToneCheck(
                    line=i + 1,
                    position=p,
                    char=line[p - 1],
                    tone=tone_label(tones[i][p - 1]),
                    source="corpus" if reading is None else "modern",
                    reading=reading,
                    wants=wants,
                    breaks=breaks,
                )
            )
    return checks


def poem_pattern(report: CheckReport) -> Pattern:
    """The pattern a report judged its poem by."""
    return family_of(report.pattern, report.rhyme_book).patterns[0]


def _parallelism(lines: list[str], form: Form) -> list[float]:
    """The 对仗 score of each couplet (:func:`parallelism.parallelism`); a 律诗 wants it in the
    middle two."""
    return [parallelism(lines[i], lines[i + 1]) for i in range(0, form.lines, 2)]


# --- command line ----------------------------------------------------------------------------


def format_report(report: CheckReport) -> str:
    """The report for a terminal: each line with its tone signs under it (○ 平, ● 仄, ◐ either),
    ^ under broken positions, rhyme groups after rhyme lines; then what is broken, in words."""
    book = RHYME_BOOK_NAMES[report.rhyme_book]
    rows = [*([f"《{report.title}》"] if report.title else []), f"{report.pattern}, {book}"]
    broken = {(t.line, t.position) for t in report.tones if not t.ok}
    marks = annotate(report.text, report.rhyme_book)
    closes = _closes(report)
    for n, (line, line_marks) in enumerate(zip(report.lines, marks, strict=True), start=1):
        group = line_marks[-1].rhyme if report.kind == "shi" else _ci_group(report, n)
        rows.append(line + closes[n - 1] + (f"  {group}" if group else ""))
        rows.append(" ".join(TONE_SIGNS[mark.tone] for mark in line_marks))
        under = " ".join("^" if (n, p) in broken else " " for p in range(1, len(line) + 1))
        if under.strip():
            rows.append(under.rstrip())
    rows.append("")
    chars = " ".join(r.char for r in report.rhyme)
    groups = "/".join(report.rhyme_groups)
    if report.rhymes:
        rows.append(f"rhyme: {chars} in {groups}")
    else:
        rows.append(f"rhyme: {chars} do not rhyme in {book}")
    rows.append(f"tones: {report.tone_satisfied} of {report.tone_checked} positions conform")
    if report.kind == "shi":
        scores = " ".join(f"{score:.2f}" for score in report.parallelism)
        rows.append(f"对仗 of each couplet: {scores}")
    return "\n".join(rows + findings(report))


def _closes(report: CheckReport) -> list[str]:
    """The mark printed after each line: a shi's ，。 in turn, a 词's its pattern's."""
    if report.kind == "shi":
        return ["，" if n % 2 == 0 else "。" for n in range(len(report.lines))]
    marks = [line.mark for line in poem_pattern(report).lines]
    return [marks[n] if n < len(marks) else "。" for n in range(len(report.lines))]


def _ci_group(report: CheckReport, line: int) -> str | None:
    """The group a 词's rhyme line (1-based) shows: its group the rhyme is judged by, or its
    own groups where it breaks it."""
    for r in report.rhyme:
        if r.line == line:
            judged = [g for g in r.groups if g in report.rhyme_groups]
            return judged[0] if judged else "/".join(r.groups) or None
    return None


def findings(report: CheckReport) -> list[str]:
    """What the report finds broken, in words, one a line: rhyme characters outside the
    group, broken tone rules, unattested doublings, words said twice; then the tones taken from
    modern readings."""
    rows = [
        f"line {m.line}: {m.length} characters, {report.pattern} wants {m.wants}"
        if m.length and m.wants
        else f"line {m.line}: missing, {report.pattern} wants {m.wants} characters"
        if m.wants
        else f"line {m.line}: {m.length} characters more than {report.pattern} has"
        for m in report.misfits
    ]
    book = RHYME_BOOK_NAMES[report.rhyme_book]
    groups = "/".join(report.rhyme_groups)
    wanted = groups or ("a level group" if report.rhyme_book == "pingshui" else "a group")
    for r in report.rhyme:
        if not r.ok:
            own = "/".join(r.groups) or f"in no group of {book}"
            rows.append(f"line {r.line}, last character ({r.char}): {own}, not in {wanted} — rhyme")
    wanted = {(t.line, t.position): t.wants for t in report.tones}
    for t in report.tones:
        for b in t.breaks:
            against = f"character {b.position}" if b.rule == "二四六分明" else f"line {b.line}"
            if b.rule == TUNE_RULE:
                said = f"wants {b.wants}, is {t.tone} — the tune's pattern ({TUNE_RULE})"
            elif b.wants != t.tone:
                said = f"wants {b.wants}, is {t.tone} — {b.rule} (against {against}, {b.char})"
            else:  # the pattern blames the other character
                other = wanted[(b.line, b.position)]
                said = (
                    f"is {t.tone}, as its pattern wants — {b.rule} (against {against}, "
                    f"{b.char}, which wants {other})"
                )
            rows.append(f"line {t.line}, character {t.position} ({t.char}): {said}")
    rows += [f"{char}{char}: a doubling no poet attests" for char in report.unattested_doubles]
    rows += [
        f"{word}: said twice (poets do it in 3 % of their regulated poems)"
        for word in report.repeated_words
    ]
    for t in report.tones:
        if t.source == "modern":
            rows.append(
                f"line {t.line}, character {t.position} ({t.char}): not in the Tang tone table; "
                f"its modern reading {t.reading or '(none)'} makes it {t.tone}"
            )
    return rows
