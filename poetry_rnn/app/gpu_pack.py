"""What travels to a lent GPU machine (docs/gpu.md): the prepared corpus cut to the poems
training reads, fitted to the work tree's 64 MiB, and the wheels the machine's image lacks.

    python -m poetry_rnn.app.gpu_recipe pack --data data/tang+song+ci.npz
"""

from __future__ import annotations

import logging
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

from poetry_rnn.corpus.data import load_corpus, save_corpus
from poetry_rnn.errors import PoetryError

log = logging.getLogger("poetry_rnn.app.gpu_recipe")  # the recipe's log, whichever step

MAX_TREE_BYTES = 64 * 2**20  # the work tree that travels: tracked files and carried paths
CARRY = Path("carry")  # ignored by git; named in the call's carry list
WHEELS = ("pypinyin", "opencc-python-reimplemented")  # the package's needs the image lacks
#: Where the corpus would not fit: the seed that draws the train poems left here, how far over
#: the estimate it leaves out, and how many times it compresses before it gives up.
PACK_SEED, FIT_SLACK, FIT_TRIES = 0, 1.1, 5


def travelling_corpus(data: Path, carry: Path, room: int) -> tuple[Path, int]:
    """The prepared corpus ``data`` cut to the poems training reads (every collection's train
    split, the first collection's val split), written xz-compressed into ``carry``; and how
    many train poems stay here so that it fits in ``room`` bytes: where it would not, train
    poems of the collections after the first, drawn by a fixed seed, are left out (the first
    collection, the one a model is shipped on, travels whole)."""
    corpus = load_corpus(data)
    read = np.flatnonzero((corpus.split == 0) | ((corpus.split == 1) & (corpus.source == 0)))
    spare = read[(corpus.split[read] == 0) & (corpus.source[read] != 0)]
    spare = np.random.default_rng(PACK_SEED).permutation(spare)
    spare_chars = np.cumsum(np.diff(corpus.offsets)[spare])
    stem = Path(data).name.removesuffix(".npz")
    path, left = carry / f"{stem}.npz.xz", 0
    for _ in range(FIT_TRIES):
        rows = np.setdiff1d(read, spare[:left])  # sorted: the corpus's order
        subset = corpus.subset(rows)
        subset.stats["travelling"] = (
            f"{len(subset)} of the {len(corpus)} poems: those training reads"
        )
        if left:
            subset.stats["travelling"] += f", less {left} train poems left here to fit"
        save_corpus(subset, path)
        (carry / f"{stem}.vocab.json").unlink()  # the archive holds the vocabulary: it stays here
        size = path.stat().st_size
        log.info("wrote %s: %d of %d poems, %.1f MiB", path, len(subset), len(corpus), _mib(path))
        if size <= room:
            return path, left
        if left == len(spare):
            break
        # Bytes a character takes, as compressed: leave out that many more characters, and a
        # little over, since what is left out compresses no better than the rest.
        over = (size - room) * FIT_SLACK * int(subset.chars.size) / size
        wanted = over + (spare_chars[left - 1] if left else 0)
        left = min(int(np.searchsorted(spare_chars, wanted)) + 1, len(spare))
    path.unlink()
    raise PoetryError(
        f"the corpus does not fit in the {room / 2**20:.1f} MiB the work tree leaves it, even "
        "with train poems left out: make the checkout smaller or prepare fewer collections"
    )


def download_wheels(carry: Path) -> None:
    """The wheels of the package's needs that the GPU machine's image lacks, at the versions
    installed here (it has no network)."""
    wanted = [f"{name}=={metadata.version(name)}" for name in WHEELS]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    done = subprocess.run(
        [*command, "-q", "-d", str(carry / "wheels"), *wanted], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise PoetryError(f"pip could not download {' '.join(wanted)}: {done.stderr.strip()}")


def travelling_bytes(root: Path, carry: Path) -> int:
    """The bytes that travel: the files git tracks or does not ignore, and ``carry``."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        raise PoetryError(f"{root} is not a git checkout: {listed.stderr.decode().strip()}")
    files = [root / name for name in listed.stdout.decode().split("\0") if name]
    files += [path for path in carry.rglob("*") if path.is_file()]
    return sum(path.stat().st_size for path in files if path.is_file())


def pack(data: Path, carry: Path, root: Path, wheels: bool) -> dict:
    """Fill ``carry`` for a GPU call; refuse if the work tree would not travel."""
    if carry.exists() and any(carry.iterdir()):
        raise PoetryError(f"{carry} is not empty: empty it first, so that nothing stale travels")
    if wheels:
        download_wheels(carry)
    room = MAX_TREE_BYTES - travelling_bytes(root, carry)
    if room <= 0:
        raise PoetryError(
            f"the work tree is over the {MAX_TREE_BYTES / 2**20:g} MiB that travel before the "
            f"corpus: make {root} smaller (untracked files travel too)"
        )
    corpus, left = travelling_corpus(data, carry, room)
    size = travelling_bytes(root, carry)
    return {
        "carry": str(carry),
        "corpus": str(corpus),
        "corpus MiB": round(_mib(corpus), 2),
        "train poems left here to fit": left,
        "travelling MiB": round(size / 2**20, 2),
        "margin MiB": round((MAX_TREE_BYTES - size) / 2**20, 2),
    }


def _mib(path: Path) -> float:
    return path.stat().st_size / 2**20
