"""The one decoding loop: a batch of poems from a CharRNN, one token per step, constrained.

A :class:`Plan` (:mod:`poetry_rnn.writing.plans`) says what every step may emit. With a pattern,
each step is a slot: a character of line i at position p (fixed, such as a start or acrostic
character, or chosen), the line's mark, or the end. Without one the model writes freely until it
ends the poem. The pattern's constraints are compiled once per request
(:class:`poetry_rnn.writing.constraints.Constraints`); the loop applies them and asks prosody
nothing.

Chosen characters of a pattern obey, from most to least important: Han characters of the
vocabulary only; the rhyme (a rhyme character shares a group of the plan's rhyme book, one that
may rhyme, with every rhyme character of its segment before it; it has the segment's tone, level
for shi, and no rhyme character comes twice); repetition (no doubled character the poets do not
attest as a word, no character more than twice in a poem unless the user's text has it, then no
character twice in one line but as such a doubling: poets do it in 2 % of their lines); the
pattern's tones. Where they leave no candidate, the least important are dropped in reverse
order — tone first, then repetition, then the rhyme — so decoding never fails. Fixed characters
(a start, acrostic heads, the kept characters of a revised poem) count from the first step
wherever they stand: a fixed rhyme character narrows the rhyme groups and is used already, and
the first fixed character of known tone where the family's patterns differ (a shi's opening,
平起 or 仄起) chooses the pattern; without one, each poem's first such character chooses it.

Two ways to decode a form (the plan's ``search``). Token sampling draws each step's token and
moves on. Whole-line search (:class:`Search`, the default) keeps ``beams`` partial poems: for
each line it samples ``candidates`` lines from every kept poem under the same constraints, all
rows in one batch (rows that took the same tokens from one state, say while a line's fixed
characters are written, step an int8 model once: :meth:`Composer._step`), scores each poem so
far — the forward model's log-likelihood of its tokens at temperature 1, recorded while
sampling, plus the backward model's log-likelihood of it read from its end (where the composer
has one), plus the 对仗 of its finished middle couplets, plus ``coherence`` times its characters
times its coherence (:mod:`poetry_rnn.poetics.coherence`), less w_repeat for each character said
again (below) — and keeps the best ``beams`` distinct ones,
each row's constraint and LSTM state with it. Where coherence is on, a poem that marks two
seasons or two times of day the poets keep apart (a clash) is kept only where too few others are
left. Free writing always samples.

Repetition, softly: a character the poem holds already (but the user's repeats, and the second
of a doubling the poets attest) costs w_repeat (:attr:`Plan.repeat_weight`, a weight per form,
:data:`poetry_rnn.writing.plans.REPEAT_RATES`) off its logit, and the search's score loses w_repeat
for each time the poem says a character again, so that the model repeats about as often as the
poets in the form; a scene word the model wants enough still comes twice.

对仗: while writing the second line of a pattern's parallel pair (a 律诗's middle couplets;
``parallel``), each character gets a logit bonus for pairing with the first line's character at
its position, in both ways.

Free writing keeps every line whole: punctuation only after a Han character, the end only after
a mark that may end a poem (。？！) or at the length limit; the repetition rules apply too. The
user's own text (the context, fixed characters) is printed as given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError
from poetry_rnn.model.charrnn import CharRNN, State
from poetry_rnn.poetics.coherence import clashes, coherence_of
from poetry_rnn.poetics.parallelism import parallelism
from poetry_rnn.text import PUNCTUATION, split_lines
from poetry_rnn.writing.constraints import (
    FINAL_MARKS,
    FREE,
    Constraints,
    VocabTables,
    _narrow,
    _narrowed,
)
from poetry_rnn.writing.plans import (
    COHERENCE_WEIGHT,
    DEFAULT_BEAMS,
    DEFAULT_CANDIDATES,
    MAX_BEAMS,
    MAX_CANDIDATES,
    MAX_SEARCH_ROWS,
    SEARCHES,
    Plan,
    Search,
    Slot,
    _lines,
    form_plan,
    step_of,
)
from poetry_rnn.writing.sampling import Sampling, draw

__all__ = [
    "BACKWARD_TOKENS",
    "BACKWARD_WEIGHT",
    "COHERENCE_WEIGHT",
    "DEFAULT_BEAMS",
    "DEFAULT_CANDIDATES",
    "FINAL_MARKS",
    "MAX_BEAMS",
    "MAX_CANDIDATES",
    "MAX_FREE_CHARS",
    "MAX_REPEATS",
    "MAX_SEARCH_ROWS",
    "PARALLEL_WEIGHT",
    "SEARCHES",
    "Composer",
    "Plan",
    "Search",
    "Slot",
    "VocabTables",
    "_lines",
    "_narrow",
    "_narrowed",
    "form_plan",
    "step_of",
]  # fmt: skip

MAX_FREE_CHARS = 120
MAX_REPEATS = 2
#: w_parallel: the logit bonus for a character per unit of its pair score with the character
#: facing it; whole-line search adds the same weight times the couplet's summed pair scores.
#: Chosen so that the middle couplets' 对仗 comes near the poets'
#: (docs/experiments/report.md): 1.0 wrote nearly twice theirs.
PARALLEL_WEIGHT = 0.5
#: w_backward: the weight of the backward model's log-likelihood in a poem's score.
BACKWARD_WEIGHT = 1.0
#: The most tokens (rows × length) the backward model scores in one pass: bounds its logits.
BACKWARD_TOKENS = 4096


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
    (:func:`poetry_rnn.poetics.coherence.clashes`); never, where the plan's coherence is off."""
    return [bool(plan.coherence) and clashes(text) is not None for text in texts]


def _fixed_in_line(plan: Plan, vocab: Vocab, line: int) -> list[int]:
    """The ids of the characters ``plan`` fixes in ``line``: in the line from its first step."""
    return [
        vocab.index.get(s.fixed, vocab.unk_id)
        for s in plan.slots or () if s.line == line and s.fixed and s.position
    ]  # fmt: skip


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
    rules: Constraints  # the request's constraints, compiled once
    rhymes: torch.Tensor  # (rows, segments, groups): the groups each segment may still rhyme in
    used_rhymes: torch.Tensor  # (rows, vocabulary): the rhyme characters used
    open_members: torch.Tensor  # (rows, members): the patterns of the family still open
    previous: torch.Tensor  # (rows,): the token before this step
    twins: torch.Tensor  # (rows,): rows of one number have taken the same tokens from one state
    logits: torch.Tensor  # (rows, vocabulary): the model's logits for this step, on the CPU
    state: State
    tokens: torch.Tensor  # (rows, steps): the tokens chosen so far
    loglik: torch.Tensor  # (rows,): their log-probability under the model at temperature 1
    # (rows,): the times each poem said a chosen character again (as prosody.repeated_chars
    # counts them, but for repeat_ok)
    repeats: torch.Tensor
    finished: torch.Tensor  # (rows,): the poems that have ended

    @classmethod
    def start(
        cls, plan: Plan, vocab: Vocab, rules: Constraints, logits: torch.Tensor, state: State
    ) -> _Poems:
        """Poems about to take their first step, one a row of ``logits`` and ``state``."""
        n = len(logits)
        # Characters the plan will print anyway count from the start, so a chosen character
        # cannot take the place of a later acrostic head or start character.
        counts = torch.zeros(n, len(vocab), dtype=torch.int16)
        fixed = [slot.fixed for slot in plan.slots or () if slot.fixed and slot.position]
        for char in [*plan.context, *fixed]:
            counts[:, vocab.index.get(char, vocab.unk_id)] += 1
        # The rhyme groups each segment may still rhyme in, narrowed by every rhyme character:
        # at first those with a character of the segment's tone for every rhyme position
        # (where none has, those with the most). A fixed character at a rhyme position (a kept
        # line's, say) narrows them from the start, so that a rhyme written before it rhymes
        # with it, and is used already. A fixed close where the rhyme is optional (line 1 of a
        # shi) narrows them only when it is written (in _record): where it and a kept rhyme
        # disagree, the kept rhyme sets the group.
        groups = torch.stack(rules.groups) if rules.groups else torch.zeros(0, len(rules.table.T))
        used_rhymes = torch.zeros(len(vocab), dtype=torch.bool)
        # The fixed characters choose the family's member first, wherever they stand: the
        # first of known tone where the members differ (a kept line after rewritten ones
        # would otherwise meet the pattern the characters chosen before it set).
        open_members = torch.ones(1, rules.members, dtype=torch.bool)
        for step, slot in enumerate(plan.slots or ()):
            if slot.fixed is None:
                continue
            token = int(rules.fixed_ids[step])
            rhyme = rules.rhyme[step]
            if rhyme is not None and rhyme[1]:
                narrowed = groups[rhyme[0]] & rules.table[token]
                groups[rhyme[0]] = narrowed if narrowed.any() else groups[rhyme[0]]
                rules.linked(groups, rhyme[0])
                used_rhymes[token] = True
            elif rules.varies(step):
                tone = rules.tables.tone_codes[token : token + 1]
                open_members = rules.narrowed(step, open_members, tone)
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
            rules=rules,
            rhymes=groups.repeat(n, 1, 1),
            used_rhymes=used_rhymes.repeat(n, 1),
            open_members=open_members.repeat(n, 1),
            previous=torch.full((n,), last),
            twins=torch.zeros(n, dtype=torch.long),
            logits=logits,
            state=state,
            tokens=torch.zeros(n, 0, dtype=torch.long),
            loglik=torch.zeros(n),
            repeats=torch.zeros(n),
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
            rules=self.rules,
            rhymes=self.rhymes[rows],
            used_rhymes=self.used_rhymes[rows],
            open_members=self.open_members[rows],
            previous=self.previous[rows],
            twins=self.twins[rows],
            logits=self.logits[rows],
            state=(self.state[0][:, state_rows], self.state[1][:, state_rows]),
            tokens=self.tokens[rows],
            loglik=self.loglik[rows],
            repeats=self.repeats[rows],
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
        """Feed the style, the title (a titled model's header) and the context once; the first
        logits and the state, for n rows."""
        vocab = self.vocab
        ids = vocab.encode(plan.style, wrap=True) if plan.style else []
        ids += vocab.header(plan.title) if vocab.sep_id is not None else [vocab.start_id]
        ids += vocab.encode(plan.context)
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
        rules = Constraints(plan, self.tables)
        return _Poems.start(plan, self.vocab, rules, *self._prime(plan, n))

    def _texts(self, plan: Plan, poems: _Poems) -> list[str]:
        """Each row's text, the plan's fixed characters the vocabulary lacks as given."""
        unknown, decode = poems.rules.unknown, self.vocab.decode
        if not unknown:
            return [plan.context + decode(row) for row in poems.tokens.tolist()]
        return [
            plan.context
            + "".join(unknown.get(step, "") or decode([t]) for step, t in enumerate(row))
            for row in poems.tokens.tolist()
        ]

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
                fixed = (
                    vocab.end_id if slot.line == -1 else vocab.index.get(slot.fixed, vocab.unk_id)
                )
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
        """Each poem's score so far: its log-likelihood, the backward model's, its 对仗, less
        w_repeat for each character it says again, its coherence
        (:mod:`poetry_rnn.poetics.coherence`) times its characters so far."""
        score = poems.loglik.clone()
        if self.backward is not None:
            score += self.backward_weight * self._backward_loglik(texts)
        if plan.parallel and plan.pattern is not None:
            # The objective the logit bonus samples from: each finished couplet's pair scores.
            written = [split_lines(text) for text in texts]
            for first, second in plan.pattern.parallel:
                done = [parallelism(ls[first], ls[second]) if len(ls) > second else 0.0
                        for ls in written]  # fmt: skip
                length = plan.pattern.lengths[first]
                score += PARALLEL_WEIGHT * length * torch.tensor(done)
        if plan.repeat_weight:
            score -= plan.repeat_weight * poems.repeats
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
        tables, n = self.tables, len(poems.tokens)
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
            allowed = tables.written | (tables.punctuation & after_han) | (tables.end & after_final)
            return _narrowed(allowed, [
                not_doubled, not_overused | tables.punctuation, new_in_line | tables.punctuation
            ])  # fmt: skip
        allowed = tables.written.expand(n, -1)
        rules, step = poems.rules, poems.tokens.shape[1]
        constraints = (
            self._answer(rules, poems, rules.answering[step]) if step in rules.answering else []
        )
        rhyme = rules.rhyme[step]
        if rhyme is not None:
            segment, required = rhyme
            groups = poems.rhymes[:, segment]
            if required:
                shares_group = groups.float() @ rules.table.float().T > 0
                constraints += [shares_group, rules.rhyming[segment] & ~poems.used_rhymes]
            else:
                # A close that may be read in the segment's tone (平, or either tone: readers
                # hear 看 and 思 as 平) rhymes, in a group with a character left for every rhyme
                # after it; one strictly of the other tone need not.
                roomy = groups & rules.roomy[segment]
                shares_group = roomy.float() @ rules.table.float().T > 0
                constraints.append(shares_group | rules.other[segment])
        constraints += [not_doubled, not_overused, new_in_line]
        wanted = rules.wanted(step, poems.open_members)
        if bool((wanted != FREE).any()):
            masks = tables.tone_masks
            first = int(wanted[0])
            if bool((wanted == first).all()):  # one mask for every row
                constraints.append(masks[first])
            else:
                constraints.append(masks[wanted])
        return _narrowed(allowed, constraints)

    def _answer(self, rules: Constraints, poems: _Poems, k: int) -> list[torch.Tensor]:
        """What position ``k`` of a 对联's answering 联 may take, as constraints (most important
        first): no character of the other 联 nor of its own before it, but where the other
        repeats a character of an earlier position, the character its own took there; and
        before a position the other doubles (风风), a character poets double."""
        n, tables = len(poems.tokens), self.tables
        if rules.other_ids is not None:
            other = rules.other_ids.expand(n, -1)
        else:  # written before this 联
            other = poems.tokens[:, rules.other_steps]
        own = poems.tokens[:, rules.own_steps[:k]]
        answer = torch.ones(n, len(tables.tokens), dtype=torch.bool)
        answer.scatter_(1, torch.cat([other, own], 1).clamp(min=0), False)
        same = other[:, :k] == other[:, k : k + 1]
        echoed = same.any(1)
        if bool(echoed.any()):
            earlier = own.gather(1, same.long().argmax(1, keepdim=True)).squeeze(1)
            echo = torch.zeros_like(answer)
            echo[torch.arange(n), earlier] = True
            answer = torch.where(echoed[:, None], echo, answer)
        constraints = [answer]
        if k + 1 < other.shape[1]:
            doubled = other[:, k + 1] == other[:, k]
            if bool(doubled.any()):
                constraints.append(tables.doubles_ok | ~doubled[:, None])
        return constraints

    def _biased(
        self, logits: torch.Tensor, plan: Plan, slot: Slot | None, poems: _Poems
    ) -> torch.Tensor:
        """The logits with the plan's bonus for this line's theme characters, in the second
        line of a middle couplet for the characters that pair with the one they face, and less
        w_repeat (:attr:`Plan.repeat_weight`) for each character the poem holds already but
        the user's repeats and an attested doubling of the character before."""
        bonus = plan.bias.get(slot.line if slot is not None else -1)
        facing = poems.rules.facing[poems.tokens.shape[1]] if slot is not None else None
        weight = plan.repeat_weight
        if not bonus and facing is None and not weight:
            return logits
        logits = logits.to(torch.float32, copy=True)
        if weight:
            tables, rows = self.tables, torch.arange(len(logits))
            said = (poems.counts > 0) & tables.han & ~poems.repeat_ok
            said[rows, poems.previous] &= ~tables.doubles_ok[poems.previous]
            logits -= weight * said.float()
        for char, value in (bonus or {}).items():
            logits[:, self.vocab.index[char]] += value
        if facing is not None:
            step = poems.tokens.shape[1]
            rules = poems.rules  # a given 下联 the 上联 answers comes after it
            firsts = (
                poems.tokens[:, facing]
                if facing < step
                else rules.fixed_ids[facing].expand(len(poems.tokens))
            )
            logits += PARALLEL_WEIGHT * self.tables.pair_bonus(firsts)
        return logits

    def _record(self, plan: Plan, slot: Slot | None, token: torch.Tensor, poems: _Poems) -> None:
        """Count the chosen tokens; note their tones and, at a rhyme, narrow the groups."""
        rows, step = torch.arange(len(token)), poems.tokens.shape[1]
        doubling = (token == poems.previous) & self.tables.doubles_ok[token]
        poems.tokens = torch.cat([poems.tokens, token[:, None]], dim=1)
        poems.previous = token
        if slot is None or slot.fixed is None:
            again = (poems.counts[rows, token] > 0) & self.tables.han[token] & ~doubling
            poems.repeats += (again & ~poems.repeat_ok[token]).float()
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
        rules = poems.rules
        if rules.varies(step):  # the first tones written choose the family's member
            tones = self.tables.tone_codes[token]
            poems.open_members = rules.narrowed(step, poems.open_members, tones)
        rhyme = rules.rhyme[step]
        if rhyme is not None:
            # A fixed rhyme character outside every group that may rhyme cannot narrow them;
            # an optional rhyme's close of the other tone does not rhyme.
            segment, required = rhyme
            rhyming = (
                torch.ones_like(token, dtype=torch.bool)
                if required
                else ~rules.other[segment][token]
            )
            groups = poems.rhymes[:, segment]
            narrowed = groups & rules.table[token]
            narrows = narrowed.any(1, keepdim=True) & rhyming[:, None]
            poems.rhymes[:, segment] = torch.where(narrows, narrowed, groups)
            rules.linked(poems.rhymes, segment)
            poems.used_rhymes[rows[rhyming], token[rhyming]] = True
