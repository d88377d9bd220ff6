"""The constraints of one request, compiled once from its plan's pattern and the vocabulary.

:class:`VocabTables` holds what the rules know of every token, as tensors over the vocabulary,
made once per composer. :class:`Constraints` compiles a plan against them once per request:
for every step, the tone each member of the pattern's family wants (a mask), the rhyme segment
it rhymes in and whether it must, and the step it faces in a parallel couplet. The decoding
loop applies them and keeps, per row, the family members still open (the first tones written
choose the opening) and the rhyme groups each segment may still rhyme in; it asks
the rules (:mod:`poetry_rnn.poetics.tones`, :mod:`poetry_rnn.poetics.rhymes`) nothing mid-poem.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.poetics.coherence import associations
from poetry_rnn.poetics.parallelism import parallel_pairs
from poetry_rnn.poetics.repeats import attested_doubles
from poetry_rnn.poetics.rhymes import (
    CILIN,
    cilin_section,
    cilin_tone,
    heard_rhyme_groups,
    rhyming_groups,
)
from poetry_rnn.poetics.tones import LEVEL, OBLIQUE, tone_of
from poetry_rnn.text import PUNCTUATION, is_han, standard_form
from poetry_rnn.writing.plans import Plan, step_of

#: The marks a poem may end with: cleaned training poems end with one of them.
FINAL_MARKS = "。？！"
#: The id of the vocabulary's unknown token (poetry_rnn.corpus.vocab).
UNKNOWN_ID = Vocab.unk_id
#: A wanted tone as a code: none (free), 平, 仄.
FREE, LEVEL_CODE, OBLIQUE_CODE = 0, 1, 2
_CODES = {LEVEL: LEVEL_CODE, OBLIQUE: OBLIQUE_CODE, None: FREE}


class VocabTables:
    """Per-token facts the constraints read, as tensors over the vocabulary."""

    def __init__(self, vocab: Vocab) -> None:
        self.tokens = vocab.tokens
        self.ids = vocab.index
        self.han = torch.tensor([is_han(t) for t in self.tokens])
        # What the decoder writes: Han characters but the variants whose standard form the
        # package writes instead (poetry_rnn.text.variants; a vocabulary of an older corpus
        # holds both). The user's own characters are simplified to standard forms already.
        self.written = self.han & torch.tensor([standard_form(t) == t for t in self.tokens])
        tones = [tone_of(t) if is_han(t) else None for t in self.tokens]
        self.level = torch.tensor([tone == LEVEL for tone in tones])
        self.oblique = torch.tensor([tone == OBLIQUE for tone in tones])
        # Each token's tone as a code, and what each wanted tone allows ("either" characters
        # always), by code: FREE, LEVEL_CODE, OBLIQUE_CODE.
        self.tone_codes = LEVEL_CODE * self.level.long() + OBLIQUE_CODE * self.oblique.long()
        self.tone_masks = torch.stack([torch.ones_like(self.level), ~self.oblique, ~self.level])
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
        (:func:`poetry_rnn.poetics.rhymes.heard_rhyme_groups`); made once per book."""
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


class Constraints:
    """A plan's pattern compiled against the vocabulary tables, once per request: per step,
    the tone each family member wants, the rhyme segment and whether it must rhyme, and the
    step its character faces in a parallel couplet; per rhyme segment, its masks.

    A step that rhymes takes its tone from its segment (a level rhyme of shi), not from the
    tone masks. Where the members disagree on rhyming (a shi's line 1, 首句入韵 or not), the
    rhyme is optional: a close that may be read in the segment's tone rhymes, one of the other
    tone need not.
    """

    def __init__(self, plan: Plan, tables: VocabTables) -> None:
        family, slots = plan.pattern, plan.slots or ()
        members = family.patterns if family is not None else ()
        segments = family.segments if family is not None else ()
        self.tables = tables
        self.table = tables.rhymes(plan.rhyme_book)  # (vocabulary, groups)
        self.codes = torch.zeros(len(slots), max(1, len(members)), dtype=torch.long)
        self.rhyme: list[tuple[int, bool] | None] = [None] * len(slots)
        self.facing: list[int | None] = [None] * len(slots)
        facing = dict(((b, a) for a, b in family.parallel)) if family and plan.parallel else {}
        # The token each fixed step writes (a character the vocabulary lacks as <unk>; it is
        # printed as given: ``unknown``), -1 at a chosen step.
        self.fixed_ids = torch.tensor(
            [-1 if s.fixed is None else tables.ids.get(s.fixed, UNKNOWN_ID) for s in slots],
            dtype=torch.long,
        )
        self.unknown = {
            step: s.fixed for step, s in enumerate(slots) if s.fixed and s.fixed not in tables.ids
        }
        self._answer(plan, tables)
        if self.answers_first and plan.parallel:  # the 上联 faces a given 下联 after it
            facing |= {a: b for a, b in family.parallel}
        for step, slot in enumerate(slots):
            if slot.position == 0 or family is None:
                continue
            ends = slot.position == family.lengths[slot.line]
            rhymes = [m.lines[slot.line].rhyme if ends else None for m in members]
            segment = next((r for r in rhymes if r is not None), None)
            if segment is not None:
                self.rhyme[step] = (segment, None not in rhymes) if plan.rhyme else None
            elif plan.tone:
                tones = [_CODES[m.tone(slot.line, slot.position)] for m in members]
                self.codes[step] = torch.tensor(tones)
            if slot.line in facing:
                self.facing[step] = step_of(family, facing[slot.line], slot.position)
        # Per segment: the characters of its tone (strictly), those of the other, and the
        # groups with enough of them for its required rhymes.
        self.members = max(1, len(members))
        self.rhyming = [tables.level if tone == LEVEL else tables.oblique for tone in segments]
        self.other = [tables.oblique if tone == LEVEL else tables.level for tone in segments]
        self.groups, self.roomy = [], []
        for segment, chars in enumerate(self.rhyming):
            needed = sum(r == (segment, True) for r in self._every_rhyme(family))
            counts = (self.table & chars[:, None]).sum(0)
            self.groups.append(counts >= min(needed, int(counts.max())))
            self.roomy.append(counts > needed)
        # Under 词林正韵 a segment rhymes in groups of its own tone class (平, 仄 or 入), and
        # the segments of one 部 (西江月's 平 and 叶仄 rhymes: Pattern.sections) stay in it.
        self.kin: list[list[int]] = [[] for _ in segments]
        self.section = torch.zeros(0, 0, dtype=torch.bool)  # (groups, groups): one 部
        if plan.rhyme_book == CILIN and family is not None:
            names = rhyming_groups(CILIN)
            for segment, tone in enumerate(segments):
                own = self.groups[segment] & torch.tensor([cilin_tone(n) == tone for n in names])
                self.groups[segment] = own if bool(own.any()) else self.groups[segment]
            sections = members[0].sections
            self.kin = [[t for t in range(len(segments)) if t != s and sections[t] == sections[s]]
                        for s in range(len(segments))]  # fmt: skip
            parts = [cilin_section(name) for name in names]
            self.section = torch.tensor([[a == b for b in parts] for a in parts])

    def linked(self, rhymes: torch.Tensor, segment: int) -> None:
        """Narrow, in place, the groups ``rhymes[..., s, :]`` of each segment of ``segment``'s
        部 to that 部, as ``segment``'s own groups stand; a row it would empty keeps its own."""
        for other in self.kin[segment]:
            heard = rhymes[..., segment, :].float() @ self.section.float() > 0
            narrowed = rhymes[..., other, :] & heard
            keep = narrowed.any(-1, keepdim=True)
            rhymes[..., other, :] = torch.where(keep, narrowed, rhymes[..., other, :])

    def _answer(self, plan: Plan, tables: VocabTables) -> None:
        """A 对联's answering 联: the 下联, or the 上联 where the plan gives the 下联 whole.
        ``answering[step]``: its position in the answering 联 (0-based); ``own_steps``,
        ``other_steps``: the steps of each 联 in order; ``other_ids``: the other 联's tokens
        where the plan gives it whole (each character the vocabulary lacks a negative id of its
        own, so that its repeats are seen), else None (it is written first)."""
        family, slots = plan.pattern, plan.slots or ()
        self.answering: dict[int, int] = {}
        self.answers_first = False
        self.own_steps = self.other_steps = torch.zeros(0, dtype=torch.long)
        self.other_ids: torch.Tensor | None = None
        if family is None or family.kind != "couplet" or not family.parallel or not slots:
            return
        half = len(family.lengths) // 2

        def steps(lines: range) -> list[int]:
            return [step_of(family, line, p) for line in lines
                    for p in range(1, family.lengths[line] + 1)]  # fmt: skip

        first, second = steps(range(half)), steps(range(half, 2 * half))
        given = [all(slots[s].fixed for s in steps) for steps in (first, second)]
        self.answers_first = given[1] and not given[0]
        own, other = (first, second) if self.answers_first else (second, first)
        self.answering = {step: k for k, step in enumerate(own)}
        self.own_steps, self.other_steps = torch.tensor(own), torch.tensor(other)
        if all(slots[s].fixed for s in other):
            chars = [str(slots[s].fixed) for s in other]
            unknown = list(dict.fromkeys(c for c in chars if c not in tables.ids))
            self.other_ids = torch.tensor(
                [tables.ids[c] if c in tables.ids else -1 - unknown.index(c) for c in chars]
            )

    @staticmethod
    def _every_rhyme(family) -> list[tuple[int, bool]]:
        """Every rhyme position of the whole pattern (not only the plan's slots), as (segment,
        whether every member rhymes there)."""
        if family is None:
            return []
        every = []
        for line in range(len(family.lengths)):
            rhymes = [m.lines[line].rhyme for m in family.patterns]
            segment = next((r for r in rhymes if r is not None), None)
            if segment is not None:
                every.append((segment, None not in rhymes))
        return every

    def wanted(self, step: int, open_members: torch.Tensor) -> torch.Tensor:
        """(rows,) the tone code each row wants at ``step``: the one its open members (rows,
        members) all want; FREE where they differ."""
        codes = self.codes[step]
        return torch.where(
            ~(open_members & (codes != LEVEL_CODE)).any(1),
            LEVEL_CODE,
            torch.where(~(open_members & (codes != OBLIQUE_CODE)).any(1), OBLIQUE_CODE, FREE),
        )

    def narrowed(self, step: int, open_members: torch.Tensor, tones: torch.Tensor) -> torch.Tensor:
        """The members still open once each row wrote a token of tone code ``tones`` at
        ``step``: those wanting that tone or none there, where any is; else as they were."""
        codes = self.codes[step]
        fits = (codes[None, :] == tones[:, None]) | (codes[None, :] == FREE)
        narrowed = open_members & fits
        keep = narrowed.any(1, keepdim=True) & (tones != FREE)[:, None]
        return torch.where(keep, narrowed, open_members)

    def varies(self, step: int) -> bool:
        """Whether the members want different tones at ``step``: writing it chooses."""
        codes = self.codes[step]
        return bool((codes != codes[0]).any())
