"""``python -m poetry_rnn.check``: check a poem, a 词 or a 对联 against its rules, and suggest
characters for a position (:mod:`poetry_rnn.poetics.check`, :mod:`poetry_rnn.poetics.suggest`)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli
from poetry_rnn.poetics.check import COUPLET_FORM, check, format_report
from poetry_rnn.poetics.couplets import check_couplet, format_couplet_report
from poetry_rnn.poetics.rhymes import DEFAULT_RHYME_BOOK, RHYME_BOOKS


def _line_position(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+):(\d+)", value.strip())
    if match is None:
        raise PoetryError(f"--suggest wants LINE:POS, e.g. 3:4, got {value!r}")
    return int(match[1]), int(match[2])


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.check",
        description="Check a poem against the rules of regulated verse, or a 词 against its "
        "词牌; suggest characters.",
    )
    parser.add_argument(
        "text", help="the poem: lines ended by ，。？！； (or , . ? ! ;) or line breaks"
    )
    parser.add_argument(
        "--form", metavar="FORM",
        help="a form or one of its patterns (七言律诗·平起首句入韵), or a 词牌 (浣溪沙, or a "
        "variant: 浣溪沙·2); default: the form or 词牌 the poem's shape has, judged by the "
        "pattern it fits best",
    )  # fmt: skip
    parser.add_argument(
        "--rhyme-book", choices=RHYME_BOOKS, default=DEFAULT_RHYME_BOOK,
        help="平水韵 (pingshui, the classical book; default) or 中华新韵 (xinyun)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--suggest", metavar="LINE:POS", help="suggest characters for this position (1-based)"
    )
    parser.add_argument("--k", type=int, default=10, help="how many suggestions")
    parser.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    parser.add_argument(
        "--backward", type=Path, help="a backward model's directory: it joins the ranking"
    )
    args = parser.parse_args(argv)

    if args.form == COUPLET_FORM:
        if args.suggest is not None:
            raise PoetryError("--suggest checks a poem of a form, not a couplet")
        couplet = check_couplet(args.text)
        print(json.dumps(couplet.to_dict(), ensure_ascii=False, indent=2) if args.json
              else format_couplet_report(couplet))  # fmt: skip
        return 0
    report = check(args.text, args.form, args.rhyme_book)
    suggestions = None
    if args.suggest is not None:
        line, position = _line_position(args.suggest)
        # Scoring is a chain of small matrix products: a second thread gains little, and on a
        # busy machine threads waiting for each other cost several times more (measured).
        import torch  # only to suggest: checking alone loads no model and no torch

        from poetry_rnn.model.checkpoint import load_models
        from poetry_rnn.poetics.suggest import format_suggestions, suggest

        torch.set_num_threads(1)
        models = load_models(args.model, args.backward)
        suggestions = suggest(
            args.text, line, position, args.k, args.form, args.rhyme_book, model=models
        )
    if args.json:
        result = report.to_dict()
        if suggestions is not None:
            result["suggestions"] = [s.to_dict() for s in suggestions]
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
        if suggestions is not None:
            char = report.lines[line - 1][position - 1]
            print(format_suggestions(line, position, char, suggestions))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
