"""The pipeline on the full chinese-poetry corpus (skipped without it, never under CI)."""

import re
from pathlib import Path

import numpy as np
import pytest

from poetry_rnn.data import CorpusOptions, EncodedCorpus, format_stats, prepare_corpus
from poetry_rnn.text import HAN_RANGES, PUNCTUATION

README = Path(__file__).resolve().parents[1] / "README.md"
#: Lines of the data report that depend on the machine or the paths, not on the corpus.
_LOCAL = ("corpus ", "cache ", "seconds ")
#: The full corpus, read once: these tests run on one pytest-xdist worker.
pytestmark = [pytest.mark.corpus, pytest.mark.xdist_group("full corpus")]


@pytest.fixture(scope="module")
def tang(shared_corpus, tmp_path_factory) -> EncodedCorpus:
    cache = tmp_path_factory.mktemp("cache")
    return prepare_corpus(shared_corpus, CorpusOptions(), cache_dir=cache, progress=False)


def test_at_least_50000_tang_poems_are_kept(tang):
    assert tang.stats["poems_read"] > 55_000
    assert tang.stats["poems_kept"] >= 50_000
    assert tang.stats["oov_share"] < 0.001


def test_encoded_data_holds_only_han_characters_and_five_marks(tang):
    chars = [tang.vocab.tokens[i] for i in np.unique(tang.chars) if i >= 4]
    allowed = re.compile(f"[{HAN_RANGES}{PUNCTUATION}]")
    assert all(allowed.fullmatch(char) for char in chars)
    assert set(PUNCTUATION) <= set(chars)
    assert (tang.batch(np.arange(len(tang)))[:, 0] == tang.vocab.start_id).all()


def test_jingyesi_in_the_corpus_reading(tang):
    assert "床前看月光，疑是地上霜。举头望山月，低头思故乡。" in tang.texts()


def test_bucketing_wastes_far_less_than_the_textbook_layout(tang):
    share = tang.stats["padding_share"]
    assert share["textbook_125"] > 0.5 and share["bucketed_128"] < 0.06


def test_the_readme_shows_the_data_report_as_the_pipeline_prints_it(tang):
    readme = README.read_text(encoding="utf-8")
    shown = readme.split("$ python -m poetry_rnn.data --corpus path/to/chinese-poetry")[1]
    shown_lines = shown.split("```")[0].strip().splitlines()[1:]  # the command line itself
    printed = format_stats(tang.stats).splitlines()
    assert [line for line in shown_lines if not line.startswith(_LOCAL)] == [
        line for line in printed if not line.startswith(_LOCAL)
    ]
