"""Parallelism (对仗): how strongly the characters facing each other mark a middle couplet.

In a 律诗 the two lines of each middle couplet (颔联, 颈联) correspond
position by position; a table derived from the poets' 律诗 scores how strongly a pair of
characters at the same position marks a middle couplet rather than a first or last one.
"""

from __future__ import annotations

import functools

from poetry_rnn.errors import PoetryError
from poetry_rnn.forms import Form
from poetry_rnn.poetics.tables import PARALLEL_TABLE, read_table
from poetry_rnn.text import PUNCTUATION


def parallel_couplets(form: Form) -> list[int]:
    """The 0-based first lines of the couplets that 对仗: 颔联 and 颈联 (2, 4) of a 律诗; none
    of a 绝句."""
    return [2, 4] if form.lines == 8 else []


@functools.cache
def parallel_pairs() -> dict[str, float]:
    """Each parallel pair (its two characters in code-point order) → its score, above 0."""
    (scores,) = read_table(PARALLEL_TABLE, "scores")
    return {
        pairs[i : i + 2]: float(score)
        for score, pairs in scores.items()
        for i in range(0, len(pairs), 2)
    }


def pair_score(a: str, b: str) -> float:
    """How strongly ``a`` facing ``b`` (either way round) marks a middle couplet: the log of
    how much more often the poets' middle couplets pair them than their first and last
    couplets do (see ``poetry_rnn.poetics.build_association_tables``); 0 for a pair the table
    lacks."""
    return parallel_pairs().get(min(a, b) + max(a, b), 0.0)


def parallelism(first: str, second: str) -> float:
    """The 对仗 score of a couplet: the mean over positions of :func:`pair_score` of the two
    lines' characters there, unknown pairs (and a character facing itself) 0.

    The lines must have the same number of characters (marks left out).
    """
    first, second = (line.rstrip(PUNCTUATION) for line in (first, second))
    if len(first) != len(second) or not first:
        raise PoetryError("the lines of a couplet must have the same, non-zero length")
    return sum(pair_score(a, b) for a, b in zip(first, second, strict=True)) / len(first)
