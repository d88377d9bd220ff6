"""The pipeline on the full chinese-poetry corpus (skipped without it, never under CI)."""

import re

import numpy as np
import pytest

from poetry_rnn.data import CorpusOptions, EncodedCorpus, prepare_corpus
from poetry_rnn.text import HAN_RANGES, PUNCTUATION


@pytest.fixture(scope="module")
def tang(shared_corpus, tmp_path_factory) -> EncodedCorpus:
    cache = tmp_path_factory.mktemp("cache")
    return prepare_corpus(shared_corpus, CorpusOptions(), cache_dir=cache, progress=False)


def test_at_least_50000_tang_poems_are_kept(tang):
    assert tang.stats["poems_read"] > 55_000
    assert tang.stats["poems_kept"] >= 50_000
    assert tang.stats["oov_share"] < 0.001


def test_encoded_data_holds_only_han_characters_and_five_marks(tang):
    used = np.unique(tang.tokens)
    chars = [tang.vocab.tokens[i] for i in used if i >= 4]
    allowed = re.compile(f"[{HAN_RANGES}{PUNCTUATION}]")
    assert all(allowed.fullmatch(char) for char in chars)
    assert set(PUNCTUATION) <= set(chars)
    rows = np.arange(len(tang.tokens))
    assert (tang.tokens[rows, 0] == tang.vocab.start_id).all()


def test_jingyesi_in_the_corpus_reading(tang):
    assert "床前看月光，疑是地上霜。举头望山月，低头思故乡。" in tang.texts()


def test_bucketing_wastes_far_less_than_the_textbook_layout(tang):
    share = tang.stats["padding_share"]
    assert share["textbook_125"] > 0.5 and share["bucketed_128"] < 0.06
