"""Each cleaning rule on the kinds of dirt the chinese-poetry corpus carries."""

import pytest

from poetry_rnn.corpus.cleaning import (
    RULES,
    clean_text,
    clean_texts,
    drop_lost_characters,
    drop_non_han,
    drop_too_short,
    normalise_punctuation,
    strip_annotations,
    strip_markup_and_ascii,
    strip_title_marks,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("闌風長雨（一作「東風細雨」）秋紛紛，", "闌風長雨秋紛紛，"),
        ("穿耳胡僧笑點頭。（〖1〗這首詩見《全唐詩逸》。）", "穿耳胡僧笑點頭。"),
        ("毫（鶴（一作鵠））立蛇形", "毫立蛇形"),
        ("故人具雞黍[一]，還來就[菊]花", "故人具雞黍，還來就菊花"),
        ("［爽］節在重九", "爽節在重九"),
        ("文字(a note)鬼神愁", "文字鬼神愁"),
        ("月落【注】烏啼", "月落烏啼"),
    ],
)
def test_strip_annotations(raw, clean):
    assert strip_annotations(raw) == clean


@pytest.mark.parametrize(
    "text", ["冰□已鏤津", "波撼岳○城", "復照青{艹台}上", "已⿰扌并名利", "雲\ue864起"]
)
def test_drop_lost_characters(text):
    assert drop_lost_characters(text) is None


def test_lost_characters_keep_whole_poems():
    assert drop_lost_characters("床前明月光，") == "床前明月光，"


def test_strip_title_marks_keeps_the_verse():
    assert (
        strip_title_marks("童子解吟《長恨曲》，胡兒〈琵琶〉篇。") == "童子解吟長恨曲，胡兒琵琶篇。"
    )


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("秦時2明月<br>漢時關", "秦時明月漢時關"),
        ("胡馬x度陰山&nbsp;", "胡馬度陰山"),
        ("萬里１２長征/人=未還", "萬里長征人未還"),
    ],
)
def test_strip_markup_and_ascii(raw, clean):
    assert strip_markup_and_ascii(raw) == clean


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("床前明月光,疑是地上霜.", "床前明月光，疑是地上霜。"),
        ("辭曰：主乘此駱、五年", "辭曰，主乘此駱，五年。"),
        ("「何如？」萬里……賞瑤池！", "何如？萬里賞瑤池！"),
        ("，，床前明月光，。疑是地上霜", "床前明月光。疑是地上霜。"),
        ("舉頭望明月；低頭思故鄉；", "舉頭望明月；低頭思故鄉。"),
        (" 床前 明月光 ", "床前明月光。"),
    ],
)
def test_normalise_punctuation(raw, clean):
    assert normalise_punctuation(raw) == clean


def test_drop_non_han():
    assert drop_non_han("孤舟蓑笠翁※，獨釣寒江雪。") is None
    assert drop_non_han("𠀋字古，僻字𩩉也行？可！；。") is not None


def test_drop_too_short():
    assert drop_too_short("") is None
    assert drop_too_short("秋風起兮。") is None
    assert drop_too_short("白日依山盡，黃河入海流。") is not None


def test_clean_text_runs_every_rule_and_simplifies():
    raw = "秦時2明月漢時關（一作「閒」），萬里長征人未還.《但使》龍城飛將在，不教胡馬度陰山"
    assert clean_text(raw) == "秦时明月汉时关，万里长征人未还。但使龙城飞将在，不教胡马度阴山。"


def test_clean_texts_counts_each_rule_and_drops_duplicates():
    texts = [
        "床前看月光，疑是地上霜。",
        "床前看月光，疑是地上霜。",  # duplicate
        "白日依山盡，黃河入海流。",
        "白日依山尽，黄河入海流。",  # duplicate once simplified
        "冰□已鏤津，花餘凝地雪。",  # lost character
        "月○照寒江，孤舟夜泊時。",  # lost character
        "獨坐幽篁裏，彈琴復長嘯。",
        "秋風起兮。",  # too short
        "孤舟蓑笠翁※，獨釣寒江雪。",  # leftover symbol
    ]
    kept, cleaned, report = clean_texts(texts)
    assert kept == [0, 2, 6]
    assert cleaned == [
        "床前看月光，疑是地上霜。", "白日依山尽，黄河入海流。", "独坐幽篁里，弹琴复长啸。"
    ]  # fmt: skip
    assert report.dropped == {"lost_characters": 2, "non_han": 1, "too_short": 1, "duplicates": 2}
    assert report.changed["simplified"] == 2


def test_every_rule_is_reported():
    _, _, report = clean_texts([])
    assert set(report.changed) | set(report.dropped) == {r.name for r in RULES} | {"duplicates"}
