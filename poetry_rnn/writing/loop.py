"""The one decoding loop: a batch of poems from a CharRNN, one token per step, constrained.

A :class:`Plan` (:mod:`poetry_rnn.writing.plans`) says what every step may emit. With a pattern,
each step is a slot: a character of line i at position p (fixed, such as a start or acrostic
character, or chosen), the line's mark, or the end. Without one the model writes freely until it
ends the poem. The pattern's constraints are compiled once per request
(:class:`poetry_rnn.writing.constraints.Constraints`); the loop applies them
(:mod:`poetry_rnn.writing.batch`) and asks prosody nothing. Each token's log-likelihood under the
model at temperature 1 is recorded while sampling. Rows that took the same tokens from one state
(say while a line's fixed characters are written) step an int8 model once (:meth:`Decoder._step`).
The user's own text (the context, fixed characters) is printed as given.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.model.charrnn import CharRNN, State
from poetry_rnn.writing.batch import PartialPoems, allowed_tokens, biased, record
from poetry_rnn.writing.constraints import Constraints, VocabTables
from poetry_rnn.writing.plans import Plan, Slot
from poetry_rnn.writing.sampling import Sampling, draw


class Decoder:
    """The decoding loop of one model over a vocabulary: primes it with a plan's prefix and
    takes a plan's steps in a batch of poems; reusable across calls."""

    def __init__(self, model: CharRNN, vocab: Vocab) -> None:
        self.model = model
        self.vocab = vocab
        self.tables = VocabTables(vocab)

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

    def _poems(self, plan: Plan, n: int) -> PartialPoems:
        rules = Constraints(plan, self.tables)
        return PartialPoems.start(plan, self.vocab, rules, *self._prime(plan, n))

    def _texts(self, plan: Plan, poems: PartialPoems) -> list[str]:
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
        poems: PartialPoems,
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
                allowed = allowed_tokens(self.tables, plan, slot, poems, last)
                logits = biased(self.tables, poems.logits, plan, slot, poems)
                token = draw(logits, allowed, sampling, generator)
            token = token.masked_fill(poems.finished, vocab.pad_id)
            chosen = poems.logits.float().log_softmax(-1).gather(1, token[:, None]).squeeze(1)
            poems.loglik += chosen.masked_fill(poems.finished, 0.0)
            record(self.vocab, self.tables, plan, slot, token, poems)
            poems.finished |= token == vocab.end_id
            if poems.finished.all():
                break
            self._step(poems, token)

    def _step(self, poems: PartialPoems, token: torch.Tensor) -> None:
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
