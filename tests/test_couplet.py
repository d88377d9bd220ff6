"""对联: the 下联 to a 上联 (and the 上联 to a 下联), a whole couplet and its 横批 to a theme, the
couplet check, the evaluation beside the poets' middle couplets, the couplet blind kit and the
demo's tab."""

import json
import re

import pytest
from conftest import FIXTURE_CORPUS, favouring, tiny_model

from poetry_rnn.app import check_cli, evaluate_cli, generate_cli
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import PoetryError, run_cli
from poetry_rnn.evaluation.ratings import score_kit
from poetry_rnn.evaluation.reading import write_couplet_kit
from poetry_rnn.model.checkpoint import save_pretrained
from poetry_rnn.poetics.couplets import check_couplet, couplet_measures, read_line
from poetry_rnn.poetics.patterns import couplet_pattern
from poetry_rnn.poetics.tones import LEVEL, OBLIQUE, tone_of
from poetry_rnn.text import is_han
from poetry_rnn.writing.generate import PoetryGenerator

#: Characters enough for a tiny model to answer couplets in both tones: the fixture's middle
#: couplets of the test split, a 上联 or two, new-year words.
CHARS = (
    "浮云不系名居易造化无为字乐天童子解吟长恨曲胡儿能唱琵琶篇海内存知己涯若比邻风雨花开早家户"
    "新春岁福喜瑞梅山水明月清江高楼万里千秋白日青红东西南北来去人心中夜声光"
)


def vocab() -> Vocab:
    return Vocab.build([CHARS])


def tiny(model=None) -> PoetryGenerator:
    v = vocab()
    return PoetryGenerator(model or tiny_model(v), v)


def cli(main, capsys, *argv):
    code = run_cli(main, [str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny")
    v = vocab()
    save_pretrained(directory, tiny_model(v), v)
    return directory


# --- the pattern and the reading of a 联 ------------------------------------------------------


def test_given_a_lower_line_the_upper_answers_its_tones():
    pattern = couplet_pattern(5, lower="天涯若比邻")
    # 涯 平 at 2, 比 仄 at 4: the 上联 wants 仄 and 平 there, and closes 仄.
    assert pattern.lines[0].tones[1] == OBLIQUE and pattern.lines[0].tones[3] == LEVEL
    assert pattern.lines[0].tones[-1] == OBLIQUE and pattern.lines[1].tones[-1] == LEVEL


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the 上联 is empty"),
        ("  ", "the 上联 is empty"),
        ("，。！", "the 上联 has no Han characters, only marks"),
        ("春风", "the 上联 has 2 characters: a 联 has 4 to 11"),
        ("春风明", "the 上联 has 3 characters: a 联 has 4 to 11"),
        ("春风明月照高楼万里长江水", "the 上联 has 12 characters: a 联 has 4 to 11"),
        ("春风abc明月", "the 上联 has characters that are not Han characters: a b c"),
        ("春风😀明月", "the 上联 has characters that are not Han characters: 😀"),
        ("春风，明月，高楼", "the 上联 has 2 commas inside: a 联 has at most one"),
        ("春风明月夜，高", "comma stands between two parts of 2 or more"),
    ],
)
def test_a_bad_upper_line_is_one_line(text, message):
    with pytest.raises(PoetryError, match=message):
        read_line(text)


@pytest.mark.parametrize(
    ("upper", "message"),
    [
        ("", "the 上联 is empty"),
        ("，。", "the 上联 has no Han characters"),
        ("春风明", "the 上联 has 3 characters"),
        ("春风明月照高楼万里长江水", "the 上联 has 12 characters"),
        ("spring wind", "not Han characters"),
        ("春风🧧明月", "not Han characters: 🧧"),
        ("春风，明月，高楼", "2 commas inside"),
        ("海内存知天", "the 上联 ends 平 \\(天\\): it reads as a 下联; --couplet-lower"),
    ],
)
def test_bad_couplet_input_is_one_line_and_exit_2(model_dir, capsys, upper, message):
    code, out, err = cli(generate_cli.main, capsys, "--model", model_dir, "--couplet", upper)
    assert code == 2 and not out
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert re.search(message, err)


def test_couplet_options_that_do_not_go_together_are_one_line(model_dir, capsys):
    code, _, err = cli(generate_cli.main, capsys, "--model", model_dir, "--couplet-lower")
    assert code == 2 and "--couplet-lower goes with --couplet" in err
    code, _, err = cli(
        generate_cli.main, capsys, "--model", model_dir, "--couplet", "海内存知己", "--start", "春"
    )
    assert code == 2 and "--couplet does not go with --start" in err


# --- writing ---------------------------------------------------------------------------------


def test_the_lower_line_answers_the_upper():
    for poem in tiny().couplet("海内存知己", n=4, seed=1):
        report = check_couplet((poem.upper, poem.lower))
        assert poem.upper == "海内存知己" and len(poem.lower) == 5
        assert report.closes_ok and not report.borrowed and report.repeats_match
        assert poem.text == f"{poem.upper}，{poem.lower}。" and poem.form == "对联"


def test_no_character_of_the_upper_is_borrowed_even_where_the_model_wants_it():
    v = vocab()
    generator = PoetryGenerator(favouring("海", v), v)
    (poem,) = generator.couplet("海内存知己", seed=0)
    assert "海" not in poem.lower
    # Without the couplet's rule the model writes it: the rule is what keeps it out.
    (free,) = generator.generate(form="五言绝句", seed=0)
    assert "海" in free.text


def test_the_lower_line_repeats_where_the_upper_repeats_and_only_there():
    for poem in tiny().couplet("风风雨雨花开早，家家户户", n=3, seed=2):
        lower = poem.lower.replace("，", "")
        assert poem.lower.index("，") == 7
        assert lower[0] == lower[1] and lower[2] == lower[3] and lower[0] != lower[2]
        assert lower[7] == lower[8] and lower[9] == lower[10]
        assert len(set(lower)) == 7 and check_couplet((poem.upper, poem.lower)).repeats_match


def test_characters_outside_the_vocabulary_still_get_a_lower_line():
    upper = "浮云不系鲤"  # 鲤 is not in the vocabulary; printed as given
    (poem,) = tiny().couplet(upper, seed=3)
    assert poem.upper == upper and poem.text.startswith(upper + "，")
    assert len(poem.lower) == 5 and all(is_han(c) for c in poem.lower)
    # Two different unknown characters are not a repeat the 下联 must mirror.
    (poem,) = tiny().couplet("浮鲔不系鲤", seed=3)
    assert poem.lower[1] != poem.lower[4]


def test_given_a_lower_line_the_model_writes_its_upper():
    (poem,) = tiny().couplet(lower="天涯若比邻", seed=4)
    assert poem.lower == "天涯若比邻" and len(poem.upper) == 5
    assert tone_of(poem.upper[-1]) != LEVEL
    assert not set(poem.upper) & set("天涯若比邻")
    with pytest.raises(PoetryError, match="the 下联 ends 仄 \\(己\\): it reads as a 上联"):
        tiny().couplet(lower="海内存知己")


def test_a_theme_writes_a_whole_couplet_and_a_four_character_banner():
    poems = tiny().couplet(theme="新春", n=2, seed=5)
    for poem in poems:
        assert len(poem.upper) == len(poem.lower) == 7 and len(poem.banner) == 4
        assert all(is_han(c) for c in poem.banner)
        report = check_couplet((poem.upper, poem.lower))
        assert report.closes_ok and not report.borrowed
        assert poem.plan and poem.plan_source == "theme"
    (five,) = tiny().couplet(theme="新春", length=5, banner=False, seed=5)
    assert len(five.upper) == 5 and five.banner == ""
    with pytest.raises(PoetryError, match="a 联 has 4 to 11 characters, got 12"):
        tiny().couplet(theme="新春", length=12)


def test_a_new_year_theme_favours_the_seasons_words():
    keywords = tiny().couplet_keywords("新春", 2)
    assert len(keywords) == 2 and {"福", "岁"} <= {c for line in keywords for c in line}
    v = vocab()
    (poem,) = PoetryGenerator(tiny_model(v), v).couplet(theme="新春", seed=6)
    assert set(poem.upper + poem.lower) & set("新春岁福喜瑞梅")


def test_a_couplet_asks_for_a_line_or_a_theme():
    with pytest.raises(PoetryError, match="a couplet needs a 上联, a 下联 or a theme"):
        tiny().couplet()
    with pytest.raises(PoetryError, match="give a 上联 or a 下联, not both"):
        tiny().couplet("海内存知己", lower="天涯若比邻")


def test_json_has_the_couplets_fields(model_dir, capsys):
    argv = ["--model", model_dir, "--couplet", "海内存知己", "--banner", "--json", "--seed", "1"]
    code, out, _ = cli(generate_cli.main, capsys, *argv)
    (poem,) = json.loads(out)
    assert code == 0 and poem["upper"] == "海内存知己" and len(poem["lower"]) == 5
    assert len(poem["banner"]) == 4 and poem["text"] == f"海内存知己，{poem['lower']}。"
    code, out, _ = cli(generate_cli.main, capsys, "--model", model_dir, "--couplet", "海内存知己")
    assert code == 0 and out.splitlines()[0] == "海内存知己，"
    (shi,) = json.loads(
        cli(generate_cli.main, capsys, "--model", model_dir, "--json", "--seed", "1")[1]
    )
    assert "upper" not in shi and "banner" not in shi


def test_traditional_script_converts_every_field():
    (poem,) = tiny().couplet("浮云不系名居易", script="traditional", seed=7, banner=True)
    assert poem.upper == "浮雲不繫名居易" and poem.text.startswith(poem.upper)


# --- checking --------------------------------------------------------------------------------


def test_check_judges_a_couplet_position_by_position():
    report = check_couplet("海内存知己，天涯若比邻")
    assert report.ok and report.tone_checked == 2 and report.tone_opposed == 2
    assert [p.rhythm for p in report.positions] == [False, True, False, True, False]
    assert report.parallelism > 0 and report.positions[0].pair_score > 0
    bad = check_couplet("海内存知己；海内若比己")
    assert bad.borrowed == ["海", "内", "己"] and not bad.ok
    assert bad.lower_close == OBLIQUE and not bad.closes_ok
    uneven = check_couplet("风风雨雨花开早\n家家户户")
    assert not uneven.same_length


def test_check_cli_reads_a_couplet(capsys):
    code, out, _ = cli(check_cli.main, capsys, "海内存知己，天涯若比邻", "--form", "couplet")
    assert code == 0 and "tones: 2 of 2 rhythm positions opposed" in out
    assert "borrowed from the 上联: none" in out and "对仗" in out
    code, out, _ = cli(
        check_cli.main, capsys, "海内存知己，天涯若比邻", "--form", "couplet", "--json"
    )
    data = json.loads(out)
    assert code == 0 and data["closes_ok"] and len(data["positions"]) == 5
    code, out, err = cli(check_cli.main, capsys, "海内存知己", "--form", "couplet")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "上联 and a 下联" in err


def test_the_measures_count_what_a_couplet_keeps():
    measures = couplet_measures([("海内存知己", "天涯若比邻"), ("海内存知己", "海天若比知")])
    assert measures["n"] == 2 and measures["length"] == 1.0
    assert measures["no_borrowed"] == 0.5 and measures["final_tone"] == 1.0


# --- evaluation and the blind kit ------------------------------------------------------------


def test_evaluate_couplet_prints_the_model_beside_the_poets(model_dir, capsys):
    argv = ["couplet", "--corpus", FIXTURE_CORPUS, "--include", "tang", "song", "tang300",
            "--model", model_dir, "--n", "2"]  # fmt: skip
    code, out, _ = cli(evaluate_cli.main, capsys, *argv)
    assert code == 0 and "| measure | what it says | poets | model |" in out
    assert "| length |" in out and "| 浮云不系名居易 | 造化无为字乐天 |" in out
    code, out, _ = cli(evaluate_cli.main, capsys, *argv, "--json")
    result = json.loads(out)
    assert result["poets"]["no_borrowed"] == 1.0 and result["model_couplets"]["length"] == 1.0


def test_a_couplet_kit_shows_each_upper_with_the_poets_and_the_models_lower(tmp_path):
    key = write_couplet_kit(tmp_path / "kit", tiny(), FIXTURE_CORPUS, n=4,
                            include=("tang", "song", "tang300"))  # fmt: skip
    entries = list(key["poems"].values())
    assert key["kind"] == "couplet" and sorted(e["source"] for e in entries) == [
        "model", "model", "poet", "poet"
    ]  # fmt: skip
    uppers = [e["upper"] for e in entries]
    assert sorted(uppers) == sorted(["浮云不系名居易", "童子解吟长恨曲"] * 2)
    shown = (tmp_path / "kit" / "poems.md").read_text()
    assert shown.count("上联：") == 4 and "model" not in shown
    assert "apt" in (tmp_path / "kit" / "RUBRIC.md").read_text()
    ratings = {str(n): {"apt": 3 + (e["source"] == "poet"), "fluency": 4, "human": True}
               for n, e in key["poems"].items()}  # fmt: skip
    (tmp_path / "kit" / "ratings-a.json").write_text(
        json.dumps({"reader": "a", "ratings": ratings}), encoding="utf-8"
    )
    scores = score_kit(tmp_path / "kit")
    assert scores["scores"] == ["apt", "fluency"]
    assert scores["sources"]["poets"]["apt"]["mean"] == 4.0
    assert scores["sources"]["model (default)"]["apt"]["mean"] == 3.0


# --- the demo --------------------------------------------------------------------------------


def test_the_demo_shows_a_couplet_as_on_a_door():
    demo = pytest.importorskip("poetry_rnn.app.demo")
    page = demo.answer_couplet(tiny(), "海内存知己", "", True, "3", "简体")
    assert 'class="couplet-upper"' in page and "海内存知己" in page
    assert 'class="couplet-banner"' in page and "vertical-rl" in demo.CSS
    message = demo.answer_couplet(tiny(), "春风", "", False, "", "简体")
    assert "上联有 2 个字：一联 4 到 11 个字" in message
    assert "请填写上联，或给一个主题" in demo.answer_couplet(tiny(), "", "", False, "", "简体")


# --- the shipped model -----------------------------------------------------------------------


def test_the_shipped_model_answers_real_upper_lines(generator):
    for number, upper in enumerate(["海阔凭鱼跃", "风风雨雨花开早", "两岸猿声啼不住"]):
        (poem,) = generator.couplet(upper, seed=number)
        report = check_couplet((poem.upper, poem.lower))
        assert report.ok and report.tone_opposed == report.tone_checked
        assert tone_of(poem.lower[-1]) != OBLIQUE


def test_the_shipped_model_writes_a_new_year_couplet(generator):
    poems = generator.couplet(theme="新春", n=2, seed=0)
    for poem in poems:
        assert len(poem.banner) == 4 and check_couplet((poem.upper, poem.lower)).ok
        assert set(poem.upper + poem.lower + poem.banner) & set("新春岁福喜瑞梅")
        assert not set(poem.upper + poem.lower) & set("愁泪残恨悲哀死")
