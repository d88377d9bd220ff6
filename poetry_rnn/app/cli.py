"""The ``poetry-rnn`` console script: one command, each subcommand a module's own CLI.

poetry-rnn generate --start 床前      # the same as python -m poetry_rnn.generate --start 床前
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from poetry_rnn import __version__
from poetry_rnn.errors import ArgumentParser, run_cli

#: Subcommand → (the module whose ``main(argv)`` runs it, what it does).
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("poetry_rnn.app.generate_cli", "write poems"),
    "data": ("poetry_rnn.app.data_cli", "prepare a corpus: clean, split, encode, cache"),
    "train": ("poetry_rnn.app.train_cli", "train a model"),
    "evaluate": (
        "poetry_rnn.app.evaluate_cli",
        "perplexity, metrics of written and of real poems",
    ),
    "demo": ("poetry_rnn.app.demo", "serve the web demo"),
    "check": (
        "poetry_rnn.app.check_cli",
        "check a poem's form, rhyme and tones; suggest characters",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:<10} {summary}" for name, (_, summary) in COMMANDS.items())
    parser = ArgumentParser(
        prog="poetry-rnn",
        description=f"Classical Chinese poems from a character-level LSTM.\n\ncommands:\n{listing}",
        epilog="A command's own options: poetry-rnn COMMAND --help",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"poetry-rnn {__version__}")
    parser.add_argument("command", choices=COMMANDS, metavar="COMMAND", help="see above")
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, metavar="ARGS", help="the command's own arguments"
    )
    return parser


def dispatch(argv: Sequence[str] | None = None) -> int:
    """Run the subcommand ``argv[0]`` with the rest of ``argv``."""
    args = build_parser().parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    return module.main(args.args)


def main(argv: Sequence[str] | None = None) -> int:
    return run_cli(dispatch, argv)


if __name__ == "__main__":
    sys.exit(main())
