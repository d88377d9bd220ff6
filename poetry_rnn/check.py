"""Write with the poet: check a poem of one's own against the rules, and suggest characters.

    python -m poetry_rnn.check 床前明月光，疑是地上霜。举头望明月，低头思故乡。 [--suggest 3:4]

:func:`check` says which form a poem has, whether it rhymes and which characters break the
rhyme, the tone of every position the tone rules look at and the rule each broken one breaks
(in words: 二四六分明, 对, 粘), and the doublings no poet attests. :func:`suggest` finds the
characters that satisfy the rules at one position, ranked by the model reading the whole poem
with each in place. The rules themselves live in :mod:`poetry_rnn.prosody`.

Checking needs no model: torch is imported only where suggestions are scored, so that
``python -m poetry_rnn.check`` answers without loading it.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli
from poetry_rnn.prosody import (
    DEFAULT_RHYME_BOOK,
    EITHER,
    FORMS,
    LEVEL,
    OBLIQUE,
    RHYME_BOOK_NAMES,
    RHYME_BOOKS,
    TONE_SIGNS,
    Form,
    annotate,
    attested_doubles,
    book_groups,
    broken_rules,
    form_of,
    get_form,
    is_level,
    join_lines,
    modern_reading,
    parallelism,
    rhyme_groups,
    rhyme_positions,
    rhyming_groups,
    shared_rhymes,
    tone_of,
    tone_positions,
    unattested_doubles,
)
from poetry_rnn.text import PUNCTUATION, is_han, to_simplified
from poetry_rnn.vocab import Vocab

if TYPE_CHECKING:
    from torch import Tensor

    from poetry_rnn.model import CharRNN, State

#: The most characters a poem to check may have, marks and line breaks included: a 七言律诗
#: with its marks is 64.
MAX_INPUT_CHARS = 200
MAX_SUGGESTIONS = 100
#: How many tokens whole-poem scoring reads at most: candidates × the tokens around them. The
#: candidates the models like best at the position itself are scored, so that a suggestion for
#: a 七言律诗 takes under a second on one thread of a busy 2-core CPU.
SCORED_TOKENS = 2048
_ASCII_PUNCTUATION = str.maketrans(",.?!;", "，。？！；")
_SEPARATORS = re.compile(f"[{PUNCTUATION}\\s]+")

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
    wants: str  # the tone the rule wants at the broken position


@dataclass(frozen=True)
class ToneCheck:
    """An even position of a line (both 1-based), as the tone rules see it."""

    line: int
    position: int
    char: str
    tone: str  # 平, 仄 or "either"
    source: str  # "corpus" (the Tang table) or "modern" (the default Mandarin reading)
    reading: str | None  # the modern reading assumed, pinyin with tone number ("" for none)
    wants: str  # the tone that lets most of the poem conform; "either" where both do as well
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
    rhyme_book: str
    rhymes: bool
    rhyme_groups: list[str]  # the groups the rhyme is judged by
    rhyme: list[RhymeCheck]
    tone_satisfied: int
    tone_checked: int
    tones: list[ToneCheck]
    unattested_doubles: list[str]
    parallelism: list[float]  # the 对仗 score of each couplet

    def to_dict(self) -> dict:
        return asdict(self)


def check(text: str, form: str | None = None, rhyme_book: str = DEFAULT_RHYME_BOOK) -> CheckReport:
    """Check ``text`` (simplified or traditional; lines ended by ，。？！；, their ASCII forms
    or line breaks) against ``form`` (by default the form its shape has) and ``rhyme_book``.

    Text that is not a poem of a fixed form is a :class:`PoetryError`.
    """
    book_groups(rhyme_book)  # rejects an unknown book
    lines = _poem_lines(text)
    chosen = _fitting_form(lines, form)
    required = [lines[i][-1] for i in rhyme_positions(chosen)]
    rhymes = bool(shared_rhymes(required, rhyme_book))
    first = lines[0][-1]
    target = _rhyme_target(required, first, rhyme_book)
    joins = rhymes and bool(target & rhyme_groups(first, rhyme_book))
    if joins:
        target &= rhyme_groups(first, rhyme_book)
    rhyme = []
    for i in ([0] if joins else []) + rhyme_positions(chosen):
        groups = rhyme_groups(lines[i][-1], rhyme_book)
        ok = bool(target & groups)
        rhyme.append(RhymeCheck(i + 1, lines[i][-1], _ordered(groups, rhyme_book), i > 0, ok))
    tones = _tone_checks(lines, chosen)
    return CheckReport(
        text=join_lines(lines),
        lines=lines,
        form=chosen.name,
        rhyme_book=rhyme_book,
        rhymes=rhymes,
        rhyme_groups=_ordered(target, rhyme_book),
        rhyme=rhyme,
        tone_satisfied=sum(tone.ok for tone in tones),
        tone_checked=len(tones),
        tones=tones,
        unattested_doubles=unattested_doubles(join_lines(lines)),
        parallelism=_parallelism(lines, chosen),
    )


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
    wanted = FORMS.values() if name is None else [get_form(name)]
    if found is not None and found in wanted:
        return found
    lengths = ", ".join(str(len(line)) for line in lines)
    shape = f"{len(lines)} line{'s' if len(lines) > 1 else ''} of {lengths} characters"
    if name is None:
        raise PoetryError(f"{shape}: not one of {', '.join(FORMS)}")
    form = get_form(name)
    raise PoetryError(f"{shape}: not {name} ({form.lines} lines of {form.chars})")


def _ordered(groups: frozenset[str], book: str) -> list[str]:
    return sorted(groups, key=book_groups(book).index)


def _rhyme_target(chars: Sequence[str], first: str | None, book: str) -> frozenset[str]:
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


def _label(tone: str | None) -> str:
    return EITHER if tone is None else tone


def _tone_checks(lines: list[str], form: Form) -> list[ToneCheck]:
    tones = [[tone_of(char) for char in line] for line in lines]
    checks = []
    for i, line in enumerate(lines):
        for p in tone_positions(form):
            reading = modern_reading(line[p - 1])
            flipped = _label(_flipped(tones[i][p - 1]))
            breaks = [
                ToneBreak(rule.name, rule.line + 1, rule.position,
                          lines[rule.line][rule.position - 1], wants=flipped)
                for rule in broken_rules(tones, form, i, p)
            ]  # fmt: skip
            checks.append(
                ToneCheck(
                    line=i + 1,
                    position=p,
                    char=line[p - 1],
                    tone=_label(tones[i][p - 1]),
                    source="corpus" if reading is None else "modern",
                    reading=reading,
                    wants=_label(_wanted(tones, form, i, p)),
                    breaks=breaks,
                )
            )
    return checks


def _flipped(tone: str | None) -> str | None:
    """The other tone: what a broken rule wants instead (an "either" character breaks none)."""
    return {LEVEL: OBLIQUE, OBLIQUE: LEVEL}.get(tone)


def _wanted(tones: list[list[str | None]], form: Form, line: int, position: int) -> str | None:
    """The tone at ``position`` of ``line`` (0-based) under which most of the poem's tone
    positions conform; None where both tones do as well, and at the free odd positions."""
    if position % 2:
        return None
    conforming = {}
    for tone in (LEVEL, OBLIQUE):
        trial = [list(line_tones) for line_tones in tones]
        trial[line][position - 1] = tone
        conforming[tone] = sum(
            not broken_rules(trial, form, i, p)
            for i in range(form.lines)
            for p in tone_positions(form)
        )
    if conforming[LEVEL] == conforming[OBLIQUE]:
        return None
    return max(conforming, key=conforming.__getitem__)


def _parallelism(lines: list[str], form: Form) -> list[float]:
    """The 对仗 score of each couplet (prosody.parallelism); a 律诗 wants it in the middle two."""
    return [parallelism(lines[i], lines[i + 1]) for i in range(0, form.lines, 2)]


# --- suggestions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A character for a position: its tone, and the log-likelihood of the poem with it."""

    char: str
    score: float
    tone: str  # 平, 仄 or "either"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Scorer:
    """The models that rank suggestions: a forward CharRNN and its vocabulary, and optionally a
    backward CharRNN of the same vocabulary (``poetry_rnn.train --direction backward``)."""

    forward: CharRNN
    vocab: Vocab
    backward: CharRNN | None = None

    @classmethod
    def from_pretrained(
        cls, path: str | Path | None = None, backward: str | Path | None = None
    ) -> Scorer:
        """The models of the directories ``path`` (default: the shipped model) and
        ``backward``, in bf16 where the CPU runs it natively."""
        import torch

        from poetry_rnn.checkpoint import from_pretrained
        from poetry_rnn.model import native_bf16

        forward, vocab = from_pretrained(path)
        backward_model = None
        if backward is not None:
            backward_model, backward_vocab = from_pretrained(backward, direction="backward")
            if backward_vocab != vocab:
                raise PoetryError(f"{backward} has another vocabulary than the forward model")
        fast = native_bf16(torch.device("cpu"))
        models = [
            m.to(torch.bfloat16) if fast and m is not None else m for m in (forward, backward_model)
        ]
        return cls(models[0], vocab, models[1])


@functools.cache
def _shipped_scorer() -> Scorer:
    return Scorer.from_pretrained()


def suggest(
    text: str,
    line: int,
    position: int,
    k: int = 10,
    form: str | None = None,
    rhyme_book: str = DEFAULT_RHYME_BOOK,
    model: Scorer | None = None,
) -> list[Suggestion]:
    """Up to ``k`` characters for ``position`` of ``line`` (both 1-based) of ``text`` that
    satisfy the rules there, best first.

    The rules: the tone the tone rules want there; at a rhyme position a level character that
    shares the rhyme group of the other rhyme characters and is none of them; no unattested
    doubling with a neighbour; no character a third time. Ranked by log P(poem with the
    character in place) under ``model``'s forward model (default: the shipped model), plus
    the backward model's log-likelihood of the poem read from its end where there is one. On
    a CPU it runs fastest on one torch thread (``torch.set_num_threads(1)``, as the command
    line sets it).
    """
    report = check(text, form, rhyme_book)
    chosen = FORMS[report.form]
    if not _is_int(k) or not 1 <= k <= MAX_SUGGESTIONS:
        raise PoetryError(f"k must be between 1 and {MAX_SUGGESTIONS}, got {k!r}")
    if not _is_int(line) or not 1 <= line <= chosen.lines:
        raise PoetryError(
            f"line {line} is out of range: a {chosen.name} has lines 1–{chosen.lines}"
        )
    if not _is_int(position) or not 1 <= position <= chosen.chars:
        raise PoetryError(
            f"character {position} is out of range: a line of {chosen.name} has characters "
            f"1–{chosen.chars}"
        )
    scorer = model if model is not None else _shipped_scorer()
    chars = _allowed(report, chosen, line - 1, position, scorer.vocab)
    if not chars:
        return []
    index = (line - 1) * (chosen.chars + 1) + position - 1  # in the canonical text
    return [
        Suggestion(char, score, _label(tone_of(char)))
        for char, score in _rank(scorer, report.text, index, chars, k)
    ]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _allowed(report: CheckReport, form: Form, line: int, position: int, vocab: Vocab) -> list[str]:
    """The characters of ``vocab`` that satisfy the rules at ``position`` of ``line`` (0-based),
    the one there now left out."""
    lines = report.lines
    current = lines[line][position - 1]
    tones = [[tone_of(char) for char in text] for text in lines]
    wanted = _wanted(tones, form, line, position)
    book = report.rhyme_book
    rhyme_lines = {r.line - 1 for r in report.rhyme} if position == form.chars else set()
    others = [r for r in report.rhyme if r.line - 1 != line]
    first = lines[0][-1] if line > 0 else None
    target = _rhyme_target([r.char for r in others if r.required], first, book)
    rhyme_chars = {r.char for r in others}
    neighbours = {lines[line][p - 1] for p in (position - 1, position + 1) if 1 <= p <= form.chars}
    used = report.text.count
    doubles = attested_doubles()
    return [
        char
        for char in vocab.tokens
        if is_han(char)
        and char != current
        and (wanted is None or tone_of(char) in (wanted, None))
        and (line not in rhyme_lines
             or (is_level(char) and char not in rhyme_chars and target & rhyme_groups(char, book)))
        and (char not in neighbours or char in doubles)
        and used(char) < 2
    ]  # fmt: skip


class _Head(NamedTuple):
    """A model's reading of a poem up to a position, in the model's direction."""

    score: Tensor  # log P of the tokens before the position
    next: Tensor  # log P of each token of the vocabulary at the position
    state: State
    tail: Tensor  # the tokens after the position, the end token included


def _head(model: CharRNN, vocab: Vocab, text: str, index: int) -> _Head:
    import torch

    if model.config.direction == "backward":
        text, index = text[::-1], len(text) - 1 - index
    device = next(model.parameters()).device
    ids = torch.tensor(vocab.encode(text, wrap=True), device=device)
    logits, state = model(ids[None, : index + 1])  # the start token, then text[:index]
    log_probs = torch.log_softmax(logits[0].float(), -1)
    score = log_probs[:-1].gather(1, ids[1 : index + 1, None]).sum()
    return _Head(score, log_probs[-1], state, ids[index + 2 :])


def _whole(model: CharRNN, head: _Head, candidates: Tensor) -> Tensor:
    """log P of the poem with each candidate at the head's position, in one batch."""
    import torch
    import torch.nn.functional as F

    n = len(candidates)
    inputs = torch.cat([candidates[:, None], head.tail[None, :-1].expand(n, -1)], 1)
    state = tuple(s.expand(-1, n, -1).contiguous() for s in head.state)
    logits, _ = model(inputs, state)
    targets = head.tail[None].expand(n, -1)
    tail = F.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none").sum(1)
    return head.score + head.next[candidates] - tail


def _rank(
    scorer: Scorer, text: str, index: int, chars: list[str], k: int
) -> list[tuple[str, float]]:
    """The ``k`` of ``chars`` under which the models like the poem best, with their scores.

    Only the candidates the models like best at the position itself are scored whole, as many
    as ``SCORED_TOKENS`` allows (at least ``k``).
    """
    import torch

    models = [m for m in (scorer.forward, scorer.backward) if m is not None]
    device = next(scorer.forward.parameters()).device
    ids = torch.tensor([scorer.vocab.index[char] for char in chars], device=device)
    with torch.inference_mode():
        heads = [_head(m, scorer.vocab, text, index) for m in models]
        near = sum(head.next[ids] for head in heads)
        shortlist = max(k, SCORED_TOKENS // sum(len(head.tail) for head in heads))
        ids = ids[near.topk(min(shortlist, len(ids))).indices]
        scores = sum(_whole(m, head, ids) for m, head in zip(models, heads, strict=True))
        best = scores.topk(min(k, len(ids)))
    return [
        (scorer.vocab.tokens[ids[i]], float(score))
        for score, i in zip(best.values.tolist(), best.indices.tolist(), strict=True)
    ]


# --- command line ----------------------------------------------------------------------------


def format_report(report: CheckReport) -> str:
    """The report for a terminal: each line with its tone signs under it (○ 平, ● 仄, ◐ either),
    ^ under broken positions, rhyme groups after rhyme lines; then what is broken, in words."""
    book = RHYME_BOOK_NAMES[report.rhyme_book]
    rows = [f"{report.form}, {book}"]
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
    wanted = groups or ("a level group" if report.rhyme_book == "pingshui" else "a group")
    for r in report.rhyme:
        if not r.ok:
            own = "/".join(r.groups) or f"in no group of {book}"
            rows.append(f"line {r.line}, last character ({r.char}): {own}, not in {wanted} — rhyme")
    for t in report.tones:
        for b in t.breaks:
            against = f"character {b.position}" if b.rule == "二四六分明" else f"line {b.line}"
            rows.append(
                f"line {t.line}, character {t.position} ({t.char}): wants {b.wants}, is {t.tone}"
                f" — {b.rule} (against {against}, {b.char})"
            )
    rows += [f"{char}{char}: a doubling no poet attests" for char in report.unattested_doubles]
    for t in report.tones:
        if t.source == "modern":
            rows.append(
                f"line {t.line}, character {t.position} ({t.char}): not in the Tang tone table; "
                f"its modern reading {t.reading or '(none)'} makes it {t.tone}"
            )
    return "\n".join(rows)


def format_suggestions(line: int, position: int, char: str, suggestions: list[Suggestion]) -> str:
    rows = [f"suggestions for line {line}, character {position} ({char}):"]
    rows += [f"  {s.char} {TONE_SIGNS[tone_of(s.char)]} {s.score:.2f}"
             for s in suggestions]  # fmt: skip
    if not suggestions:
        rows.append("  none: no character of the vocabulary satisfies the rules there")
    return "\n".join(rows)


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
    parser.add_argument("--form", choices=FORMS, help="default: the form the poem's shape has")
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
    args = parser.parse_args(argv)

    report = check(args.text, args.form, args.rhyme_book)
    suggestions = None
    if args.suggest is not None:
        line, position = _line_position(args.suggest)
        # Scoring is a chain of small matrix products: a second thread gains little, and on a
        # busy machine threads waiting for each other cost several times more (measured).
        import torch

        torch.set_num_threads(1)
        scorer = Scorer.from_pretrained(args.model)
        suggestions = suggest(
            args.text, line, position, args.k, args.form, args.rhyme_book, model=scorer
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
