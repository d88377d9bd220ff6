"""``python -m poetry_rnn.generate``: the command line of :class:`PoetryGenerator`.

Its flags become one :class:`Controls`; the poems print as a title (or 横批) and a line a row,
or as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli
from poetry_rnn.forms import FORMS
from poetry_rnn.poetics.patterns import BANNER, form_list
from poetry_rnn.writing.controls import FREE, Controls, add_writing_arguments, writing_options
from poetry_rnn.writing.generate import COUPLET_LENGTH, STEERS, Poem, PoetryGenerator
from poetry_rnn.writing.plans import COHERENCE_WEIGHT, DEFAULT_BEAMS, DEFAULT_CANDIDATES, SEARCHES

BACKWARD_HELP = "a backward model's directory: its score of each poem joins the search's"


def _printed(poem: Poem) -> str:
    """A poem as the command line prints it: its title or 横批 (where it has one), then a line
    a row."""
    heading = poem.title or (f"{BANNER}：{poem.banner}" if poem.banner else "")
    return "\n".join([heading, *poem.lines] if heading else poem.lines)


def _kept_lines(value: str) -> list[int]:
    """--keep's line numbers: "1,3" → [1, 3]; "" → none."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not all(item.isdecimal() for item in items):
        raise PoetryError(f"--keep wants line numbers, e.g. 1,3, got {value!r}")
    return [int(item) for item in items]


def _couplet_arguments(args: argparse.Namespace) -> dict | None:
    """The arguments of :meth:`PoetryGenerator.couplet` that --couplet asks for; None without
    it. Options that go with other modes only are one line."""
    if args.couplet is None:
        for given in ("couplet_lower", "banner"):
            if getattr(args, given):
                raise PoetryError(f"--{given.replace('_', '-')} goes with --couplet")
        return None
    for other in ("start", "acrostic", "revise", "form"):
        if getattr(args, other) is not None:
            raise PoetryError(f"--couplet does not go with --{other}")
    text = args.couplet if args.couplet or args.theme is None else None
    given = "lower" if args.couplet_lower else "upper"
    return {given: text, "theme": args.theme, "length": args.length,
            "banner": True if args.banner else None}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.generate", description="Write classical Chinese poems."
    )
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--start", help="续写: the poem begins with this text")
    given.add_argument("--acrostic", help="藏头: the lines begin with these characters")
    given.add_argument("--theme", help="主题: modern or classical text whose keywords steer")
    given.add_argument("--revise", help="重写: a poem of one of the forms, rewritten but --keep")
    parser.add_argument(
        "--keep", default="", help="with --revise: the lines kept (1-based), e.g. 1,3"
    )
    parser.add_argument(
        "--title", default="",
        help="命题: the title the poems are written to (default: each poem a title of its own)",
    )  # fmt: skip
    parser.add_argument(
        "--couplet", nargs="?", const="", metavar="UPPER",
        help="对联: write the 下联 to this 上联 (4 to 11 characters, one comma allowed); with "
        "--theme and no 上联, a whole couplet and its 横批",
    )  # fmt: skip
    parser.add_argument(
        "--couplet-lower", action="store_true",
        help="with --couplet: the text is a 下联 (it ends 平); write its 上联",
    )  # fmt: skip
    parser.add_argument("--banner", action="store_true", help="with --couplet: a 横批 as well")
    parser.add_argument(
        "--length", type=int, default=COUPLET_LENGTH,
        help=f"with --couplet --theme: the characters of each 联 (default {COUPLET_LENGTH})",
    )  # fmt: skip
    parser.add_argument("--style", default="", help="text that primes the mood, not printed")
    parser.add_argument(
        "--steer", choices=STEERS, default="plan",
        help="how --theme steers: keywords planned into the lines, priming the state, or both",
    )  # fmt: skip
    parser.add_argument(
        "--form",
        help=f"{', '.join(FORMS)}, a 词牌 (浣溪沙, or a variant: 浣溪沙·2; see --list-forms) "
        f"or {FREE} (any length); default: a regulated poem of 4 lines, 5 or 7 characters as "
        "the start's punctuation or the model sets them (an acrostic: by its number of heads)",
    )  # fmt: skip
    parser.add_argument(
        "--list-forms", action="store_true",
        help="print the shi forms and the 词牌 with their line lengths, and exit",
    )  # fmt: skip
    parser.add_argument("--n", type=int, default=1, help="how many poems")
    add_writing_arguments(parser)
    parser.add_argument("--seed", type=int, help="the same seed writes the same poems")
    parser.add_argument("--no-rhyme", action="store_true", help="do not force the rhyme")
    parser.add_argument("--no-tone", action="store_true", help="do not force the tones")
    parser.add_argument(
        "--search", choices=SEARCHES, default="lines",
        help="a form's decoding: whole-line search (default) or token sampling",
    )  # fmt: skip
    parser.add_argument("--beams", type=int, default=DEFAULT_BEAMS, help="partial poems kept")
    parser.add_argument(
        "--candidates", type=int, default=DEFAULT_CANDIDATES,
        help="lines sampled from each kept poem",
    )  # fmt: skip
    parser.add_argument("--no-parallel", action="store_true", help="do not favour 对仗")
    parser.add_argument(
        "--coherence", type=float, default=COHERENCE_WEIGHT,
        help="weight of the poem's coherence in the search's score (0: off)",
    )  # fmt: skip
    parser.add_argument("--no-plan", action="store_true", help="do not plan one keyword per line")
    parser.add_argument("--traditional", action="store_true", help="print traditional characters")
    parser.add_argument("--model", type=Path, help="a model directory (default: the shipped one)")
    parser.add_argument("--backward", type=Path, help=BACKWARD_HELP)
    parser.add_argument("--json", action="store_true", help="print a JSON list of poems")
    args = parser.parse_args(argv)
    if args.list_forms:
        print(form_list())
        return 0

    controls = Controls(
        **writing_options(args), form=args.form, rhyme=not args.no_rhyme,
        tone=not args.no_tone, seed=args.seed,
        n=args.n, style=args.style, script="traditional" if args.traditional else "simplified",
        search=args.search, beams=args.beams, candidates=args.candidates,
        parallel=not args.no_parallel, coherence=args.coherence, plan=not args.no_plan,
        title=args.title,
    )  # fmt: skip
    if args.keep and args.revise is None:
        raise PoetryError("--keep goes with --revise")
    mode = next((m for m in ("start", "acrostic", "theme") if getattr(args, m) is not None), "free")
    text = getattr(args, mode, None) or ""
    couplet = _couplet_arguments(args)
    generator = PoetryGenerator.from_pretrained(args.model, backward=args.backward)
    if couplet is not None:
        poems = generator.couplet(controls=controls, **couplet)
    elif args.revise is not None:
        poems = generator.revise(args.revise, _kept_lines(args.keep), controls)
    else:
        poems = generator.write(mode, text, controls, steer=args.steer)
    if args.json:
        print(json.dumps([poem.to_dict() for poem in poems], ensure_ascii=False, indent=2))
    else:
        print("\n\n".join(_printed(poem) for poem in poems))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
