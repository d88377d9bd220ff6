"""Composing poems: a plan decoded by token sampling or by whole-line search.

The one decoding loop (:class:`poetry_rnn.writing.loop.Decoder`) takes a plan's steps in a batch
of poems under its compiled constraints (:mod:`poetry_rnn.writing.batch`). Two ways to decode a
form (the plan's ``search``). Token sampling draws each step's token and moves on. Whole-line
search (:class:`Search`, the default) keeps ``beams`` partial poems: for each line it samples
``candidates`` lines from every kept poem under the same constraints, all rows in one batch,
scores each poem so far — the forward model's log-likelihood of its tokens at temperature 1,
recorded while sampling, plus the backward model's log-likelihood of it read from its end
(where the composer has one), plus the 对仗 of its finished middle couplets, plus ``coherence``
times its characters times its coherence (:mod:`poetry_rnn.poetics.coherence`), less w_repeat
for each character said again (:attr:`Plan.repeat_weight`; as the poets in the form repeat) —
and keeps the best ``beams`` distinct ones, each row's constraint and LSTM state with it. Where
coherence is on, a poem that marks two seasons or two times of day the poets keep apart (a
clash) is kept only where too few others are left. Free writing always samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError
from poetry_rnn.model.charrnn import CharRNN
from poetry_rnn.poetics.coherence import clashes, coherence_of
from poetry_rnn.poetics.parallelism import parallelism
from poetry_rnn.text import split_lines
from poetry_rnn.writing.batch import PARALLEL_WEIGHT, PartialPoems
from poetry_rnn.writing.loop import Decoder
from poetry_rnn.writing.plans import MAX_SEARCH_ROWS, Plan, _lines
from poetry_rnn.writing.sampling import Sampling

MAX_FREE_CHARS = 120
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


class Composer(Decoder):
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
        super().__init__(model, vocab)
        self.backward = backward
        self.backward_weight = backward_weight

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

    def _score(self, plan: Plan, poems: PartialPoems, texts: list[str]) -> torch.Tensor:
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
