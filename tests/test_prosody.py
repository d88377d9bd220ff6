"""Prosody: rhyme groups, tones, the tone rules and the checkers, and the tone table builder.

Poems below are checked by hand; the comments give each even-position tone as the shipped
table has it (- for "either") and which rule fails where.
"""

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from poetry_rnn import build_tones
from poetry_rnn.errors import run_cli
from poetry_rnn.prosody import (
    FORMS,
    RHYME_GROUPS,
    PoemChecks,
    annotate,
    check_format,
    check_poem,
    check_rhyme,
    is_level,
    join_lines,
    required_tone,
    rhyme_group,
    rhyme_positions,
    tone_conformance,
    tone_of,
    tone_positions,
)
from poetry_rnn.text import split_lines

ROOT = Path(__file__).resolve().parents[1]
WU_JUE, QI_JUE, WU_LU, QI_LU = (
    FORMS[name] for name in ("五言绝句", "七言绝句", "五言律诗", "七言律诗")
)

# 李白 静夜思: a 古绝, rhymes 光 霜 乡 (十唐), but breaks the tone rules.
JING_YE_SI = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
# 王之涣 登鹳雀楼: rhymes 流 liu / 楼 lou (七尤), tones fully regular.
DENG_GUAN_QUE_LOU = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
# 杜甫 春望: regulated, but 簪 zan is 八寒 in 新韵 while 深 心 金 are 九文.
CHUN_WANG = (
    "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。"
    "烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。"
)
# 王维 渭城曲: the classic 失粘 between its couplets.
WEI_CHENG_QU = "渭城朝雨浥轻尘，客舍青青柳色新。劝君更尽一杯酒，西出阳关无故人。"
# 杜甫 登高: regulated 七律; 哀 来 台 are 四开 but 回 杯 五微 in 新韵.
DENG_GAO = (
    "风急天高猿啸哀，渚清沙白鸟飞回。无边落木萧萧下，不尽长江滚滚来。"
    "万里悲秋常作客，百年多病独登台。艰难苦恨繁霜鬓，潦倒新停浊酒杯。"
)


# --- rhyme groups --------------------------------------------------------------------------


def test_rhyme_groups_are_the_fourteen_of_zhonghua_xinyun():
    assert RHYME_GROUPS == (
        "一麻", "二波", "三皆", "四开", "五微", "六豪", "七尤",
        "八寒", "九文", "十唐", "十一庚", "十二齐", "十三支", "十四姑",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("char", "group"),
    [
        ("花", "一麻"),  # hua: ua
        ("家", "一麻"),  # jia: ia
        ("波", "二波"),  # bo: o
        ("国", "二波"),  # guo: uo
        ("雪", "三皆"),  # xue: üe written ue after x
        ("月", "三皆"),  # yue: üe after y
        ("来", "四开"),  # lai: ai
        ("回", "五微"),  # hui: ui
        ("高", "六豪"),  # gao: ao
        ("流", "七尤"),  # liu: iu
        ("楼", "七尤"),  # lou: ou
        ("山", "八寒"),  # shan: an
        ("元", "八寒"),  # yuan: üan
        ("云", "九文"),  # yun: ün
        ("心", "九文"),  # xin: in
        ("光", "十唐"),  # guang: uang
        ("风", "十一庚"),  # feng: eng
        ("中", "十一庚"),  # zhong: ong
        ("衣", "十二齐"),  # yi: i after no apical initial
        ("居", "十二齐"),  # ju: ü written u after j
        ("女", "十二齐"),  # nü
        ("儿", "十二齐"),  # er
        ("支", "十三支"),  # zhi: the apical -i
        ("日", "十三支"),  # ri
        ("思", "十三支"),  # si
        ("湖", "十四姑"),  # hu: u
    ],
)
def test_rhyme_group(char, group):
    assert rhyme_group(char) == group


def test_rhyme_group_of_a_non_han_character_is_none():
    assert rhyme_group("a") is None
    assert rhyme_group("，") is None


# --- tones ---------------------------------------------------------------------------------


@pytest.mark.parametrize("char", "白国竹一十石")
def test_entering_tone_characters_are_oblique_in_the_tang_table(char):
    # Modern Mandarin reads them in tone 1 or 2; the Tang table knows them as 仄.
    assert char in _shipped_table()["仄"]
    assert tone_of(char) == "仄"


@pytest.mark.parametrize("char", "天山风")
def test_clearly_level_characters(char):
    assert char in _shipped_table()["平"]
    assert tone_of(char) == "平" and is_level(char)


@pytest.mark.parametrize("char", "看思过")
def test_contested_characters_are_either_without_the_pypinyin_fallback(char):
    # pypinyin would say kan4 → 仄, si1 → 平, guo4 → 仄; the table says "either".
    assert char in _shipped_table()["either"]
    assert tone_of(char) is None
    assert not is_level(char)


@pytest.mark.parametrize(("char", "tone"), [("您", "平"), ("啡", "平"), ("俺", "仄"), ("炸", "仄")])
def test_characters_the_table_lacks_fall_back_to_pypinyin(char, tone):
    table = _shipped_table()
    assert all(char not in table[label] for label in ("平", "仄", "either"))
    assert tone_of(char) == tone


def test_neutral_tone_and_non_han_are_either():
    assert "们" not in "".join(_shipped_table()[label] for label in ("平", "仄", "either"))
    assert tone_of("们") is None  # men, neutral tone
    assert tone_of("a") is None


def test_shipped_table_is_small_and_consistent():
    path = ROOT / "poetry_rnn" / "tones.json"
    assert path.stat().st_size < 100_000
    table = _shipped_table()
    assert table["min_count"] == 5 and table["agreement"] == 0.8
    chars = table["平"] + table["仄"] + table["either"]
    assert len(chars) == len(set(chars))
    assert len(table["平"]) > 2000 and len(table["仄"]) > 2000


def _shipped_table() -> dict:
    return json.loads((ROOT / "poetry_rnn" / "tones.json").read_text(encoding="utf-8"))


# --- format and rhyme ----------------------------------------------------------------------


def test_rhyme_positions():
    assert rhyme_positions(WU_JUE) == rhyme_positions(QI_JUE) == [1, 3]
    assert rhyme_positions(WU_LU) == rhyme_positions(QI_LU) == [1, 3, 5, 7]


def test_tone_positions():
    assert tone_positions(WU_JUE) == tone_positions(WU_LU) == [2, 4]
    assert tone_positions(QI_JUE) == tone_positions(QI_LU) == [2, 4, 6]


@pytest.mark.parametrize(
    ("text", "form"),
    [(DENG_GUAN_QUE_LOU, WU_JUE), (WEI_CHENG_QU, QI_JUE), (CHUN_WANG, WU_LU), (DENG_GAO, QI_LU)],
)
def test_format_accepts_each_form(text, form):
    assert check_format(text, form)
    others = [other for other in FORMS.values() if other != form]
    assert not any(check_format(text, other) for other in others)


@pytest.mark.parametrize(
    "text",
    [
        "白日依山尽，黄河入海流。欲穷千里目，",  # three lines
        DENG_GUAN_QUE_LOU + "白日依山尽，黄河入海流。",  # six lines
        "白日依山尽，黄河入海流。欲穷千里目，更上一层高楼。",  # a line of six
        "白日依山，黄河入海流。欲穷千里目，更上一层楼。",  # a line of four
        "白日依山尽。黄河入海流，欲穷千里目，更上一层楼。",  # 。 and ， swapped
        "白日依山尽，黄河入海流。欲穷千里目，更上一层楼？",  # ？ at the end
        "白日依山尽，黄河入海流。欲穷千里目，更上一层楼",  # no final 。
        "白日依山尽，，黄河入海流。欲穷千里目，更上一层楼。",  # doubled mark
        "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。\n",  # trailing newline
        "白日a山尽，黄河入海流。欲穷千里目，更上一层楼。",  # a Latin letter
        "白日依山尽，黄河入海流。欲穷千里目，更上一 楼。",  # a space
        "",
    ],
)
def test_format_rejects(text):
    assert not check_format(text, WU_JUE)


def test_classic_quatrains_rhyme():
    assert check_rhyme(JING_YE_SI, WU_JUE)  # 霜 shuang, 乡 xiang: 十唐 (光 joins)
    assert check_rhyme(DENG_GUAN_QUE_LOU, WU_JUE)  # 流 liu, 楼 lou: 七尤
    assert check_rhyme(WEI_CHENG_QU, QI_JUE)  # 新 xin, 人 ren: 九文


def test_poems_that_do_not_rhyme():
    # 海 hai (四开) against 楼 lou (七尤).
    assert not check_rhyme("白日依山尽，黄河入大海。欲穷千里目，更上一层楼。", WU_JUE)
    # 新韵 parts with the old rhymes: 簪 zan 八寒 among 九文; 回 杯 五微 among 四开.
    assert not check_rhyme(CHUN_WANG, WU_LU)
    assert not check_rhyme(DENG_GAO, QI_LU)


def test_line_one_need_not_rhyme():
    assert rhyme_group("尽") != rhyme_group("流")
    assert check_rhyme(DENG_GUAN_QUE_LOU, WU_JUE)


def test_missing_rhyme_line_or_character_without_group_fails():
    assert not check_rhyme("白日依山尽，黄河入海流。欲穷千里目，", WU_JUE)
    assert not check_rhyme(DENG_GUAN_QUE_LOU, WU_LU)  # lines 6 and 8 missing
    assert not check_rhyme("白日依山尽，黄河入海a。欲穷千里目，更上一层a。", WU_JUE)


# --- tone conformance ----------------------------------------------------------------------


def test_tone_conformance_of_a_regulated_poem():
    # 春望, even positions (2, 4) per line:
    #   1 破仄 河平   2 春平 木仄   3 时平 溅仄   4 别仄 惊平
    #   5 火仄 三-    6 书平 万仄   7 头平 更-    8 欲仄 胜-
    # 分明: 仄/平, 平/仄, 平/仄, 仄/平, 仄/-, 平/仄, 平/-, 仄/- all hold;
    # 对 (lines 2 4 6 8): 春≠破, 木≠河; 别≠时, 惊≠溅; 书≠火, 万 vs 三-; 欲≠头, 胜- hold;
    # 粘 (lines 3 5 7): 时=春, 溅=木; 火=别, 三-; 头=书, 更- hold. All 16 of 16.
    assert tone_conformance(CHUN_WANG, WU_LU) == (16, 16)
    # 登高: every even position of the 8 lines conforms, no "either" among them.
    assert tone_conformance(DENG_GAO, QI_LU) == (24, 24)
    # 登鹳雀楼: 日仄 山平 / 河平 海仄 / 穷平 里仄 / 上仄 层平: 8 of 8.
    assert tone_conformance(DENG_GUAN_QUE_LOU, WU_JUE) == (8, 8)


def test_tone_conformance_counts_a_broken_zhan():
    # 渭城曲: 1 城平 雨仄 轻平 · 2 舍仄 青平 色仄 · 3 君平 尽仄 杯平 · 4 出仄 关平 故仄.
    # Line 3 opposes line 2 instead of following it: 粘 fails at its 3 positions; all the
    # rest (分明 everywhere, 对 in lines 2 and 4) holds. 9 of 12.
    assert tone_conformance(WEI_CHENG_QU, QI_JUE) == (9, 12)


def test_tone_conformance_counts_a_broken_dui():
    # 登鹳雀楼 with line 4 changed to 更看万里楼: 看 is "either", 里仄.
    # Line 4 position 2: 分明 and 对 involve 看-, hold; position 4: 对 里仄 = 里仄 fails.
    text = "白日依山尽，黄河入海流。欲穷千里目，更看万里楼。"
    assert tone_conformance(text, WU_JUE) == (7, 8)


def test_tone_conformance_of_an_ancient_style_poem():
    # 静夜思: 1 前平 月仄 · 2 是仄 上仄 · 3 头平 明平 · 4 头平 故仄.
    # Line 1: both hold (2). Line 2: 2 分明 仄=仄 fails, 4 对 上仄 = 月仄 fails (0).
    # Line 3: 2 分明 平=平 fails, 4 粘 明平 ≠ 上仄 fails (0).
    # Line 4: 2 对 头平 = 头平 fails, 4 对 故仄 ≠ 明平 holds (1). 3 of 8.
    assert tone_conformance(JING_YE_SI, WU_JUE) == (3, 8)


def test_tone_conformance_covers_only_the_leading_complete_lines():
    assert tone_conformance("白日依山尽，黄河入海流。欲穷千里，更上一层楼。", WU_JUE) == (4, 4)
    assert tone_conformance("", WU_JUE) == (0, 0)
    assert tone_conformance(DENG_GUAN_QUE_LOU + DENG_GUAN_QUE_LOU, WU_JUE) == (8, 8)


# --- required_tone -------------------------------------------------------------------------


def test_required_tone_follows_the_first_choice():
    assert required_tone([], 0, 2) is None  # the poem's first choice is free
    assert required_tone([["平", "平"]], 0, 2) is None  # (0, 2) itself is ignored
    first = [[None, "平"]]
    assert required_tone(first, 0, 4) == "仄"  # 分明
    assert required_tone(first, 0, 3) is None  # odd positions are free
    line1 = [None, "平", None, "仄", None, "平", None]
    assert required_tone([line1], 0, 6) == "平"
    assert required_tone([line1, []], 1, 2) == "仄"  # 对
    assert required_tone([line1, [None, "仄", None]], 1, 4) == "平"  # 分明 and 对
    assert required_tone([line1, [None, "仄", None, "平"]], 2, 2) == "仄"  # 粘
    assert required_tone([line1, [], [], []], 3, 2) == "平"  # 对 again


def test_required_tone_reaches_past_either_characters():
    # Position 2 was an "either" character: position 4 sets the pattern instead.
    assert required_tone([[None, None, None, "仄"]], 0, 6) == "平"
    assert required_tone([[None, None, None, "仄", None]], 1, 2) == "仄"  # 2 would be 平
    assert required_tone([[None] * 5, [None] * 5], 2, 4) is None
    assert required_tone([[None, "平"], [None]], 1, 4) == "平"  # positions not given yet


def test_required_tone_reproduces_a_regulated_poem():
    tones: list[list[str | None]] = []
    for i, line in enumerate(split_lines(DENG_GAO)):
        tones.append([])
        for p, char in enumerate(line, start=1):
            if p % 2 == 0 and (i, p) != (0, 2):
                assert required_tone(tones, i, p) == tone_of(char), (i, p, char)
            tones[-1].append(tone_of(char))


@pytest.mark.parametrize("form", FORMS.values(), ids=lambda form: form.name)
def test_following_required_tone_conforms_fully(form):
    chars = {"平": "天", "仄": "月", None: "看"}  # level, oblique, either
    assert [tone_of(char) for char in chars.values()] == list(chars)
    rng = random.Random(form.name)
    for _ in range(200):
        tones: list[list[str | None]] = []
        for line in range(form.lines):
            tones.append([])
            for position in range(1, form.chars + 1):
                wanted = required_tone(tones, line, position)
                choices = ["平", "仄", None] if wanted is None else [wanted, wanted, None]
                tones[-1].append(rng.choice(choices))
        text = join_lines(["".join(chars[tone] for tone in line) for line in tones])
        checked = form.lines * len(tone_positions(form))
        assert tone_conformance(text, form) == (checked, checked), text


# --- check_poem ----------------------------------------------------------------------------


def test_check_poem():
    assert check_poem(DENG_GUAN_QUE_LOU, WU_JUE) == PoemChecks(True, True, 8, 8)
    assert check_poem(CHUN_WANG, WU_LU) == PoemChecks(True, False, 16, 16)
    checks = check_poem(JING_YE_SI, WU_JUE)
    assert checks == PoemChecks(True, True, 3, 8) and checks.tone_rate == 3 / 8


def test_check_poem_with_a_broken_format():
    # Three lines: no rhyme (line 4 missing), tones over the three complete lines.
    checks = check_poem("白日依山尽，黄河入海流。欲穷千里目。", WU_JUE)
    assert checks == PoemChecks(False, False, 6, 6)
    assert check_poem("", WU_JUE).tone_rate == 0.0


# --- build_tones ---------------------------------------------------------------------------

# A tiny corpus, counted by hand (平+仄 labels only; ○ and ？ count nothing):
#   天 3+2 平                        → 5 of 5 平            → 平
#   國 3 仄 and 国 2 仄 (one char)   → 5 of 5 仄            → 仄
#   看 4 平 1 仄                     → 4/5 = 0.8 >= 0.8     → 平
#   過 3 平 and 过 2 仄              → 3/5 = 0.6            → either
#   月 5 仄 (its paragraph has ？ over 「」, still aligned)  → 仄
#   山 3 平, 风 3 平 (+2 ○)          → under 5              → left out
#   poem d's two paragraphs do not align (length; punctuation place), poem e has one
#   paragraph for two strains, strain f has no poem: none of them counts (d would give 天 仄).
POEMS = [
    {"id": "a", "paragraphs": ["天天天國國，", "國看看看看。"]},
    {"id": "b", "paragraphs": ["天天国国看，", "過過過过过。"]},
    {"id": "c", "paragraphs": ["山山山风风，", "「风」风风。", "「月」月月月月。"]},
    {"id": "d", "paragraphs": ["天天天天天，", "天天，天天。"]},
    {"id": "e", "paragraphs": ["天天天天天，"]},
]
STRAINS = [
    {"id": "a", "strains": ["平平平仄仄，", "仄平平平平。"]},
    {"id": "b", "strains": ["平平仄仄仄，", "平平平仄仄。"]},
    {"id": "c", "strains": ["平平平○○，", "？平？平平。", "？仄？仄仄仄仄。"]},
    {"id": "d", "strains": ["仄仄仄仄，", "仄仄仄，仄。"]},
    {"id": "e", "strains": ["仄仄仄仄仄，", "仄仄仄仄仄。"]},
    {"id": "f", "strains": ["仄仄仄仄仄，"]},
]


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    for folder, records in (("全唐诗", POEMS), ("strains/json", STRAINS)):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "poet.tang.0.json").write_text(
            json.dumps(records, ensure_ascii=False), encoding="utf-8"
        )
    return tmp_path


def test_build_tones_counts_and_labels(tiny_corpus, tmp_path):
    out = tmp_path / "tones.json"
    stats = build_tones.build_tones(tiny_corpus, out)
    table = json.loads(out.read_text(encoding="utf-8"))
    assert table == {
        "平": "天看",
        "仄": "国月",
        "either": "过",
        "source": "chinese-poetry strains/json/poet.tang.*.json",
        "min_count": 5,
        "agreement": 0.8,
    }
    assert stats["poems"] == 6
    assert stats["paragraphs aligned"] == 7 and stats["paragraphs skipped"] == 2
    assert stats["poems skipped: paragraph count"] == 1
    assert stats["poems skipped: no matching poem"] == 1
    assert out.read_text(encoding="utf-8").count("\n") == 1  # compact: one line


def test_build_tones_thresholds(tiny_corpus):
    stats: Counter = Counter()
    pairs = build_tones.labelled_chars(tiny_corpus, stats)
    counts = build_tones.count_tones(pairs)
    assert counts["国"] == {"仄": 5} and counts["过"] == {"平": 3, "仄": 2}
    assert counts["风"] == {"平": 3}
    strict = build_tones.tone_labels(counts, min_count=5, agreement=0.9)
    assert strict == {"天": "平", "国": "仄", "看": "either", "过": "either", "月": "仄"}
    loose = build_tones.tone_labels(counts, min_count=3, agreement=0.6)
    assert loose == {
        "天": "平",
        "国": "仄",
        "看": "平",
        "过": "平",
        "月": "仄",
        "山": "平",
        "风": "平",
    }


def test_aligned():
    assert build_tones.aligned("天地，", "平仄，")
    assert build_tones.aligned("「天」，", "？平？，")
    assert not build_tones.aligned("天地，", "平仄")
    assert not build_tones.aligned("天，地", "平仄，")
    assert not build_tones.aligned("天□，", "平仄，")


def test_build_tones_cli(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "out" / "tones.json"
    assert run_cli(build_tones.main, ["--corpus", str(tiny_corpus), "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["仄"] == "国月"
    assert "paragraphs aligned" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("options", "message"),
    [(["--min-count", "0"], "--min-count"), (["--agreement", "0.5"], "--agreement")],
)
def test_build_tones_rejects_bad_options(tiny_corpus, options, message, capsys):
    out = ["--out", str(tiny_corpus / "tones.json")]
    assert run_cli(build_tones.main, ["--corpus", str(tiny_corpus), *out, *options]) == 2
    assert message in capsys.readouterr().err


def test_build_tones_cli_missing_corpus(tmp_path):
    missing = tmp_path / "nowhere"
    result = subprocess.run(
        [sys.executable, "-m", "poetry_rnn.build_tones", "--corpus", str(missing)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr == f"error: corpus not found: {missing}\n"
    assert not (tmp_path / "tones.json").exists()


def test_annotate_marks_tones_and_the_rhymes_a_reader_sees():
    marks = annotate("床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。")
    assert ["".join(m.char for m in line) for line in marks] == [
        "床前明月光",
        "疑是地上霜",
        "舉頭望明月",
        "低頭思故鄉",
    ]
    assert [m.tone for m in marks[0]] == ["平", "平", "平", "仄", "平"]
    rhymes = [[m.rhyme for m in line if m.rhyme] for line in marks]
    assert rhymes == [["十唐"], ["十唐"], [], ["十唐"]]  # the first line joins the rhyme
    assert annotate("白日依山尽，黄河入海流。")[0][-1].rhyme is None  # 尽 does not rhyme with 流
