"""Generation latency on CPU: loading the model, one poem per form and mode, a batch of 64,
their floors; revising, checking and mending a 七言律诗; and what the plan and the coherence
score add (against Controls(coherence=0, plan=False)).

    python benchmarks/generate_latency.py [--model DIR] [--runs 20] [--json]

Beside each figure: the floor — one plain forward pass of the same model (same precision) over
as many tokens as the poem has — and the reference recipe's greedy loop (textbook decoding, no
constraints) over as many characters. The model is the shipped one unless --model says. Loading
is timed in fresh processes: ``from_pretrained`` alone, and the whole command
``python -m poetry_rnn.generate --start 床前`` a user types first. Writing with the poet: 杜甫's
登高 revised around its lines 1 and 4, checked, and mended at one position (suggestions).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import torch
from reference import greedy_poem

from poetry_rnn.evaluation.prompts import prompts
from poetry_rnn.forms import FORMS
from poetry_rnn.model.checkpoint import PRECISIONS, Models
from poetry_rnn.model.quantized import Int8CharRNN
from poetry_rnn.poetics.check import check
from poetry_rnn.poetics.suggest import suggest
from poetry_rnn.writing.controls import Controls
from poetry_rnn.writing.generate import PoetryGenerator

DENG_GAO = (
    "风急天高猿啸哀，渚清沙白鸟飞回。无边落木萧萧下，不尽长江滚滚来。"
    "万里悲秋常作客，百年多病独登台。艰难苦恨繁霜鬓，潦倒新停浊酒杯。"
)


def describe(model: torch.nn.Module) -> str:
    """What a model decodes in: "int8" or its weights' dtype."""
    if isinstance(model, Int8CharRNN):
        return "int8 weights (fbgemm)"
    return f"{next(model.parameters()).dtype} weights"


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def timed(call, runs: int) -> list[float]:
    """Seconds of ``runs`` calls of ``call(run_number)``, after one warm-up call."""
    call(-1)
    seconds = []
    for run in range(runs):
        started = time.perf_counter()
        call(run)
        seconds.append(time.perf_counter() - started)
    return seconds


def write(generator: PoetryGenerator, mode: str, form: str, seed: int, **controls):
    """Poems of ``form`` in ``mode`` from the mode's first evaluation prompt (床前, 风花雪月)."""
    text = prompts(generator, mode, FORMS[form])[0]
    return generator.write(mode, text, Controls(form=form, seed=abs(seed), **controls))


def measure_loading(model: Path | None, runs: int) -> dict:
    """Median seconds, each run a fresh process: loading the model, and the first command."""
    load = (
        "import sys, time; from poetry_rnn.writing.generate import PoetryGenerator; "
        "started = time.perf_counter(); PoetryGenerator.from_pretrained(sys.argv[1] or None); "
        "print(time.perf_counter() - started)"
    )
    loads, commands = [], []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", load, str(model or "")], capture_output=True, check=True
        )
        loads.append(float(done.stdout))
        started = time.perf_counter()
        command = [sys.executable, "-m", "poetry_rnn.generate", "--start", "床前"]
        subprocess.run(command + (["--model", str(model)] if model else []), check=True,
                       capture_output=True)  # fmt: skip
        commands.append(time.perf_counter() - started)
    return {"load_s": statistics.median(loads), "first_command_s": statistics.median(commands)}


def measure_form(generator: PoetryGenerator, form_name: str, runs: int) -> list[dict]:
    """Latency rows for one form: every mode, with and without the rules, and a batch."""
    model, vocab = generator.composer.model, generator.vocab
    form = FORMS[form_name]
    tokens = form.lines * (form.chars + 1) + 2  # characters, punctuation, start, end
    sample = torch.randint(4, len(vocab), (1, tokens))
    with torch.inference_mode():
        floor = statistics.median(timed(lambda _: model(sample), runs))
    greedy = statistics.median(
        timed(lambda _: greedy_poem(model, vocab, max_chars=tokens - 2, stop_at_end=False), runs)
    )
    rows = []
    for mode in generator.modes:
        single = timed(partial(write, generator, mode, form_name), runs)
        loose = timed(partial(write, generator, mode, form_name, rhyme=False, tone=False), runs)
        unplanned = timed(
            partial(write, generator, mode, form_name, coherence=0.0, plan=False), runs
        )
        batch = timed(partial(write, generator, mode, form_name, n=64), 3)
        p50 = statistics.median(single)
        rows.append({
            "form": form_name, "mode": mode, "p50_s": p50, "p95_s": percentile(single, 0.95),
            "unconstrained_p50_s": statistics.median(loose), "batch64_s": min(batch),
            "floor_s": floor, "greedy_s": greedy, "vs_floor": p50 / floor,
            "constraint_overhead": p50 / statistics.median(loose) - 1, "vs_greedy": p50 / greedy,
            "plan_and_coherence_s": p50 - statistics.median(unplanned),
        })  # fmt: skip
    return rows


def measure_with_the_poet(generator: PoetryGenerator, runs: int) -> list[dict]:
    """Latency rows for a 七言律诗 a user brings: revise (lines 1 and 4 kept), check, suggest."""
    scorer = Models(generator.composer.model, generator.vocab)
    calls = {
        "revise": lambda run: generator.revise(DENG_GAO, [1, 4], seed=abs(run)),
        "check": lambda _: check(DENG_GAO),
        "suggest": lambda _: suggest(DENG_GAO, 6, 6, model=scorer),
    }
    rows = []
    for name, call in calls.items():
        seconds = timed(call, runs)
        rows.append({"form": "七言律诗", "call": name, "p50_s": statistics.median(seconds),
                     "p95_s": percentile(seconds, 0.95)})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="auto",
        help="auto (int8 where fbgemm runs), int8, bf16 or fp32",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    loading = measure_loading(args.model, runs=5)
    generator = PoetryGenerator.from_pretrained(args.model, precision=args.precision)
    rows = [row for form_name in FORMS for row in measure_form(generator, form_name, args.runs)]
    poet = measure_with_the_poet(generator, args.runs)
    if args.json:
        result = {"loading": loading, "poems": rows, "with_the_poet": poet}
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    print(
        f"loading the model: {loading['load_s']:.2f} s; the whole first command "
        f"(python -m poetry_rnn.generate --start 床前): {loading['first_command_s']:.2f} s"
    )
    print(f"model: {describe(generator.composer.model)}")
    header = "form     mode      p50 ms  p95 ms  free-of-rules ms  n=64 s  floor ms  greedy ms"
    print(header + "  vs floor  rules cost  vs greedy  plan+coherence ms")
    for r in rows:
        print(
            f"{r['form']}  {r['mode']:<8} {r['p50_s'] * 1e3:7.1f} {r['p95_s'] * 1e3:7.1f}"
            f" {r['unconstrained_p50_s'] * 1e3:17.1f} {r['batch64_s']:7.2f}"
            f" {r['floor_s'] * 1e3:9.1f} {r['greedy_s'] * 1e3:10.1f} {r['vs_floor']:8.1f}x"
            f" {r['constraint_overhead']:+10.0%} {r['vs_greedy']:9.2f}x"
            f" {r['plan_and_coherence_s'] * 1e3:+17.1f}"
        )
    print("with the poet    p50 ms  p95 ms")
    for r in poet:
        print(f"{r['form']}  {r['call']:<8} {r['p50_s'] * 1e3:7.1f} {r['p95_s'] * 1e3:7.1f}")


if __name__ == "__main__":
    main()
