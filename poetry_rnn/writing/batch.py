"""A batch of partial poems, one a row, and what each step of the decoding loop
(:mod:`poetry_rnn.writing.loop`) may emit in it under the plan's compiled constraints.

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

Repetition, softly: a character the poem holds already (but the user's repeats, and the second
of a doubling the poets attest) costs w_repeat (:attr:`Plan.repeat_weight`, a weight per form,
:data:`poetry_rnn.writing.plans.REPEAT_RATES`) off its logit, so that the model repeats about as
often as the poets in the form; a scene word the model wants enough still comes twice.

对仗: while writing the second line of a pattern's parallel pair (a 律诗's middle couplets;
``parallel``), each character gets a logit bonus for pairing with the first line's character at
its position, in both ways.

Free writing keeps every line whole: punctuation only after a Han character, the end only after
a mark that may end a poem (。？！) or at the length limit; the repetition rules apply too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.model.charrnn import State
from poetry_rnn.text import PUNCTUATION, split_lines
from poetry_rnn.writing.constraints import FREE, Constraints, VocabTables, _narrowed
from poetry_rnn.writing.plans import Plan, Slot

MAX_REPEATS = 2
#: w_parallel: the logit bonus for a character per unit of its pair score with the character
#: facing it; whole-line search adds the same weight times the couplet's summed pair scores.
#: Chosen so that the middle couplets' 对仗 comes near the poets'
#: (docs/experiments/report.md): 1.0 wrote nearly twice theirs.
PARALLEL_WEIGHT = 0.5


def _fixed_in_line(plan: Plan, vocab: Vocab, line: int) -> list[int]:
    """The ids of the characters ``plan`` fixes in ``line``: in the line from its first step."""
    return [
        vocab.index.get(s.fixed, vocab.unk_id)
        for s in plan.slots or () if s.line == line and s.fixed and s.position
    ]  # fmt: skip


@dataclass
class PartialPoems:
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
    # (rows,): the times each poem said a chosen character again (as repeats.repeated_chars
    # counts them, but for repeat_ok)
    repeats: torch.Tensor
    finished: torch.Tensor  # (rows,): the poems that have ended

    @classmethod
    def start(
        cls, plan: Plan, vocab: Vocab, rules: Constraints, logits: torch.Tensor, state: State
    ) -> PartialPoems:
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

    def take(self, rows: torch.Tensor) -> PartialPoems:
        """The poems of ``rows`` (indices, repeats allowed), each row's state with it."""
        state_rows = rows.to(self.state[0].device)
        return PartialPoems(
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


def allowed_tokens(
    tables: VocabTables, plan: Plan, slot: Slot | None, poems: PartialPoems, last: bool
) -> torch.Tensor:
    """The tokens each row may take at this step, constraints applied by importance."""
    n = len(poems.tokens)
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
        _answer(tables, rules, poems, rules.answering[step]) if step in rules.answering else []
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


def _answer(
    tables: VocabTables, rules: Constraints, poems: PartialPoems, k: int
) -> list[torch.Tensor]:
    """What position ``k`` of a 对联's answering 联 may take, as constraints (most important
    first): no character of the other 联 nor of its own before it, but where the other
    repeats a character of an earlier position, the character its own took there; and
    before a position the other doubles (风风), a character poets double."""
    n = len(poems.tokens)
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


def biased(
    tables: VocabTables, logits: torch.Tensor, plan: Plan, slot: Slot | None, poems: PartialPoems
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
        rows = torch.arange(len(logits))
        said = (poems.counts > 0) & tables.han & ~poems.repeat_ok
        said[rows, poems.previous] &= ~tables.doubles_ok[poems.previous]
        logits -= weight * said.float()
    for char, value in (bonus or {}).items():
        logits[:, tables.ids[char]] += value
    if facing is not None:
        step = poems.tokens.shape[1]
        rules = poems.rules  # a given 下联 the 上联 answers comes after it
        firsts = (
            poems.tokens[:, facing]
            if facing < step
            else rules.fixed_ids[facing].expand(len(poems.tokens))
        )
        logits += PARALLEL_WEIGHT * tables.pair_bonus(firsts)
    return logits


def record(
    vocab: Vocab,
    tables: VocabTables,
    plan: Plan,
    slot: Slot | None,
    token: torch.Tensor,
    poems: PartialPoems,
) -> None:
    """Count the chosen tokens; note their tones and, at a rhyme, narrow the groups."""
    rows, step = torch.arange(len(token)), poems.tokens.shape[1]
    doubling = (token == poems.previous) & tables.doubles_ok[token]
    poems.tokens = torch.cat([poems.tokens, token[:, None]], dim=1)
    poems.previous = token
    if slot is None or slot.fixed is None:
        again = (poems.counts[rows, token] > 0) & tables.han[token] & ~doubling
        poems.repeats += (again & ~poems.repeat_ok[token]).float()
        poems.counts.index_put_((rows, token), torch.ones_like(token, dtype=torch.int16),
                                accumulate=True)  # fmt: skip
        below_limit = poems.counts[rows, token] < MAX_REPEATS
        poems.not_overused[rows, token] = below_limit | poems.repeat_ok[token]
    poems.in_line[rows, token] = True
    ends_line = tables.punctuation[token]
    if bool(ends_line.any()):  # a full-width masked_fill_ costs more than this test
        poems.in_line[ends_line] = False
    if slot is not None and slot.position == 0 and slot.line != -1:
        poems.in_line[:, _fixed_in_line(plan, vocab, slot.line + 1)] = True
    if slot is None or slot.position == 0:
        return
    rules = poems.rules
    if rules.varies(step):  # the first tones written choose the family's member
        tones = tables.tone_codes[token]
        poems.open_members = rules.narrowed(step, poems.open_members, tones)
    rhyme = rules.rhyme[step]
    if rhyme is not None:
        # A fixed rhyme character outside every group that may rhyme cannot narrow them;
        # an optional rhyme's close of the other tone does not rhyme.
        segment, required = rhyme
        rhyming = (
            torch.ones_like(token, dtype=torch.bool) if required else ~rules.other[segment][token]
        )
        groups = poems.rhymes[:, segment]
        narrowed = groups & rules.table[token]
        narrows = narrowed.any(1, keepdim=True) & rhyming[:, None]
        poems.rhymes[:, segment] = torch.where(narrows, narrowed, groups)
        rules.linked(poems.rhymes, segment)
        poems.used_rhymes[rows[rhyming], token[rhyming]] = True
