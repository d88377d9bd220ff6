"""The web demo in a real browser: Debian's chromium driven through Playwright against
``demo/app.py`` on a free loopback port, with the shipped model."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from poetry_rnn.prosody import FORMS, check_format
from poetry_rnn.text import split_lines

APP = Path(__file__).resolve().parents[1] / "demo" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
START_SECONDS = 300  # importing gradio and torch on a busy machine is slow
POEM_MS = 60_000
PHONE = {"width": 390, "height": 844}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo, started as a user starts it; its log is shown if it never answers."""
    port = free_port()
    log = tmp_path_factory.mktemp("demo") / "app.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, str(APP), "--port", str(port)], stdout=output, stderr=output
        )
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
    yield url
    process.terminate()
    process.wait(timeout=30)


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


@pytest.mark.parametrize(
    ("mode", "text", "form", "message"),
    [
        ("藏头", "春夏秋冬花开月明", "五言绝句", "does not fit"),
        ("续写", "床前😀", None, "😀"),
        ("续写", "", None, "请输入开头"),
    ],
)
def test_bad_input_shows_a_readable_message(page, mode, text, form, message):
    write(page, mode, text, form)
    error = page.locator("#poems .poem-error")
    error.wait_for(timeout=POEM_MS)
    assert message in error.inner_text()
    assert "Traceback" not in page.content()


def test_the_page_fits_a_phone(browser, server, tmp_path):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(server)
    write(page, "主题", "秋夜思乡", "七言律诗")
    assert len(shown_poem(page)) == 8
    page.locator("#poems article.poem").first.scroll_into_view_if_needed()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    page.screenshot(path=tmp_path / "phone.png", full_page=True)
    context.close()


def test_the_api_refuses_overlong_input_too(server):
    """The page's text box stops at 50 characters; a client that bypasses it is refused."""
    from gradio_client import Client

    client = Client(server, verbose=False)
    page = client.predict(
        "主题", "秋" * 60, "七言绝句", True, True, 0.8, 0.9, 1, 1, "简体", api_name="/write"
    )
    assert 'class="poem-error"' in page and "最多 50" in page
