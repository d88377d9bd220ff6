"""The one decoding loop: a batch of poems from a CharRNN, one token per step, constrained.

A :class:`Plan` says what every step may emit. With a form, each step is a slot: a character of
line i at position p (fixed, such as a start or acrostic character, or chosen), the line's
punctuation, or the end. Without a form the model writes freely until it ends the poem.

Chosen characters of a form obey, from most to least important: Han characters of the
vocabulary only; the rhyme (a rhyme character shares a group of the plan's rhyme book, one that
may rhyme, with every rhyme character before it; it is level-toned, and no rhyme character comes
twice); repetition (no doubled character the poets do not attest as a word, no character more
than twice in a poem unless the user's text has it); the tone rules at even positions. Where
they leave no candidate, the least important are dropped in reverse order — tone first, then
repetition, then the rhyme — so decoding never fails.

Free writing keeps every line whole: punctuation only after a Han character, the end only after
a mark that may end a poem (。？！) or at the length limit; the repetition rules apply too. The
user's own text (the context, fixed characters) is printed as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from poetry_rnn.model import CharRNN, State
from poetry_rnn.prosody import (
    DEFAULT_RHYME_BOOK,
    LEVEL,
    OBLIQUE,
    Form,
    attested_doubles,
    book_groups,
    required_tone,
    rhyme_groups,
    rhyme_positions,
    rhyming_groups,
    tone_of,
)
from poetry_rnn.text import PUNCTUATION, is_han
from poetry_rnn.vocab import Vocab

MAX_FREE_CHARS = 120
MAX_REPEATS = 2
#: The marks a poem may end with: cleaned training poems end with one of them.
FINAL_MARKS = "。？！"


@dataclass(frozen=True)
class Sampling:
    """How the next token is drawn from the allowed ones."""

    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 0.9


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
    form: Form | None = None
    rhyme: bool = True
    tone: bool = True
    style: str = ""  # primes the state before <s> without being printed
    bias: dict[int, dict[str, float]] = field(default_factory=dict)  # line (-1 free) → bonuses
    repeat_ok: frozenset[str] = frozenset()  # characters the user's text repeats
    rhyme_book: str = DEFAULT_RHYME_BOOK

    def __post_init__(self) -> None:
        book_groups(self.rhyme_book)  # an unknown book is a PoetryError here, not mid-decoding


def form_plan(form: Form, fixed: dict[tuple[int, int], str], **options: object) -> Plan:
    """The slots of ``form`` with ``fixed[(line, position)]`` characters forced."""
    slots = []
    for line in range(form.lines):
        for position in range(1, form.chars + 1):
            slots.append(Slot(line, position, fixed.get((line, position))))
        slots.append(Slot(line, 0, "，" if line % 2 == 0 else "。"))
    slots.append(Slot(-1, 0, None))
    return Plan(slots=tuple(slots), form=form, **options)  # type: ignore[arg-type]


class VocabTables:
    """Per-token facts the constraints read, as tensors over the vocabulary."""

    def __init__(self, vocab: Vocab) -> None:
        self.tokens = vocab.tokens
        self.han = torch.tensor([is_han(t) for t in self.tokens])
        tones = [tone_of(t) if is_han(t) else None for t in self.tokens]
        self.level = torch.tensor([tone == LEVEL for tone in tones])
        self.oblique = torch.tensor([tone == OBLIQUE for tone in tones])
        self.punctuation = torch.tensor([t in PUNCTUATION for t in self.tokens])
        self.final = torch.tensor([t in FINAL_MARKS for t in self.tokens])
        self.end = torch.zeros(len(self.tokens), dtype=torch.bool)
        self.end[vocab.end_id] = True
        doubles = attested_doubles()
        self.doubles_ok = torch.tensor([t in doubles for t in self.tokens])
        self._rhymes: dict[str, torch.Tensor] = {}

    def rhymes(self, book: str) -> torch.Tensor:
        """(vocabulary, groups) membership of each token in the groups of ``book`` that may
        rhyme (the level groups of 平水韵); made once per book."""
        if book not in self._rhymes:
            groups = rhyming_groups(book)
            self._rhymes[book] = torch.tensor(
                [[group in rhyme_groups(t, book) for group in groups] for t in self.tokens]
            )
        return self._rhymes[book]


def draw(
    logits: torch.Tensor, allowed: torch.Tensor, sampling: Sampling, generator: torch.Generator
) -> torch.Tensor:
    """One token per row from ``logits`` within ``allowed``: temperature, top-k, top-p."""
    logits = (logits.float() / sampling.temperature).masked_fill(~allowed, float("-inf"))
    if sampling.top_k:
        kth = logits.topk(min(sampling.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if sampling.top_p < 1:
        logits = _nucleus(logits, sampling.top_p)
    return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(1)


def _nucleus(logits: torch.Tensor, top_p: float, head: int = 256) -> torch.Tensor:
    """Keep each row's smallest set of most likely tokens whose probability reaches ``top_p``.

    Sorting the whole vocabulary every step is the slow part; the ``head`` most likely tokens
    almost always hold ``top_p`` already, so only they are sorted unless a row needs more.
    """
    probabilities = logits.softmax(-1)
    k = min(head, logits.shape[-1])
    top, order = probabilities.topk(k, dim=-1)
    if k < logits.shape[-1] and bool((top.sum(-1) < top_p).any()):
        top, order = probabilities.sort(dim=-1, descending=True)
    outside = top.cumsum(-1) - top > top_p
    drop = torch.ones_like(logits, dtype=torch.bool).scatter(1, order, outside)
    return logits.masked_fill(drop, float("-inf"))


def _narrow(allowed: torch.Tensor, constraint: torch.Tensor) -> torch.Tensor:
    """``allowed & constraint`` in the rows where that leaves a candidate; else unchanged."""
    narrowed = allowed & constraint
    return torch.where(narrowed.any(dim=1, keepdim=True), narrowed, allowed)


def is_rhyme_slot(plan: Plan, slot: Slot | None) -> bool:
    """True for the last character of a line that must rhyme (when the plan rhymes)."""
    return (
        slot is not None
        and plan.rhyme
        and plan.form is not None
        and slot.position == plan.form.chars
        and slot.line in rhyme_positions(plan.form)
    )


class _Poems:
    """What the constraints need to know about the poems decoded so far."""

    def __init__(self, plan: Plan, vocab: Vocab, tables: VocabTables, n: int) -> None:
        # Characters the plan will print anyway count from the start, so a chosen character
        # cannot take the place of a later acrostic head or start character.
        self.counts = torch.zeros(n, len(vocab), dtype=torch.int16)
        fixed = [slot.fixed for slot in plan.slots or () if slot.fixed and slot.position]
        for char in [*plan.context, *fixed]:
            self.counts[:, vocab.index.get(char, vocab.unk_id)] += 1
        self.repeat_ok = torch.tensor([t in plan.repeat_ok for t in vocab.tokens])
        # The rhyme groups each poem may still rhyme in, narrowed by every rhyme character: at
        # first those with a level-toned character for every rhyme position (where any has).
        rhymes = tables.rhymes(plan.rhyme_book)
        needed = len(rhyme_positions(plan.form)) if plan.form is not None else 0
        enough = (rhymes & tables.level[:, None]).sum(0) >= needed
        self.rhymes = (enough if enough.any() else torch.ones_like(enough)).repeat(n, 1)
        self.used_rhymes = torch.zeros(n, len(vocab), dtype=torch.bool)
        self.tones: list[list[list[str | None]]] = [[] for _ in range(n)]
        last = vocab.index.get(plan.context[-1], vocab.unk_id) if plan.context else vocab.start_id
        self.previous = torch.full((n,), last)  # the token before this step


class Decoder:
    """Decodes plans with one model; reusable across calls."""

    def __init__(self, model: CharRNN, vocab: Vocab) -> None:
        self.model = model
        self.vocab = vocab
        self.tables = VocabTables(vocab)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _prime(self, plan: Plan, n: int) -> tuple[torch.Tensor, State]:
        """Feed the style and the context once; the first logits and the state, for n rows."""
        ids = self.vocab.encode(plan.style, wrap=True) if plan.style else []
        ids += [self.vocab.start_id, *self.vocab.encode(plan.context)]
        state = None
        for token in torch.tensor(ids, device=self.device):
            logits, state = self.model.step(token.view(1), state)
        h, c = state
        state = (h.expand(-1, n, -1).contiguous(), c.expand(-1, n, -1).contiguous())
        return logits.cpu().expand(n, -1), state

    def decode(self, plan: Plan, n: int, sampling: Sampling, seed: int) -> list[str]:
        """``n`` poem texts for ``plan`` (the context included, special tokens left out)."""
        was_training = self.model.training
        self.model.eval()
        try:
            return self._decode(plan, n, sampling, seed)
        finally:
            self.model.train(was_training)

    @torch.inference_mode()
    def _decode(self, plan: Plan, n: int, sampling: Sampling, seed: int) -> list[str]:
        generator = torch.Generator().manual_seed(seed)
        vocab = self.vocab
        logits, state = self._prime(plan, n)
        poems = _Poems(plan, vocab, self.tables, n)
        steps = plan.slots or (None,) * (MAX_FREE_CHARS + 1)
        chosen, finished = [], torch.zeros(n, dtype=torch.bool)
        for number, slot in enumerate(steps):
            if slot is not None and (slot.fixed is not None or slot.line == -1):
                fixed = vocab.end_id if slot.line == -1 else vocab.index[slot.fixed]
                token = torch.full((n,), fixed)
            else:
                last = number == len(steps) - 1
                allowed = self._allowed(plan, slot, poems, last)
                token = draw(self._biased(logits, plan, slot), allowed, sampling, generator)
            token = token.masked_fill(finished, vocab.pad_id)
            chosen.append(token)
            self._record(plan, slot, token, poems)
            finished |= token == vocab.end_id
            if finished.all():
                break
            logits, state = self.model.step(token.to(self.device), state)
            logits = logits.cpu()
        rows = torch.stack(chosen, dim=1).tolist()
        return [plan.context + vocab.decode(row) for row in rows]

    def _allowed(self, plan: Plan, slot: Slot | None, poems: _Poems, last: bool) -> torch.Tensor:
        """The tokens each row may take at this step, constraints applied by importance."""
        tables, n = self.tables, len(poems.tones)
        # A character may follow itself only where the poets attest the doubling (悠悠).
        not_doubled = torch.ones(n, len(tables.tokens), dtype=torch.bool)
        not_doubled[torch.arange(n), poems.previous] = tables.doubles_ok[poems.previous]
        not_overused = (poems.counts < MAX_REPEATS) | poems.repeat_ok
        if slot is None:  # free writing: whole lines; the end by the length limit
            if last:
                return tables.end.expand(n, -1)
            after_han = tables.han[poems.previous][:, None]
            after_final = tables.final[poems.previous][:, None]
            allowed = tables.han | (tables.punctuation & after_han) | (tables.end & after_final)
            allowed = _narrow(allowed, not_doubled)
            return _narrow(allowed, not_overused | tables.punctuation)
        allowed = tables.han.expand(n, -1).clone()
        if is_rhyme_slot(plan, slot):
            rhymes = tables.rhymes(plan.rhyme_book).float()
            shares_group = poems.rhymes.float() @ rhymes.T > 0
            allowed = _narrow(allowed, shares_group)
            allowed = _narrow(allowed, tables.level & ~poems.used_rhymes)
        allowed = _narrow(allowed, not_doubled)
        allowed = _narrow(allowed, not_overused)
        if plan.tone and plan.form is not None and slot.position % 2 == 0:
            wanted = [required_tone(tones, slot.line, slot.position) for tones in poems.tones]
            any_tone = torch.ones_like(tables.han)
            masks = {LEVEL: ~tables.oblique, OBLIQUE: ~tables.level, None: any_tone}
            allowed = _narrow(allowed, torch.stack([masks[want] for want in wanted]))
        return allowed

    def _biased(self, logits: torch.Tensor, plan: Plan, slot: Slot | None) -> torch.Tensor:
        """The logits with the plan's bonus for this line's theme characters."""
        bonus = plan.bias.get(slot.line if slot is not None else -1)
        if not bonus:
            return logits
        logits = logits.clone()
        for char, value in bonus.items():
            logits[:, self.vocab.index[char]] += value
        return logits

    def _record(self, plan: Plan, slot: Slot | None, token: torch.Tensor, poems: _Poems) -> None:
        """Count the chosen tokens; note their tones and, at a rhyme, narrow the groups."""
        rows = torch.arange(len(token))
        poems.previous = token
        if slot is None or slot.fixed is None:
            poems.counts[rows, token] += 1
        if slot is None or slot.position == 0:
            return
        for row, tones in enumerate(poems.tones):
            if slot.position == 1:
                tones.append([])
            tones[-1].append(tone_of(self.vocab.tokens[token[row]]))
        if is_rhyme_slot(plan, slot):
            # A fixed rhyme character outside every group that may rhyme cannot narrow them.
            narrowed = poems.rhymes & self.tables.rhymes(plan.rhyme_book)[token]
            poems.rhymes = torch.where(narrowed.any(1, keepdim=True), narrowed, poems.rhymes)
            poems.used_rhymes[rows, token] = True
