"""Rewrite the sample poems of the README, the model card and the site from the commands that
stand above them.

    python docs/samples.py            # rewrite the poems in place
    python docs/samples.py --check    # exit 1 if any poem differs from what its command prints

Each sample is a line `` `python -m poetry_rnn.generate ...` `` followed by a fenced block with
the poem; the block is replaced by what the command prints on this machine. tests/test_docs.py
checks the same, so the pages cannot drift from the code.
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

from poetry_rnn.app.generate_cli import main as generate
from poetry_rnn.files import write_bytes_atomic
from poetry_rnn.model.charrnn import native_bf16
from poetry_rnn.model.quantized import int8_supported

ROOT = Path(__file__).resolve().parents[1]
#: The pages whose sample poems are their commands' output.
PAGES = tuple(
    ROOT / name
    for name in ("README.md", "MODEL_CARD.md", "docs/README.md", "docs/experiments/samples.md")
)
SAMPLE = re.compile(r"`python -m poetry_rnn\.generate ([^`]*)`\n\n```\n(.*?)```\n", re.S)
#: The kernels the samples are known to print with: int8 products (fbgemm) with PyTorch's
#: AVX512 vector kernels around them, which wrote them, or its AVX2 kernels, which print every
#: one of them alike. Other kernels round differently and may write other poems.
SAMPLE_KERNELS = ("int8 AVX512", "int8 AVX2")


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
    """The (arguments, poem as shown) pairs of a page."""
    return SAMPLE.findall(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a change")
    args = parser.parse_args()
    if decoding_kernels() not in SAMPLE_KERNELS:
        parser.error(f"the samples print with {SAMPLE_KERNELS} kernels, this CPU runs "
                     f"{decoding_kernels()!r}: rewrite them there, or change SAMPLE_KERNELS "
                     "and the pages' words together")  # fmt: skip
    stale = 0
    for page in PAGES:
        name, text = page.relative_to(ROOT), page.read_text(encoding="utf-8")
        changed = [arguments for arguments, poem in samples(text) if printed(arguments) != poem]
        stale += len(changed)
        if args.check:
            for arguments in changed:
                print(f"differs in {name}: python -m poetry_rnn.generate {arguments}")
            continue
        updated = SAMPLE.sub(
            lambda m: f"`python -m poetry_rnn.generate {m[1]}`\n\n```\n{printed(m[1])}```\n", text
        )
        write_bytes_atomic(page, updated.encode("utf-8"))
        print(f"{len(changed)} of {len(samples(text))} samples rewritten in {name}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
