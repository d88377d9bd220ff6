"""Suggestions that mend a poem: the characters that satisfy the rules at one position, ranked
by the model reading the whole poem with each in place (and, where one is given, a backward
model reading it from its end). The report they start from is
:func:`poetry_rnn.poetics.check.check`'s.
"""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError, is_integer
from poetry_rnn.forms import FORMS, Form
from poetry_rnn.model.charrnn import CharRNN, State
from poetry_rnn.model.checkpoint import Models, load_models
from poetry_rnn.poetics.check import CheckReport, check, poem_pattern, rhyme_target, tone_label
from poetry_rnn.poetics.repeats import attested_doubles
from poetry_rnn.poetics.rhymes import DEFAULT_RHYME_BOOK, heard_rhyme_groups
from poetry_rnn.poetics.tones import TONE_SIGNS, is_level, tone_of
from poetry_rnn.text import is_han

MAX_SUGGESTIONS = 100
#: How many tokens whole-poem scoring reads at most: candidates × the tokens around them. The
#: candidates the models like best at the position itself are scored, so that a suggestion for
#: a 七言律诗 takes under a second on one thread of a busy 2-core CPU.
SCORED_TOKENS = 2048


@dataclass(frozen=True)
class Suggestion:
    """A character for a position: its tone, and the log-likelihood of the poem with it."""

    char: str
    score: float
    tone: str  # 平, 仄 or "either"

    def to_dict(self) -> dict:
        return asdict(self)


@functools.cache
def _shipped_models() -> Models:
    return load_models()


def suggest(
    text: str,
    line: int,
    position: int,
    k: int = 10,
    form: str | None = None,
    rhyme_book: str = DEFAULT_RHYME_BOOK,
    model: object = None,
) -> list[Suggestion]:
    """Up to ``k`` characters for ``position`` of ``line`` (both 1-based) of ``text`` that
    satisfy the rules there, best first.

    The rules: the tone the poem's pattern wants there, as :func:`check` reports it (the
    pattern of the form the poem fits best); at a rhyme position a level character that
    shares the rhyme group of the other rhyme characters and is none of them; no unattested
    doubling with a neighbour; no character a third time. Ranked by log P(poem with the
    character in place) under ``model``'s forward model (``model``: loaded models, a
    generator's, or a model directory; default: the shipped model), plus
    the backward model's log-likelihood of the poem read from its end where there is one. On
    a CPU it runs fastest on one torch thread (``torch.set_num_threads(1)``, as the command
    line sets it).
    """
    report = check(text, form, rhyme_book)
    chosen = FORMS[report.form]
    if not is_integer(k) or not 1 <= k <= MAX_SUGGESTIONS:
        raise PoetryError(f"k must be between 1 and {MAX_SUGGESTIONS}, got {k!r}")
    if not is_integer(line) or not 1 <= line <= chosen.lines:
        raise PoetryError(
            f"line {line} is out of range: a {chosen.name} has lines 1–{chosen.lines}"
        )
    if not is_integer(position) or not 1 <= position <= chosen.chars:
        raise PoetryError(
            f"character {position} is out of range: a line of {chosen.name} has characters "
            f"1–{chosen.chars}"
        )
    scorer = _scorer(model)
    chars = _allowed(report, chosen, line - 1, position, scorer.vocab)
    if not chars:
        return []
    index = (line - 1) * (chosen.chars + 1) + position - 1  # in the canonical text
    return [
        Suggestion(char, score, tone_label(tone_of(char)))
        for char, score in _rank(scorer, report.text, index, chars, k)
    ]


def _scorer(model: object) -> Models:
    """The models that rank the suggestions, from what ``suggest`` was given as its model."""
    if model is None:
        return _shipped_models()
    if isinstance(model, Models):
        return model
    if isinstance(getattr(model, "models", None), Models):  # a PoetryGenerator, say
        return model.models  # type: ignore[union-attr]
    if isinstance(model, str | os.PathLike):
        return load_models(model)
    raise PoetryError(
        f"model must be a PoetryGenerator, loaded Models or a model directory, "
        f"got {type(model).__name__}"
    )


def _allowed(report: CheckReport, form: Form, line: int, position: int, vocab: Vocab) -> list[str]:
    """The characters of ``vocab`` that satisfy the rules at ``position`` of ``line`` (0-based),
    the one there now left out."""
    lines = report.lines
    current = lines[line][position - 1]
    pattern = poem_pattern(report)
    wanted = pattern.tone(line, position)
    book = report.rhyme_book
    rhyme_lines = set(pattern.rhyme_lines()) if position == form.chars else set()
    others = [r for r in report.rhyme if r.line - 1 != line]
    first = lines[0][-1] if line > 0 else None
    target = rhyme_target([r.char for r in others if r.required], first, book)
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
             or (is_level(char) and char not in rhyme_chars
                 and target & heard_rhyme_groups(char, book)))
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
    n = len(candidates)
    inputs = torch.cat([candidates[:, None], head.tail[None, :-1].expand(n, -1)], 1)
    state = tuple(s.expand(-1, n, -1).contiguous() for s in head.state)
    logits, _ = model(inputs, state)
    targets = head.tail[None].expand(n, -1)
    tail = F.cross_entropy(logits.float().transpose(1, 2), targets, reduction="none").sum(1)
    return head.score + head.next[candidates] - tail


def _rank(
    scorer: Models, text: str, index: int, chars: list[str], k: int
) -> list[tuple[str, float]]:
    """The ``k`` of ``chars`` under which the models like the poem best, with their scores.

    Only the candidates the models like best at the position itself are scored whole, as many
    as ``SCORED_TOKENS`` allows (at least ``k``).
    """

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


def format_suggestions(line: int, position: int, char: str, suggestions: list[Suggestion]) -> str:
    rows = [f"suggestions for line {line}, character {position} ({char}):"]
    rows += [f"  {s.char} {TONE_SIGNS[tone_of(s.char)]} {s.score:.2f}"
             for s in suggestions]  # fmt: skip
    if not suggestions:
        rows.append("  none: no character of the vocabulary satisfies the rules there")
    return "\n".join(rows)
