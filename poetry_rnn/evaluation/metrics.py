"""The measures of docs/metrics.md: perplexity on poem texts, and the figures of a set of
poems — format, rhyme under both books, tones, unattested 叠字, copying, distinct n-grams,
coherence and season or time clashes — the
same for generated and for real poems, so that every figure of the model stands beside the
poets'."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from poetry_rnn.corpus.batching import headed_stream, padded_rows
from poetry_rnn.corpus.cleaning import clean_texts, clean_title
from poetry_rnn.corpus.data import encode_poems
from poetry_rnn.corpus.sources import DEFAULT_INCLUDE, read_corpus
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError
from poetry_rnn.forms import FORMS, Form, form_of, get_form
from poetry_rnn.model.charrnn import CharRNN, total_nll
from poetry_rnn.poetics.coherence import clashes, coherences
from poetry_rnn.poetics.parallelism import parallel_couplets, parallelism
from poetry_rnn.poetics.prosody import check_format, check_rhyme, tone_conformance
from poetry_rnn.poetics.repeats import (
    repeated_chars,
    repeated_in_line,
    repeated_words,
    unattested_doubles,
)
from poetry_rnn.poetics.rhymes import (
    DEFAULT_RHYME_BOOK,
    RHYME_BOOKS,
    book_groups,
    unrhymed_level_opening,
)
from poetry_rnn.text import HAN_RANGES, split_lines

log = logging.getLogger("poetry_rnn.evaluation.metrics")

SCORING_TOKENS = 4096  # rows × width of one perplexity batch (bounds the logits' memory)
OOV_WARNING = 0.01  # share of unknown characters above which a perplexity is warned about
_HAN_RUN = re.compile(f"[{HAN_RANGES}]+")


# --- reading ------------------------------------------------------------------------------


def read_cleaned(
    corpus: str | Path, include: tuple[str, ...] = DEFAULT_INCLUDE, progress: bool = False
) -> list[str]:
    """The cleaned, de-duplicated poem texts of ``corpus`` (no form, author or length
    filters)."""
    return read_titled(corpus, include, progress)[1]


def read_titled(
    corpus: str | Path, include: tuple[str, ...] = DEFAULT_INCLUDE, progress: bool = False
) -> tuple[list[str], list[str]]:
    """The cleaned titles and poem texts of ``corpus``, as :func:`read_cleaned` reads them."""
    poems, _, _ = read_corpus(corpus, include, progress=progress)
    kept, texts, _ = clean_texts(poem.text for poem in poems)
    if not texts:
        raise PoetryError(f"no poems left after cleaning {corpus} ({len(poems)} read)")
    return [clean_title(poems[i].title) for i in kept], texts


# --- perplexity ---------------------------------------------------------------------------


def _scoring_batches(lengths: Sequence[int], budget: int = SCORING_TOKENS) -> list[list[int]]:
    """Indices grouped by length, each group at most ``budget`` tokens once padded (a longer
    poem goes alone)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        if current and (len(current) + 1) * (lengths[index] + 2) > budget:
            batches.append(current)
            current = []
        current.append(index)
    return [*batches, current] if current else batches


def perplexity(
    model: CharRNN,
    vocab: Vocab,
    texts: Sequence[str],
    progress: bool = False,
    titles: Sequence[str] | None = None,
) -> dict:
    """Perplexity of ``model`` on cleaned poem ``texts`` (docs/metrics.md#perplexity).

    Every poem is scored whole as ``<s>`` + characters + ``</s>`` (read in the model's own
    direction): the characters and the end token are predicted, the start token and padding
    are not. With ``titles`` (a model trained with them) a poem is scored given its title, as
    ``<s>`` title ``<sep>`` + characters + ``</s>``: the title and ``<sep>`` are not
    predicted either. Characters outside ``vocab`` are scored as ``<unk>`` and counted (``oov``,
    ``oov_rate`` of the characters); a high rate is warned about, since the unknown token is
    easy to predict and flatters the figure.
    """
    if not texts:
        raise PoetryError("no poems to score")
    device = next(model.parameters()).device
    chars, offsets = encode_poems(texts, vocab)
    rows_chars, rows_offsets, header = _rows(chars, offsets, vocab, titles)
    lengths = np.diff(rows_offsets)
    widest = int(lengths.max()) + 2  # nothing is cut
    groups = _scoring_batches(lengths.tolist())
    batches = (
        torch.from_numpy(
            padded_rows(rows_chars, rows_offsets, rows, vocab, widest, model.config.direction)
        ).to(device)
        for rows in tqdm(groups, desc="scoring", disable=not progress)
    )
    headers = (torch.from_numpy(header[rows]) for rows in groups)
    with torch.inference_mode():
        total, predicted = total_nll(model, batches, [vocab.pad_id], headers=headers)
    characters = sum(len(text) for text in texts)
    oov = int((chars == vocab.unk_id).sum())
    if oov / characters > OOV_WARNING:
        log.warning(
            "%.1f%% of the characters are not in the model's vocabulary: the perplexity "
            "flatters the model", 100 * oov / characters,
        )  # fmt: skip
    return {
        "poems": len(texts),
        "characters": characters,
        "tokens": predicted,
        "oov": oov,
        "oov_rate": oov / characters,
        "nll": total / predicted,
        "perplexity": math.exp(total / predicted),
    }


def _rows(
    chars: np.ndarray, offsets: np.ndarray, vocab: Vocab, titles: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stream to score, its offsets and each row's header length (0 without titles)."""
    if titles is None:
        return chars, offsets, np.zeros(len(offsets) - 1, dtype=np.int64)
    if vocab.sep_id is None:
        raise PoetryError("this model was not trained with titles")
    if len(titles) != len(offsets) - 1:
        raise PoetryError(f"{len(titles)} titles for {len(offsets) - 1} poems")
    title_chars, title_offsets = encode_poems(titles, vocab)
    return headed_stream(chars, offsets, title_chars, title_offsets, vocab.sep_id)


# --- metrics of a set of poems ------------------------------------------------------------


def ngrams(text: str, n: int) -> list[str]:
    """The ``n``-grams of consecutive Han characters in ``text``; none spans a line end."""
    return [run[i : i + n] for run in _HAN_RUN.findall(text) for i in range(len(run) - n + 1)]


def distinct(texts: Iterable[str], n: int) -> tuple[float | None, float | None]:
    """distinct-n: unique / all ``n``-grams, (inside a poem averaged over poems, across all).

    Poems without an ``n``-gram are left out of the average; None where there is none at all.
    """
    shares, seen, total = [], set(), 0
    for text in texts:
        grams = ngrams(text, n)
        if grams:
            shares.append(len(set(grams)) / len(grams))
            seen.update(grams)
            total += len(grams)
    if not total:
        return None, None
    return sum(shares) / len(shares), len(seen) / total


def couplet_parallelism(texts: Iterable[str], form: Form) -> tuple[float | None, float | None]:
    """The mean 对仗 score (:func:`poetry_rnn.poetics.parallelism.parallelism`) of the couplets that
    want it (a 律诗's 颔联 and 颈联), and of the other couplets, over the poems of ``form``'s shape.

    Each is None where there is no such couplet (the first for a 绝句) or no poem has the shape.
    """
    middle, other = [], []
    for text in texts:
        lines = split_lines(text)
        if len(lines) != form.lines or any(len(line) != form.chars for line in lines):
            continue
        for first in range(0, form.lines, 2):
            score = parallelism(lines[first], lines[first + 1])
            (middle if first in parallel_couplets(form) else other).append(score)
    return _mean_or_none(middle), _mean_or_none(other)


def _mean_or_none(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def corpus_lines(texts: Iterable[str]) -> set[str]:
    """Every line (without its punctuation) of the cleaned poem ``texts``."""
    return {line for text in texts for line in split_lines(text)}


def generation_metrics(
    texts: Sequence[str],
    form: str | Form,
    corpus_lines: Collection[str] | None = None,
    rhyme_book: str = DEFAULT_RHYME_BOOK,
) -> dict:
    """The metrics (docs/metrics.md) of poem ``texts`` written in (or meant for) ``form``.

    ``format_accuracy``: share of the poems; ``rhyme_rate``: share rhyming under
    ``rhyme_book`` (the book they were written under), ``rhyme_rate_by_book`` under each book;
    ``tone_conformance``: satisfied over checked even positions, all poems pooled;
    ``copy_rate``: share of the poems' lines found verbatim in ``corpus_lines`` (None without
    them); ``unattested_double_rate``: share of the poems doubling a character no poet
    doubles; ``line_repeat_rate``: share of the lines holding a character twice other than as
    a doubling; ``repeats_per_poem``: the times a character comes again in a poem, other than
    as an attested doubling (:func:`poetry_rnn.poetics.repeats.repeated_chars`), a poem on average;
    ``word_repeat_rate``: share of the poems saying a two-character word twice
    (:func:`poetry_rnn.poetics.repeats.repeated_words`), ``word_repeats_per_poem`` the words said
    again, a poem on average; ``unrhymed_opening_rate``: share of the poems
    whose first line ends 平 without rhyming; ``distinct_{1,2}_{poem,batch}``; ``coherence``:
    the mean whole-poem coherence (:func:`poetry_rnn.poetics.coherence.coherence`); ``clash_rate``:
    the share of poems with markers of two seasons or two times of day that poets keep apart.
    """
    form = get_form(form) if isinstance(form, str) else form
    book_groups(rhyme_book)  # rejects an unknown book
    if not texts:
        raise PoetryError("no poems to score")
    rhymed = {book: sum(check_rhyme(text, form, book) for text in texts) for book in RHYME_BOOKS}
    tones = [tone_conformance(text, form) for text in texts]
    satisfied = sum(poem_satisfied for poem_satisfied, _ in tones)
    checked = sum(poem_checked for _, poem_checked in tones)
    doubling = sum(bool(unattested_doubles(text)) for text in texts)
    lines = [line for text in texts for line in split_lines(text)]
    repeating = sum(bool(repeated_in_line(line)) for line in lines)
    saying_again = sum(bool(repeated_words(text)) for text in texts)
    chars_again = sum(len(repeated_chars(text)) for text in texts)
    words_again = sum(len(repeated_words(text)) for text in texts)
    opening = sum(unrhymed_level_opening(text, form, rhyme_book) for text in texts)
    copied = None if corpus_lines is None else sum(line in corpus_lines for line in lines)
    clashing = sum(clashes(text) is not None for text in texts)
    middle, other = couplet_parallelism(texts, form)
    metrics = {
        "form": form.name,
        "n": len(texts),
        "format_accuracy": sum(check_format(text, form) for text in texts) / len(texts),
        "rhyme_book": rhyme_book,
        "rhyme_rate": rhymed[rhyme_book] / len(texts),
        "rhyme_rate_by_book": {book: count / len(texts) for book, count in rhymed.items()},
        "tone_conformance": satisfied / checked if checked else None,
        "tone_satisfied": satisfied,
        "tone_checked": checked,
        "unattested_doubles": doubling,
        "unattested_double_rate": doubling / len(texts),
        "lines": len(lines),
        "line_repeat_rate": repeating / len(lines) if lines else None,
        "repeats_per_poem": chars_again / len(texts),
        "word_repeats": saying_again,
        "word_repeat_rate": saying_again / len(texts),
        "word_repeats_per_poem": words_again / len(texts),
        "unrhymed_opening_rate": opening / len(texts),
        "copied_lines": copied,
        "copy_rate": copied / len(lines) if copied is not None and lines else None,
        "coherence": sum(coherences(texts)) / len(texts),
        "clashes": clashing,
        "clash_rate": clashing / len(texts),
        "parallelism_middle": middle,
        "parallelism_other": other,
    }
    for n in (1, 2):
        metrics[f"distinct_{n}_poem"], metrics[f"distinct_{n}_batch"] = distinct(texts, n)
    return metrics


# --- real poems ---------------------------------------------------------------------------


def corpus_metrics(texts: Iterable[str], forms: Sequence[str] = tuple(FORMS)) -> dict[str, dict]:
    """The metrics of real poems, per form: the cleaned ``texts`` whose lines have the form's
    shape (as ``--form`` selects them for training), whatever punctuation ends the lines."""
    groups: dict[str, list[str]] = {name: [] for name in forms}
    for text in texts:
        form = form_of(text)
        if form is not None and form.name in groups:
            groups[form.name].append(text)
    if not any(groups.values()):
        raise PoetryError(f"no poems of the form {' or '.join(forms)} in the corpus")
    return {
        name: generation_metrics(group, name) if group else {"form": name, "n": 0}
        for name, group in groups.items()
    }
