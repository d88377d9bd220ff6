"""Rewrite the sample poems of MODEL_CARD.md from the commands that stand above them.

    python docs/samples.py            # rewrite the poems in place
    python docs/samples.py --check    # exit 1 if any poem differs from what its command prints

Each sample is a line `` `python -m poetry_rnn.generate ...` `` followed by a fenced block with
the poem; the block is replaced by what the command prints on this machine. tests/test_docs.py
checks the same, so the card cannot drift from the code.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import sys
from pathlib import Path

import torch

from poetry_rnn.generate import main as generate
from poetry_rnn.model import native_bf16
from poetry_rnn.quantized import int8_supported

CARD = Path(__file__).resolve().parents[1] / "MODEL_CARD.md"
SAMPLE = re.compile(r"`python -m poetry_rnn\.generate ([^`]*)`\n\n```\n(.*?)```\n", re.S)
#: The kernels that wrote the card's samples, as the card says: int8 products (fbgemm) with
#: the AVX512 vector kernels around them. Other kernels round differently and may write other
#: poems.
CARD_KERNELS = "int8 AVX512"


def decoding_kernels() -> str:
    """What the shipped model decodes with here (``precision="auto"``): "int8 ISA" where
    PyTorch has the int8 kernels, else "bf16 amx", "bf16 avx512" or "fp32"."""
    if int8_supported():
        return f"int8 {torch.backends.cpu.get_cpu_capability()}"
    if getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)():
        return "bf16 amx"
    return "bf16 avx512" if native_bf16(torch.device("cpu")) else "fp32"


def printed(arguments: str) -> str:
    """What ``python -m poetry_rnn.generate ARGUMENTS`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        generate(shlex.split(arguments))
    return out.getvalue()


def samples(text: str) -> list[tuple[str, str]]:
    """The (arguments, poem as shown) pairs of a card."""
    return SAMPLE.findall(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a change")
    args = parser.parse_args()
    if decoding_kernels() != CARD_KERNELS:
        parser.error(f"the card's samples are of {CARD_KERNELS!r} kernels, this CPU runs "
                     f"{decoding_kernels()!r}: rewrite them there, or change CARD_KERNELS "
                     "and the card's words together")  # fmt: skip
    text = CARD.read_text(encoding="utf-8")
    stale = [arguments for arguments, poem in samples(text) if printed(arguments) != poem]
    if args.check:
        for arguments in stale:
            print(f"differs: python -m poetry_rnn.generate {arguments}")
        return 1 if stale else 0
    updated = SAMPLE.sub(
        lambda m: f"`python -m poetry_rnn.generate {m[1]}`\n\n```\n{printed(m[1])}```\n", text
    )
    CARD.write_text(updated, encoding="utf-8")
    print(f"{len(stale)} of {len(samples(text))} samples rewritten in {CARD.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
