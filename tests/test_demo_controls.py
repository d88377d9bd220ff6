"""The demo's switches and marks without a browser: 简体/繁體, the rhyme and tone switches, the
tone signs ○●◐ under each character, the rhyme groups, and ``--concurrency``."""

import html
import re

import pytest
import torch

from poetry_rnn.app import demo
from poetry_rnn.forms import FORMS
from poetry_rnn.poetics.prosody import check_rhyme
from poetry_rnn.text import to_traditional
from poetry_rnn.writing.decoding import Composer
from poetry_rnn.writing.generate import Poem

JING_YE_SI = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"
CELL = re.compile(r'<span class="cell (\w+)( rhyme)?"><span class="ch">(.)</span>'
                  r'<span class="tone">(.)</span></span>')  # fmt: skip


def ask(generator, *, form="五言律诗", rhyme=True, tone=True, seed=1, n=4, script="简体"):
    """The page's answer in 自由 mode, the sampling sliders at their defaults."""
    return demo.answer(
        generator, "自由", "", form, rhyme, tone, 0.8, 0.9, seed, n, script, "平水韵"
    ).page


def texts(page: str) -> list[str]:
    return [html.unescape(text) for text in re.findall(r'data-text="([^"]*)"', page)]


def test_each_character_stands_over_its_tone_sign_and_rhymes_are_marked():
    poem = Poem(JING_YE_SI, [], "五言绝句", "start", 0, None)
    cells = CELL.findall(demo.render_poem(poem))
    assert "".join(char for _, _, char, _ in cells) == JING_YE_SI.replace("，", "").replace(
        "。", ""
    )
    signs = "".join(sign for _, _, _, sign in cells)
    # 床前明月光 平平平仄平; 疑是地上霜 平仄仄仄平; 举头望明月 仄平仄平仄; 低头思故乡, 思 either.
    assert signs == "○○○●○○●●●○●○●○●○○◐●○"
    assert {cls for cls, _, _, sign in cells if sign == "○"} == {"level"}
    assert {cls for cls, _, _, sign in cells if sign == "●"} == {"oblique"}
    assert {cls for cls, _, _, sign in cells if sign == "◐"} == {"either"}
    assert [char for _, rhyme, char, _ in cells if rhyme] == ["光", "霜", "乡"]
    assert demo.render_poem(poem).count('<span class="group">下平七阳</span>') == 3


def test_the_legend_explains_the_signs_and_names_the_book():
    page = demo.render_poems([], "xinyun")
    assert "○ 平　● 仄　◐ 可平可仄" in page and "中华新韵" in page


def test_traditional_script_shows_the_same_poems_in_traditional_characters(generator):
    simplified = texts(ask(generator, script="简体"))
    traditional = texts(ask(generator, script="繁體"))
    assert len(simplified) == 4
    assert traditional == [to_traditional(text) for text in simplified] != simplified


@pytest.fixture
def plans(monkeypatch):
    seen = []
    decode = Composer.decode_scored

    def recording(self, plan, n, sampling, seed):
        seen.append(plan)
        return decode(self, plan, n, sampling, seed)

    monkeypatch.setattr(Composer, "decode_scored", recording)
    return seen


def test_the_rhyme_and_tone_switches_reach_the_decoder(generator, plans):
    for rhyme, tone in [(True, True), (False, True), (True, False)]:
        ask(generator, rhyme=rhyme, tone=tone, n=1)
    assert [(plan.rhyme, plan.tone) for plan in plans] == [
        (True, True),
        (False, True),
        (True, False),
    ]


def test_the_rhyme_switch_off_lets_poems_leave_the_rhyme(generator):
    # Unforced, the model still rhymes most poems: these seeds write one that does not (seed 6
    # of the titled model, measured; 3 and 4 did before it).
    form = FORMS["五言律诗"]
    rhymed = [t for seed in (5, 6) for t in texts(ask(generator, seed=seed))]
    unrhymed = [t for seed in (5, 6) for t in texts(ask(generator, seed=seed, rhyme=False))]
    assert all(check_rhyme(text, form) for text in rhymed)
    assert not all(check_rhyme(text, form) for text in unrhymed)


def test_concurrency_sets_the_queue_and_each_requests_share_of_the_cores(monkeypatch):
    built = {}

    def build_app(generator, concurrency):
        built["concurrency"] = concurrency
        return app

    class App:
        def launch(self, **options):
            built["launched"] = options["server_port"]

    app = App()
    monkeypatch.setattr(demo, "build_app", build_app)
    monkeypatch.setattr(demo.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(demo.PoetryGenerator, "from_pretrained", lambda path, backward: None)
    threads = torch.get_num_threads()
    try:
        assert demo.main(["--concurrency", "3", "--port", "7999"]) == 0
        assert built == {"concurrency": 3, "launched": 7999}
        assert torch.get_num_threads() == 2  # 8 cores // 3 requests
        assert demo.main([]) == 0
        assert built["concurrency"] == 8 and torch.get_num_threads() == 1  # one a core
    finally:
        torch.set_num_threads(threads)
