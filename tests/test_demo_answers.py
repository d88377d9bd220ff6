"""The demo's answers without a browser: the 检查 tab's report and suggestions, rewriting a
candidate around its locked lines, what the 写诗 tab shows for an answer, and starting the demo."""

import asyncio
import html
import json
import logging
import re

import gradio as gr
import pytest
from conftest import FakeGenerator, favouring, tiny_model

from poetry_rnn.app import demo
from poetry_rnn.corpus.vocab import Vocab
from poetry_rnn.errors import run_cli
from poetry_rnn.forms import FORMS
from poetry_rnn.model.checkpoint import Models
from poetry_rnn.poetics.check import check, findings
from poetry_rnn.poetics.prosody import check_poem
from poetry_rnn.poetics.suggest import suggest
from poetry_rnn.poetics.tones import EITHER, LEVEL, OBLIQUE
from poetry_rnn.writing.generate import Poem, PoetryGenerator

JING_YE_SI = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
# 杜甫's 登高 with one character changed (上 for 登): a 七律 with a few broken positions.
DENG_GAO = (
    "风急天高猿啸哀，渚清沙白鸟飞回。无边落木萧萧下，不尽长江滚滚来。"
    "万里悲秋常作客，百年多病独上台。艰难苦恨繁霜鬓，潦倒新停浊酒杯。"
)
# A poem as the page keeps it for rewriting: its lines, each with its mark.
JING_YE_SI_LINES = re.findall("[^，。]+[，。]", JING_YE_SI)
DENG_GAO_LINES = re.findall("[^，。]+[，。]", DENG_GAO)
LINE = re.compile(r'<div class="poem-line">(.*?)</div>')
CELL = re.compile(r'<span class="cell ([a-z ]+)"><span class="ch">(.)</span>')


def broken_cells(page: str) -> list[tuple[int, int, str]]:
    """(line, position, character) of every character the page marks broken, 1-based."""
    return [
        (n, p, char)
        for n, line in enumerate(LINE.findall(page), start=1)
        for p, (classes, char) in enumerate(CELL.findall(line), start=1)
        if "broken" in classes.split() and "punct" not in classes.split()
    ]


def listed(page: str, css: str) -> list[str]:
    """The items of the page's list of class ``css``, as text."""
    body = re.search(f'<[ou]l class="{css}">(.*?)</[ou]l>', page).group(1)
    assert re.fullmatch("(<li>((?!</li>).)*</li>)*", body), body  # nothing between the items
    items = re.findall("<li>(.*?)</li>", body)
    return [html.unescape(re.sub("<[^>]+>", "", item)) for item in items]


def test_the_check_tab_reports_the_form_rhyme_tones_and_every_broken_position():
    page = demo.answer_check(JING_YE_SI, "平水韵")
    assert page.startswith('<article class="poem report" data-form="五言绝句">')
    assert '<div class="poem-meta">五言绝句 · 平水韵 · 韵：下平七阳 · 平仄 3/8 合律</div>' in page
    # The positions the rules of 平仄 break, each marked where it stands, and in words.
    assert broken_cells(page) == [(2, 2, "是"), (2, 4, "上"), (3, 2, "头"), (3, 4, "明"),
                                  (4, 2, "头")]  # fmt: skip
    said = listed(page, "findings")
    assert said == findings(check(JING_YE_SI))
    assert (
        said[0] == "line 2, character 2 (是): is 仄, as its pattern wants — 二四六分明 (against "
        "character 4, 上, which wants 平)"
    )
    # The same poem's lines, marks and rhyme groups as a written poem shows them.
    assert len(LINE.findall(page)) == 4 and page.count('<span class="group">下平七阳</span>') == 3


def test_the_check_tab_names_the_rhyme_book_and_a_poem_that_does_not_rhyme_in_it():
    page = demo.answer_check(DENG_GAO, "中华新韵")
    assert '<div class="poem-meta">七言律诗 · 中华新韵 · 韵：不押韵 · 平仄 21/24 合律</div>' in page
    assert listed(page, "findings")[:2] == [
        "line 2, last character (回): 五微, not in 四开 — rhyme",
        "line 8, last character (杯): 五微, not in 四开 — rhyme",
    ]
    assert broken_cells(page) == [(6, 4, "病"), (6, 6, "上"), (7, 6, "霜")]


def test_a_rhyme_shared_in_two_groups_names_both():
    # 梨 and 提 both stand in 上平四支 and in 上平八齐.
    page = demo.answer_check("春风吹落花，满树白如梨。独坐空庭下，时时手自提。", "平水韵")
    assert "五言绝句 · 平水韵 · 韵：上平四支、上平八齐 · 平仄 8/8 合律" in page


def test_a_poem_with_nothing_broken_is_said_to_keep_the_rules():
    whole = DENG_GAO.replace("独上台", "独登台")
    page = demo.answer_check(whole, "平水韵")
    assert "韵：上平十灰 · 平仄 24/24 合律" in page
    assert listed(page, "findings") == ["合律：没有出律之处 (nothing is broken)"]
    assert broken_cells(page) == []


def test_the_check_tab_answers_what_it_cannot_check_with_a_message(monkeypatch, caplog):
    assert demo.answer_check("", "平水韵") == demo.render_error("诗是空的，请先填写")
    assert demo.answer_check(JING_YE_SI, "广韵") == demo.render_error(
        "没有韵书 '广韵'；可选：平水韵、中华新韵"
    )
    # A failure of its own is logged, and the page says only that something went wrong.
    monkeypatch.setattr(demo, "check", lambda *_, **__: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="poetry_rnn.app.demo"):
        assert demo.answer_check(JING_YE_SI, "平水韵") == demo.render_error(demo.UNEXPECTED)
    assert [r.message for r in caplog.records] == ["checking a poem failed"]
    assert caplog.records[0].exc_info[0] is ZeroDivisionError


def test_the_suggestions_are_the_librarys_ranked_with_their_tone_and_score(generator):
    page = demo.answer_suggestions(generator, DENG_GAO, 6, 6, "平水韵")
    models = Models(generator.composer.model, generator.vocab, generator.composer.backward)
    found = suggest(DENG_GAO, 6, 6, demo.SUGGESTIONS, rhyme_book="pingshui", model=models)
    assert len(found) == demo.SUGGESTIONS == 10
    signs = {LEVEL: "○", OBLIQUE: "●", EITHER: "◐"}
    assert listed(page, "suggestions") == [f"{s.char} {signs[s.tone]} {s.score:.2f}" for s in found]
    # Line 6, character 6 wants 平: level characters, and those of either tone (思).
    assert {s.tone for s in found} == {LEVEL, EITHER}


def test_the_suggestions_come_from_the_demos_own_models(generator):
    # 白日依山尽，黄河入海流。欲穷千山目: 山 breaks line 3 at character 4, which wants 仄. The
    # shipped model alone never puts 水 there; a forward or a backward model that favours it
    # puts it first, when the demo was started with that model.
    broken, vocab = "白日依山尽，黄河入海流。欲穷千山目，更上一层楼。", generator.vocab
    alone = demo.answer_suggestions(generator, broken, 3, 4, "平水韵")
    assert "水" not in {item.split()[0] for item in listed(alone, "suggestions")}
    forward = PoetryGenerator(favouring("水", vocab, "forward"), vocab)
    backward = PoetryGenerator(generator.composer.model, vocab, favouring("水", vocab, "backward"))
    for own in (forward, backward):
        page = demo.answer_suggestions(own, broken, 3, 4, "平水韵")
        assert listed(page, "suggestions")[0].startswith("水 ●")


def test_the_suggestions_answer_a_bad_position_or_none_found_with_a_message(generator):
    assert demo.answer_suggestions(generator, DENG_GAO, 9, 1, "平水韵") == demo.render_error(
        "没有第 9 句：七言律诗只有第 1–8 句"
    )
    assert demo.answer_suggestions(generator, DENG_GAO, 1, 1, "广韵") == demo.render_error(
        "没有韵书 '广韵'；可选：平水韵、中华新韵"
    )
    assert demo.render_suggestions([]) == demo.render_error(
        "这里没有合律的字 (no character of the vocabulary satisfies the rules)"
    )


def test_a_candidate_is_rewritten_around_its_locked_lines_in_its_own_form(generator):
    poems = [JING_YE_SI_LINES, DENG_GAO_LINES]
    values = (True, True, 0.8, 0.9, 3, 2, "简体", "平水韵")
    first = demo.answer_revision(generator, poems, 1, [2], *values)
    assert first.poems is not None and all(
        lines[1] == JING_YE_SI_LINES[1] and len(lines) == 4 for lines in first.poems
    )
    answer = demo.answer_revision(generator, poems, 2, [1, 4], *values)
    assert answer.poems is not None and len(answer.poems) == 2
    for lines in answer.poems:
        assert lines[0] == DENG_GAO_LINES[0] and lines[3] == DENG_GAO_LINES[3]
        assert lines != DENG_GAO_LINES
        assert check_poem("".join(lines), FORMS["七言律诗"]).format_ok
    assert answer.page.count('<article class="poem"') == 2
    # Each poem of a titled model is written to a title of its own, by a seed of its own.
    assert "候选 1 · 七言律诗 · 种子 " in answer.page
    assert "种子 3" in answer.page and "种子 4" in answer.page


@pytest.mark.parametrize(
    ("poems", "chosen", "message"),
    [
        (None, 1, demo.NOTHING_TO_REVISE),
        ([], 1, demo.NOTHING_TO_REVISE),
        ([JING_YE_SI_LINES], 2, "请选第 1 到第 1 首候选，收到 2"),
        ([JING_YE_SI_LINES], 0, "请选第 1 到第 1 首候选，收到 0"),
        ([JING_YE_SI_LINES], "1", "请选第 1 到第 1 首候选，收到 '1'"),
    ],
)
def test_rewriting_without_a_candidate_to_rewrite_says_so(generator, poems, chosen, message):
    values = (True, True, 0.8, 0.9, 1, 1, "简体", "平水韵")
    answer = demo.answer_revision(generator, poems, chosen, [1], *values)
    assert answer == demo.Answer(demo.render_error(message), None)


def test_an_answer_shows_its_candidates_and_the_first_ones_lines_to_lock():
    poems = [JING_YE_SI_LINES, DENG_GAO_LINES]
    page, kept, candidates, lock = demo._shown(demo.Answer("<p>", poems), [1, 6, "2", None])
    assert (page, kept) == ("<p>", poems)
    assert candidates == gr.update(choices=[("候选 1", 1), ("候选 2", 2)], value=1)
    # Locked lines stay locked where the first candidate has them (it has 4 lines).
    assert lock == gr.update(choices=[(line, n) for n, line in enumerate(poems[0], 1)], value=[1])
    assert demo._shown(demo.Answer("<p>", poems))[3]["value"] == []
    assert demo._shown(demo.Answer("<p>", poems), [4])[3]["value"] == [4]  # the last line


def test_a_message_leaves_the_candidates_before_it_to_rewrite():
    assert demo._shown(demo.Answer("<div>", None), [1]) == (
        "<div>", gr.skip(), gr.skip(), gr.skip()
    )  # fmt: skip


def test_choosing_a_candidate_offers_its_lines_to_lock():
    poems = [JING_YE_SI_LINES, DENG_GAO_LINES]
    for chosen in (1, 2):
        lines = demo._candidate_lines(poems, chosen)
        choices = [(line, n) for n, line in enumerate(poems[chosen - 1], 1)]
        assert lines == gr.update(choices=choices, value=[])
    for chosen in (0, 3, "2", None):
        assert demo._candidate_lines(poems, chosen) == gr.skip()


# --- what a written poem looks like ----------------------------------------------------------


def cell(char: str, tone: str, extra: str = "") -> str:
    sign = {"level": "○", "oblique": "●", "either": "◐"}[tone]
    return (f'<span class="cell {tone}{extra}"><span class="ch">{char}</span>'
            f'<span class="tone">{sign}</span></span>')  # fmt: skip


def mark(char: str) -> str:
    return f'<span class="cell punct"><span class="ch">{char}</span></span>'


def test_each_line_is_a_row_of_characters_over_their_tones_broken_ones_marked():
    # 白日依山尽 仄仄平平仄, 黄河入海流 平平仄仄平: 流 rhymes in 下平十一尤.
    page = demo.render_lines("白日依山尽，黄河入海流。", "pingshui", frozenset({(2, 1)}))
    assert page == (
        '<div class="poem-line">'
        + cell("白", "oblique") + cell("日", "oblique") + cell("依", "level")
        + cell("山", "level") + cell("尽", "oblique") + mark("，")
        + '</div><div class="poem-line">'
        + cell("黄", "level", " broken") + cell("河", "level") + cell("入", "oblique")
        + cell("海", "oblique") + cell("流", "level", " rhyme") + mark("。")
        + '<span class="group">下平十一尤</span></div>'
    )  # fmt: skip


def test_candidates_are_numbered_with_their_form_seed_and_score_under_one_legend():
    free = Poem("白日依山尽，黄河入海流。", [], None, "free", 7, None, score=-1.234)
    quatrain = Poem(JING_YE_SI, [], "五言绝句", "start", 0, None)
    first, second = demo.render_poem(free, "xinyun", 1), demo.render_poem(quatrain, "xinyun", 2)
    assert first.startswith(
        '<article class="poem" data-text="白日依山尽，黄河入海流。">'
        '<div class="poem-meta">候选 1 · 不限字数 · 种子 7 · 得分 -1.23</div>'
        '<div class="poem-line">'  # no plan: the lines follow at once
    )
    assert (
        '<div class="poem-meta">候选 2 · 五言绝句 · 种子 0</div><div class="poem-line">' in second
    )
    assert demo.render_poem(quatrain, "xinyun") == second.replace("候选 2", "候选 1")  # the first
    assert '<span class="group">七尤</span>' in first  # the book asked for
    legend = (
        "○ 平　● 仄　◐ 可平可仄　下划线：韵脚，旁注韵部（中华新韵）"
        "　得分：每字平均对数似然，越高越好"
    )
    assert demo.render_poems([free, quatrain], "xinyun") == (
        f'<div class="poems">{first}{second}</div><p class="legend">{legend}</p>'
    )


# --- a request to write ----------------------------------------------------------------------


WRITE = ("续写", "床前", "五言绝句", False, True, 0.6, 0.75, "7", 2, "繁體", "中华新韵")


def test_every_control_on_the_page_reaches_the_library():
    fake = FakeGenerator()
    answer = demo.answer(fake, *WRITE)
    ((mode, text, controls),) = fake.asked
    assert (mode, text) == ("start", "床前")
    assert (controls.form, controls.rhyme, controls.tone) == ("五言绝句", False, True)
    assert (controls.temperature, controls.top_p, controls.seed, controls.n) == (0.6, 0.75, 7, 2)
    assert (controls.script, controls.rhyme_book) == ("traditional", "xinyun")
    # The lines of each poem are kept, for the reader to lock and rewrite.
    assert answer.poems == [JING_YE_SI_LINES, JING_YE_SI_LINES]
    assert answer.page.count('<article class="poem"') == 2 and "（中华新韵）" in answer.page


def test_no_prompt_is_an_empty_one():
    fake = FakeGenerator()
    demo.answer(fake, "自由", None, *WRITE[2:])
    assert fake.asked[0][:2] == ("free", "")


@pytest.mark.parametrize(
    ("position", "value", "message"),
    [
        (8, 5, "这里一次最多写 4 首，收到 5"),
        (2, "六言绝句", "没有体裁 '六言绝句'；最接近的：五言绝句、七言绝句"),
        (2, ["五言绝句"], "体裁必须是体裁的名字，收到 ['五言绝句']"),
        (9, "篆書", "字体只能是简体或繁體，收到 '篆書'"),
        (9, ["简体"], "字体只能是简体或繁體，收到 ['简体']"),
        (10, "广韵", "没有韵书 '广韵'；可选：平水韵、中华新韵"),
    ],
)
def test_a_value_the_page_does_not_offer_is_refused_in_chinese(position, value, message):
    values = list(WRITE)
    values[position] = value
    assert demo.answer(FakeGenerator(), *values) == demo.Answer(demo.render_error(message), None)


@pytest.mark.parametrize(("text", "value"), [("1", 1), ("65535", 65535), (" 80 ", 80)])
def test_a_port_may_be_any_from_1_to_65535(text, value):
    assert demo._integer(1, 65535)(text) == value


# --- starting the demo -----------------------------------------------------------------------


class Launch:
    """Stands in for the model and the page: what ``demo.main`` loads and serves."""

    def __init__(self, monkeypatch, cores: int | None, failure: OSError | None = None) -> None:
        self.loaded, self.built, self.served, self.threads = [], [], [], []
        self.failure = failure
        monkeypatch.setattr(demo.os, "cpu_count", lambda: cores)
        monkeypatch.setattr(demo.torch, "set_num_threads", self.threads.append)
        monkeypatch.setattr(demo.PoetryGenerator, "from_pretrained", self.load)
        monkeypatch.setattr(demo, "build_app", self.build)

    def load(self, model, backward):
        self.loaded.append((model, backward))
        return "the generator"

    def build(self, generator, concurrency):
        self.built.append((generator, concurrency))
        return self

    def launch(self, **options):
        self.served.append(options)
        if self.failure is not None:
            raise self.failure


def test_the_demo_serves_on_the_loopback_one_request_a_core_by_default(monkeypatch, capsys):
    launch = Launch(monkeypatch, cores=4)
    assert demo.main([]) == 0
    assert launch.loaded == [(None, None)] and launch.built == [("the generator", 4)]
    assert launch.threads == [1]
    assert launch.served == [{
        "server_name": "127.0.0.1", "server_port": 7860, "css": demo.CSS, "ssr_mode": False,
        "footer_links": ["api"], "show_error": False,
    }]  # fmt: skip
    said = (
        "INFO poetry_rnn.app.demo: serving on http://127.0.0.1:7860, 4 requests at a time, "
        "1 threads"
    )
    assert said in capsys.readouterr().err


def test_the_demo_serves_what_its_options_ask(monkeypatch, tmp_path):
    launch = Launch(monkeypatch, cores=4)
    argv = ["--host", "0.0.0.0", "--port", "8080", "--concurrency", "2",
            "--model", str(tmp_path / "m"), "--backward", str(tmp_path / "b")]  # fmt: skip
    assert demo.main(argv) == 0
    assert launch.loaded == [(tmp_path / "m", tmp_path / "b")]
    assert launch.built == [("the generator", 2)] and launch.threads == [2]
    assert (launch.served[0]["server_name"], launch.served[0]["server_port"]) == ("0.0.0.0", 8080)


def test_a_machine_that_does_not_say_its_cores_serves_one_request_on_one_thread(monkeypatch):
    launch = Launch(monkeypatch, cores=None)
    assert demo.main([]) == 0
    assert launch.built == [("the generator", 1)] and launch.threads == [1]


def test_a_port_it_cannot_serve_on_is_one_line_and_exit_2(monkeypatch, capsys):
    Launch(monkeypatch, cores=2, failure=OSError(98, "Address already in use"))
    assert run_cli(demo.main, ["--port", "8080"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "error: cannot serve on 127.0.0.1:8080: [Errno 98] Address already in use"
    )


# --- the page speaks Chinese; examples; requests the page never sends ---------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (("续写", "", "五言绝句"), "开头是空的，请先填写"),
        (("续写", "   ", "自动"), "开头是空的，请先填写"),
        (("续写", "床前hello", "五言绝句"), "开头里有不是汉字的字符：h e l o"),
        (("续写", "床前靐", "五言绝句"), "模型不认识开头里的这些字：靐"),
        (("续写", "，床前", "自动"), "开头不能以「，」开始：标点只能放在句末"),
        (("续写", "床前。。", "自动"), "开头有两个连在一起的标点：一句末尾只用一个"),
        (("续写", "床前明月光照，", "五言绝句"), "开头第 2 句有 1 个字，五言绝句每句 5 个字"),
        (("续写", "床前明月光照，", "自动"),
         "开头第一句有 6 个字，格律诗每句五字或七字（体裁选「不限字数」则不限）"),
        (("续写", "床" * 21, "五言绝句"), "开头比一首五言绝句还长：五言绝句共 4 句，每句 5 个字"),
        (("续写", "床" * 101, "五言绝句"), "开头太长了：最多 100 个字"),
        (("藏头", "", "七言绝句"), "藏头字是空的，请先填写"),
        (("藏头", "春夏秋", "自动"), "3 个藏头字没有合适的体裁：绝句 4 个字，律诗 8 个字"),
        (("藏头", "春夏秋", "五言绝句"), "3 个藏头字不合五言绝句（4 句）；合适的体裁：无"),
        (("藏头", "春夏秋冬花开月明", "五言绝句"),
         "8 个藏头字不合五言绝句（4 句）；合适的体裁：五言律诗、七言律诗"),
        (("藏头", "春夏秋冬", "不限字数"), "藏头诗要选格律体裁，不能选「不限字数」"),
        (("主题", "", "七言绝句"), "主题是空的，请先填写"),
        (("主题", "hello", "七言绝句"), "主题里有不是汉字的字符：h e l o"),
        (("主题", "靐", "七言绝句"), "主题里的词模型都不认识，请换个说法"),
        (("自由", 5, "五言绝句"), "风格必须是文字"),
    ],
)  # fmt: skip
def test_what_a_reader_gets_wrong_is_said_in_chinese(generator, values, message):
    answer = demo.answer(generator, *values, True, True, 0.8, 0.9, "1", 1, "简体", "平水韵")
    assert answer == demo.Answer(demo.render_error(message), None)


def test_a_seed_that_is_not_a_number_is_said_in_chinese():
    answer = demo.answer(FakeGenerator(), "续写", "床前", "五言绝句", True, True, 0.8, 0.9, "七",
                         1, "简体", "平水韵")  # fmt: skip
    assert answer.page == demo.render_error("种子必须是 0 到 2⁶³−1 的整数（或留空），收到 '七'")


NO_SHAPE = (
    "1 句，每句字数 5：不是五言绝句、七言绝句、五言律诗、七言律诗中的任何一种，" + "也不合任何词牌"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("床前明月光，hello。", "诗里有不是汉字的字符：h e l o"),
        ("床前明月光", NO_SHAPE),
        ("床" * 201, "诗太长了：最多 200 个字"),
        (None, "诗必须是文字"),
    ],
)
def test_what_the_check_tab_cannot_read_is_said_in_chinese(text, message):
    assert demo.answer_check(text, "平水韵") == demo.render_error(message)


def test_a_position_out_of_range_is_said_in_chinese(generator):
    page = demo.answer_suggestions(generator, JING_YE_SI, 1, 6, "平水韵")
    assert page == demo.render_error("没有第 6 字：五言绝句每句只有第 1–5 字")


def test_a_message_without_chinese_words_is_framed_and_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="poetry_rnn.app.demo"):
        assert demo.in_chinese("something new") == "输入有误（something new）"
    assert caplog.messages == ["no Chinese for the message 'something new'"]
    assert demo.in_chinese("先写一首诗") == "先写一首诗"


def test_an_example_fills_the_boxes_in_the_browser_without_a_round_trip():
    # A click that asked the server for the example's values let 写诗, pressed at once, send
    # the boxes as they were ("the start is empty" while the box showed 床前).
    app = demo.build_app(FakeGenerator())
    (examples,) = [block for block in app.blocks.values() if isinstance(block, gr.Dataset)]
    clicked = [(examples._id, "click")]
    (handler,) = [d for d in app.config["dependencies"] if d["targets"] == clicked]
    assert handler["backend_fn"] is False and handler["js"] == demo.example_values_js()
    shown = re.fullmatch(r"\(index\) => (.*)\[index\]", handler["js"]).group(1)
    assert json.loads(shown) == demo.EXAMPLES == examples.samples
    assert [app.blocks[i].elem_id for i in handler["outputs"]] == ["mode", "prompt", "form"]


def test_a_request_of_too_few_values_is_answered_in_a_line_without_a_traceback(capsys, caplog):
    app = demo.build_app(FakeGenerator())
    write = next(fn for fn in app.fns.values() if fn.api_name == "write")
    with pytest.raises(gr.Error) as refused:
        asyncio.run(app.process_api(write, ["续写", "床前"], state=None))
    assert refused.value.message == demo.TOO_FEW_VALUES and not refused.value.print_exception
    assert caplog.messages == ["refused a request of 2 values"]
    values = ["续写", "床前", "五言绝句", True, True, 0.8, 0.9, "1", 1, "简体", "平水韵", ""]
    answered = asyncio.run(app.process_api(write, values, state=None))
    assert answered["data"][0].startswith('<div class="poems">')


def test_the_title_box_reaches_the_library_and_each_poem_shows_its_title():
    fake = FakeGenerator()
    demo.answer(fake, *WRITE, "《静夜思》")
    ((_, _, controls),) = fake.asked
    assert controls.title == "静夜思"
    poem = Poem("床前明月光。", ["床前明月光。"], "五言绝句", "start", 1, None, title="静夜思")
    assert '<h3 class="poem-title">静夜思</h3>' in demo.render_poem(poem)
    assert "poem-title" not in demo.render_poem(Poem("床前。", ["床前。"], None, "free", 1, None))


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("Moonlight", "题目只能用汉字，其中有 'M'"),
        ("，。", "题目里没有汉字，只有标点"),
        ("静" * 17, "题目太长了：17 个字，最多 16 个（长的文字请用「主题」模式）"),
    ],
)
def test_a_title_that_is_no_title_is_said_in_chinese(title, message):
    answer = demo.answer(FakeGenerator(), *WRITE, title)
    assert answer == demo.Answer(demo.render_error(message), None)


def test_a_title_to_a_model_without_titles_is_said_in_chinese():
    vocab = Vocab.build(["床前明月光，疑是地上霜。举头望低思故乡"])
    untitled = PoetryGenerator(tiny_model(vocab), vocab)
    answer = demo.answer(untitled, *WRITE, "静夜思")
    assert answer == demo.Answer(demo.render_error("这个模型没有学过题目，不能按题写诗"), None)
