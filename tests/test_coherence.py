"""The coherence table, score, clashes and plan: the shipped table's figures, the builder on
small texts, and the plan in every mode."""

import io
import itertools
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from poetry_rnn.errors import PoetryError
from poetry_rnn.evaluation.metrics import read_cleaned
from poetry_rnn.forms import FORMS
from poetry_rnn.poetics import build_association_tables, tables
from poetry_rnn.poetics.coherence import (
    associations,
    clashes,
    coherence,
    coherence_of,
    coherences,
    plan_keywords,
)
from poetry_rnn.text import is_han, split_lines
from poetry_rnn.writing.controls import Controls

FIXTURE_CORPUS = Path(__file__).parent / "fixtures" / "corpus"
QUIET_NIGHT = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
SPRING_DAWN = "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。"
MIXED_SEASONS = "春色满秋山，秋风万里春。"


# --- the shipped table ----------------------------------------------------------------------


def test_seasons_that_poets_keep_apart_score_below_unrelated_pairs():
    table = associations()
    unrelated = [table.score(a, b) for a in "山水云风江" for b in "酒书马剑琴"]
    median = float(torch.tensor(unrelated).median())  # 0.07 as built
    assert table.score("春", "秋") == pytest.approx(-0.79, abs=0.01)
    assert table.score("春", "夏") < -0.4 and table.score("秋", "冬") < -0.3
    assert table.score("晨", "夜") < -0.1
    assert max(table.score("春", "秋"), table.score("晨", "夜")) < 0 < median


def test_images_that_go_together_score_high():
    table = associations()
    assert table.score("雪", "梅") == pytest.approx(0.93, abs=0.01)
    assert table.score("春", "花") > 0.5 and table.score("柳", "莺") > 1.0
    assert table.score("秋", "菊") > 1.0
    assert table.score("春", "春") == 0.0  # a character with itself says nothing
    assert "人" not in table.index and "无" not in table.index  # go with anything: left out
    assert table.score("人", "秋") == 0.0


def test_season_and_time_classes_come_from_the_corpus():
    table = associations()
    assert table.class_of("柳", "season") == "春" and table.class_of("菊", "season") == "秋"
    assert table.class_of("炉", "season") == "冬" and table.class_of("灯", "time") == "夜"
    assert table.class_of("山", "season") is None
    assert {"春秋", "春夏", "秋冬"} <= table.clashing["season"]
    assert "晨夜" in table.clashing["time"] and "暮夜" not in table.clashing["time"]


def test_clashes_names_two_seasons_or_two_times():
    assert clashes(MIXED_SEASONS) == "春/秋"
    assert clashes("杨柳依依春水流，菊花开尽雁南飞。") == "春/秋"  # markers, not only seeds
    assert clashes("晨光照江水，夜雨打船篷。") == "晨/夜"
    assert clashes(QUIET_NIGHT) is None and clashes(SPRING_DAWN) is None


def test_a_poem_of_one_scene_is_more_coherent_than_mixed_seasons():
    assert coherence(SPRING_DAWN) == pytest.approx(0.127, abs=0.002)
    assert coherence(MIXED_SEASONS) == pytest.approx(-0.049, abs=0.002)
    assert coherence("春眠不觉晓，") == 0.0  # one line: no pair across lines


def test_the_batched_score_pairs_only_different_lines_and_characters():
    vectors = torch.tensor([[[1.0, 1.0], [2.0, 0.0], [0.0, 3.0], [1.0, 1.0], [0.0, 0.0]]])
    ids = torch.tensor([[10, 11, 12, 10, 13]])
    lines = torch.tensor([[0, 0, 1, 1, 1]])
    signs = torch.tensor([1.0, -1.0])
    # Pairs across lines, not of one character, not the empty vector: (10,12) -3, (11,12) 0,
    # (11,10) 2.
    assert coherence_of(vectors, ids, lines, signs).tolist() == [pytest.approx(-1 / 3)]
    assert coherence_of(vectors, ids, torch.zeros_like(lines), signs).tolist() == [0.0]


def test_many_poems_score_as_each_does_alone_in_runs_of_bounded_size(monkeypatch):
    poems = [SPRING_DAWN, "", MIXED_SEASONS, QUIET_NIGHT * 3, "春眠不觉晓，", SPRING_DAWN]
    alone = [0.127, 0.0, -0.049, coherence(QUIET_NIGHT * 3), 0.0, 0.127]
    assert coherences(poems) == pytest.approx(alone, abs=0.002)
    shapes = []

    def scored(vectors, *rest):
        shapes.append(tuple(vectors.shape[:2]))
        return coherence_of(vectors, *rest)

    # 3 poems of 20 characters, exactly: a run fills up to the bound, not short of it.
    monkeypatch.setattr("poetry_rnn.poetics.coherence.MAX_PAIRS", 3 * 20**2)
    monkeypatch.setattr("poetry_rnn.poetics.coherence.coherence_of", scored)
    assert coherences(poems) == pytest.approx(alone, abs=0.002)
    # Lengths 20, 0, 10 | 60 (alone over the bound, so in a run of its own) | 5, 20.
    assert shapes == [(3, 20), (1, 60), (2, 20)]


# --- the plan -------------------------------------------------------------------------------


def test_a_plan_starts_with_the_seeds_and_grows_without_clashing():
    plan = plan_keywords("秋夜思乡", 8)
    assert plan == ["秋", "夜", "思", "乡", "雁", "旅", "枫", "帆"]
    assert len(set(plan)) == 8 and clashes("".join(plan)) is None


def test_a_plan_never_repeats_what_the_poem_prints():
    plan = plan_keywords("风花雪月", 4, printed="风花雪月")
    assert plan == ["妆", "艳", "粉", "蕊"]
    spring = plan_keywords("杨柳", 8, printed="杨柳")
    assert not any(associations().class_of(c, "season") in ("秋", "冬") for c in spring)


def test_seeds_that_clash_are_kept_and_the_plan_adds_no_season_either_way():
    # The user's own text names spring and autumn: their keywords stay, and every season
    # clashes with one of the two, so no keyword the plan adds marks a season.
    plan = plan_keywords("春秋", 8)
    assert plan[:2] == ["春", "秋"] and len(set(plan)) == 8
    assert [associations().class_of(c, "season") for c in plan[2:]] == [None] * 6


def test_a_plan_of_one_line_is_one_keyword():
    assert plan_keywords("春秋", 1) == ["春"]
    assert plan_keywords("春", 1, printed="春") == ["莺"]


def test_a_plan_longer_than_its_candidates_stops_with_them(monkeypatch):
    monkeypatch.setattr("poetry_rnn.poetics.coherence.PLAN_CANDIDATES", 6)  # 不风山天云春
    assert plan_keywords("春", 8) == ["春", "风", "山", "云", "不", "天"]


def test_seeds_the_statistics_do_not_know_give_no_plan():
    assert plan_keywords("", 4) == [] and plan_keywords("人无", 4) == []


# --- the builder ----------------------------------------------------------------------------


def test_pairs_are_counted_across_couplets_and_never_between_line_ends():
    poem = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
    chars, counts, poems = build_association_tables.count_cooccurrence(
        [poem, poem], min_char_poems=1
    )
    pair = lambda a, b: counts[chars.index(a), chars.index(b)]  # noqa: E731
    assert poems == 2
    assert pair("白", "欲") == pair("欲", "白") == 2  # different couplets, each poem once
    assert pair("白", "黄") == 0  # one couplet: 对仗 pairs opposites on purpose
    assert pair("流", "楼") == 0 and pair("尽", "目") == 0  # line ends rhyme
    assert pair("日", "楼") == 2


def test_smoothed_pmi_is_negative_where_a_pair_is_rarer_than_chance():
    counts = np.array([[0, 0, 40], [0, 0, 40], [40, 40, 0]])
    pmi = build_association_tables.smoothed_pmi(counts)
    assert pmi[0, 1] < 0 < pmi[0, 2] and pmi[0, 0] == 0


def test_the_table_builds_from_the_fixture_corpus(tiny_texts):
    data = build_association_tables.coherence_npz(tiny_texts, min_char_poems=2, stats=Counter())
    with np.load(io.BytesIO(data), allow_pickle=False) as table:
        chars, vectors = str(table["chars"]), table["vectors"]
        assert vectors.shape == (len(chars), len(table["signs"])) and len(chars) > 50
        assert str(table["season_markers"][0]).startswith("春")


def _counted_by_hand(texts: list[str], min_char_poems: int) -> tuple[str, Counter, int]:
    """count_cooccurrence's definition, one poem and one pair at a time."""
    poems = [split_lines(t) for t in texts if sum(map(len, split_lines(t))) <= 120]
    frequency = Counter(c for lines in poems for c in set("".join(lines)))
    chars = [c for c, n in frequency.items() if n >= min_char_poems and is_han(c)]
    chars.sort(key=lambda c: (-frequency[c], c))
    pairs: Counter = Counter()
    for lines in poems:
        found = [
            (c, n // 2, p == len(line) - 1)
            for n, line in enumerate(lines)
            for p, c in enumerate(line)
            if c in chars
        ]
        pairs.update({
            min(a, b) + max(a, b)
            for (a, couplet_a, end_a), (b, couplet_b, end_b) in itertools.combinations(found, 2)
            if couplet_a != couplet_b and a != b and not (end_a and end_b)
        })  # fmt: skip
    return "".join(chars), pairs, len(poems)


@pytest.mark.parametrize("pending", [10_000_000, 40])
def test_cooccurrence_is_the_count_of_poems_holding_each_pair(tiny_texts, pending, monkeypatch):
    # 40: counted in many batches
    monkeypatch.setattr(build_association_tables, "PENDING_CODES", pending)
    most = "，".join(["白日依山尽"] * 24) + "。"  # 120 characters: the longest counted
    rare = "鹂鹂鹂鹂鹂，鹂鹂鹂鹂鹂。"  # 鹂 is in too few poems to count
    texts = [rare, "春鹂鹂鹂鹂，鹂鹂鹂鹂鹂。秋鹂鹂鹂鹂，鹂鹂鹂鹂鹂。"]  # no pair, then one: 春秋
    texts += [*tiny_texts, most, "山" * 60 + "，" + "水" * 61 + "。"]  # 121: left out
    chars, counts, poems = build_association_tables.count_cooccurrence(texts, min_char_poems=4)
    by_hand, pairs, by_hand_poems = _counted_by_hand(texts, 4)
    assert (chars, poems) == (by_hand, by_hand_poems)
    assert poems == build_association_tables.count_cooccurrence(tiny_texts, min_char_poems=4)[2] + 3
    assert counts.dtype == np.int64 and (counts == counts.T).all() and not counts.diagonal().any()
    counted = {chars[i] + chars[j]: int(counts[i, j]) for i, j in np.argwhere(counts)}
    assert counted == {pair: n for pair, n in pairs.items()} | {
        pair[::-1]: n for pair, n in pairs.items()
    }


def test_function_characters_are_those_whose_partners_are_everyones(monkeypatch):
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 6, (12, 12)) * (rng.random((12, 12)) < 0.6)
    counts = counts + counts.T
    counts[3] = counts[:, 3] = counts.sum(0) // 4  # a row like the column totals: a 的
    counts[7] = counts[:, 7] = 0  # a character with no partner
    monkeypatch.setattr(build_association_tables, "FUNCTION_SHARE", 0.34)  # 4 of 12
    background = counts.sum(0) / counts.sum()
    divergence = []
    for row in counts:
        shares = row / max(row.sum(), 1)
        divergence.append(
            sum(s * math.log(s / b) for s, b in zip(shares, background, strict=True) if s > 0)
        )
    expected = sorted(range(12), key=lambda i: divergence[i])[:4]
    assert build_association_tables.function_characters(counts).tolist() == expected
    assert expected[:2] == [7, 3]


def test_markers_stand_near_their_seed_and_apart_from_the_others():
    chars = "春秋山花叶雪"
    pmi = np.zeros((6, 6))

    def near(char, seed, value):
        pmi[chars.index(char), chars.index(seed)] = pmi[chars.index(seed), chars.index(char)] = (
            value
        )

    near("花", "春", 0.5)  # at the least PMI, and 0.5 ahead of 秋: a marker
    near("叶", "秋", 1.2), near("叶", "春", 0.71)  # 0.49 ahead of 春: not a marker
    near("山", "秋", 0.49)  # under the least PMI
    near("雪", "秋", 0.9)
    near("春", "秋", -0.2)  # the seeds clash
    marked, clashing = build_association_tables.markers(chars, pmi, "春冬秋")
    assert marked == ["春花", "冬", "秋雪"] and clashing == ["春秋"]
    near("春", "秋", 0.0)  # no longer rarer than chance
    assert build_association_tables.markers(chars, pmi, "春秋")[1] == []
    alone, none = build_association_tables.markers(chars, pmi, "秋")  # one seed: no other to lead
    assert alone == ["秋叶雪"] and none == []


def test_factorized_keeps_the_eigenvalues_largest_in_magnitude():
    basis = np.linalg.qr(np.random.default_rng(1).normal(size=(4, 4)))[0]
    pmi = basis @ np.diag([3.0, -5.0, 0.1, 0.2]) @ basis.T
    vectors, signs = build_association_tables.factorized(pmi, 2)
    assert sorted(signs.tolist()) == [-1.0, 1.0]
    kept = basis[:, :2] @ np.diag([3.0, -5.0]) @ basis[:, :2].T
    np.testing.assert_allclose(vectors @ np.diag(signs) @ vectors.T, kept, atol=1e-9)


def test_the_table_holds_its_reduced_vectors_and_reports_its_counts(tiny_texts, monkeypatch):
    monkeypatch.setattr(build_association_tables, "DIMENSIONS", 8)
    stats: Counter = Counter()
    data = build_association_tables.coherence_npz(tiny_texts, min_char_poems=2, stats=stats)
    chars, counts, poems = build_association_tables.count_cooccurrence(tiny_texts, min_char_poems=2)
    function = {chars[i] for i in build_association_tables.function_characters(counts)}
    dropped = function - set("春夏秋冬晨午暮夜")  # a season or time seed always stays
    assert len(function) == 4 and len(dropped) == 3
    with np.load(io.BytesIO(data), allow_pickle=False) as table:
        assert table["vectors"].dtype == np.float16 and table["vectors"].shape[1] == 8
        assert table["signs"].dtype == np.int8 and len(table["signs"]) == 8
        assert str(table["source"]) == tables.POEMS_SOURCE
        assert str(table["chars"]) == "".join(c for c in chars if c not in dropped)
        assert [str(c) for c in table["time_clashes"]] == [""]  # too few poems to clash
    assert stats == {
        "coherence: poems counted": poems,
        "coherence: characters": len(chars) - 3,
        "coherence: function characters left out": 3,
    }


@pytest.fixture(scope="module")
def tiny_texts():
    return read_cleaned(FIXTURE_CORPUS, ("tang", "song"))


# --- every mode gets a plan -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "text", "source", "plan"),
    [
        # The shipped model writes to a title (drawn by the heads, the start): the plan grows
        # from the user's text and the title: 记小圃花果, 至节前一日.
        ("acrostic", "风花雪月", "heads", ["记", "小", "圃", "果"]),
        ("theme", "秋夜思乡", "theme", ["思", "乡", "秋", "夜"]),  # jieba's keywords first
        ("start", "床前", "start", ["至", "节", "菊", "帽"]),
    ],
)
def test_every_mode_returns_its_plan(generator, mode, text, source, plan):
    controls = Controls(form="五言绝句", seed=3, beams=2, candidates=2)
    (poem,) = generator.write(mode, text, controls)
    assert (poem.plan, poem.plan_source) == (plan, source)
    assert poem.to_dict()["plan"] == plan


def _planned_from_their_first_lines(poems) -> None:
    """Each poem's plan grows from its own first line; where none of that line's characters is
    in the statistics (一见今年事), the plan is empty and says so, never an error."""
    for poem in poems:
        first = poem.lines[0][:-1]
        assert poem.plan == plan_keywords(first, 4, printed=first)
        assert poem.plan_source == ("first line" if poem.plan else "")
    assert any(len(poem.plan) == 4 for poem in poems)


def test_free_poems_are_planned_from_their_titles(generator):
    controls = Controls(form="五言绝句", seed=3, n=2, beams=2, candidates=2)
    for poem in generator.write("free", "", controls):
        assert poem.plan_source == "title" and poem.plan
        assert poem.plan == plan_keywords(poem.title, 4, printed="")


def test_a_theme_the_statistics_do_not_know_falls_back_to_the_first_line(generator):
    controls = Controls(form="五言绝句", seed=3, n=2, beams=2, candidates=2)
    assert plan_keywords("葳", 4) == []  # a rare character
    _planned_from_their_first_lines(generator.write("theme", "葳", controls))


def test_without_a_plan_nothing_is_planned_and_the_theme_cycles(generator):
    controls = Controls(form="五言绝句", seed=3, beams=2, candidates=2, plan=False)
    (start,) = generator.write("start", "床前", controls)
    assert (start.plan, start.plan_source) == ([], "")
    (theme,) = generator.write("theme", "秋夜", controls)
    assert theme.plan == ["秋", "夜", "秋", "夜"]


@pytest.mark.parametrize("weight", [-1, float("nan"), 21, "2", True])
def test_a_bad_coherence_weight_is_refused(weight):
    with pytest.raises(PoetryError, match="coherence must be a number from 0"):
        Controls(coherence=weight)


def test_the_coherence_weight_raises_the_poems_coherence(generator):
    scores = {}
    for weight in (0.0, 20.0):
        controls = Controls(form=FORMS["七言绝句"].name, seed=5, n=8, coherence=weight, plan=False)
        scores[weight] = sum(coherence(p.text) for p in generator.write("start", "春风", controls))
    assert scores[20.0] > scores[0.0] + 0.2
