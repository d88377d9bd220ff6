"""Write with the poet: check a poem of one's own against the rules, and suggest characters.

    python -m poetry_rnn.check 床前明月光，疑是地上霜。举头望明月，低头思故乡。 [--suggest 3:4]

:func:`check` says which form a poem has, whether it rhymes and which characters break the
rhyme, the tone of every position the tone rules look at and the rule each broken one breaks
(in words: 二四六分明, 对, 粘), and the doublings no poet attests. The tone each position wants
is the pattern's (:mod:`poetry_rnn.patterns`): of the form's patterns, the one the poem fits
best; :func:`suggest` offers that tone there, so the two agree. :func:`suggest` finds the
characters that satisfy the rules at one position, ranked by the model reading the whole poem
with each in place. The rules themselves live in :mod:`poetry_rnn.prosody`.

Checking needs no model: the suggestions (:mod:`poetry_rnn.suggest`, which needs torch) are
imported only when asked for, so that ``python -m poetry_rnn.check`` answers without torch.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from poetry_rnn.couplets import check_couplet, format_couplet_report
from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli
from poetry_rnn.patterns import Pattern, family_of, pattern_names
from poetry_rnn.prosody import (
    DEFAULT_RHYME_BOOK,
    EITHER,
    FORMS,
    RHYME_BOOK_NAMES,
    RHYME_BOOKS,
    TONE_SIGNS,
    Form,
    annotate,
    book_groups,
    broken_rules,
    form_of,
    join_lines,
    modern_reading,
    parallelism,
    repeated_words,
    require_rhyme_book,
    rhyme_groups,
    rhyme_positions,
    rhyming_groups,
    shared_rhymes,
    tone_of,
    tone_positions,
    unattested_doubles,
)
from poetry_rnn.text import PUNCTUATION, is_han, to_simplified

#: The most characters a poem to check may have, marks and line breaks included: a 七言律诗
#: with its marks is 64.
MAX_INPUT_CHARS = 200
#: --form's name for a couplet (:mod:`poetry_rnn.couplets`).
COUPLET_FORM = "couplet"
_ASCII_PUNCTUATION = str.maketrans(",.?!;", "，。？！；")
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
    title: str = ""  # the title line above the poem, where it had one

    def to_dict(self) -> dict:
        return asdict(self)


def check(text: str, form: str | None = None, rhyme_book: str = DEFAULT_RHYME_BOOK) -> CheckReport:
    """Check ``text`` (simplified or traditional; lines ended by ，。？！；, their ASCII forms
    or line breaks) against ``form`` (by default the form its shape has) and ``rhyme_book``.

    ``form`` may also name one pattern of a form (七言律诗·平起首句入韵): the poem is judged
    by it, not by the pattern of its form it fits best. A title line above the poem is read as
    its title (:func:`split_title`). Text that is not a poem of a fixed form is a
    :class:`PoetryError`.
    """
    require_rhyme_book(rhyme_book)
    lines, chosen = read_poem(text, form)
    title = split_title(text)[0]
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
    tones = _tone_checks(lines, chosen, pattern)
    return CheckReport(
        text=join_lines(lines),
        lines=lines,
        form=chosen.name,
        pattern=pattern.name,
        rhyme_book=rhyme_book,
        rhymes=rhymes,
        rhyme_groups=_ordered(target, rhyme_book),
        rhyme=rhyme,
        tone_satisfied=sum(tone.ok for tone in tones),
        tone_checked=len(tones),
        tones=tones,
        unattested_doubles=unattested_doubles(join_lines(lines)),
        repeated_words=repeated_words(join_lines(lines)),
        parallelism=_parallelism(lines, chosen),
        title=title,
    )


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
    rows = [row for row in _SEPARATORS.split(rest.translate(_ASCII_PUNCTUATION)) if row]
    bare = _TITLE_MARKS.sub("", first)
    is_title = (
        bool(bare) and bool(rows) and not _MARK.search(first.translate(_ASCII_PUNCTUATION))
        and (bare != first or bool(_MARK.search(rest)) or len(bare) != len(rows[0]))
    )  # fmt: skip
    return (to_simplified(bare), rest) if is_title else ("", text)


def _poem_lines(text: str) -> list[str]:
    """The lines of a user's poem, simplified: runs of Han characters between marks or breaks."""
    if not isinstance(text, str):
        raise PoetryError(f"the poem must be text, got {type(text).__name__}")
    if len(text) > MAX_INPUT_CHARS:
        raise PoetryError(f"the poem is too long: at most {MAX_INPUT_CHARS} characters")
    text = to_simplified(text).translate(_ASCII_PUNCTUATION)
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
    lengths = ", ".join(str(len(line)) for line in lines)
    shape = f"{len(lines)} line{'s' if len(lines) > 1 else ''} of {lengths} characters"
    if name is None:
        raise PoetryError(f"{shape}: not one of {', '.join(FORMS)}")
    form = _shape(name)
    raise PoetryError(f"{shape}: not {name} ({form.lines} lines of {form.chars})")


def _shape(name: str) -> Form:
    """The form whose shape the form or pattern ``name`` has; a PoetryError for none."""
    lengths = family_of(name).lengths
    return next(f for f in FORMS.values() if (f.chars,) * f.lines == lengths)


def _ordered(groups: frozenset[str], book: str) -> list[str]:
    return sorted(groups, key=book_groups(book).index)


def rhyme_target(chars: Sequence[str], first: str | None, book: str) -> frozenset[str]:
    """The groups a rhyme is judged by: those all of ``chars`` (the required rhyme characters)
    share, or where they share none, the one most of them stand in; on a tie the one ``first``
    (line 1's last character) stands in, then the first in the book's order. Empty where not
    one of them stands in a group that may rhyme. A character outside it breaks the rhyme."""
    shared = shared_rhymes(chars, book)
    if shared:
        return shared
    votes = {
        group: (sum(group in rhyme_groups(c, book) for c in chars),
                first is not None and group in rhyme_groups(first, book))
        for group in rhyming_groups(book)
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
    """The 对仗 score of each couplet (prosody.parallelism); a 律诗 wants it in the middle two."""
    return [parallelism(lines[i], lines[i + 1]) for i in range(0, form.lines, 2)]


# --- command line ----------------------------------------------------------------------------


def format_report(report: CheckReport) -> str:
    """The report for a terminal: each line with its tone signs under it (○ 平, ● 仄, ◐ either),
    ^ under broken positions, rhyme groups after rhyme lines; then what is broken, in words."""
    book = RHYME_BOOK_NAMES[report.rhyme_book]
    rows = [*([f"《{report.title}》"] if report.title else []), f"{report.pattern}, {book}"]
    broken = {(t.line, t.position) for t in report.tones if not t.ok}
    marks = annotate(report.text, report.rhyme_book)
    for n, (line, line_marks) in enumerate(zip(report.lines, marks, strict=True), start=1):
        group = line_marks[-1].rhyme
        rows.append(line + ("，" if n % 2 else "。") + (f"  {group}" if group else ""))
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
    scores = " ".join(f"{score:.2f}" for score in report.parallelism)
    rows.append(f"对仗 of each couplet: {scores}")
    return "\n".join(rows + findings(report))


def findings(report: CheckReport) -> list[str]:
    """What the report finds broken, in words, one a line: rhyme characters outside the
    group, broken tone rules, unattested doublings, words said twice; then the tones taken from
    modern readings."""
    rows = []
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
            if b.wants != t.tone:
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


def _line_position(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+):(\d+)", value.strip())
    if match is None:
        raise PoetryError(f"--suggest wants LINE:POS, e.g. 3:4, got {value!r}")
    return int(match[1]), int(match[2])


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.check",
        description="Check a poem against the rules of regulated verse; suggest characters.",
    )
    parser.add_argument(
        "text", help="the poem: lines ended by ，。？！； (or , . ? ! ;) or line breaks"
    )
    parser.add_argument(
        "--form", choices=[*pattern_names(), COUPLET_FORM], metavar="FORM",
        help="a form or one of its patterns (七言律诗·平起首句入韵), or couplet (对联: 上联 and "
        "下联, split by ； or a line break); default: the form the poem's shape has, judged by "
        "the pattern it fits best",
    )  # fmt: skip
    parser.add_argument(
        "--rhyme-book", choices=RHYME_BOOKS, default=DEFAULT_RHYME_BOOK,
        help="平水韵 (pingshui, the classical book; default) or 中华新韵 (xinyun)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--suggest", metavar="LINE:POS", help="suggest characters for this position (1-based)"
    )
    parser.add_argument("--k", type=int, default=10, help="how many suggestions")
    parser.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    parser.add_argument(
        "--backward", type=Path, help="a backward model's directory: it joins the ranking"
    )
    args = parser.parse_args(argv)

    if args.form == COUPLET_FORM:
        if args.suggest is not None:
            raise PoetryError("--suggest checks a poem of a form, not a couplet")
        couplet = check_couplet(args.text)
        print(json.dumps(couplet.to_dict(), ensure_ascii=False, indent=2) if args.json
              else format_couplet_report(couplet))  # fmt: skip
        return 0
    report = check(args.text, args.form, args.rhyme_book)
    suggestions = None
    if args.suggest is not None:
        line, position = _line_position(args.suggest)
        # Scoring is a chain of small matrix products: a second thread gains little, and on a
        # busy machine threads waiting for each other cost several times more (measured).
        import torch

        from poetry_rnn.checkpoint import load_models
        from poetry_rnn.suggest import format_suggestions, suggest

        torch.set_num_threads(1)
        models = load_models(args.model, args.backward)
        suggestions = suggest(
            args.text, line, position, args.k, args.form, args.rhyme_book, model=models
        )
    if args.json:
        result = report.to_dict()
        if suggestions is not None:
            result["suggestions"] = [s.to_dict() for s in suggestions]
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
        if suggestions is not None:
            char = report.lines[line - 1][position - 1]
            print(format_suggestions(line, position, char, suggestions))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
