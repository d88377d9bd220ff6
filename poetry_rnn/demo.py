"""The web demo: a Gradio page over the poetry_rnn library.

    python -m poetry_rnn.demo [--host 127.0.0.1] [--port 7860] [--model DIR] [--concurrency N]

Everything poetic comes from the library: the poems from ``PoetryGenerator.write``, the checks
of what is asked from ``Controls``, the marks beside the poems from ``prosody.annotate``. This
module only lays them out. The page is offline: no analytics, no fonts or scripts from
elsewhere.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # read when gradio is imported

import argparse
import functools
import html
import logging
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import gradio as gr
import torch

from poetry_rnn.controls import FREE, MAX_INPUT_CHARS, Controls
from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli, setup_logging
from poetry_rnn.generate import Poem, PoetryGenerator
from poetry_rnn.prosody import (
    DEFAULT_RHYME_BOOK,
    FORMS,
    LEVEL,
    OBLIQUE,
    RHYME_BOOK_NAMES,
    TONE_SIGNS,
    annotate,
)
from poetry_rnn.text import PUNCTUATION

log = logging.getLogger("poetry_rnn.demo")  # also when run as __main__

MODE_LABELS = {"自由": "free", "续写": "start", "藏头": "acrostic", "主题": "theme"}
PROMPT_LABELS = {
    "自由": "风格（可空）",
    "续写": "开头（如 床前）",
    "藏头": "藏头字（如 春夏秋冬）",
    "主题": "主题（如 秋夜思乡）",
}
#: 自动: the library chooses (a 绝句 of the length the start or the model sets; an acrostic's
#: form by its heads).
FORM_LABELS = {"自动": None, **{name: name for name in FORMS}, "不限字数": FREE}
SCRIPT_LABELS = {"简体": "simplified", "繁體": "traditional"}
RHYME_BOOK_LABELS = {name: book for book, name in RHYME_BOOK_NAMES.items()}
MAX_POEMS = 4
MAX_CONCURRENCY = 64
QUEUE_SIZE = 200  # requests waiting beyond this are turned away
UNEXPECTED = "出错了，请再试一次（an unexpected error; it is in the server's log）"
EXAMPLES = [
    ["续写", "床前", "五言绝句"],
    ["藏头", "春夏秋冬", "七言绝句"],
    ["主题", "秋夜思乡", "七言律诗"],
    ["自由", "", "五言律诗"],
]
TONE_CLASSES = {LEVEL: "level", OBLIQUE: "oblique", None: "either"}
_LINE = re.compile(f"([^{PUNCTUATION}]+)([{PUNCTUATION}]?)")  # a line and its mark

CSS = """
.poems { display: flex; flex-wrap: wrap; gap: 1.5rem; }
.poem { padding: 1rem 1.25rem; border: 1px solid var(--border-color-primary);
        border-radius: 0.75rem; max-width: 100%; }
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
.legend { font-size: 0.8rem; color: var(--body-text-color-subdued); }
.poem-error { padding: 0.75rem 1rem; border-radius: 0.5rem; background: #fef2f2;
              color: #991b1b; border: 1px solid #fecaca; }
@media (max-width: 480px) { .cell { width: 1.7rem; } .ch { font-size: 1.35rem; } }
"""


# --- what the page shows --------------------------------------------------------------------


def render_poem(poem: Poem, rhyme_book: str = DEFAULT_RHYME_BOOK) -> str:
    """One poem, one line per row, each character over its tone sign; rhyme characters
    underlined with their group in ``rhyme_book`` beside the line."""
    marks = annotate(poem.text, rhyme_book)
    rows = []
    for row, (_, punctuation) in zip(marks, _LINE.findall(poem.text), strict=True):
        cells = [
            f'<span class="cell {TONE_CLASSES[m.tone]}{" rhyme" if m.rhyme else ""}">'
            f'<span class="ch">{html.escape(m.char)}</span>'
            f'<span class="tone">{TONE_SIGNS[m.tone]}</span></span>'
            for m in row
        ]
        if punctuation:
            cells.append(f'<span class="cell punct"><span class="ch">{punctuation}</span></span>')
        rhyme = row[-1].rhyme if row else None
        if rhyme:
            cells.append(f'<span class="group">{html.escape(rhyme)}</span>')
        rows.append(f'<div class="poem-line">{"".join(cells)}</div>')
    meta = f"{poem.form or '不限字数'} · 种子 {poem.seed}"
    return (
        f'<article class="poem" data-text="{html.escape(poem.text)}">'
        f'<div class="poem-meta">{meta}</div>{"".join(rows)}</article>'
    )


def render_poems(poems: Sequence[Poem], rhyme_book: str = DEFAULT_RHYME_BOOK) -> str:
    legend = f"○ 平　● 仄　◐ 可平可仄　下划线：韵脚，旁注韵部（{RHYME_BOOK_NAMES[rhyme_book]}）"
    body = "".join(render_poem(poem, rhyme_book) for poem in poems)
    return f'<div class="poems">{body}</div><p class="legend">{legend}</p>'


def render_error(message: str) -> str:
    return f'<div class="poem-error" role="alert">{html.escape(message)}</div>'


# --- the page -------------------------------------------------------------------------------


def answer(
    generator: PoetryGenerator, mode: object, text: object, form: object, rhyme: object,
    tone: object, temperature: object, top_p: object, seed: object, n: object, script: object,
    rhyme_book: object,
) -> str:  # fmt: skip
    """The page's answer to one request, from the values as the client sent them: the poems,
    or a one-line message. Nothing a client sends gives an error page or a traceback."""
    try:
        controls = Controls(
            form=_chosen(FORM_LABELS, form), rhyme=rhyme, tone=tone, temperature=temperature,
            top_p=top_p, seed=seed, n=n, script=_chosen(SCRIPT_LABELS, script),
            rhyme_book=_chosen(RHYME_BOOK_LABELS, rhyme_book),
        )  # fmt: skip
        if controls.n > MAX_POEMS:
            raise PoetryError(f"n must be at most {MAX_POEMS} here, got {controls.n}")
        poems = generator.write(_chosen(MODE_LABELS, mode), "" if text is None else text, controls)
    except PoetryError as error:
        return render_error(str(error))
    except Exception:
        log.exception("writing a poem failed")
        return render_error(UNEXPECTED)
    return render_poems(poems, controls.rhyme_book)


def _chosen(labels: dict[str, object], value: object) -> object:
    """The library's value for a label of the page; anything else as sent, for the library to
    check."""
    return labels.get(value, value) if isinstance(value, str) else value


def build_app(generator: PoetryGenerator, concurrency: int = 1) -> gr.Blocks:
    """The demo page over ``generator``; its queue runs ``concurrency`` requests at a time."""
    with gr.Blocks(title="诗 · poetry-rnn", analytics_enabled=False) as app:
        gr.Markdown("# 诗 · poetry-rnn\n字级 LSTM 写唐诗：续写、藏头、主题，格律可控。")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=300):
                mode = gr.Radio(list(MODE_LABELS), value="续写", label="模式", elem_id="mode")
                text = gr.Textbox(
                    label=PROMPT_LABELS["续写"], max_length=MAX_INPUT_CHARS, elem_id="prompt"
                )
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
                        list(RHYME_BOOK_LABELS), value="平水韵", label="韵书", elem_id="rhyme-book"
                    )
                with gr.Accordion("采样", open=False, elem_id="sampling"):
                    temperature = gr.Slider(0.1, 2.0, value=0.8, step=0.05, label="温度")
                    top_p = gr.Slider(0.1, 1.0, value=0.9, step=0.05, label="top-p")
                    seed = gr.Number(
                        value=None, precision=0, minimum=0, label="种子（空：随机）", elem_id="seed"
                    )
                    n = gr.Slider(1, MAX_POEMS, value=1, step=1, precision=0, label="首数")
                button = gr.Button("写诗", variant="primary", elem_id="write")
            with gr.Column(scale=3, min_width=300):
                output = gr.HTML(elem_id="poems")
        gr.Examples(EXAMPLES, inputs=[mode, text, form], label="例子")

        mode.change(lambda chosen: gr.update(label=PROMPT_LABELS[chosen]), mode, text)
        inputs = [mode, text, form, rhyme, tone, temperature, top_p, seed, n, script, rhyme_book]
        write = functools.partial(answer, generator)
        # The values reach `answer` as sent (no preprocess): the library checks them, so bad
        # ones get a message in the page rather than Gradio's generic error.
        button.click(write, inputs, output, api_name="write", preprocess=False)
        text.submit(write, inputs, output, api_name=False, preprocess=False)
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
    parser.add_argument("--port", type=_integer(1, 65535), default=7860)
    parser.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
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
    app = build_app(PoetryGenerator.from_pretrained(args.model), args.concurrency)
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
