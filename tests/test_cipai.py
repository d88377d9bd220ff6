"""The 词牌 patterns: their build from the Song ci, the shipped table, and 词林正韵."""

import json
from pathlib import Path

import pytest

from poetry_rnn.errors import PoetryError, run_cli
from poetry_rnn.poetics import build_cipai
from poetry_rnn.poetics.build_cipai import CIPAI_TABLE, read_ci, stanza_break
from poetry_rnn.poetics.rhymes import (
    CILIN,
    CILIN_GROUPS,
    book_groups,
    cilin_section,
    cilin_tone,
    require_rhyme_book,
    rhyme_groups,
    rhyming_groups,
    shared_rhymes,
)

FIXTURE_CI = Path(__file__).parent / "fixtures" / "ci"
SHIPPED = json.loads((build_cipai.PACKAGE_DIR / CIPAI_TABLE).read_text("utf-8"))
TUNES = SHIPPED["tunes"]
TONES = set("平仄中")


@pytest.fixture(scope="module")
def fixture_table(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("cipai")
    build_cipai.build_cipai(FIXTURE_CI, out, min_ci=4)
    return json.loads((out / CIPAI_TABLE).read_text("utf-8"))


def _rhymes(variant: dict) -> list[int | None]:
    return [line["rhyme"] for line in variant["lines"]]


# --- the build -----------------------------------------------------------------------------


def test_the_build_derives_huanxisha_from_five_ci(fixture_table):
    tune = fixture_table["tunes"]["浣溪沙"]
    assert tune["ci"] == 6  # the ci with a lost character counts, but is not read
    (variant,) = tune["variants"]
    assert variant["ci"] == 5 and variant["stanzas"] == [3, 3]
    assert [len(line["tones"]) for line in variant["lines"]] == [7] * 6
    assert _rhymes(variant) == [0, 0, 0, None, 0, 0] and variant["segments"] == ["平"]
    assert [line["mark"] for line in variant["lines"]] == list("。。。，。。")
    assert all(line["tones"][-1] == "平" for line in variant["lines"] if line["rhyme"] == 0)


def test_the_build_finds_the_four_rhyme_segments_of_pusaman(fixture_table):
    (variant,) = fixture_table["tunes"]["菩萨蛮"]["variants"]
    assert [len(line["tones"]) for line in variant["lines"]] == [7, 7, 5, 5, 5, 5, 5, 5]
    assert variant["stanzas"] == [4, 4]
    assert _rhymes(variant) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert variant["segments"] == ["仄", "平", "仄", "平"]


def test_the_lost_tune_and_rare_tunes_get_no_pattern(tmp_path):
    build_cipai.build_cipai(FIXTURE_CI, tmp_path, min_ci=1)
    tunes = json.loads((tmp_path / CIPAI_TABLE).read_text("utf-8"))["tunes"]
    assert list(tunes) == ["浣溪沙", "菩萨蛮"]  # 失调名 has a ci, but no tune
    build_cipai.build_cipai(FIXTURE_CI, tmp_path, min_ci=5)
    assert list(json.loads((tmp_path / CIPAI_TABLE).read_text("utf-8"))["tunes"]) == ["浣溪沙"]


def test_reading_a_ci_keeps_its_lines_and_marks_and_refuses_a_lost_character():
    ci = read_ci(["长川静、征帆夜落（一作“暮”）。", "临岛屿，《蓼烟》疏淡！"])
    assert ci.lines == ("长川静", "征帆夜落", "临岛屿", "蓼烟疏淡")
    assert ci.marks == ("，", "。", "，", "。") and ci.shape == (3, 4, 3, 4)
    assert read_ci(["石榴花映□榴裙。"]) is None
    assert read_ci(["石榴花映石榴裙"]) is None  # a line left open
    assert read_ci(["石榴花映石榴裙…"]) is None


def test_a_short_shape_is_one_stanza_and_a_long_one_breaks_where_it_halves():
    assert stanza_break([6, 6, 5, 6, 2, 2, 6], [1, 2, 4, 7]) == [7]  # 如梦令, 33 characters
    assert stanza_break([7, 7, 5, 5, 5, 5, 5, 5], [1, 2, 3, 4, 5, 6, 7]) == [4, 4]  # 菩萨蛮
    assert stanza_break([7, 7, 7, 7, 3, 3, 7, 7, 7], [1, 2, 4, 6, 7]) == [4, 5]  # 鹧鸪天
    assert stanza_break([7, 7, 7, 7, 7, 7], []) == [6]


def test_the_cli_reports_a_missing_corpus_in_one_line(tmp_path, capsys):
    assert run_cli(build_cipai.main, ["--corpus", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.startswith("error: corpus not found")
    assert run_cli(build_cipai.main, ["--corpus", str(tmp_path)]) == 2
    assert "no 宋词/ci.song.*.json files" in capsys.readouterr().err
    assert run_cli(build_cipai.main, ["--corpus", str(FIXTURE_CI), "--min-ci", "0"]) == 2


def test_the_cli_prints_how_many_ci_fit_each_tunes_main_shape(tmp_path, capsys):
    argv = ["--corpus", str(FIXTURE_CI), "--out-dir", str(tmp_path), "--min-ci", "4"]
    assert run_cli(build_cipai.main, argv) == 0
    out = capsys.readouterr().out
    assert "浣溪沙 | 6 | 5 | 5 | 100.0%\n" in out and "tunes: 2\n" in out


# --- the shipped table ---------------------------------------------------------------------


def test_at_least_thirty_tunes_of_at_least_150_ci_are_shipped():
    assert len(TUNES) >= 30
    assert all(tune["ci"] >= 150 for tune in TUNES.values())
    assert "失调名" not in TUNES
    for name in ("浣溪沙", "鹧鸪天", "蝶恋花", "西江月", "清平乐", "菩萨蛮", "点绛唇", "念奴娇",
                 "满江红", "浪淘沙"):  # fmt: skip
        assert name in TUNES


def test_every_variant_is_well_formed():
    for name, tune in TUNES.items():
        counts = [variant["ci"] for variant in tune["variants"]]
        assert counts == sorted(counts, reverse=True) and sum(counts) <= tune["ci"], name
        for variant in tune["variants"]:
            assert set(variant) == {"ci", "stanzas", "lines", "segments"}
            lines = variant["lines"]
            assert sum(variant["stanzas"]) == len(lines), name
            assert set(variant["segments"]) <= {"平", "仄", "入"}, name
            used = {line["rhyme"] for line in lines} - {None}
            assert used == set(range(len(variant["segments"]))), name
            for line in lines:
                assert line["tones"] and set(line["tones"]) <= TONES, name
                assert line["mark"] in "，。", name
                if line["rhyme"] is not None:
                    assert line["mark"] == "。"
                    level = variant["segments"][line["rhyme"]] == "平"
                    assert line["tones"][-1] == ("平" if level else "仄"), name
            assert lines[-1]["rhyme"] is not None, name  # every tune closes on a rhyme


def test_huanxisha_is_seven_times_six_rhyming_but_the_fourth_line():
    main = TUNES["浣溪沙"]["variants"][0]
    assert [len(line["tones"]) for line in main["lines"]] == [7] * 6
    assert main["stanzas"] == [3, 3]
    assert _rhymes(main) == [0, 0, 0, None, 0, 0] and main["segments"] == ["平"]


def test_pusaman_changes_rhyme_every_two_lines():
    main = TUNES["菩萨蛮"]["variants"][0]
    assert main["segments"] == ["仄", "平", "仄", "平"]
    assert _rhymes(main) == [0, 0, 1, 1, 2, 2, 3, 3] and main["stanzas"] == [4, 4]


def test_manjianghong_and_niannujiao_rhyme_entering_tones():
    for name in ("满江红", "念奴娇"):
        assert TUNES[name]["variants"][0]["segments"] == ["入"], name


def test_xijiangyue_rhymes_level_and_oblique():
    main = TUNES["西江月"]["variants"][0]
    assert main["segments"] == ["平", "仄"]
    assert _rhymes(main) == [None, 0, 0, 1, None, 0, 0, 1]


def test_rumengling_is_one_stanza():
    assert TUNES["如梦令"]["variants"][0]["stanzas"] == [7]


# --- 词林正韵 ------------------------------------------------------------------------------


def test_cilin_has_nineteen_sections_with_their_tone_parts():
    groups = book_groups(CILIN)
    assert groups == CILIN_GROUPS and len(groups) == 33 and rhyming_groups(CILIN) == groups
    assert len({cilin_section(group) for group in groups}) == 19
    assert groups[:2] == ("第一部平", "第一部仄") and groups[-1] == "第十九部入"
    assert [cilin_tone(group) for group in groups[-5:]] == ["入"] * 5


def test_cilin_merges_the_pingshui_groups():
    assert rhyme_groups("东", CILIN) == rhyme_groups("冬", CILIN) == {"第一部平"}
    assert rhyme_groups("屋", CILIN) == {"第十五部入"}
    assert rhyme_groups("月", CILIN) == rhyme_groups("雪", CILIN) == {"第十八部入"}
    assert shared_rhymes("江阳", CILIN) == {"第二部平"}  # 平水韵 keeps them apart
    assert not shared_rhymes("江阳")


def test_a_level_group_and_its_rising_departing_group_are_one_section_apart_in_tone():
    (level,) = rhyme_groups("东", CILIN)
    (oblique,) = rhyme_groups("动", CILIN)
    assert level != oblique and cilin_section(level) == cilin_section(oblique) == "第一部"
    assert (cilin_tone(level), cilin_tone(oblique)) == ("平", "仄")


def test_the_split_groups_go_by_the_mandarin_final():
    assert rhyme_groups("梅", CILIN) == {"第三部平"}  # 灰 -ei
    assert rhyme_groups("来", CILIN) == {"第五部平"}  # 灰 -ai
    assert rhyme_groups("门", CILIN) == {"第六部平"}  # 元 -en
    assert rhyme_groups("言", CILIN) == {"第七部平"}  # 元 -an
    assert rhyme_groups("花", CILIN) == {"第十部平"}  # 麻
    assert rhyme_groups("街", CILIN) == {"第五部平"}  # 佳 -ie
    assert rhyme_groups("a", CILIN) == frozenset()


def test_a_shi_is_not_rhymed_by_cilin():
    with pytest.raises(PoetryError, match="unknown rhyme book 'cilin'; choose one of pingshui"):
        require_rhyme_book(CILIN)
    require_rhyme_book(CILIN, (CILIN,))
    with pytest.raises(PoetryError, match="choose one of pingshui, xinyun, cilin"):
        book_groups("guangyun")


# --- the full corpus -----------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.xdist_group("full corpus")
def test_the_shipped_table_is_rebuilt_from_the_corpus_byte_for_byte(shared_corpus, tmp_path):
    build_cipai.build_cipai(shared_corpus, tmp_path)
    assert (tmp_path / CIPAI_TABLE).read_bytes() == (
        build_cipai.PACKAGE_DIR / CIPAI_TABLE
    ).read_bytes()
