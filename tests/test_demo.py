"""The web demo in a real browser: Debian's chromium driven through Playwright against
``python -m poetry_rnn.demo`` on a free loopback port, with the shipped model; its request
handling, queue and command line in-process."""

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import FakeGenerator

from poetry_rnn.errors import run_cli
from poetry_rnn.forms import FORMS
from poetry_rnn.poetics.prosody import check_format, check_poem
from poetry_rnn.poetics.tones import LEVEL, OBLIQUE, tone_of
from poetry_rnn.text import split_lines, to_simplified
from poetry_rnn.writing.controls import MAX_INPUT_CHARS
from poetry_rnn.writing.generate import Poem

LAUNCHER = Path(__file__).resolve().parents[1] / "demo" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
START_SECONDS = 300  # importing gradio and torch on a busy machine is slow
POEM_MS = 60_000
PHONE = {"width": 390, "height": 844}
CONCURRENCY = 2
#: One demo and one browser for the whole file: its tests run on one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("demo")
TONE_SIGNS = {LEVEL: "○", OBLIQUE: "●", None: "◐"}
JINGYESI = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
# 杜甫's 登高 with one character changed (上 for 登), so that the report has findings to show.
DENG_GAO = (
    "风急天高猿啸哀，渚清沙白鸟飞回。无边落木萧萧下，不尽长江滚滚来。"
    "万里悲秋常作客，百年多病独上台。艰难苦恨繁霜鬓，潦倒新停浊酒杯。"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo, started as a user starts it; its log is shown if it never answers."""
    port = free_port()
    log = tmp_path_factory.mktemp("demo") / "app.log"
    command = ["-m", "poetry_rnn.demo", "--port", str(port), "--concurrency", str(CONCURRENCY)]
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, *command], stdout=output, stderr=output)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the demo did not start:\n{log.read_text()}")
            time.sleep(0.5)
    yield SimpleNamespace(url=url, log=log)
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(demo):
    return demo.url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {CHROMIUM} is missing (.ci/run installs it)")
        pytest.skip(f"no browser at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    """A fresh page on the demo that records every request it makes."""
    context = browser.new_context()
    page = context.new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(server)
    page.locator("#write").wait_for()
    yield page
    context.close()


def write(page, mode: str, text: str, form: str | None = None) -> None:
    page.locator("#mode").get_by_text(mode, exact=True).click()
    page.locator("#prompt textarea").fill(text)
    if form is not None:
        page.locator("#form input").click()
        page.get_by_role("option", name=form, exact=True).click()
    page.locator("#write").click()


def shown_poem(page) -> list[str]:
    """The lines of the first poem on the page, as the reader sees them (characters only)."""
    poem = page.locator("#poems article.poem").first
    poem.wait_for(timeout=POEM_MS)
    lines = poem.locator(".poem-line")
    return [
        "".join(lines.nth(i).locator(".cell:not(.punct) .ch").all_inner_texts())
        for i in range(lines.count())
    ]


def shown_text(page) -> str:
    """The text of the first poem on the page, once a new one has replaced the last."""
    poem = page.locator("#poems article.poem").first
    poem.wait_for(timeout=POEM_MS)
    return poem.get_attribute("data-text")


def rewrite(page, shown: str) -> str:
    """Write again with what the page holds; the text of the poem that replaces ``shown``."""
    page.locator("#write").click()
    page.wait_for_function(
        "shown => document.querySelector('#poems article.poem').dataset.text !== shown",
        arg=shown,
        timeout=POEM_MS,
    )
    return shown_text(page)


def test_continuing_chuang_qian_shows_a_poem_of_the_chosen_form(page, server, tmp_path):
    write(page, "续写", "床前", "七言律诗")
    lines = shown_poem(page)
    assert lines[0].startswith("床前")
    assert len(lines) == 8 and all(len(line) == 7 for line in lines)
    text = page.locator("#poems article.poem").first.get_attribute("data-text")
    assert check_format(text, FORMS["七言律诗"]) and split_lines(text) == lines
    assert page.locator("#poems .poem .group").count() >= 4  # rhyme groups shown
    page.screenshot(path=tmp_path / "demo.png", full_page=True)
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    outside = [url for url in page.requests if not url.startswith((server, "data:", "blob:"))]
    assert outside == []


def test_an_acrostic_puts_each_head_at_a_line_start(page):
    write(page, "藏头", "春夏秋冬", "五言绝句")
    lines = shown_poem(page)
    assert [line[0] for line in lines] == list("春夏秋冬")
    assert all(len(line) == 5 for line in lines)


def test_auto_form_writes_a_rhymed_tonal_quatrain_as_the_command_line_does(page):
    write(page, "续写", "床前", "自动")
    lines = shown_poem(page)
    assert len(lines) == 4 and lines[0].startswith("床前")
    assert len({len(line) for line in lines}) == 1 and len(lines[0]) in (5, 7)
    text = shown_text(page)
    checks = check_poem(text, FORMS[{5: "五言绝句", 7: "七言绝句"}[len(lines[0])]])
    assert checks.rhyme_ok and checks.tone_satisfied == checks.tone_checked


def test_traditional_script_shows_traditional_characters(page):
    page.locator("#script").get_by_text("繁體", exact=True).click()
    write(page, "续写", "春风", "七言绝句")
    lines = shown_poem(page)
    assert lines[0].startswith("春風")
    text = shown_text(page)
    assert to_simplified(text) != text and "风" not in text


def test_every_character_shows_its_tone_mark(page):
    write(page, "主题", "秋夜思乡", "七言律诗")
    shown_poem(page)
    cells = page.locator("#poems article.poem").first.locator(".cell:not(.punct)")
    pairs = [
        (cells.nth(i).locator(".ch").inner_text(), cells.nth(i).locator(".tone").inner_text())
        for i in range(cells.count())
    ]
    assert len(pairs) == 56
    assert all(sign == TONE_SIGNS[tone_of(char)] for char, sign in pairs)
    assert {"○", "●"} <= {sign for _, sign in pairs}


def test_switching_rhyme_and_tone_off_writes_without_them(page):
    write(page, "续写", "床前", "七言律诗")
    first = shown_text(page)
    page.locator("#sampling").get_by_text("采样").click()
    page.locator("#seed textarea").fill("1")
    ruled = rewrite(page, first)
    page.locator("#rhyme input").uncheck()
    page.locator("#tone input").uncheck()
    free = rewrite(page, ruled)
    assert ruled != free and ruled[:2] == free[:2] == "床前"
    with_rules, without = (check_poem(text, FORMS["七言律诗"]) for text in (ruled, free))
    assert with_rules.rhyme_ok and with_rules.tone_satisfied == with_rules.tone_checked
    assert not (without.rhyme_ok and without.tone_satisfied == without.tone_checked)
    assert without.format_ok


@pytest.mark.parametrize(
    ("mode", "text", "form", "message"),
    [
        ("藏头", "春夏秋冬花开月明", "五言绝句", "8 个藏头字不合五言绝句"),
        ("续写", "床前😀", None, "😀"),
        ("续写", "", None, "开头是空的"),
        ("续写", "，床前", "自动", "开头不能以「，」开始"),
        ("续写", "床前。。。", "自动", "开头有两个连在一起的标点"),
    ],
)
def test_bad_input_shows_a_readable_message(page, mode, text, form, message):
    write(page, mode, text, form)
    error = page.locator("#poems .poem-error")
    error.wait_for(timeout=POEM_MS)
    assert message in error.inner_text()
    assert "Traceback" not in page.content()


def set_slider(page, elem_id: str, value: str) -> None:
    """Type ``value`` into a slider's number box until the slider shows it: on a loaded
    machine a first try can land before the box is bound, and writing then asks for the old
    value (CI saw one candidate for two)."""
    box = page.locator(f"#{elem_id} input[type=number]")
    slider = page.locator(f"#{elem_id} input[type=range]")
    deadline = time.monotonic() + POEM_MS / 1000
    while slider.input_value() != value:
        if time.monotonic() > deadline:
            pytest.fail(f"the slider #{elem_id} never took {value}")
        box.fill(value)
        box.press("Enter")
        page.wait_for_timeout(250)


def poem_texts(page) -> list[str]:
    return [a.get_attribute("data-text") for a in page.locator("#poems article.poem").all()]


def test_two_locked_lines_of_the_chosen_candidate_stay_when_the_rest_is_rewritten(page):
    page.locator("#sampling").get_by_text("采样").click()
    set_slider(page, "n", "2")
    write(page, "续写", "春风", "七言绝句")
    expect(page.locator("#poems article.poem")).to_have_count(2)
    candidates = poem_texts(page)
    metas = page.locator("#poems .poem-meta").all_inner_texts()
    assert [meta.split(" · ")[0] for meta in metas] == ["候选 1", "候选 2"]
    assert all(float(meta.split("得分 ")[1]) < 0 for meta in metas)  # log-likelihoods
    page.locator("#candidate").get_by_text("候选 2", exact=True).click()
    second = split_lines(candidates[1])
    labels = page.locator("#locks label")
    expect(labels.nth(0)).to_contain_text(second[0])
    labels.nth(0).click()
    labels.nth(2).click()
    page.locator("#revise").click()
    page.wait_for_function(
        "shown => document.querySelector('#poems article.poem').dataset.text !== shown",
        arg=candidates[0],
        timeout=POEM_MS,
    )
    revised = poem_texts(page)
    assert len(revised) == 2 and candidates[1] not in revised
    for text in revised:
        lines = split_lines(text)
        assert (lines[0], lines[2]) == (second[0], second[2])
        assert check_poem(text, FORMS["七言绝句"]).rhyme_ok
    # The locks stay for the next rewrite.
    assert page.locator("#locks input:checked").count() == 2


def expect(locator):
    """Playwright's assertions on ``locator``, each waiting as long as a poem may take."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=POEM_MS)
    return playwright_expect(locator)


def check_poem_on_page(page, text: str) -> None:
    page.get_by_role("tab", name="检查").click()
    page.locator("#check-text textarea").fill(text)
    page.locator("#check").click()


def test_pasting_jing_ye_si_shows_its_form_rhyme_and_broken_rules(page):
    check_poem_on_page(page, JINGYESI)
    report = page.locator("#report article.report")
    report.wait_for(timeout=POEM_MS)
    assert report.get_attribute("data-form") == "五言绝句"
    meta = report.locator(".poem-meta").inner_text()
    assert "五言绝句" in meta and "下平七阳" in meta and "平仄 3/8" in meta
    assert report.locator(".group").all_inner_texts() == ["下平七阳"] * 3  # 光 霜 乡
    assert report.locator(".broken").count() > 0
    findings = report.locator(".findings li").all_inner_texts()
    assert any("二四六分明" in row for row in findings)
    assert findings[-1] == "明月: said twice (poets do it in 3 % of their regulated poems)"
    page.locator("#line input").fill("2")
    page.locator("#position input").fill("4")
    page.locator("#suggest").click()
    chars = page.locator("#suggestions .suggestions .ch")
    chars.first.wait_for(timeout=POEM_MS)
    assert 1 <= chars.count() <= 10
    assert all(tone_of(char) != OBLIQUE for char in chars.all_inner_texts())  # 上 wants 平


def test_a_bad_paste_shows_a_message(page):
    check_poem_on_page(page, "春风又绿江南岸")
    error = page.locator("#report .poem-error")
    error.wait_for(timeout=POEM_MS)
    assert "1 句，每句字数 7：不是五言绝句" in error.inner_text()
    assert "Traceback" not in page.content()


def test_the_page_fits_a_phone(browser, server, tmp_path):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(server)
    write(page, "主题", "秋夜思乡", "七言律诗")
    assert len(shown_poem(page)) == 8
    page.locator("#poems article.poem").first.scroll_into_view_if_needed()
    assert page.locator("#locks label").count() == 8  # each line can be locked
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    page.screenshot(path=tmp_path / "phone.png", full_page=True)
    check_poem_on_page(page, DENG_GAO)  # the widest report: a 七言律诗 with its findings
    page.locator("#report article.report").wait_for(timeout=POEM_MS)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=tmp_path / "phone-check.png", full_page=True)
    context.close()


def ask(server, *values) -> str:
    """The page the API gives for the values of the form, in the page's order."""
    from gradio_client import Client

    page, *_ = Client(server, verbose=False).predict(*values, api_name="/write")
    return page


def test_the_api_takes_the_same_input_limit_as_the_library(server):
    """The text box stops at the library's limit; a client that bypasses it is refused."""
    longest = ask(server, "主题", "秋" * MAX_INPUT_CHARS, "七言绝句", True, True, 0.8, 0.9, 1, 1,
                  "简体", "平水韵", "")  # fmt: skip
    assert 'class="poem"' in longest
    page = ask(server, "主题", "秋" * (MAX_INPUT_CHARS + 1), "七言绝句", True, True, 0.8, 0.9, 1,
               1, "简体", "平水韵", "")  # fmt: skip
    assert 'role="alert"' in page and f"最多 {MAX_INPUT_CHARS} 个字" in page


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ((None, 0.9, 1, 1), "温度必须是大于 0 的数，收到 None"),
        (("0.8", 0.9, 1, 1), "温度必须是大于 0 的数，收到 &#x27;0.8&#x27;"),
        ((0.8, None, 1, 1), "top-p 必须大于 0、不大于 1，收到 None"),
        ((0.8, "0.9", 1, 1), "top-p 必须大于 0、不大于 1，收到 &#x27;0.9&#x27;"),
        ((0.8, 0.9, "7a", 1), "种子必须是 0 到 2⁶³−1 的整数（或留空），收到 &#x27;7a&#x27;"),
        ((0.8, 0.9, -1, 1), "种子必须是 0 到 2⁶³−1 的整数（或留空），收到 -1"),
        ((0.8, 0.9, 1.5, 1), "种子必须是 0 到 2⁶³−1 的整数"),
        ((0.8, 0.9, 1, None), "首数必须是 1 到 256 的整数，收到 None"),
        ((0.8, 0.9, 1, "2"), "首数必须是 1 到 256 的整数，收到 &#x27;2&#x27;"),
        ((0.8, 0.9, 1, 5), "这里一次最多写 4 首，收到 5"),
    ],
)
def test_the_api_given_bad_numbers_answers_with_a_message_not_a_traceback(demo, values, message):
    page = ask(demo.url, "续写", "床前", "五言绝句", True, True, *values, "简体", "平水韵", "")
    assert page.startswith('<div class="poem-error" role="alert">') and message in page
    assert "Traceback" not in demo.log.read_text()


def test_the_log_says_how_many_requests_run_at_once(demo):
    assert f"{CONCURRENCY} requests at a time" in demo.log.read_text()


# --- in-process: the handler, the queue, the command line -----------------------------------


VALUES = ("续写", "床前", "自动", True, True, 0.8, 0.9, 1, 1, "简体", "平水韵", "")


def test_an_unexpected_error_is_logged_once_and_the_page_says_so():
    from poetry_rnn.app.demo import UNEXPECTED, answer, render_error

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("poetry_rnn.app.demo")
    logger.addHandler(handler)
    try:
        page = answer(FakeGenerator(failure=RuntimeError("boom")), *VALUES).page
    finally:
        logger.removeHandler(handler)
    assert page == render_error(UNEXPECTED) and 'role="alert"' in page
    assert len(records) == 1 and records[0].levelname == "ERROR"
    assert records[0].getMessage() == "writing a poem failed"
    assert records[0].exc_info[0] is RuntimeError


def test_an_empty_seed_box_leaves_the_seed_to_chance_and_digits_fix_it():
    from poetry_rnn.app.demo import answer

    generator = FakeGenerator()
    for typed in ("", "  ", None, "12"):
        answer(generator, *VALUES[:7], typed, *VALUES[8:])
    assert generator.seeds == [None, None, None, 12]


@pytest.mark.parametrize("concurrency", [1, 3])
def test_the_queue_runs_as_many_requests_at_once_as_asked(concurrency):
    from gradio_client import Client

    from poetry_rnn.app.demo import build_app

    generator = FakeGenerator(seconds=0.5)
    app = build_app(generator, concurrency)
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
               ssr_mode=False, quiet=True)  # fmt: skip
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        jobs = [client.submit(*VALUES, api_name="/write") for _ in range(6)]
        pages = [job.result(timeout=60)[0] for job in jobs]
    finally:
        app.close()
    assert all('data-text="床前明月光' in page for page in pages)
    assert generator.most == concurrency


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "99999"], "argument --port: must be an integer from 1 to 65535, got '99999'"),
        (["--port", "0"], "argument --port: must be an integer from 1 to 65535, got '0'"),
        (["--port", "-1"], "argument --port: must be an integer from 1 to 65535, got '-1'"),
        (["--port", "http"], "argument --port: must be an integer from 1 to 65535, got 'http'"),
        (
            ["--concurrency", "0"],
            "argument --concurrency: must be an integer from 1 to 64, got '0'",
        ),
    ],
)
def test_bad_options_are_one_line_and_exit_2(capsys, argv, message):
    from poetry_rnn.app.demo import main

    code = run_cli(main, argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err == f"error: {message}\n"


def test_the_launcher_in_demo_starts_the_packaged_demo():
    done = subprocess.run(
        [sys.executable, str(LAUNCHER), "--port", "0"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert done.stderr == "error: argument --port: must be an integer from 1 to 65535, got '0'\n"


def test_the_rhyme_book_decides_the_rhyme_and_the_marks():
    from poetry_rnn.app.demo import answer
    from poetry_rnn.poetics.rhymes import book_groups
    from poetry_rnn.writing.generate import PoetryGenerator

    generator = PoetryGenerator.from_pretrained()
    values = ("续写", "床前", "七言律诗", True, True, 0.8, 0.9, 5, 1, "简体")
    pingshui = answer(generator, *values, "平水韵").page
    xinyun = answer(generator, *values, "中华新韵").page
    assert "（平水韵）" in pingshui and "（中华新韵）" in xinyun
    assert any(f">{group}<" in pingshui for group in book_groups("pingshui"))
    assert any(f">{group}<" in xinyun for group in book_groups("xinyun"))
    assert "没有韵书 &#x27;广韵&#x27;" in answer(generator, *values, "广韵").page


def test_a_poem_shows_its_plan_and_where_it_came_from():
    from poetry_rnn.app.demo import render_poem

    lines = split_lines(JINGYESI)
    planned = Poem(JINGYESI, lines, "五言绝句", "start", 1, None, plan=["月", "霜", "乡", "夜"],
                   plan_source="start")  # fmt: skip
    assert '<div class="poem-plan">意象（取自起句）：月、霜、乡、夜</div>' in render_poem(planned)
    theme = Poem(JINGYESI, lines, "五言绝句", "theme", 1, None, plan=["<秋>"], plan_source="theme")
    assert "意象（取自题意）：&lt;秋&gt;" in render_poem(theme)  # escaped
    assert "poem-plan" not in render_poem(Poem(JINGYESI, lines, "五言绝句", "free", 1, None))
