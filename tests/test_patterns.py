"""Patterns: the shi forms compiled from the tone rules, the 词牌 table, the 对联; the decoder
writing a 词 of unequal lines; check and suggest reading one pattern."""

import json
from pathlib import Path

import pytest
from conftest import FIXTURES

from poetry_rnn.errors import PoetryError
from poetry_rnn.forms import FORMS
from poetry_rnn.model.checkpoint import load_models
from poetry_rnn.poetics.check import check
from poetry_rnn.poetics.patterns import (
    Family,
    Line,
    Pattern,
    couplet_pattern,
    family_of,
    load_cipai,
    pattern_names,
    shi_family,
)
from poetry_rnn.poetics.rhymes import shared_rhymes
from poetry_rnn.poetics.suggest import suggest
from poetry_rnn.poetics.tones import broken_rules, tone_of
from poetry_rnn.text import PUNCTUATION, split_lines
from poetry_rnn.writing.decoding import Composer
from poetry_rnn.writing.plans import form_plan, step_of
from poetry_rnn.writing.sampling import Sampling

CIPAI = FIXTURES / "cipai.json"


def tones(pattern: Pattern) -> list[str]:
    return [line.tones for line in pattern.lines]


def test_qi_lu_ping_qi_shou_ju_ru_yun_line_by_line():
    # 平平仄仄仄平平 / 仄仄平平仄仄平 / 仄仄平平平仄仄 / 平平仄仄仄平平 …, 一三五不论 as 中.
    pattern = family_of("七言律诗·平起首句入韵").patterns[0]
    assert tones(pattern) == [
        "中平中仄中平平", "中仄中平中仄平", "中仄中平中仄中", "中平中仄中平平",
        "中平中仄中平中", "中仄中平中仄平", "中仄中平中仄中", "中平中仄中平平",
    ]  # fmt: skip
    assert [line.mark for line in pattern.lines] == list("，。") * 4
    assert pattern.rhyme_lines() == [0, 1, 3, 5, 7] and pattern.first_rhymes
    assert pattern.parallel == ((2, 3), (4, 5)) and pattern.kind == "shi"


@pytest.mark.parametrize("name", FORMS)
def test_every_shi_pattern_keeps_nian_and_dui_and_rhymes_level(name):
    form = FORMS[name]
    family = shi_family(form)
    assert len(family.patterns) == 4 and len({p.name for p in family.patterns}) == 4
    for pattern in family.patterns:
        even = [[pattern.tone(i, p) for p in range(1, form.chars + 1)] for i in range(form.lines)]
        for i in range(form.lines):
            for p in range(2, form.chars, 2):
                assert broken_rules(even, form, i, p) == [], (pattern.name, i, p)  # 粘, 对, 分明
            assert [pattern.tone(i, p) for p in range(1, form.chars, 2)] == [None] * (
                form.chars // 2
            )  # 一三五不论
        assert all(pattern.tone(i, form.chars) == "平" for i in pattern.rhyme_lines())
        assert set(range(1, form.lines, 2)) <= set(pattern.rhyme_lines())
        # Line 1 closes on a rhyme (平) or, not rhyming, 仄.
        assert pattern.tone(0, form.chars) == ("平" if pattern.first_rhymes else "仄")
        assert pattern.parallel == (((2, 3), (4, 5)) if form.lines == 8 else ())
    openings = {p.tone(0, 2) for p in family.patterns}
    assert openings == {"平", "仄"}


def test_a_pattern_round_trips_and_rejects_unknown_keys():
    for pattern in [*shi_family(FORMS["五言律诗"]).patterns, couplet_pattern(9, comma=4)]:
        data = json.loads(json.dumps(pattern.to_dict(), ensure_ascii=False))
        assert Pattern.from_dict(data) == pattern
    data = shi_family(FORMS["五言绝句"]).patterns[0].to_dict()
    with pytest.raises(PoetryError, match="unknown pattern keys: metre"):
        Pattern.from_dict(data | {"metre": 1})
    data["lines"][0]["accent"] = 1
    with pytest.raises(PoetryError, match="unknown pattern line keys: accent"):
        Pattern.from_dict(data)
    with pytest.raises(PoetryError, match="tones are 平, 仄 or 中"):
        Line("平x", "，")
    with pytest.raises(PoetryError, match="differ in length"):
        Pattern("x", "ci", (Line("平平", "，"), Line("平", "。")), parallel=((0, 1),))


def test_the_cipai_table_loads_its_variants_most_common_first():
    tunes = load_cipai(CIPAI)
    assert list(tunes) == ["浣溪沙", "菩萨蛮"]
    huanxisha = tunes["浣溪沙"]
    assert [p.name for p in huanxisha] == ["浣溪沙", "浣溪沙·2"]
    assert huanxisha[0].stanzas == (3, 3) and huanxisha[0].rhyme_book == "cilin"
    assert huanxisha[0].rhyme_lines() == [0, 1, 2, 4, 5] and huanxisha[0].kind == "ci"
    pusaman = tunes["菩萨蛮"][0]
    assert pusaman.lengths == (7, 7, 5, 5, 5, 5, 5, 5)
    assert pusaman.segments == ("仄", "平", "仄", "平")  # 换韵
    assert [pusaman.rhyme_lines(s) for s in range(4)] == [[0, 1], [2, 3], [4, 5], [6, 7]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t["tunes"]["菩萨蛮"].update(extra=1), "unknown the 词牌 菩萨蛮 keys: extra"),
        (lambda t: t["tunes"]["菩萨蛮"]["variants"][0].pop("segments"), "lacks segments"),
        (lambda t: t["tunes"]["菩萨蛮"]["variants"][0]["lines"][0].update(tones="平x"),
         "tones are 平, 仄 or 中"),
        (lambda t: t["tunes"]["菩萨蛮"]["variants"][0]["lines"][0].update(rhyme=9),
         "rhymes in segment 9"),
        (lambda t: t.pop("tunes"), "has no tunes"),
    ],
)  # fmt: skip
def test_a_malformed_cipai_table_is_one_clear_error(tmp_path, change, message):
    table = json.loads(CIPAI.read_text("utf-8"))
    change(table)
    path = tmp_path / "cipai.json"
    path.write_text(json.dumps(table, ensure_ascii=False), "utf-8")
    with pytest.raises(PoetryError, match=message):
        load_cipai(path)
    with pytest.raises(PoetryError, match="cannot read the 词牌 table"):
        load_cipai(tmp_path / "missing.json")


def test_a_couplet_pattern_opposes_its_lines():
    seven = couplet_pattern(7)
    assert tones(seven) == ["中仄中平中仄仄", "中平中仄中平平"]  # 仄仄平平平仄仄 / 平平仄仄仄平平
    assert seven.parallel == ((0, 1),) and seven.kind == "couplet" and seven.rhyme_lines() == []
    # Given the 上联, the 下联 answers each of its known tones at a rhythm position.
    given = couplet_pattern("海内存知己，天涯若比邻")
    assert [line.length for line in given.lines] == [5, 5, 5, 5]
    assert [line.mark for line in given.lines] == ["，", "；", "，", "。"]
    assert given.parallel == ((0, 2), (1, 3))
    upper, lower = "海内存知己天涯若比邻", given.lines[2].tones + given.lines[3].tones
    for p in range(2, 10, 2):
        assert {tone_of(upper[p - 1]), lower[p - 1]} == {"平", "仄"}, p
    assert lower[-1] == "平" and given.lines[1].tones[-1] == "仄"
    for bad in (3, 12, "一二，三四五，六七", "abcd"):
        with pytest.raises(PoetryError):
            couplet_pattern(bad)


def test_check_accepts_any_pattern_name():
    assert set(FORMS) < set(pattern_names())
    text = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
    assert check(text).pattern == "五言绝句·平起首句入韵"  # the best fit: 6 of 8 tones
    judged = check(text, form="五言绝句·仄起首句入韵")
    assert judged.pattern == "五言绝句·仄起首句入韵" and judged.form == "五言绝句"
    assert [t.wants for t in judged.tones][:2] == ["仄", "平"]
    with pytest.raises(PoetryError, match="unknown form"):
        check(text, form="五言绝句·中起")
    with pytest.raises(PoetryError, match="a form is named by text"):
        check(text, form=["五言绝句"])


POEMS = [
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",  # 静夜思
    "白日依山尽，黄河入海流。欲穷千山目，更上一层楼。",  # 里 made 山
    "千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。",  # 江雪: no pattern
    "渭城朝雨浥轻尘，客舍青青柳色新。劝君更尽一杯酒，西出阳关无故人。",  # 失粘
]


@pytest.fixture(scope="module")
def models():
    return load_models()


@pytest.mark.parametrize("text", POEMS)
def test_check_and_suggest_want_the_same_tone_everywhere(models, text):
    report = check(text)
    for t in report.tones:
        found = suggest(text, t.line, t.position, k=10, model=models)
        assert found, (t.line, t.position)
        assert all(s.tone in (t.wants, "either") for s in found), (t, found)
        # Every break's line says the tone the pattern wants: the position's own.
        assert all(b.wants == t.wants for b in t.breaks)


@pytest.fixture(scope="module")
def composer(models):
    return Composer(models.forward, models.vocab)


@pytest.mark.parametrize(("tune", "book"), [("菩萨蛮", "xinyun"), ("浣溪沙", "pingshui")])
def test_the_decoder_writes_a_ci_of_unequal_lines_by_its_pattern(composer, tune, book):
    pattern = load_cipai(CIPAI)[tune][0]
    plan = form_plan(Family(pattern.name, (pattern,)), {(0, 1): "春"}, rhyme_book=book)
    assert step_of(plan.pattern, 2, 1) == 2 * (pattern.lengths[0] + 1)
    texts = composer.decode(plan, 4, Sampling(), seed=3)
    for text in texts:
        marks = [char for char in text if char in PUNCTUATION]
        assert marks == [line.mark for line in pattern.lines], text
        lines = split_lines(text)
        assert tuple(map(len, lines)) == pattern.lengths and lines[0][0] == "春", text
        for i, line in enumerate(lines):
            free_close = pattern.lines[i].rhyme is None
            for p, char in enumerate(line if free_close else line[:-1], start=1):
                wanted = pattern.tone(i, p)
                assert wanted is None or tone_of(char) in (wanted, None), (text, i, p)
        for segment, tone in enumerate(pattern.segments):
            ends = [lines[i][-1] for i in pattern.rhyme_lines(segment)]
            assert shared_rhymes(ends, book), (text, segment)
            assert all(tone_of(char) == tone for char in ends), (text, segment)
            assert len(set(ends)) == len(ends), text


def test_the_fixture_table_is_the_shipped_tables_layout():
    shipped = Path(__file__).resolve().parents[1] / "poetry_rnn" / "cipai.json"
    if not shipped.exists():
        pytest.skip("the package's 词牌 table is not built yet")
    assert load_cipai(shipped)
