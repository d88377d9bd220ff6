"""The web demo: a Gradio page over the poetry_rnn library.

    python demo/app.py [--host 127.0.0.1] [--port 7860] [--model DIR] [--concurrency N]

Everything poetic comes from the library: the poems from ``PoetryGenerator``, the marks beside
them from ``poetry_rnn.prosody.annotate``. This file only lays them out. The page is offline:
no analytics, no fonts or scripts from elsewhere.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # read when gradio is imported

import argparse
import html
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import gradio as gr
import torch

from poetry_rnn import Poem, PoetryError, PoetryGenerator
from poetry_rnn.errors import run_cli, setup_logging
from poetry_rnn.prosody import FORMS, LEVEL, OBLIQUE, annotate
from poetry_rnn.text import PUNCTUATION

log = logging.getLogger("poetry_rnn.demo")

MODES = {"自由": "free", "续写": "start", "藏头": "acrostic", "主题": "theme"}
PROMPT_LABELS = {
    "自由": "风格（可空）",
    "续写": "开头（如 床前）",
    "藏头": "藏头字（如 春夏秋冬）",
    "主题": "主题（如 秋夜思乡）",
}
AUTO_FORM = "自动"
SCRIPTS = {"简体": "simplified", "繁體": "traditional"}
MAX_INPUT_CHARS = 50
MAX_POEMS = 4
QUEUE_SIZE = 200  # requests waiting beyond this are turned away
EXAMPLES = [
    ["续写", "床前", "五言绝句"],
    ["藏头", "春夏秋冬", "七言绝句"],
    ["主题", "秋夜思乡", "七言律诗"],
    ["自由", "", "五言律诗"],
]
TONE_SIGNS = {LEVEL: "○", OBLIQUE: "●", None: "◐"}
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


def render_poem(poem: Poem) -> str:
    """One poem, one line per row, each character over its tone sign; rhyme characters
    underlined with their group beside the line."""
    marks = annotate(poem.text)
    rows = []
    for row, (_, punctuation) in zip(marks, _LINE.findall(poem.text), strict=False):
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


def render_poems(poems: Sequence[Poem]) -> str:
    legend = "○ 平　● 仄　◐ 可平可仄　下划线：韵脚，旁注韵部（中华新韵）"
    body = "".join(render_poem(poem) for poem in poems)
    return f'<div class="poems">{body}</div><p class="legend">{legend}</p>'


def render_error(message: str) -> str:
    return f'<div class="poem-error" role="alert">{html.escape(message)}</div>'


# --- the page -------------------------------------------------------------------------------


def build_app(generator: PoetryGenerator) -> gr.Blocks:
    """The demo page over ``generator``."""

    def write(
        mode: str, text: str, form: str, rhyme: bool, tone: bool, temperature: float,
        top_p: float, seed: float | None, n: float, script: str,
    ) -> str:  # fmt: skip
        text = (text or "").strip()
        if len(text) > MAX_INPUT_CHARS:
            return render_error(f"输入太长：最多 {MAX_INPUT_CHARS} 个字（input too long）")
        controls = {
            "form": None if form == AUTO_FORM else form,
            "rhyme": rhyme, "tone": tone, "temperature": temperature, "top_p": top_p,
            "seed": None if seed is None else int(seed), "n": int(n),
            "script": SCRIPTS.get(script, "simplified"),
        }  # fmt: skip
        chosen = MODES.get(mode, "free")
        try:
            if chosen == "acrostic":
                poems = generator.acrostic(text, **controls)
            elif chosen == "theme":
                poems = generator.themed(text, **controls)
            elif chosen == "start":
                if not text:
                    return render_error("请输入开头的字（give the opening characters）")
                poems = generator.generate(text, **controls)
            else:
                poems = generator.generate(style=text, **controls)
        except PoetryError as error:
            return render_error(str(error))
        return render_poems(poems)

    with gr.Blocks(title="诗 · poetry-rnn", analytics_enabled=False) as app:
        gr.Markdown("# 诗 · poetry-rnn\n字级 LSTM 写唐诗：续写、藏头、主题，格律可控。")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=300):
                mode = gr.Radio(list(MODES), value="续写", label="模式", elem_id="mode")
                text = gr.Textbox(
                    label=PROMPT_LABELS["续写"], max_length=MAX_INPUT_CHARS, elem_id="prompt"
                )
                form = gr.Dropdown(
                    [AUTO_FORM, *FORMS], value="五言绝句", label="体裁", elem_id="form"
                )
                with gr.Row():
                    rhyme = gr.Checkbox(value=True, label="押韵")
                    tone = gr.Checkbox(value=True, label="合平仄")
                    script = gr.Radio(list(SCRIPTS), value="简体", label="字体")
                with gr.Accordion("采样", open=False):
                    temperature = gr.Slider(0.1, 2.0, value=0.8, step=0.05, label="温度")
                    top_p = gr.Slider(0.1, 1.0, value=0.9, step=0.05, label="top-p")
                    seed = gr.Number(value=None, precision=0, minimum=0, label="种子（空：随机）")
                    n = gr.Slider(1, MAX_POEMS, value=1, step=1, label="首数")
                button = gr.Button("写诗", variant="primary", elem_id="write")
            with gr.Column(scale=3, min_width=300):
                output = gr.HTML(elem_id="poems")
        gr.Examples(EXAMPLES, inputs=[mode, text, form], label="例子")

        mode.change(lambda chosen: gr.update(label=PROMPT_LABELS[chosen]), mode, text)
        inputs = [mode, text, form, rhyme, tone, temperature, top_p, seed, n, script]
        button.click(write, inputs, output, api_name="write")
        text.submit(write, inputs, output, api_name=False)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python demo/app.py", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=os.cpu_count() or 1,
        help="requests served at once, each on its share of the cores (default: one a core)",
    )
    args = parser.parse_args(argv)
    setup_logging()
    if args.concurrency < 1:
        raise PoetryError(f"--concurrency must be at least 1, got {args.concurrency}")
    # Each request gets its share of the cores: more threads than cores only slows them all.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // args.concurrency))
    generator = PoetryGenerator.from_pretrained(args.model)
    app = build_app(generator)
    app.queue(default_concurrency_limit=args.concurrency, max_size=QUEUE_SIZE)
    log.info("serving on http://%s:%d", args.host, args.port)
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
