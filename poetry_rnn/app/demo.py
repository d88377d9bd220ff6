"""The web demo: a Gradio page over the poetry_rnn library.

    python -m poetry_rnn.demo [--host 127.0.0.1] [--port 7860] [--model DIR] [--backward DIR]
        [--concurrency N]

Three tabs. 写诗 writes poems — up to four candidates, each with its score — and rewrites one of
them around the lines the reader locks (重写). 对联 writes the 下联 to a 上联, or a whole couplet
and its 横批 to a theme, shown as on a door. 检查 checks a pasted poem and suggests characters
for a position.

Everything poetic comes from the library: the poems from ``PoetryGenerator.write`` and
``revise``, the checks of what is asked from ``Controls``, the marks beside the poems from
``prosody.annotate``, the report from ``check.check`` and the characters from
``suggest.suggest``. This module only lays them out. The page is offline: no analytics, no
fonts or scripts from elsewhere.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # read when gradio is imported

import argparse
import functools
import html
import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import gradio as gr
import torch

from poetry_rnn.app.generate_cli import BACKWARD_HELP
from poetry_rnn.app.messages import in_chinese
from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli, setup_logging
from poetry_rnn.forms import FORMS
from poetry_rnn.poetics.check import MAX_INPUT_CHARS as MAX_POEM_CHARS
from poetry_rnn.poetics.check import CheckReport, check, findings
from poetry_rnn.poetics.patterns import cipai
from poetry_rnn.poetics.prosody import annotate
from poetry_rnn.poetics.rhymes import DEFAULT_RHYME_BOOK, RHYME_BOOK_NAMES
from poetry_rnn.poetics.suggest import Suggestion, suggest
from poetry_rnn.poetics.tones import EITHER, LEVEL, OBLIQUE, TONE_SIGNS
from poetry_rnn.text import PUNCTUATION
from poetry_rnn.writing.controls import FREE, MAX_INPUT_CHARS, Controls
from poetry_rnn.writing.generate import Poem, PoetryGenerator

log = logging.getLogger("poetry_rnn.app.demo")  # also when run as __main__

MODE_LABELS = {"自由": "free", "续写": "start", "藏头": "acrostic", "主题": "theme"}
PROMPT_LABELS = {
    "自由": "风格（可空）",
    "续写": "开头（如 床前）",
    "藏头": "藏头字（如 春夏秋冬）",
    "主题": "主题（如 秋夜思乡）",
}
#: 自动: the library chooses (a 绝句 of the length the start or the model sets; an acrostic's
#: form by its heads). The 词牌 follow the shi forms, each labelled 词牌·浣溪沙.
FORM_LABELS = {"自动": None, **{name: name for name in FORMS}, "不限字数": FREE,
               **{f"词牌·{tune}": tune for tune in cipai()}}  # fmt: skip
SCRIPT_LABELS = {"简体": "simplified", "繁體": "traditional"}
RHYME_BOOK_LABELS = {name: book for book, name in RHYME_BOOK_NAMES.items()}
MAX_POEMS = 4
MAX_CONCURRENCY = 64
QUEUE_SIZE = 200  # requests waiting beyond this are turned away
UNEXPECTED = "出错了，请再试一次（错误已记入服务器的日志）"
#: What the page says to a request of too few values (a client of the API, not the page).
TOO_FEW_VALUES = "请求缺少参数：每个输入都要给一个值"
EXAMPLES = [
    ["续写", "床前", "五言绝句"],
    ["藏头", "春夏秋冬", "七言绝句"],
    ["主题", "秋夜思乡", "七言律诗"],
    ["自由", "", "五言律诗"],
]
TONE_CLASSES = {LEVEL: "level", OBLIQUE: "oblique", None: "either"}
SUGGESTIONS = 10
#: Where a poem's plan came from, as the page says it.
PLAN_SOURCES = {
    "theme": "取自题意", "start": "取自起句", "heads": "取自藏头", "first line": "取自首句",
    "title": "取自题目",
}  # fmt: skip
NOTHING_TO_REVISE = "先写一首诗，再锁定要保留的句子重写"
_LINE = re.compile(f"([^{PUNCTUATION}]+)([{PUNCTUATION}]?)")  # a line and its mark

CSS = """
.poems { display: flex; flex-wrap: wrap; gap: 1.5rem; }
.poem { padding: 1rem 1.25rem; border: 1px solid var(--border-color-primary);
        border-radius: 0.75rem; max-width: 100%; }
.poem-title { font-size: 1.3rem; margin: 0 0 0.4rem; letter-spacing: 0.1rem; }
.poem-meta { font-size: 0.85rem; color: var(--body-text-color-subdued); margin-bottom: 0.5rem; }
.poem-line { display: flex; align-items: flex-start; gap: 0.1rem; margin: 0.15rem 0; }
.cell { display: inline-flex; flex-direction: column; align-items: center; width: 2rem; }
.ch { font-size: 1.6rem; line-height: 1.3; }
.tone { font-size: 0.8rem; line-height: 1; }
.level .tone { color: #2563eb; }
.oblique .tone { color: #b91c1c; }
.either .tone { color: #6b7280; }
.rhyme .ch { text-decoration: underline 2px #d97706; text-underline-offset: 0.3rem; }
.punct { width: 1.2rem; }
.group { font-size: 0.75rem; color: #d97706; align-self: center; margin-left: 0.4rem;
         white-space: nowrap; }
.poem-plan { font-size: 0.8rem; color: var(--body-text-color-subdued); margin-bottom: 0.3rem; }
.legend { font-size: 0.8rem; color: var(--body-text-color-subdued); }
.broken .ch { background: #fee2e2; border-radius: 0.25rem; }
.findings, .suggestions { font-size: 0.9rem; padding-left: 1.25rem; overflow-wrap: anywhere; }
.suggestions .ch { font-size: 1.3rem; }
.poem-error { padding: 0.75rem 1rem; border-radius: 0.5rem; background: #fef2f2;
              color: #991b1b; border: 1px solid #fecaca; }
.couplet { display: grid; grid-template-columns: auto auto; grid-template-areas:
           "banner banner" "lower upper"; justify-content: center; gap: 0.75rem 3rem;
           padding: 1rem; }
.couplet-banner { grid-area: banner; text-align: center; font-size: 1.6rem;
                  letter-spacing: 0.5rem; }
.couplet-upper { grid-area: upper; }
.couplet-lower { grid-area: lower; }
.couplet-upper, .couplet-lower { writing-mode: vertical-rl; font-size: 1.7rem;
                                 letter-spacing: 0.3rem; }
.couplet-banner, .couplet-upper, .couplet-lower { background: #b91c1c; color: #fde68a;
                                                  padding: 0.6rem; border-radius: 0.3rem; }
@media (max-width: 480px) { .cell { width: 1.7rem; } .ch { font-size: 1.35rem; } }
"""


# --- what the page shows --------------------------------------------------------------------


def render_lines(text: str, rhyme_book: str, broken: frozenset[tuple[int, int]]) -> str:
    """A poem's lines, one a row, each character over its tone sign; rhyme characters
    underlined with their group in ``rhyme_book`` beside the line; the (line, position) pairs
    of ``broken`` (both 1-based) marked."""
    rows = []
    lines = _LINE.findall(text)
    for n, (row, (_, punctuation)) in enumerate(
        zip(annotate(text, rhyme_book), lines, strict=True), start=1
    ):
        cells = [
            f'<span class="cell {TONE_CLASSES[m.tone]}{" rhyme" if m.rhyme else ""}'
            f'{" broken" if (n, p) in broken else ""}">'
            f'<span class="ch">{html.escape(m.char)}</span>'
            f'<span class="tone">{TONE_SIGNS[m.tone]}</span></span>'
            for p, m in enumerate(row, start=1)
        ]
        if punctuation:
            cells.append(f'<span class="cell punct"><span class="ch">{punctuation}</span></span>')
        rhyme = row[-1].rhyme if row else None
        if rhyme:
            cells.append(f'<span class="group">{html.escape(rhyme)}</span>')
        rows.append(f'<div class="poem-line">{"".join(cells)}</div>')
    return "".join(rows)


def render_poem(poem: Poem, rhyme_book: str = DEFAULT_RHYME_BOOK, number: int = 1) -> str:
    """One poem as a numbered candidate, with its form, seed and score."""
    score = "" if poem.score is None else f" · 得分 {poem.score:.2f}"
    meta = f"候选 {number} · {poem.form or '不限字数'} · 种子 {poem.seed}{score}"
    plan = ""
    if poem.plan:
        source = PLAN_SOURCES.get(poem.plan_source, poem.plan_source)
        plan = f'<div class="poem-plan">意象（{source}）：{html.escape("、".join(poem.plan))}</div>'
    title = f'<h3 class="poem-title">{html.escape(poem.title)}</h3>' if poem.title else ""
    return (
        f'<article class="poem" data-text="{html.escape(poem.text)}">{title}'
        f'<div class="poem-meta">{meta}</div>{plan}'
        f"{render_lines(poem.text, rhyme_book, frozenset())}</article>"
    )


def render_poems(poems: Sequence[Poem], rhyme_book: str = DEFAULT_RHYME_BOOK) -> str:
    legend = (
        f"○ 平　● 仄　◐ 可平可仄　下划线：韵脚，旁注韵部（{RHYME_BOOK_NAMES[rhyme_book]}）"
        "　得分：每字平均对数似然，越高越好"
    )
    body = "".join(render_poem(poem, rhyme_book, n) for n, poem in enumerate(poems, start=1))
    return f'<div class="poems">{body}</div><p class="legend">{legend}</p>'


def render_report(report: CheckReport) -> str:
    """A checked poem: its form and rhyme, its marks with the broken positions marked, and
    what is broken in words."""
    rhyme = "、".join(report.rhyme_groups) if report.rhymes else "不押韵"
    meta = (
        f"{report.form} · {RHYME_BOOK_NAMES[report.rhyme_book]} · 韵：{rhyme} · "
        f"平仄 {report.tone_satisfied}/{report.tone_checked} 合律"
    )
    broken = frozenset((t.line, t.position) for t in report.tones if not t.ok)
    said = findings(report) or ["合律：没有出律之处 (nothing is broken)"]
    items = "".join(f"<li>{html.escape(row)}</li>" for row in said)
    title = f'<h3 class="poem-title">{html.escape(report.title)}</h3>' if report.title else ""
    return (
        f'<article class="poem report" data-form="{report.form}">{title}'
        f'<div class="poem-meta">{html.escape(meta)}</div>'
        f"{render_lines(report.text, report.rhyme_book, broken)}"
        f'<ul class="findings">{items}</ul></article>'
    )


def render_suggestions(suggestions: Sequence[Suggestion]) -> str:
    if not suggestions:
        return render_error("这里没有合律的字 (no character of the vocabulary satisfies the rules)")
    signs = {LEVEL: TONE_SIGNS[LEVEL], OBLIQUE: TONE_SIGNS[OBLIQUE], EITHER: TONE_SIGNS[None]}
    items = "".join(
        f'<li><span class="ch">{html.escape(s.char)}</span> {signs[s.tone]} {s.score:.2f}</li>'
        for s in suggestions
    )
    return f'<ol class="suggestions">{items}</ol>'


def render_couplet(poem: Poem) -> str:
    """A couplet as a door shows it: the 横批 across the top, the 上联 on the right, the
    下联 on the left, each read top to bottom (writing-mode: vertical-rl)."""
    banner = poem.banner and f'<div class="couplet-banner">{html.escape(poem.banner)}</div>'
    return (
        f'<div class="couplet" lang="zh">{banner}'
        f'<div class="couplet-upper" title="上联">{html.escape(poem.upper)}</div>'
        f'<div class="couplet-lower" title="下联">{html.escape(poem.lower)}</div></div>'
    )


def render_error(message: str) -> str:
    return f'<div class="poem-error" role="alert">{html.escape(message)}</div>'


# --- answers to requests --------------------------------------------------------------------


class Answer(NamedTuple):
    """The page for a request, and the lines of each poem on it (None where it failed)."""

    page: str
    poems: list[list[str]] | None


def answer(
    generator: PoetryGenerator, mode: object, text: object, form: object, rhyme: object,
    tone: object, temperature: object, top_p: object, seed: object, n: object, script: object,
    rhyme_book: object, title: object = "",
) -> Answer:  # fmt: skip
    """The page's answer to one request, from the values as the client sent them: the poems,
    or a one-line message. Nothing a client sends gives an error page or a traceback."""

    def write(controls: Controls) -> list[Poem]:
        titled = replace(controls, title="" if title is None else title)
        return generator.write(_chosen(MODE_LABELS, mode), "" if text is None else text, titled)

    return _answer(write, form, rhyme, tone, temperature, top_p, seed, n, script, rhyme_book)


def answer_revision(
    generator: PoetryGenerator, poems: object, chosen: object, locked: object, rhyme: object,
    tone: object, temperature: object, top_p: object, seed: object, n: object, script: object,
    rhyme_book: object,
) -> Answer:  # fmt: skip
    """Candidate ``chosen`` (1-based) of ``poems`` (each a list of lines), rewritten but for
    its ``locked`` lines (1-based), in its own form."""

    def revise(controls: Controls) -> list[Poem]:
        if not poems:
            raise PoetryError(NOTHING_TO_REVISE)
        if not isinstance(chosen, int) or not 1 <= chosen <= len(poems):
            raise PoetryError(f"choose a candidate from 1 to {len(poems)}, got {chosen!r}")
        return generator.revise("".join(poems[chosen - 1]), locked or [], controls)

    return _answer(revise, None, rhyme, tone, temperature, top_p, seed, n, script, rhyme_book)


def _answer(
    write: Callable[[Controls], list[Poem]], form: object, rhyme: object, tone: object,
    temperature: object, top_p: object, seed: object, n: object, script: object,
    rhyme_book: object,
) -> Answer:  # fmt: skip
    try:
        controls = Controls(
            form=_chosen(FORM_LABELS, form), rhyme=rhyme, tone=tone, temperature=temperature,
            top_p=top_p, seed=_seed(seed), n=n, script=_chosen(SCRIPT_LABELS, script),
            rhyme_book=_chosen(RHYME_BOOK_LABELS, rhyme_book),
        )  # fmt: skip
        if controls.n > MAX_POEMS:
            raise PoetryError(f"n must be at most {MAX_POEMS} here, got {controls.n}")
        poems = write(controls)
    except PoetryError as error:
        return Answer(render_error(in_chinese(str(error))), None)
    except Exception:
        log.exception("writing a poem failed")
        return Answer(render_error(UNEXPECTED), None)
    return Answer(render_poems(poems, controls.rhyme_book), [poem.lines for poem in poems])


def answer_couplet(
    generator: PoetryGenerator, upper: object, theme: object, banner: object, seed: object,
    script: object,
) -> str:  # fmt: skip
    """The 下联 to ``upper`` (with a 横批 where ``banner``), or with no 上联 a whole couplet and
    its 横批 to ``theme``; or a one-line message."""
    upper = upper.strip() if isinstance(upper, str) else upper
    theme = theme.strip() if isinstance(theme, str) else theme
    try:
        controls = Controls(seed=_seed(seed), script=_chosen(SCRIPT_LABELS, script))
        poems = generator.couplet(
            upper or None, theme or None, controls, banner=True if banner is True else None
        )
    except PoetryError as error:
        return render_error(in_chinese(str(error)))
    except Exception:
        log.exception("writing a couplet failed")
        return render_error(UNEXPECTED)
    return "".join(render_couplet(poem) for poem in poems)


def answer_check(text: object, rhyme_book: object) -> str:
    """The report on a pasted poem, or a one-line message."""
    return _report(lambda book: render_report(check(text, rhyme_book=book)), rhyme_book)


def answer_suggestions(
    generator: PoetryGenerator, text: object, line: object, position: object, rhyme_book: object
) -> str:
    """The characters that mend ``position`` of ``line`` (both 1-based), or a message."""

    def ranked(book: str) -> str:
        found = suggest(text, line, position, SUGGESTIONS, rhyme_book=book, model=generator)
        return render_suggestions(found)

    return _report(ranked, rhyme_book)


def _report(render: Callable[[str], str], rhyme_book: object) -> str:
    try:
        return render(_chosen(RHYME_BOOK_LABELS, rhyme_book))
    except PoetryError as error:
        return render_error(in_chinese(str(error)))
    except Exception:
        log.exception("checking a poem failed")
        return render_error(UNEXPECTED)


def _seed(value: object) -> object:
    """The seed typed in the page: none where empty, a number where digits; anything else as
    sent, for the library to check."""
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value)
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def _chosen(labels: dict[str, object], value: object) -> object:
    """The library's value for a label of the page; anything else as sent, for the library to
    check."""
    return labels.get(value, value) if isinstance(value, str) else value


def _shown(shown: Answer, locked: object = ()) -> tuple:
    """What the writing tab shows for an answer: the page, the poems kept for revising, the
    candidates to choose from and the first one's lines to lock (``locked`` stay locked)."""
    if shown.poems is None:  # a message: the poems before it stay for revising
        return shown.page, gr.skip(), gr.skip(), gr.skip()
    candidates = [(f"候选 {n}", n) for n in range(1, len(shown.poems) + 1)]
    return (
        shown.page,
        shown.poems,
        gr.update(choices=candidates, value=1),
        _lock_choices(shown.poems[0], locked),
    )


def _candidate_lines(poems: list[list[str]], chosen: object) -> dict:
    """The lines of the chosen candidate, to lock."""
    if isinstance(chosen, int) and 1 <= chosen <= len(poems):
        return _lock_choices(poems[chosen - 1])
    return gr.skip()


def _lock_choices(lines: list[str], locked: object = ()) -> dict:
    kept = [n for n in locked or () if isinstance(n, int) and n <= len(lines)]
    return gr.update(choices=[(line, n) for n, line in enumerate(lines, start=1)], value=kept)


def example_values_js() -> str:
    """The browser's handler of a click on example ``index``: the example's values, in the
    order of its components."""
    return f"(index) => {json.dumps(EXAMPLES, ensure_ascii=False)}[index]"


class _Page(gr.Blocks):
    """The demo's Blocks: a request of too few values, which Gradio refuses before any of the
    page's functions runs (with a traceback in the server's log), is answered in a line."""

    def validate_inputs(self, block_fn: object, inputs: list) -> None:
        try:
            super().validate_inputs(block_fn, inputs)  # type: ignore[arg-type]
        except ValueError:
            log.warning("refused a request of %d values", len(inputs))
            raise gr.Error(TOO_FEW_VALUES, print_exception=False) from None


def build_app(generator: PoetryGenerator, concurrency: int = 1) -> gr.Blocks:
    """The demo page over ``generator``; its queue runs ``concurrency`` requests at a time."""
    with _Page(title="诗 · poetry-rnn", analytics_enabled=False) as app:
        gr.Markdown("# 诗 · poetry-rnn\n字级 LSTM 写唐诗：续写、藏头、主题，格律可控；重写、检查。")
        with gr.Tab("写诗", elem_id="writing"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=300):
                    mode = gr.Radio(list(MODE_LABELS), value="续写", label="模式", elem_id="mode")
                    text = gr.Textbox(
                        label=PROMPT_LABELS["续写"], max_length=MAX_INPUT_CHARS, elem_id="prompt"
                    )
                    title = gr.Textbox(
                        label="题目（空：每首自拟一题）", max_length=MAX_INPUT_CHARS,
                        elem_id="title",
                    )  # fmt: skip
                    form = gr.Dropdown(
                        list(FORM_LABELS), value="五言绝句", label="体裁", elem_id="form"
                    )
                    with gr.Row():
                        rhyme = gr.Checkbox(value=True, label="押韵", elem_id="rhyme")
                        tone = gr.Checkbox(value=True, label="合平仄", elem_id="tone")
                        script = gr.Radio(
                            list(SCRIPT_LABELS), value="简体", label="字体", elem_id="script"
                        )
                        rhyme_book = gr.Radio(
                            list(RHYME_BOOK_LABELS), value="平水韵", label="韵书",
                            elem_id="rhyme-book",
                        )  # fmt: skip
                    with gr.Accordion("采样", open=False, elem_id="sampling"):
                        temperature = gr.Slider(0.1, 2.0, value=0.8, step=0.05, label="温度")
                        top_p = gr.Slider(0.1, 1.0, value=0.9, step=0.05, label="top-p")
                        # Text, not a number box: Gradio's number box shows and sends 0
                        # for empty, which would fix every poem's seed.
                        seed = gr.Textbox(value="", label="种子（空：随机）", elem_id="seed")
                        n = gr.Slider(
                            1, MAX_POEMS, value=1, step=1, precision=0, label="首数（候选）",
                            elem_id="n",
                        )  # fmt: skip
                    button = gr.Button("写诗", variant="primary", elem_id="write")
                with gr.Column(scale=3, min_width=300):
                    output = gr.HTML(elem_id="poems")
                    candidate = gr.Radio(
                        [], label="重写哪一首", elem_id="candidate", interactive=True
                    )
                    locks = gr.CheckboxGroup(
                        [], label="锁定（重写时保留这些句子）", elem_id="locks", interactive=True
                    )
                    again = gr.Button("重写", elem_id="revise")
            # The examples fill the boxes in the browser itself: a round trip to the server
            # (gr.Examples's way) let 写诗 pressed at once send the boxes as they were.
            examples = gr.Dataset(
                components=[mode, text, form], samples=EXAMPLES, label="例子", elem_id="examples"
            )
        with gr.Tab("检查", elem_id="checking"):
            pasted = gr.Textbox(
                label="一首诗（绝句或律诗，句末标点或换行分句；首行可写题目）", lines=4,
                max_length=MAX_POEM_CHARS, elem_id="check-text",
            )  # fmt: skip
            check_book = gr.Radio(
                list(RHYME_BOOK_LABELS), value="平水韵", label="韵书", elem_id="check-book"
            )
            check_button = gr.Button("检查", variant="primary", elem_id="check")
            report = gr.HTML(elem_id="report")
            with gr.Row():
                line = gr.Number(value=1, precision=0, minimum=1, label="第几句", elem_id="line")
                position = gr.Number(
                    value=1, precision=0, minimum=1, label="第几字", elem_id="position"
                )
            suggest_button = gr.Button("建议用字", elem_id="suggest")
            suggestions = gr.HTML(elem_id="suggestions")

        with gr.Tab("对联", elem_id="couplets"), gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=300):
                upper = gr.Textbox(
                    label="上联（4 到 11 字，中间可有一个逗号；空：按主题写整副）",
                    max_length=MAX_INPUT_CHARS, elem_id="upper",
                )  # fmt: skip
                couplet_theme = gr.Textbox(
                    label="主题（如 新春）", max_length=MAX_INPUT_CHARS, elem_id="couplet-theme"
                )
                with gr.Row():
                    banner = gr.Checkbox(value=False, label="横批", elem_id="banner")
                    couplet_script = gr.Radio(
                        list(SCRIPT_LABELS), value="简体", label="字体",
                        elem_id="couplet-script",
                    )  # fmt: skip
                    couplet_seed = gr.Textbox(
                        value="", label="种子（空：随机）", elem_id="couplet-seed"
                    )
                couplet_button = gr.Button("对下联", variant="primary", elem_id="couplet")
            with gr.Column(scale=3, min_width=300):
                couplet_output = gr.HTML(elem_id="couplet-output")

        poems = gr.State([])
        couplet_button.click(
            functools.partial(answer_couplet, generator),
            [upper, couplet_theme, banner, couplet_seed, couplet_script], couplet_output,
            api_name="couplet", preprocess=False,
        )  # fmt: skip
        examples.click(None, examples, [mode, text, form], js=example_values_js(), api_name=False)
        mode.change(lambda chosen: gr.update(label=PROMPT_LABELS[chosen]), mode, text)
        shared = [rhyme, tone, temperature, top_p, seed, n, script, rhyme_book]
        shown = [output, poems, candidate, locks]
        # The values reach the handlers as sent (no preprocess): the library checks them, so
        # bad ones get a message in the page rather than Gradio's generic error.
        inputs = [mode, text, form, *shared, title]
        button.click(
            lambda *values: _shown(answer(generator, *values)), inputs, shown,
            api_name="write", preprocess=False,
        )  # fmt: skip
        text.submit(
            lambda *values: _shown(answer(generator, *values)), inputs, shown,
            api_name=False, preprocess=False,
        )  # fmt: skip
        again.click(
            lambda kept, chosen, locked, *values: _shown(
                answer_revision(generator, kept, chosen, locked, *values), locked
            ),
            [poems, candidate, locks, *shared], shown, api_name="revise", preprocess=False,
        )  # fmt: skip
        candidate.input(_candidate_lines, [poems, candidate], locks, api_name=False,
                        preprocess=False)  # fmt: skip
        check_button.click(
            answer_check, [pasted, check_book], report, api_name="check", preprocess=False
        )
        suggest_button.click(
            functools.partial(answer_suggestions, generator),
            [pasted, line, position, check_book], suggestions, api_name="suggest",
            preprocess=False,
        )  # fmt: skip
    return app.queue(default_concurrency_limit=concurrency, max_size=QUEUE_SIZE)


def _integer(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be an integer from {low} to {high}, got {text!r}"
            )
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m poetry_rnn.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=_integer(1, 65535), default=7860, help="the port to serve on (default 7860)"
    )
    parser.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    parser.add_argument("--backward", type=Path, help=BACKWARD_HELP)
    parser.add_argument(
        "--concurrency",
        type=_integer(1, MAX_CONCURRENCY),
        default=os.cpu_count() or 1,
        help="requests served at once, each on its share of the cores (default: one a core)",
    )
    args = parser.parse_args(argv)
    setup_logging()
    # Each request gets its share of the cores: more threads than cores only slows them all.
    threads = max(1, (os.cpu_count() or 1) // args.concurrency)
    torch.set_num_threads(threads)
    generator = PoetryGenerator.from_pretrained(args.model, backward=args.backward)
    app = build_app(generator, args.concurrency)
    log.info(
        "serving on http://%s:%d, %d requests at a time, %d threads each",
        args.host, args.port, args.concurrency, threads,
    )  # fmt: skip
    try:
        app.launch(
            server_name=args.host, server_port=args.port, css=CSS, ssr_mode=False,
            footer_links=["api"], show_error=False,
        )  # fmt: skip
    except OSError as error:
        raise PoetryError(f"cannot serve on {args.host}:{args.port}: {error}") from None
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
