"""The critic: the features it counts, the fit that tells a model's poems from the poets', the
search scoring poems exactly as the fit does, and the build from a corpus."""

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from poetry_rnn import critic as critic_module
from poetry_rnn.build_critic import (
    area_under_curve,
    build_critic,
    critic_npz,
    features,
    fit,
    log_odds,
)
from poetry_rnn.controls import Controls
from poetry_rnn.critic import BUCKETS, Critic, critic
from poetry_rnn.errors import PoetryError
from poetry_rnn.generate import PoetryGenerator
from poetry_rnn.text import is_han

FIXTURE_CORPUS = Path(__file__).parent / "fixtures" / "corpus"
POETS = [
    "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",
    "千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。",
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
    "红豆生南国，春来发几枝。愿君多采撷，此物最相思。",
]
#: The poets' poems as a model that loves 处 and 里 would write them.
MODEL = [
    "白日处山尽，黄河里海流。欲穷千里处，更上一层楼。",
    "千山处飞绝，万里人踪灭。孤舟处笠翁，独钓里江雪。",
    "床前处月光，疑是里上霜。举头处明月，低头里故乡。",
    "红豆处南国，春来里几枝。愿君处采撷，此物里相思。",
]


@pytest.fixture(scope="module")
def generator():
    return PoetryGenerator.from_pretrained()


def test_features_are_characters_pairs_within_lines_and_repeats():
    chars, pairs, repeats = features("山月照江水，江山入夜深。")
    assert chars == list("山月照江水江山入夜深")
    # No pair across the mark (水江).
    assert pairs == [("山", "月"), ("月", "照"), ("照", "江"), ("江", "水"),
                     ("江", "山"), ("山", "入"), ("入", "夜"), ("夜", "深")]  # fmt: skip
    assert repeats == 2  # 江 and 山 of the second line stand in the first
    assert features("山山，水水。")[2] == 0  # a doubling within a line is no repeat


def test_the_fit_learns_what_the_model_overuses():
    found = fit(POETS, MODEL, steps=60, l2=1e-4)
    weight = dict(zip(found.chars, found.unigram.tolist(), strict=True))
    assert weight["处"] < 0 and weight["里"] < 0
    assert weight["鸟"] > 0 and weight["明"] > 0  # the poets' characters the model replaced
    assert area_under_curve(log_odds(found, POETS), log_odds(found, MODEL)) == 1.0


def test_the_area_under_the_curve_counts_ties_half():
    assert area_under_curve(torch.tensor([2.0, 1.0]), torch.tensor([0.0, 1.0])) == 0.875
    assert area_under_curve(torch.tensor([0.0]), torch.tensor([1.0])) == 0.0


def test_the_search_scores_a_poem_as_the_fit_does(generator):
    found = fit(POETS, MODEL, steps=60, l2=1e-4)
    found = replace(found, repeat=-0.7)  # a weight for every feature
    tokens = generator.vocab.tokens
    codes = torch.tensor([ord(t) if len(t) == 1 else 0 for t in tokens])
    han = torch.tensor([is_han(t) for t in tokens])
    texts = [*POETS, "山月照江水，江山入夜深。"]
    rows = [torch.tensor([generator.vocab.encode(text, wrap=True)]) for text in texts]
    searched = [float(found.score(row, found.unigram_of(tokens), codes, han)) for row in rows]
    assert searched == pytest.approx(log_odds(found, texts).tolist(), abs=1e-5)


def test_the_table_round_trips_in_float16():
    found = fit(POETS, MODEL, steps=60, l2=1e-4)
    raw = critic_npz(found)
    with np.load(io.BytesIO(raw)) as data:
        assert str(data["chars"]) == found.chars and data["bigram"].shape == (BUCKETS,)
        assert data["unigram"].dtype == np.float16
        assert float(data["repeat"]) == found.repeat


def test_a_missing_table_is_refused(monkeypatch):
    critic.cache_clear()
    monkeypatch.setattr(critic_module, "CRITIC_TABLE", "missing.npz")
    with pytest.raises(PoetryError, match=r"cannot read the table missing\.npz"):
        critic()
    critic.cache_clear()


def test_the_shipped_critic_marks_the_models_stock_characters():
    shipped = critic()
    weight = dict(zip(shipped.chars, shipped.unigram.tolist(), strict=True))
    assert weight["处"] < 0 and weight["里"] < 0 and shipped.repeat < 0
    assert sum(w < 0 for w in weight.values()) > 100


def test_the_critic_weight_draws_the_search_to_what_it_favours(generator, monkeypatch):
    tokens, tables = generator.vocab.tokens, generator.composer.tables
    loved = Critic("月", torch.tensor([3.0]), torch.zeros(BUCKETS), 0.0)
    monkeypatch.setattr("poetry_rnn.decoding.critic", lambda: loved)
    tables.__dict__.pop("critic_weights", None)  # read again, from the critic above
    controls = Controls(form="五言绝句", seed=3, n=4, coherence=0)
    try:
        plain = generator.write("free", "", controls)
        drawn = generator.write("free", "", replace(controls, critic=1.0))
        assert tables.critic_weights[tokens.index("月")] == 3.0
    finally:
        tables.__dict__.pop("critic_weights", None)
    assert sum(p.text.count("月") for p in drawn) > sum(p.text.count("月") for p in plain)


@pytest.mark.parametrize("weight", [-0.5, 10.5, float("nan"), True])
def test_a_critic_weight_out_of_range_is_refused(weight):
    with pytest.raises(PoetryError, match="critic must be a number from 0"):
        Controls(critic=weight)


def test_the_build_refuses_too_few_poems(generator):
    with pytest.raises(PoetryError, match="at least 5 poems of each form"):
        build_critic(FIXTURE_CORPUS, generator, 4, seed=0, steps=1, l2=0.0)
    with pytest.raises(PoetryError, match="too few poems"):
        build_critic(FIXTURE_CORPUS, generator, 5, seed=0, steps=1, l2=0.0)


def test_the_build_reads_the_corpus_and_the_models_poems(shared_corpus, generator):
    found, stats = build_critic(shared_corpus, generator, 5, seed=0, steps=30, l2=1e-4)
    assert stats["poets' poems"] == 60 and stats["model's poems"] == 20
    assert 0.5 < stats["held-out AUC"] <= 1.0
    assert stats["characters"] == len(found.chars) > 100
