"""check and suggest: the poets' poems as their own readings expect, suggestions that mend a
poem, and the ``poetry_rnn.poetics.check`` command line.

Tones are the shipped table's, checked by hand (- for "either"). Each poem's comment says which
even positions break which rule, and why the poet wrote it so.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import favouring, tiny_model

from poetry_rnn.app.check_cli import main
from poetry_rnn.errors import PoetryError, run_cli
from poetry_rnn.forms import FORMS
from poetry_rnn.model.charrnn import CharRNN, masked_loss
from poetry_rnn.model.checkpoint import Models, from_pretrained, load_models, save_pretrained
from poetry_rnn.poetics.check import MAX_INPUT_CHARS, check, format_report
from poetry_rnn.poetics.prosody import check_rhyme, tone_conformance
from poetry_rnn.poetics.rhymes import heard_rhyme_groups, rhyme_groups
from poetry_rnn.poetics.suggest import MAX_SUGGESTIONS, Suggestion, format_suggestions, suggest
from poetry_rnn.poetics.tones import tone_of

ROOT = Path(__file__).resolve().parents[1]
ENV = os.environ | {"PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}

JING_YE_SI = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
# 杜甫, fully regular: 仄仄平平仄 / 平平仄仄平 / 仄平平仄仄 / 仄仄仄平平 / 平仄平-仄 / 平平仄仄平 /
# 仄平平-仄 / 平仄仄-平.
CHUN_WANG = (
    "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。"
    "烽火连三月，家书抵万金。白头搔更短，浑欲不胜簪。"
)

# name: (text, form, the groups the rhyme is judged by under 平水韵, the lines that rhyme
# (line 1 where it joins), satisfied / checked tone positions, the broken positions as
# (line, position, rule)).
POEMS = {
    # 王之涣: 仄仄平平仄 / 平平仄仄平 / 仄平平仄仄 / -仄仄平平, the docs' example.
    "登鹳雀楼": ("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。", "五言绝句",
                 ["下平十一尤"], [2, 4], (8, 8), []),
    # 王维: 平仄平平仄 / 平平仄仄平 / 仄平平仄仄 / 仄仄仄--; 思 is also 去声四寘, and 国 (入声)
    # leaves line 1 out of the rhyme.
    "相思": ("红豆生南国，春来发几枝。愿君多采撷，此物最相思。", "五言绝句",
             ["上平四支"], [2, 4], (8, 8), []),
    # 柳宗元: a 古绝 rhymed in the oblique 入声九屑 (绝 灭 雪), so no level rhyme; its tones
    # 平平仄平仄 / 仄仄平平仄 / 平平平仄平 / 仄仄平平仄 follow no pattern.
    "江雪": ("千山鸟飞绝，万径人踪灭。孤舟蓑笠翁，独钓寒江雪。", "五言绝句", [], [2, 4], (4, 8),
             [(1, 2, "二四六分明"), (2, 4, "对"), (3, 2, "粘"), (3, 4, "粘")]),
    # 王维: a 古绝 rhymed in the oblique 上声二十二养 (响 上); 平平仄仄平 / 仄平平仄仄 /
    # 仄仄仄平平 / 仄仄平平仄: every couplet's lines agree where 对 wants them opposed, and
    # line 3 opposes line 2 where 粘 wants them alike.
    "鹿柴": ("空山不见人，但闻人语响。返景入深林，复照青苔上。", "五言绝句", [], [2, 4], (2, 8),
             [(2, 2, "对"), (2, 4, "对"), (3, 2, "粘"), (3, 4, "粘"), (4, 2, "对"), (4, 4, "对")]),
    # 李白: a 古绝 on a regular rhyme, 光 joining it; 平平平仄平 / 平仄仄仄平 / 仄平仄平仄 /
    # 平平-仄平 conforms at 3 of 8, as the docs say.
    "静夜思": (JING_YE_SI, "五言绝句", ["下平七阳"], [1, 2, 4], (3, 8),
               [(2, 2, "二四六分明"), (2, 4, "对"), (3, 2, "二四六分明"), (3, 2, "粘"),
                (3, 4, "粘"), (4, 2, "对")]),
    # 王维 渭城曲: the classic 失粘: line 3 (仄平-仄仄平仄) opposes line 2 (仄仄平平仄仄平) at
    # every even position.
    "渭城曲": ("渭城朝雨浥轻尘，客舍青青柳色新。劝君更尽一杯酒，西出阳关无故人。", "七言绝句",
               ["上平十一真"], [1, 2, 4], (9, 12),
               [(3, 2, "粘"), (3, 4, "粘"), (3, 6, "粘")]),
    # 李白: regular; 过 and 重 are "either" (guō/guò, chóng/zhòng).
    "早发白帝城": ("朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。",
                   "七言绝句", ["上平十五删"], [1, 2, 4], (12, 12), []),
    # 张继: regular.
    "枫桥夜泊": ("月落乌啼霜满天，江枫渔火对愁眠。姑苏城外寒山寺，夜半钟声到客船。",
                 "七言绝句", ["下平一先"], [1, 2, 4], (12, 12), []),
    "春望": (CHUN_WANG, "五言律诗", ["下平十二侵"], [2, 4, 6, 8], (16, 16), []),
    # 王维: regular.
    "山居秋暝": ("空山新雨后，天气晚来秋。明月松间照，清泉石上流。"
                 "竹喧归浣女，莲动下渔舟。随意春芳歇，王孙自可留。", "五言律诗",
                 ["下平十一尤"], [2, 4, 6, 8], (16, 16), []),
    # 王勃: regular but for line 7, 无为在歧路 平平仄平仄: the accepted 拗 variant of
    # 平平平仄仄 that swaps positions 3 and 4, which the rules here do not know, so 歧 (平)
    # breaks 粘 with 比 and, in turn, 沾 breaks 对 with it.
    "送杜少府之任蜀州": ("城阙辅三秦，风烟望五津。与君离别意，同是宦游人。"
                         "海内存知己，天涯若比邻。无为在歧路，儿女共沾巾。", "五言律诗",
                         ["上平十一真"], [1, 2, 4, 6, 8], (13, 16),
                         [(7, 2, "二四六分明"), (7, 4, "粘"), (8, 4, "对")]),
    # 杜甫: regular; 台 is also in 上平四支.
    "登高": ("风急天高猿啸哀，渚清沙白鸟飞回。无边落木萧萧下，不尽长江滚滚来。"
             "万里悲秋常作客，百年多病独登台。艰难苦恨繁霜鬓，潦倒新停浊酒杯。", "七言律诗",
             ["上平十灰"], [1, 2, 4, 6, 8], (24, 24), []),
    # 杜甫: regular; 相 and 长 are "either".
    "蜀相": ("丞相祠堂何处寻，锦官城外柏森森。映阶碧草自春色，隔叶黄鹂空好音。"
             "三顾频烦天下计，两朝开济老臣心。出师未捷身先死，长使英雄泪满襟。", "七言律诗",
             ["下平十二侵"], [1, 2, 4, 6, 8], (24, 24), []),
}  # fmt: skip


@pytest.mark.parametrize("name", POEMS)
def test_the_poets_poems_as_their_readings_expect(name):
    text, form, groups, rhyme_lines, (satisfied, checked), broken = POEMS[name]
    report = check(text)
    assert report.form == form
    assert report.rhyme_groups == groups and report.rhymes == bool(groups)
    assert [r.line for r in report.rhyme] == rhyme_lines
    assert all(r.ok == bool(groups) for r in report.rhyme)
    assert (report.tone_satisfied, report.tone_checked) == (satisfied, checked)
    found = [(t.line, t.position, b.rule) for t in report.tones for b in t.breaks]
    assert found == broken
    # The same verdicts as the checkers that score generated poems.
    assert report.rhymes == check_rhyme(text, FORMS[form])
    assert (satisfied, checked) == tone_conformance(text, FORMS[form])


def test_jing_ye_si_in_detail():
    report = check(JING_YE_SI)
    assert report.form == "五言绝句" and report.rhyme_book == "pingshui"
    assert report.lines == ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"]
    assert [(r.char, r.groups, r.required) for r in report.rhyme] == [
        ("光", ["下平七阳"], False),
        ("霜", ["下平七阳"], True),
        ("乡", ["下平七阳", "去声二十三漾"], True),
    ]
    assert [(t.char, t.tone, t.source) for t in report.tones] == [
        ("前", "平", "corpus"), ("月", "仄", "corpus"), ("是", "仄", "corpus"),
        ("上", "仄", "corpus"), ("头", "平", "corpus"), ("明", "平", "corpus"),
        ("头", "平", "corpus"), ("故", "仄", "corpus"),
    ]  # fmt: skip
    # 上 (line 2, character 4) breaks 对 with 月; changing it to 平 mends that and breaks nothing.
    shang = report.tones[3]
    assert (shang.line, shang.position, shang.wants) == (2, 4, "平")
    assert [(b.rule, b.line, b.position, b.char, b.wants) for b in shang.breaks] == [
        ("对", 1, 4, "月", "平")
    ]
    assert report.unattested_doubles == []
    assert report.repeated_words == ["明月"]  # 床前明月光 … 举头望明月
    assert (
        "明月: said twice (poets do it in 3 % of their regulated poems)"
        in format_report(report).splitlines()
    )


def test_the_rhyme_book_decides():
    xinyun = check(JING_YE_SI, rhyme_book="xinyun")
    assert xinyun.rhymes and xinyun.rhyme_groups == ["十唐"]
    assert [r.groups for r in xinyun.rhyme] == [["十唐"]] * 3
    # 灭 (miè) and 雪 (xuě) share the modern 三皆, though under 平水韵 their 入声九屑 is oblique.
    jiang_xue = POEMS["江雪"][0]
    assert not check(jiang_xue).rhymes
    assert check(jiang_xue, rhyme_book="xinyun").rhymes
    assert check(jiang_xue, rhyme_book="xinyun").rhyme_groups == ["三皆"]


def test_the_character_that_breaks_the_rhyme():
    # 霜 (下平七阳) and 家 (下平六麻) stand one each; 光 of line 1 decides for 下平七阳.
    report = check("床前明月光，疑是地上霜。举头望明月，低头思故家。")
    assert not report.rhymes and report.rhyme_groups == ["下平七阳"]
    assert [(r.line, r.char, r.ok) for r in report.rhyme] == [(2, "霜", True), (4, "家", False)]


@pytest.mark.parametrize(
    ("last", "book", "finding", "summary"),
    [
        ("人", "pingshui", "上平十一真, not in 下平七阳", "霜 人 do not rhyme in 平水韵"),
        ("人", "xinyun", "九文, not in 十唐", "霜 人 do not rhyme in 中华新韵"),
        # 塞 stands in two groups, named in the book's order (去声 before 入声).
        ("塞", "pingshui", "去声十一队/入声十三职, not in 下平七阳",
         "霜 塞 do not rhyme in 平水韵"),
    ],
)  # fmt: skip
def test_a_broken_rhyme_is_named_with_the_group_it_wants(last, book, finding, summary):
    report = check(f"床前明月光，疑是地上霜。举头望明月，低头思故{last}。", rhyme_book=book)
    printed = format_report(report).splitlines()
    assert f"line 4, last character ({last}): {finding} — rhyme" in printed
    assert f"rhyme: {summary}" in printed


@pytest.mark.parametrize(
    ("last", "book", "finding"),
    [
        # 月 is oblique (入声): no level group for the rhyme to be judged by.
        ("月", "pingshui", "入声六月, not in a level group"),
        ("们", "pingshui", "in no group of 平水韵, not in a level group"),
        ("嗯", "xinyun", "in no group of 中华新韵, not in a group"),
    ],
)
def test_a_rhyme_with_no_group_to_judge_it_by_says_so(last, book, finding):
    report = check(f"床前明月光，疑是地上{last}。举头望明月，低头思故{last}。", rhyme_book=book)
    assert report.rhyme_groups == []
    rows = format_report(report).splitlines()
    assert [f"line {n}, last character ({last}): {finding} — rhyme" for n in (2, 4)] == [
        row for row in rows if row.endswith("— rhyme")
    ]


def test_a_character_the_tang_table_lacks_takes_its_modern_reading():
    report = check("白她依山尽，黄河入海流。欲穷千里目，更上一层楼。")
    her = report.tones[0]
    assert (her.char, her.source, her.reading, her.tone) == ("她", "modern", "ta1", "平")
    assert [b.rule for b in her.breaks] == ["二四六分明"]  # 她 平 against 山 平
    assert "line 1, character 2 (她): not in the Tang tone table; its modern reading ta1 makes" \
        " it 平" in format_report(report)  # fmt: skip


def test_an_unattested_doubling_is_reported():
    report = check("白日依岸岸，黄河入海流。欲穷千里目，更上一层楼。")
    assert report.unattested_doubles == ["岸"]
    assert "岸岸: a doubling no poet attests" in format_report(report).splitlines()


@pytest.mark.parametrize(
    "text",
    [
        "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。",  # traditional
        "床前明月光,疑是地上霜.举头望明月,低头思故乡.",  # ASCII marks
        "床前明月光\n疑是地上霜\n举头望明月\n低头思故乡\n",  # line breaks
        " 床前明月光！疑是地上霜？\r\n举头望明月；低头思故乡 ",
    ],
)
def test_any_way_of_writing_the_poem_is_the_same_poem(text):
    assert check(text) == check(JING_YE_SI)


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("", {}, "the poem is empty"),
        (" ，。\n", {}, "the poem is empty"),
        ("床前明月光，hello。", {}, "the poem has characters that are not Han characters: h e l o"),
        ("床前明月光，疑是地上霜。举头望明月亮，", {},
         "3 lines of 5, 5, 6 characters: not one of 五言绝句, 七言绝句, 五言律诗, 七言律诗"),
        ("床前明月光", {}, "1 line of 5 characters: not one of 五言绝句, 七言绝句, 五言律诗"),
        (JING_YE_SI, {"form": "七言绝句"},
         "4 lines of 5, 5, 5, 5 characters: not 七言绝句 (4 lines of 7)"),
        (JING_YE_SI, {"form": "六言绝句"}, "unknown form '六言绝句'"),
        (JING_YE_SI, {"form": ["五言绝句"]}, "a form is named by text, got list"),
        (JING_YE_SI, {"rhyme_book": "cilin"}, "unknown rhyme book 'cilin'"),
        ("床" * (MAX_INPUT_CHARS + 1), {}, f"the poem is too long: at most {MAX_INPUT_CHARS}"),
        (None, {}, "the poem must be text, got NoneType"),
        (5, {}, "the poem must be text, got int"),
        ("床" * MAX_INPUT_CHARS, {}, f"1 line of {MAX_INPUT_CHARS} characters: not one of"),
    ],
)  # fmt: skip
def test_text_that_is_not_a_poem_is_one_clear_error(text, options, message):
    with pytest.raises(PoetryError) as error:
        check(text, **options)
    assert str(error.value).startswith(message)


# --- suggestions -----------------------------------------------------------------------------

# 登鹳雀楼 with 里 (仄) turned into 山 (平): line 3, character 4 now breaks 粘 with 海 and
# 二四六分明 with 穷, and line 4's 层 breaks 对 with it.
BROKEN = "白日依山尽，黄河入海流。欲穷千山目，更上一层楼。"


@pytest.fixture(scope="module")
def scorer() -> Models:
    return load_models()


def test_suggestions_mend_a_broken_position_with_the_poets_character(scorer):
    report = check(BROKEN)
    assert (report.tone_satisfied, report.tones[5].wants) == (5, "仄")
    suggestions = suggest(BROKEN, 3, 4, model=scorer)
    assert len(suggestions) == 10 and suggestions[0].char == "里"  # 千里目, as 王之涣 wrote
    assert all(s.tone in ("仄", "either") and s.tone == _tone(s.char) for s in suggestions)
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)
    for s in suggestions:  # each mends every broken position
        assert check(BROKEN.replace("千山", "千" + s.char)).tone_satisfied == 8, s


def test_suggestions_take_a_generator_or_a_model_directory_as_their_model(scorer):
    from poetry_rnn.model.checkpoint import SHIPPED_MODEL
    from poetry_rnn.writing.generate import PoetryGenerator

    expected = suggest(BROKEN, 3, 4, k=5, model=scorer)
    assert suggest(BROKEN, 3, 4, k=5, model=PoetryGenerator(*scorer)) == expected
    assert suggest(BROKEN, 3, 4, k=5, model=str(SHIPPED_MODEL)) == expected
    for wrong in (5, b"model", ["model"]):
        with pytest.raises(PoetryError, match="model must be a PoetryGenerator, loaded Models or"):
            suggest(BROKEN, 3, 4, model=wrong)


def _tone(char: str) -> str:
    return tone_of(char) or "either"


@pytest.mark.parametrize(("line", "others"), [(4, {"光", "霜"}), (1, {"霜", "乡"})])
def test_suggestions_at_a_rhyme_position_share_the_rhyme(scorer, line, others):
    suggestions = suggest(JING_YE_SI, line, 5, k=20, model=scorer)
    assert len(suggestions) == 20
    for s in suggestions:
        assert s.tone == "平" and "下平七阳" in rhyme_groups(s.char), s
        assert s.char not in others | {"乡" if line == 4 else "光"}


def test_every_suggestion_has_the_tone_wanted_however_many_are_asked_for(scorer):
    suggestions = suggest(BROKEN, 3, 4, k=MAX_SUGGESTIONS, model=scorer)
    assert len(suggestions) == MAX_SUGGESTIONS
    assert {s.tone for s in suggestions} <= {"仄", "either"}


@pytest.mark.parametrize(
    ("poem", "line", "group"),
    [
        # The character at the position does not count: 人 breaks the rhyme of 光 霜.
        ("床前明月光，疑是地上霜。举头望明月，低头思故人。", 4, "下平七阳"),
        # Lines 4, 6 and 8 end in three groups (乡 下平七阳, 声 下平八庚, 人 上平十一真);
        # line 1's 明 decides for 下平八庚.
        (
            "床前看月明，疑是地上霜。举头望明月，低头思故乡。"
            "独坐幽篁里，空山闻鸟声。深林人不知，明月来照人。",
            2,
            "下平八庚",
        ),
    ],
)
def test_suggestions_at_a_rhyme_position_rhyme_with_the_other_lines(scorer, poem, line, group):
    suggestions = suggest(poem, line, 5, model=scorer)
    assert len(suggestions) == 10
    assert all(group in heard_rhyme_groups(s.char, "pingshui") for s in suggestions)


def test_the_first_character_of_a_line_may_be_mended(scorer):
    suggestions = suggest(JING_YE_SI, 1, 1, k=1, model=scorer)
    assert len(suggestions) == 1
    assert suggest(JING_YE_SI, 1, 1, k=1) == suggestions  # the shipped model by default


def test_no_suggestion_is_said_so():
    assert format_suggestions(1, 2, "前", []) == (
        "suggestions for line 1, character 2 (前):\n"
        "  none: no character of the vocabulary satisfies the rules there"
    )


def test_with_a_backward_model_the_score_adds_its_reading_of_the_poem_from_its_end():
    model, vocab = from_pretrained()  # fp32, so the two computations agree closely
    torch.manual_seed(0)
    backward = tiny_model(vocab, "backward")
    suggestions = suggest(JING_YE_SI, 3, 3, k=3, model=Models(model, vocab, backward))
    for s in suggestions:
        text = JING_YE_SI.replace("举头望", "举头" + s.char)
        expected = _log_likelihood(model, vocab, text) + _log_likelihood(
            backward, vocab, text[::-1]
        )
        assert s.score == pytest.approx(expected, abs=1e-3)


def _log_likelihood(model: CharRNN, vocab, text: str) -> float:
    """log P of ``text`` read as ``model`` reads a poem: the start token, then its tokens."""
    poem = torch.tensor([vocab.encode(text, wrap=True)])
    with torch.no_grad():
        return -masked_loss(model, poem, [vocab.pad_id], reduction="sum").item()


def test_the_score_is_the_poems_log_likelihood():
    model, vocab = from_pretrained()  # fp32, so the two computations agree closely
    suggestions = suggest(JING_YE_SI, 3, 3, k=3, model=Models(model, vocab))
    for s in suggestions:
        text = JING_YE_SI.replace("举头望", "举头" + s.char)
        assert s.score == pytest.approx(_log_likelihood(model, vocab, text), abs=1e-3)


def _favouring(char: str, vocab, forward) -> Models:
    """The shipped forward model with a tiny backward model that strongly prefers ``char``."""
    return Models(forward, vocab, favouring(char, vocab, "backward"))


def test_a_backward_model_joins_the_ranking(scorer):
    alone = suggest(BROKEN, 3, 4, model=scorer)
    assert "水" not in [s.char for s in alone]
    both = suggest(BROKEN, 3, 4, model=_favouring("水", scorer.vocab, scorer.forward))
    assert both[0].char == "水"


def test_a_backward_model_directory_with_the_same_vocabulary(scorer, tmp_path):
    tiny = _favouring("水", scorer.vocab, scorer.forward).backward
    save_pretrained(tmp_path / "backward", tiny, scorer.vocab)
    loaded = load_models(backward=tmp_path / "backward")
    assert suggest(BROKEN, 3, 4, k=1, model=loaded)[0].char == "水"
    with pytest.raises(PoetryError, match="holds a backward model, but a forward one"):
        load_models(tmp_path / "backward")


def test_the_cli_suggests_with_the_backward_model_and_the_rhyme_book_asked_for(
    cli, scorer, tmp_path
):
    tiny = _favouring("水", scorer.vocab, scorer.forward).backward
    save_pretrained(tmp_path / "backward", tiny, scorer.vocab)
    status, out, _ = cli(
        BROKEN, "--suggest", "3:4", "--k", "1", "--backward", str(tmp_path / "backward")
    )
    assert status == 0 and out.splitlines()[-1].split()[0] == "水"
    # 中华新韵's suggestions at a rhyme position rhyme in its group, ten of them by default.
    status, out, _ = cli(JING_YE_SI, "--suggest", "4:5", "--rhyme-book", "xinyun", "--json")
    expected = suggest(JING_YE_SI, 4, 5, rhyme_book="xinyun", model=scorer)
    assert status == 0 and [s["char"] for s in json.loads(out)["suggestions"]] == [
        s.char for s in expected
    ]
    assert len(expected) == 10 and expected != suggest(JING_YE_SI, 4, 5, model=scorer)


def test_no_character_a_third_time_nor_an_unattested_doubling(scorer):
    vocab, forward = scorer.vocab, scorer.forward

    def first(text: str, line: int, position: int, favoured: str) -> str:
        return suggest(text, line, position, model=_favouring(favoured, vocab, forward))[0].char

    # 明 is in 静夜思 twice already; 霜 once, so it may come again.
    assert first(JING_YE_SI, 4, 3, "明") != "明"
    assert first(JING_YE_SI, 4, 3, "霜") == "霜"
    # 白头搔更短: beside 搔 stand 头 (头头 is attested) and 更 (更更 is not).
    assert first(CHUN_WANG, 7, 3, "头") == "头"
    assert first(CHUN_WANG, 7, 3, "更") != "更"


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"line": 5, "position": 1}, "line 5 is out of range: a 五言绝句 has lines 1–4"),
        ({"line": 0, "position": 1}, "line 0 is out of range: a 五言绝句 has lines 1–4"),
        ({"line": 1, "position": 6},
         "character 6 is out of range: a line of 五言绝句 has characters 1–5"),
        ({"line": 1, "position": 2, "k": 0}, "k must be between 1 and 100, got 0"),
    ],
)  # fmt: skip
def test_a_position_out_of_range_names_the_valid_range(scorer, where, message):
    with pytest.raises(PoetryError, match=message):
        suggest(JING_YE_SI, model=scorer, **where)


# --- command line ----------------------------------------------------------------------------


def run(*argv):
    """A fresh interpreter running ``argv`` from the checkout."""
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, env=ENV, check=False
    )


@pytest.fixture
def cli(capsys):
    """``python -m poetry_rnn.check ARGV`` in this process: (status, stdout, stderr). The torch
    threads the command sets are given back afterwards."""
    threads = torch.get_num_threads()

    def call(*argv):
        status = run_cli(main, list(argv))
        out = capsys.readouterr()
        return status, out.out, out.err

    yield call
    torch.set_num_threads(threads)


# Judged by the pattern 静夜思 fits best, 平起首句入韵 (6 of its 8 tones); where a broken rule's
# position has the tone the pattern wants, the line says so and names the tone the other wants.
JING_YE_SI_PRINTED = """\
五言绝句·平起首句入韵, 平水韵
床前明月光，  下平七阳
○ ○ ○ ● ○
疑是地上霜。  下平七阳
○ ● ● ● ○
  ^   ^
举头望明月，
● ○ ● ○ ●
  ^   ^
低头思故乡。  下平七阳
○ ○ ◐ ● ○
  ^

rhyme: 光 霜 乡 in 下平七阳
tones: 3 of 8 positions conform
对仗 of each couplet: 0.00 0.34
line 2, character 2 (是): is 仄, as its pattern wants — 二四六分明 (against character 4, 上, \
which wants 平)
line 2, character 4 (上): wants 平, is 仄 — 对 (against line 1, 月)
line 3, character 2 (头): wants 仄, is 平 — 二四六分明 (against character 4, 明)
line 3, character 2 (头): wants 仄, is 平 — 粘 (against line 2, 是)
line 3, character 4 (明): is 平, as its pattern wants — 粘 (against line 2, 上, which wants 平)
line 4, character 2 (头): is 平, as its pattern wants — 对 (against line 3, 头, which wants 仄)
明月: said twice (poets do it in 3 % of their regulated poems)
"""


def test_the_cli_prints_the_report(cli):
    assert cli(JING_YE_SI) == (0, JING_YE_SI_PRINTED, "")
    done = run("-m", "poetry_rnn.check", JING_YE_SI)
    assert done.returncode == 0, done.stderr
    assert done.stdout == JING_YE_SI_PRINTED


def test_the_cli_checks_against_the_form_asked_for(cli):
    status, out, err = cli(JING_YE_SI, "--form", "七言绝句")
    assert (status, out) == (2, "")
    assert err.startswith("error: 4 lines of 5, 5, 5, 5 characters: not 七言绝句")


def test_the_cli_suggests_on_one_torch_thread(cli):
    # One thread answers at once on a busy machine, where two wait on each other.
    assert cli(JING_YE_SI, "--suggest", "1:2")[0] == 0 and torch.get_num_threads() == 1


def test_checking_alone_loads_no_model_and_no_torch():
    code = (
        "import sys; from poetry_rnn.app.check_cli import main; main([sys.argv[1]]); "
        "print('torch' in sys.modules)"
    )
    done = run("-c", code, JING_YE_SI)
    assert done.returncode == 0, done.stderr
    assert done.stdout == JING_YE_SI_PRINTED + "False\n"


def test_poetry_rnn_check_is_the_same_command(cli):
    done = run("-m", "poetry_rnn.app.cli", "check", JING_YE_SI, "--rhyme-book", "xinyun")
    assert done.returncode == 0, done.stderr
    assert (0, done.stdout, "") == cli(JING_YE_SI, "--rhyme-book", "xinyun")
    assert "rhyme: 光 霜 乡 in 十唐" in done.stdout


def test_the_cli_prints_json(cli):
    status, out, _ = cli(JING_YE_SI, "--json")
    expected = json.loads(json.dumps(check(JING_YE_SI).to_dict()))
    assert status == 0 and json.loads(out) == expected and "suggestions" not in expected
    # Readable as it is: the characters themselves, two spaces an indent.
    assert out.startswith(f'{{\n  "text": "{JING_YE_SI}",\n')


def test_a_character_of_either_tone_is_reported_as_either():
    # 李白's 轻舟已过万重山: 过 (guō/guò) and 重 (chóng/zhòng) stand at positions 4 and 6.
    report = check(POEMS["早发白帝城"][0])
    assert [(t.char, t.tone) for t in report.tones if t.line == 4] == [
        ("舟", "平"), ("过", "either"), ("重", "either")
    ]  # fmt: skip


def test_the_cli_suggests(cli, scorer):
    suggestions = suggest(BROKEN, 3, 4, k=5, model=scorer)
    status, out, _ = cli(BROKEN, "--suggest", "3:4", "--k", "5")
    assert status == 0
    report, rows = out.split("suggestions for line 3, character 4 (山):\n")
    assert report == format_report(check(BROKEN)) + "\n"
    printed = [row.split() for row in rows.splitlines()]
    assert [(char, sign) for char, sign, _ in printed] == [(s.char, "●") for s in suggestions]
    assert [float(score) for *_, score in printed] == pytest.approx(
        [s.score for s in suggestions], abs=0.1
    )
    assert printed[0][0] == "里"

    status, out, _ = cli(BROKEN, "--json", "--suggest", "3:4")
    result = json.loads(out)
    assert status == 0 and result["tone_satisfied"] == 5
    assert [Suggestion(**s).char for s in result["suggestions"]][:5] == [
        s.char for s in suggestions
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([""], "error: the poem is empty"),
        (["hello"], "error: the poem has characters that are not Han characters: h e l o"),
        (["床前明月光，疑是地上霜。"], "error: 2 lines of 5, 5 characters: not one of 五言绝句"),
        (["床" * 201], "error: the poem is too long: at most 200 characters"),
        ([JING_YE_SI, "--suggest", "9:1"], "error: line 9 is out of range: a 五言绝句 has"),
        ([JING_YE_SI, "--suggest", "three"], "error: --suggest wants LINE:POS, e.g. 3:4"),
        ([JING_YE_SI, "--form", "六言"], "error: unknown form '六言'; the closest: 五言绝句"),
        ([JING_YE_SI, "--suggest", "1:2", "--model", "/nowhere"],
         "error: model directory not found: /nowhere"),
    ],
)  # fmt: skip
def test_the_cli_turns_bad_input_into_one_line(cli, argv, message):
    status, out, err = cli(*argv)
    assert status == 2 and out == ""
    assert err.startswith(message) and len(err.strip().splitlines()) == 1


def test_the_report_scores_the_parallelism_of_each_couplet():
    from poetry_rnn.poetics.parallelism import parallelism

    report = check(POEMS["登高"][0])
    lines = report.lines
    assert report.parallelism == [parallelism(lines[i], lines[i + 1]) for i in range(0, 8, 2)]
    # 无边落木萧萧下 / 不尽长江滚滚来 and 万里悲秋常作客 / 百年多病独登台 are parallel; the
    # scores of the middle couplets stand well above zero.
    assert min(report.parallelism[1:3]) > 0.3
