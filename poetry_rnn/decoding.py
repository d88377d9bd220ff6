"""The one decoding loop: a batch of poems from a CharRNN, one token per step, constrained.

A :class:`Plan` says what every step may emit. With a form, each step is a slot: a character of
line i at position p (fixed, such as a start or acrostic character, or chosen), the line's
punctuation, or the end. Without a form the model writes freely until it ends the poem.

Chosen characters of a form obey, from most to least important: Han characters of the
vocabulary only; the rhyme (a rhyme character shares a group of the plan's rhyme book, one that
may rhyme, with every rhyme character before it; it is level-toned, and no rhyme character comes
twice); repetition (no doubled character the poets do not attest as a word, no character more
than twice in a poem unless the user's text has it, then no character twice in one line but as
such a doubling: poets do it in 2 % of their lines); the tone rules at even positions. Where
they leave no candidate, the least important are dropped in reverse order — tone first, then
repetition, then the rhyme — so decoding never fails. Fixed characters (a start, acrostic
heads, the kept characters of a revised poem) count from the first step wherever they stand: a
fixed rhyme character narrows the rhyme groups and is used already, and the first fixed
character of known tone at an even position sets the tone pattern.

Two ways to decode a form (the plan's ``search``). Token sampling draws each step's token and
moves on. Whole-line search (:class:`Search`, the default) keeps ``beams`` partial poems: for
each line it samples ``candidates`` lines from every kept poem under the same constraints, all
rows in one batch (rows that took the same tokens from one state, say while a line's fixed
characters are written, step an int8 model once: :meth:`Composer._step`), scores each poem so
far — the forward model's log-likelihood of its tokens at temperature 1, recorded while
sampling, plus the backward model's log-likelihood of it read from its end (where the composer
has one), plus the 对仗 of its finished middle couplets, plus ``coherence`` times its characters
times its coherence (:mod:`poetry_rnn.coherence`) — and keeps the best ``beams`` distinct ones,
each row's constraint and LSTM state with it. Where coherence is on, a poem that marks two
seasons or two times of day the poets keep apart (a clash) is kept only where too few others are
left. Free writing always samples.

对仗: while writing the second line of a 律诗's middle couplet (``parallel``), each character
gets a logit bonus for pairing with the first line's character at its position, in both ways.

Free writing keeps every line whole: punctuation only after a Han character, the end only after
a mark that may end a poem (。？！) or at the length limit; the repetition rules apply too. The
user's own text (the context, fixed characters) is printed as given.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from poetry_rnn.coherence import associations, clashes, coherence_of
from poetry_rnn.errors import PoetryError
from poetry_rnn.model import CharRNN, State
from poetry_rnn.prosody import (
    DEFAULT_RHYME_BOOK,
    LEVEL,
    OBLIQUE,
    Form,
    attested_doubles,
    book_groups,
    heard_rhyme_groups,
    parallel_couplets,
    parallel_pairs,
    parallelism,
    required_tone,
    rhyme_positions,
    rhyming_groups,
    tone_of,
)
from poetry_rnn.sampling import Sampling, draw
from poetry_rnn.text import PUNCTUATION, is_han, split_lines
from poetry_rnn.vocab import Vocab

MAX_FREE_CHARS = 120
MAX_REPEATS = 2
#: The marks a poem may end with: cleaned training poems end with one of them.
FINAL_MARKS = "。？！"

SEARCHES = ("lines", "sample")  # whole-line search, token sampling
#: Blind readers could not tell 2 × 8, 4 × 8 and 8 × 16 apart (round 2,
#: docs/experiments/blind-reading.md): the
#: cheapest is the default.
DEFAULT_BEAMS = 2
DEFAULT_CANDIDATES = 8
MAX_BEAMS = MAX_CANDIDATES = 64
#: The most rows (beams × candidates of each search) the searches for a call's poems decode at
#: once: bounds their memory, about 100 KB a row with the shipped model's vocabulary.
MAX_SEARCH_ROWS = 2048
#: w_parallel: the logit bonus for a character per unit of its pair score with the character
#: facing it; whole-line search adds the same weight times the couplet's summed pair scores.
#: Chosen so that the middle couplets' 对仗 comes near the poets'
#: (docs/experiments/report.md): 1.0 wrote nearly twice theirs.
PARALLEL_WEIGHT = 0.5
#: w_backward: the weight of the backward model's log-likelihood in a poem's score.
BACKWARD_WEIGHT = 1.0
#: w_coherence: the default weight, per character, of the poem's coherence in its score.
COHERENCE_WEIGHT = 2.0
#: The most tokens (rows × length) the backward model scores in one pass: bounds its logits.
BACKWARD_TOKENS = 4096


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
    form: Form | None = None
    rhyme: bool = True
    tone: bool = True
    style: str = ""  # primes the state before <s> without being printed
    bias: dict[int, dict[str, float]] = field(default_factory=dict)  # line (-1 free) → bonuses
    repeat_ok: frozenset[str] = frozenset()  # characters the user's text repeats
    rhyme_book: str = DEFAULT_RHYME_BOOK
    search: Search | None = Search()  # None: token sampling (a free plan always samples)
    parallel: bool = True  # favour 对仗 in a 律诗's middle couplets
    coherence: float = COHERENCE_WEIGHT  # the search's weight of coherence per character

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


def step_of(form: Form, line: int, position: int) -> int:
    """The step of :func:`form_plan`'s slots that writes ``position`` (1-based) of ``line``."""
    return line * (form.chars + 1) + position - 1


def _lines(slots: Sequence[Slot]) -> list[list[Slot]]:
    """A form plan's slots line by line, each with its punctuation; the end joins the last."""
    lines: list[list[Slot]] = [[]]
    for slot in slots:
        lines[-1].append(slot)
        if slot.position == 0 and slot.line != -1:
            lines.append([])
    lines[-2].extend(lines.pop())
    return lines


class VocabTables:
    """Per-token facts the constraints read, as tensors over the vocabulary."""

    def __init__(self, vocab: Vocab) -> None:
        self.tokens = vocab.tokens
        self.han = torch.tensor([is_han(t) for t in self.tokens])
        tones = [tone_of(t) if is_han(t) else None for t in self.tokens]
        self.level = torch.tensor([tone == LEVEL for tone in tones])
        self.oblique = torch.tensor([tone == OBLIQUE for tone in tones])
        # What each wanted tone allows at an even position ("either" characters always).
        self.tone_masks = {
            LEVEL: ~self.oblique, OBLIQUE: ~self.level, None: torch.ones_like(self.level)
        }  # fmt: skip
        self.punctuation = torch.tensor([t in PUNCTUATION for t in self.tokens])
        self.final = torch.tensor([t in FINAL_MARKS for t in self.tokens])
        self.end = torch.zeros(len(self.tokens), dtype=torch.bool)
        self.end[vocab.end_id] = True
        doubles = attested_doubles()
        self.doubles_ok = torch.tensor([t in doubles for t in self.tokens])
        self._rhymes: dict[str, torch.Tensor] = {}
        # 对仗 pairs, both ways round, sorted by the first token: token a's partners are
        # partners[starts[a]:starts[a + 1]], with their scores.
        pairs = sorted(
            (vocab.index[a], vocab.index[b], score)
            for pair, score in parallel_pairs().items()
            if pair[0] in vocab and pair[1] in vocab
            for a, b in (pair, pair[::-1])
        )
        firsts = torch.tensor([a for a, _, _ in pairs], dtype=torch.long)
        self.partners = torch.tensor([b for _, b, _ in pairs], dtype=torch.long)
        self.pair_scores = torch.tensor([score for _, _, score in pairs])
        self.starts = torch.searchsorted(firsts, torch.arange(len(self.tokens) + 1))
        table = associations()
        self.vectors = table.vectors_of(self.tokens)  # zeros for all but content characters
        self.signs = table.signs

    def rhymes(self, book: str) -> torch.Tensor:
        """(vocabulary, groups) membership of each token in the groups of ``book`` that may
        rhyme (the level groups of 平水韵), where a reader hears it rhyme
        (:func:`poetry_rnn.prosody.heard_rhyme_groups`); made once per book."""
        if book not in self._rhymes:
            column = {group: number for number, group in enumerate(rhyming_groups(book))}
            rows, columns = [], []
            for row, token in enumerate(self.tokens):
                for group in heard_rhyme_groups(token, book):
                    rows.append(row)
                    columns.append(column[group])
            table = torch.zeros(len(self.tokens), len(column), dtype=torch.bool)
            table[rows, columns] = True
            self._rhymes[book] = table
        return self._rhymes[book]

    def pair_bonus(self, firsts: torch.Tensor) -> torch.Tensor:
        """(rows, vocabulary): each token's pair score with the row's token in ``firsts``."""
        begin = self.starts[firsts]
        counts = self.starts[firsts + 1] - begin
        rows = torch.repeat_interleave(torch.arange(len(firsts)), counts)
        offsets = torch.arange(int(counts.sum())) - torch.repeat_interleave(
            counts.cumsum(0) - counts, counts
        )
        entries = torch.repeat_interleave(begin, counts) + offsets
        bonus = torch.zeros(len(firsts), len(self.tokens))
        bonus[rows, self.partners[entries]] = self.pair_scores[entries]
        return bonus


def _narrow(allowed: torch.Tensor, constraint: torch.Tensor) -> torch.Tensor:
    """``allowed & constraint`` in the rows where that leaves a candidate; else unchanged."""
    narrowed = allowed & constraint
    # As bytes: a bool tensor's any() and where() are ten times slower on a CPU.
    emptied = narrowed.view(torch.uint8).amax(dim=1, keepdim=True) == 0
    return narrowed | (allowed & emptied)


def _narrowed(allowed: torch.Tensor, constraints: Sequence[torch.Tensor]) -> torch.Tensor:
    """``allowed`` narrowed by each of ``constraints`` in turn, most important first
    (:func:`_narrow`: one that would leave a row no candidate is dropped in that row)."""
    every = allowed
    for constraint in constraints:
        every = every & constraint
    # Where all of them leave every row a candidate, so does each in turn: one check for all.
    if bool(every.view(torch.uint8).amax(dim=1).min()):
        return every
    for constraint in constraints:
        allowed = _narrow(allowed, constraint)
    return allowed


def is_rhyme_slot(plan: Plan, slot: Slot | None) -> bool:
    """True for the last character of a line that must rhyme (when the plan rhymes)."""
    return (
        slot is not None
        and plan.rhyme
        and plan.form is not None
        and slot.position == plan.form.chars
        and slot.line in rhyme_positions(plan.form)
    )


def is_opening_slot(plan: Plan, slot: Slot | None) -> bool:
    """True for the first line's last character (when the plan rhymes): where it may be read
    level (平, or either tone) it rhymes with the poem, as the poets' 首句入韵 does; where it is
    仄, it need not."""
    return (
        slot is not None
        and plan.rhyme
        and plan.form is not None
        and slot.line == 0
        and slot.position == plan.form.chars
    )


def _best_distinct(
    rows: Sequence[int], texts: list[str], score: list[float], clashing: list[bool], most: int
) -> list[int]:
    """The ``most`` best-scored of ``rows`` with distinct texts, best first (ties by their
    order in ``rows``): each text's best row, every text that does not clash before any that
    does."""
    first: dict[str, int] = {}
    for row in sorted(rows, key=lambda row: (clashing[row], -score[row])):  # stable
        first.setdefault(texts[row], row)
    return list(first.values())[:most]


def _clashing(plan: Plan, texts: list[str]) -> list[bool]:
    """Whether each poem so far marks two seasons or two times of day that poets keep apart
    (:func:`poetry_rnn.coherence.clashes`); never, where the plan's coherence is off."""
    return [bool(plan.coherence) and clashes(text) is not None for text in texts]


def _fixed_in_line(plan: Plan, vocab: Vocab, line: int) -> list[int]:
    """The ids of the characters ``plan`` fixes in ``line``: in the line from its first step."""
    return [
        vocab.index[s.fixed] for s in plan.slots or () if s.line == line and s.fixed and s.position
    ]


def _pattern_tone(first: str, line: int, position: int) -> str | None:
    """The tone at an even ``position`` (1-based) of ``line`` (0-based) in the tone pattern
    whose first even position, (0, 2), has the tone ``first``."""
    return first if (line, position) == (0, 2) else required_tone([[None, first]], line, position)


def _fixed_pattern(plan: Plan) -> str | None:
    """The tone at (0, 2) of the pattern the plan's fixed characters set: the first of them at
    an even position with a known tone, in reading order; None where none has one.

    The tone rules read the tones before a position, so a fixed character later in the poem (a
    kept line after rewritten ones) would otherwise meet a pattern the characters chosen before
    it set. Fixed characters that all come first (a start) set the same pattern either way.
    """
    for slot in plan.slots or ():
        if slot.fixed is not None and slot.position and slot.position % 2 == 0:
            tone = tone_of(slot.fixed)
            if tone is not None:
                level_there = _pattern_tone(LEVEL, slot.line, slot.position)
                return LEVEL if level_there == tone else OBLIQUE
    return None


@dataclass
class _Poems:
    """A batch of partial poems, one a row: what the constraints need to know about them, the
    model's state and next logits, the tokens chosen and their log-likelihood."""

    counts: torch.Tensor  # (rows, vocabulary) int16: how often each token is in the poem
    # (rows, vocabulary): the tokens that may come again (counted fewer than MAX_REPEATS
    # times, or repeat_ok), kept up to date by _record
    not_overused: torch.Tensor
    in_line: torch.Tensor  # (rows, vocabulary): the characters of the line being written
    repeat_ok: torch.Tensor  # (vocabulary,): the tokens that may come more often
    rhymes: torch.Tensor  # (rows, groups): the rhyme groups each poem may still rhyme in
    used_rhymes: torch.Tensor  # (rows, vocabulary): the rhyme characters used
    tones: list[list[list[str | None]]]  # each poem's tones, line by line
    previous: torch.Tensor  # (rows,): the token before this step
    twins: torch.Tensor  # (rows,): rows of one number have taken the same tokens from one state
    logits: torch.Tensor  # (rows, vocabulary): the model's logits for this step, on the CPU
    state: State
    tokens: torch.Tensor  # (rows, steps): the tokens chosen so far
    loglik: torch.Tensor  # (rows,): their log-probability under the model at temperature 1
    finished: torch.Tensor  # (rows,): the poems that have ended

    @classmethod
    def start(
        cls, plan: Plan, vocab: Vocab, tables: VocabTables, logits: torch.Tensor, state: State
    ) -> _Poems:
        """Poems about to take their first step, one a row of ``logits`` and ``state``."""
        n = len(logits)
        # Characters the plan will print anyway count from the start, so a chosen character
        # cannot take the place of a later acrostic head or start character.
        counts = torch.zeros(n, len(vocab), dtype=torch.int16)
        fixed = [slot.fixed for slot in plan.slots or () if slot.fixed and slot.position]
        for char in [*plan.context, *fixed]:
            counts[:, vocab.index.get(char, vocab.unk_id)] += 1
        # The rhyme groups each poem may still rhyme in, narrowed by every rhyme character: at
        # first those with a level-toned character for every rhyme position (where none has,
        # those with the most). A fixed character at a rhyme position (a kept line's, say)
        # narrows them from the start, so that a rhyme written before it rhymes with it, and is
        # used already. A fixed close of the first line narrows them only when it is written
        # (in _record): its rhyme is optional, so where it and a kept rhyme disagree, the kept
        # rhyme sets the group.
        rhymes = tables.rhymes(plan.rhyme_book)
        needed = len(rhyme_positions(plan.form)) if plan.form is not None else 0
        level_chars = (rhymes & tables.level[:, None]).sum(0)
        groups = level_chars >= min(needed, int(level_chars.max()))
        used_rhymes = torch.zeros(len(vocab), dtype=torch.bool)
        for slot in plan.slots or ():
            if slot.fixed is not None and is_rhyme_slot(plan, slot):
                token = vocab.index[slot.fixed]
                narrowed = groups & rhymes[token]
                groups = narrowed if narrowed.any() else groups
                used_rhymes[token] = True
        last = vocab.index.get(plan.context[-1], vocab.unk_id) if plan.context else vocab.start_id
        in_line = torch.zeros(len(vocab), dtype=torch.bool)
        ended = not plan.context or plan.context[-1] in PUNCTUATION
        current = "" if ended else split_lines(plan.context)[-1]  # the context's unended line
        in_line[vocab.encode(current) + _fixed_in_line(plan, vocab, 0)] = True
        repeat_ok = torch.tensor([t in plan.repeat_ok for t in vocab.tokens])
        return cls(
            counts=counts,
            not_overused=(counts < MAX_REPEATS) | repeat_ok,
            in_line=in_line.repeat(n, 1),
            repeat_ok=repeat_ok,
            rhymes=groups.repeat(n, 1),
            used_rhymes=used_rhymes.repeat(n, 1),
            tones=[[] for _ in range(n)],
            previous=torch.full((n,), last),
            twins=torch.zeros(n, dtype=torch.long),
            logits=logits,
            state=state,
            tokens=torch.zeros(n, 0, dtype=torch.long),
            loglik=torch.zeros(n),
            finished=torch.zeros(n, dtype=torch.bool),
        )

    def take(self, rows: torch.Tensor) -> _Poems:
        """The poems of ``rows`` (indices, repeats allowed), each row's state with it."""
        state_rows = rows.to(self.state[0].device)
        return _Poems(
            counts=self.counts[rows],
            not_overused=self.not_overused[rows],
            in_line=self.in_line[rows],
            repeat_ok=self.repeat_ok,
            rhymes=self.rhymes[rows],
            used_rhymes=self.used_rhymes[rows],
            tones=[[list(line) for line in self.tones[row]] for row in rows.tolist()],
            previous=self.previous[rows],
            twins=self.twins[rows],
            logits=self.logits[rows],
            state=(self.state[0][:, state_rows], self.state[1][:, state_rows]),
            tokens=self.tokens[rows],
            loglik=self.loglik[rows],
            finished=self.finished[rows],
        )


class Composer:
    """Composes poems: decodes plans with one model (and, optionally, a backward one);
    reusable across calls.

    ``backward``: a CharRNN trained with ``--direction backward`` on the same vocabulary;
    whole-line search then adds ``backward_weight`` times its log-likelihood of each poem so
    far, read from its end, to the poem's score.
    """

    def __init__(
        self,
        model: CharRNN,
        vocab: Vocab,
        backward: CharRNN | None = None,
        backward_weight: float = BACKWARD_WEIGHT,
    ) -> None:
        if backward is not None:
            if backward.config.direction != "backward":
                raise PoetryError(f"the backward model reads {backward.config.direction}")
            if backward.config.vocab_size != len(vocab):
                raise PoetryError(
                    f"the backward model has {backward.config.vocab_size} tokens, but the "
                    f"vocabulary has {len(vocab)}"
                )
        self.model = model
        self.vocab = vocab
        self.tables = VocabTables(vocab)
        self.backward = backward
        self.backward_weight = backward_weight

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
        return [text for text, _ in self.decode_scored(plan, n, sampling, seed)]

    def decode_scored(
        self, plan: Plan, n: int, sampling: Sampling, seed: int
    ) -> list[tuple[str, float]]:
        """``n`` poem texts for ``plan``, each with its score per token: the score whole-line
        search ranks poems by (:meth:`_score`; for a free poem its log-likelihood) divided by
        the tokens it was scored over (the poem's characters, marks and end). Higher is better;
        within one call it orders the poems as the search does."""
        models = [model for model in (self.model, self.backward) if model is not None]
        was_training = [model.training for model in models]
        for model in models:
            model.eval()
        try:
            with torch.inference_mode():
                generator = torch.Generator().manual_seed(seed)
                if plan.search is None or plan.slots is None:
                    poems = self._poems(plan, n)
                    self._advance(plan, poems, plan.slots or (None,) * (MAX_FREE_CHARS + 1),
                                  sampling, generator)  # fmt: skip
                    texts = self._texts(plan, poems)
                    score = poems.loglik if plan.slots is None else self._score(plan, poems, texts)
                    tokens = (poems.tokens != self.vocab.pad_id).sum(1)
                    return list(zip(texts, (score / tokens).tolist(), strict=True))
                return self._search(plan, n, sampling, generator)
        finally:
            for model, training in zip(models, was_training, strict=True):
                model.train(training)

    def _poems(self, plan: Plan, n: int) -> _Poems:
        return _Poems.start(plan, self.vocab, self.tables, *self._prime(plan, n))

    def _texts(self, plan: Plan, poems: _Poems) -> list[str]:
        return [plan.context + self.vocab.decode(row) for row in poems.tokens.tolist()]

    def _advance(
        self,
        plan: Plan,
        poems: _Poems,
        steps: Sequence[Slot | None],
        sampling: Sampling,
        generator: torch.Generator,
    ) -> None:
        """Take ``steps`` (slots, or None for free writing) in every row of ``poems``."""
        vocab = self.vocab
        for number, slot in enumerate(steps):
            if slot is not None and (slot.fixed is not None or slot.line == -1):
                fixed = vocab.end_id if slot.line == -1 else vocab.index[slot.fixed]
                token = torch.full((len(poems.tokens),), fixed)
            else:
                last = number == len(steps) - 1
                allowed = self._allowed(plan, slot, poems, last)
                logits = self._biased(poems.logits, plan, slot, poems)
                token = draw(logits, allowed, sampling, generator)
            token = token.masked_fill(poems.finished, vocab.pad_id)
            chosen = poems.logits.float().log_softmax(-1).gather(1, token[:, None]).squeeze(1)
            poems.loglik += chosen.masked_fill(poems.finished, 0.0)
            self._record(plan, slot, token, poems)
            poems.finished |= token == vocab.end_id
            if poems.finished.all():
                break
            self._step(poems, token)

    def _step(self, poems: _Poems, token: torch.Tensor) -> None:
        """Feed ``token`` to every row: the model's next logits and state.

        Twins that take the same token stay twins, with the same state; a model whose result
        for a row does not change for it (``duplicates_step_once``) steps once for each group.
        """
        groups, poems.twins = torch.unique(
            poems.twins * len(self.vocab) + token, return_inverse=True
        )
        if len(groups) == len(token) or not self.model.duplicates_step_once:
            logits, poems.state = self.model.step(token.to(self.device), poems.state)
        else:
            one = torch.empty(len(groups), dtype=torch.long)  # a row of each group
            one[poems.twins] = torch.arange(len(token))
            h, c = poems.state
            ones, every = one.to(self.device), poems.twins.to(self.device)
            logits, (h, c) = self.model.step(token[one].to(self.device), (h[:, ones], c[:, ones]))
            logits, poems.state = logits[every], (h[:, every], c[:, every])
        poems.logits = logits.cpu()

    def _search(
        self, plan: Plan, n: int, sampling: Sampling, generator: torch.Generator
    ) -> list[tuple[str, float]]:
        """``n`` poems, each the best of a whole-line search of its own and, where its search
        kept another, distinct from the poems before it; best first, each with its score per
        token. The searches run side by side, as many at once as :data:`MAX_SEARCH_ROWS` lets."""
        assert plan.search is not None
        at_once = MAX_SEARCH_ROWS // plan.search.rows
        poems: list[tuple[str, float]] = []
        taken: set[str] = set()
        for begin in range(0, n, at_once):
            for kept in self._searches(plan, min(at_once, n - begin), sampling, generator):
                poem = next((poem for poem in kept if poem[0] not in taken), kept[0])
                poems.append(poem)
                taken.add(poem[0])
        return sorted(poems, key=lambda poem: -poem[1])

    def _searches(
        self, plan: Plan, count: int, sampling: Sampling, generator: torch.Generator
    ) -> list[list[tuple[str, float]]]:
        """``count`` whole-line searches side by side: each one's kept poems, best first, with
        their scores per token."""
        assert plan.search is not None and plan.slots is not None
        beams, rows = plan.search.beams, plan.search.rows
        poems, kept = self._poems(plan, 1), [[0]] * count  # each search's kept rows
        for line in _lines(plan.slots):
            # Row r of a search continues its kept poem r mod k: every kept poem gets its share
            # of candidates. A line the plan fixes whole (a kept line, a whole start line) has
            # one candidate.
            whole = all(slot.fixed is not None or slot.line == -1 for slot in line)
            picks, spans = [], []  # the rows continued; each search's span of the new rows
            for own in kept:
                spans.append(range(len(picks), len(picks) + (len(own) if whole else rows)))
                picks += own if whole else [own[r % len(own)] for r in range(rows)]
            poems = poems.take(torch.tensor(picks))
            self._advance(plan, poems, line, sampling, generator)
            texts = self._texts(plan, poems)
            score = self._score(plan, poems, texts).tolist()
            clashing = _clashing(plan, texts)
            kept = [_best_distinct(span, texts, score, clashing, beams) for span in spans]
        length = poems.tokens.shape[1]
        return [[(texts[row], score[row] / length) for row in own] for own in kept]

    def _score(self, plan: Plan, poems: _Poems, texts: list[str]) -> torch.Tensor:
        """Each poem's score so far: its log-likelihood, the backward model's, its 对仗, its
        coherence (:mod:`poetry_rnn.coherence`) times its characters so far."""
        score = poems.loglik.clone()
        if self.backward is not None:
            score += self.backward_weight * self._backward_loglik(texts)
        if plan.parallel and plan.form is not None:
            # The objective the logit bonus samples from: each finished couplet's pair scores.
            for first in parallel_couplets(plan.form):
                couplets = [split_lines(text)[first : first + 2] for text in texts]
                done = [parallelism(*pair) if len(pair) == 2 else 0.0 for pair in couplets]
                score += PARALLEL_WEIGHT * plan.form.chars * torch.tensor(done)
        if plan.coherence:
            tokens, tables = poems.tokens, self.tables
            marks = tables.punctuation[tokens].long()
            lines = marks.cumsum(1) - marks  # a mark belongs to the line it ends
            chars = tables.han[tokens].sum(1)
            mean = coherence_of(tables.vectors[tokens], tokens, lines, tables.signs)
            score += plan.coherence * chars * mean
        return score

    def _backward_loglik(self, texts: list[str]) -> torch.Tensor:
        """The backward model's log-likelihood of each text (all of one length) read from its
        end: ``<s>``, the tokens last to first, ``</s>``."""
        assert self.backward is not None
        vocab, device = self.vocab, next(self.backward.parameters()).device
        ids = torch.tensor([vocab.encode(text[::-1], wrap=True) for text in texts])
        total = torch.zeros(len(texts))
        chunk = max(1, BACKWARD_TOKENS // ids.shape[1])
        for begin in range(0, len(ids), chunk):
            rows = ids[begin : begin + chunk].to(device)
            logits, _ = self.backward(rows[:, :-1])
            chosen = logits.float().log_softmax(-1).gather(2, rows[:, 1:, None])
            total[begin : begin + chunk] = chosen.sum((1, 2)).cpu()
        return total

    def _allowed(self, plan: Plan, slot: Slot | None, poems: _Poems, last: bool) -> torch.Tensor:
        """The tokens each row may take at this step, constraints applied by importance."""
        tables, n = self.tables, len(poems.tones)
        # A character may follow itself only where the poets attest the doubling (悠悠).
        not_doubled = torch.ones(n, len(tables.tokens), dtype=torch.bool)
        not_doubled[torch.arange(n), poems.previous] = tables.doubles_ok[poems.previous]
        not_overused = poems.not_overused
        new_in_line = ~poems.in_line | poems.repeat_ok
        new_in_line[torch.arange(n), poems.previous] |= tables.doubles_ok[poems.previous]
        if slot is None:  # free writing: whole lines; the end by the length limit
            if last:
                return tables.end.expand(n, -1)
            after_han = tables.han[poems.previous][:, None]
            after_final = tables.final[poems.previous][:, None]
            allowed = tables.han | (tables.punctuation & after_han) | (tables.end & after_final)
            return _narrowed(allowed, [
                not_doubled, not_overused | tables.punctuation, new_in_line | tables.punctuation
            ])  # fmt: skip
        allowed = tables.han.expand(n, -1)
        constraints = []
        if is_rhyme_slot(plan, slot):
            rhymes = tables.rhymes(plan.rhyme_book).float()
            shares_group = poems.rhymes.float() @ rhymes.T > 0
            constraints += [shares_group, tables.level & ~poems.used_rhymes]
        elif is_opening_slot(plan, slot):
            # A close of the first line that may be read level (平, or either tone: readers
            # hear 看 and 思 as 平) rhymes, in a group with a level character left for every
            # rhyme after it.
            rhymes = tables.rhymes(plan.rhyme_book)
            level_chars = (rhymes & tables.level[:, None]).sum(0)
            roomy = poems.rhymes & (level_chars > len(rhyme_positions(plan.form)))
            shares_group = roomy.float() @ rhymes.float().T > 0
            constraints.append(shares_group | tables.oblique)
        constraints += [not_doubled, not_overused, new_in_line]
        if plan.tone and plan.form is not None and slot.position % 2 == 0:
            first = _fixed_pattern(plan)
            if first is not None:  # the fixed characters set the pattern, wherever they stand
                wanted = [_pattern_tone(first, slot.line, slot.position)] * n
            else:
                wanted = [required_tone(tones, slot.line, slot.position) for tones in poems.tones]
            masks = tables.tone_masks
            if len(set(wanted)) == 1:  # one mask for every row
                constraints.append(masks[wanted[0]])
            else:
                constraints.append(torch.stack([masks[want] for want in wanted]))
        return _narrowed(allowed, constraints)

    def _biased(
        self, logits: torch.Tensor, plan: Plan, slot: Slot | None, poems: _Poems
    ) -> torch.Tensor:
        """The logits with the plan's bonus for this line's theme characters and, in the second
        line of a middle couplet, for the characters that pair with the one they face."""
        bonus = plan.bias.get(slot.line if slot is not None else -1)
        facing = (
            slot is not None
            and plan.parallel
            and plan.form is not None
            and slot.position > 0
            and slot.line - 1 in parallel_couplets(plan.form)
        )
        if not bonus and not facing:
            return logits
        logits = logits.to(torch.float32, copy=True)
        for char, value in (bonus or {}).items():
            logits[:, self.vocab.index[char]] += value
        if facing:
            firsts = poems.tokens[:, step_of(plan.form, slot.line - 1, slot.position)]
            logits += PARALLEL_WEIGHT * self.tables.pair_bonus(firsts)
        return logits

    def _record(self, plan: Plan, slot: Slot | None, token: torch.Tensor, poems: _Poems) -> None:
        """Count the chosen tokens; note their tones and, at a rhyme, narrow the groups."""
        rows = torch.arange(len(token))
        poems.tokens = torch.cat([poems.tokens, token[:, None]], dim=1)
        poems.previous = token
        if slot is None or slot.fixed is None:
            poems.counts.index_put_((rows, token), torch.ones_like(token, dtype=torch.int16),
                                    accumulate=True)  # fmt: skip
            below_limit = poems.counts[rows, token] < MAX_REPEATS
            poems.not_overused[rows, token] = below_limit | poems.repeat_ok[token]
        poems.in_line[rows, token] = True
        ends_line = self.tables.punctuation[token]
        if bool(ends_line.any()):  # a full-width masked_fill_ costs more than this test
            poems.in_line[ends_line] = False
        if slot is not None and slot.position == 0 and slot.line != -1:
            poems.in_line[:, _fixed_in_line(plan, self.vocab, slot.line + 1)] = True
        if slot is None or slot.position == 0:
            return
        for tones, chosen in zip(poems.tones, token.tolist(), strict=True):
            if slot.position == 1:
                tones.append([])
            tones[-1].append(tone_of(self.vocab.tokens[chosen]))
        if is_rhyme_slot(plan, slot) or is_opening_slot(plan, slot):
            # A fixed rhyme character outside every group that may rhyme cannot narrow them;
            # an oblique close of the first line does not rhyme.
            rhyming = (
                torch.ones_like(token, dtype=torch.bool)
                if is_rhyme_slot(plan, slot)
                else ~self.tables.oblique[token]
            )
            narrowed = poems.rhymes & self.tables.rhymes(plan.rhyme_book)[token]
            narrows = narrowed.any(1, keepdim=True) & rhyming[:, None]
            poems.rhymes = torch.where(narrows, narrowed, poems.rhymes)
            poems.used_rhymes[rows[rhyming], token[rhyming]] = True
