"""The pipeline on the full chinese-poetry corpus (skipped without it, never under CI)."""

import re
from pathlib import Path

import numpy as np
import pytest

from poetry_rnn.app.data_cli import format_stats
from poetry_rnn.corpus.data import CorpusOptions, EncodedCorpus, prepare_corpus
from poetry_rnn.errors import run_cli
from poetry_rnn.poetics import build_tables, tables
from poetry_rnn.text import HAN_RANGES, PUNCTUATION

DATA_PAGE = Path(__file__).resolve().parents[1] / "docs/data.md"
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


def test_the_data_page_shows_the_data_report_as_the_pipeline_prints_it(tang):
    page = DATA_PAGE.read_text(encoding="utf-8")
    shown = page.split("$ python -m poetry_rnn.data --corpus path/to/chinese-poetry")[1]
    shown_lines = shown.split("```")[0].strip().splitlines()[1:]  # the command line itself
    printed = format_stats(tang.stats).splitlines()
    assert [line for line in shown_lines if not line.startswith(_LOCAL)] == [
        line for line in printed if not line.startswith(_LOCAL)
    ]


# Minutes on a 2-core machine: its own worker, beside the rest of the suite.
@pytest.mark.xdist_group("shipped tables")
def test_the_shipped_tables_are_rebuilt_from_the_corpus_byte_for_byte(
    shared_corpus, tmp_path, capsys
):
    argv = ["--corpus", str(shared_corpus), "--out-dir", str(tmp_path)]
    assert run_cli(build_tables.main, argv) == 0
    rebuilt = sorted(path.name for path in tmp_path.iterdir())
    assert rebuilt == [
        "coherence.npz",
        "doubles.json",
        "parallel.json",
        "rhymed.json",
        "tones.json",
    ]
    for name in rebuilt:
        shipped = tables.PACKAGE_DIR / name
        assert (tmp_path / name).read_bytes() == shipped.read_bytes(), name
    report = capsys.readouterr().out  # the figures docs/prosody.md and docs/coherence.md give
    assert "\n平: 2333\n仄: 3143\neither: 101\n" in report
    assert "\nrhymed: poems of one group: 203723\nrhymed: characters: 2411\n" in report
    assert "\nrhymed: memberships dropped: 1861\n" in report
    assert "\ncoherence: characters: 4147\n" in report
