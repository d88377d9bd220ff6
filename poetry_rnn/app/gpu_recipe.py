"""The GPU run recipe (docs/gpu.md): pack what travels, train on a lent GPU, ship the result.

    python -m poetry_rnn.app.gpu_recipe pack --data data/tang+song+ci.npz   # here, before the call
    bash scripts/gpu_run.sh [--bench] [train options]                  # there: the train step
    python -m poetry_rnn.app.gpu_recipe ship RESULTS --corpus path/to/chinese-poetry [--readers-ok]

A lent machine takes a work tree of at most 64 MiB, runs one command of at most 10 minutes and
sends back at most 8 files of at most 16 MiB each. ``train`` fits its run into that: a time
budget, a deadline for the whole command, and results of 8 files at most. The optimizer state
cannot come back (AdamW's two moments of the ``large`` model are 81 MB even in bf16, more than
everything a call returns), so a run continues the last model by a warm restart: its weights,
a fresh optimizer and a short warm-up. ``ship`` checks what came back, scores it on the Tang
test split and installs it only if it beats the shipped model and readers said yes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import math
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from poetry_rnn.app import train_cli
from poetry_rnn.app.gpu_pack import CARRY, pack
from poetry_rnn.corpus.data import load_corpus
from poetry_rnn.errors import ArgumentParser, PoetryError, run_cli, setup_logging
from poetry_rnn.evaluation.evaluate import scored_poems
from poetry_rnn.evaluation.metrics import perplexity
from poetry_rnn.files import write_bytes_atomic, write_text_atomic
from poetry_rnn.model.checkpoint import (
    CONFIG,
    INDEX,
    METRICS,
    SHIPPED_MODEL,
    VOCAB,
    from_pretrained,
    load_model_config,
    save_pretrained,
    trimmed,
)
from poetry_rnn.text import two_columns
from poetry_rnn.training.run_directory import MODEL_DIR
from poetry_rnn.training.runs import write_metrics

log = logging.getLogger("poetry_rnn.app.gpu_recipe")  # also when run as __main__

# The lent machine's limits (docs/gpu.md, "The machine's limits").
MAX_FILES_BACK = 8
MAX_FILE_BYTES = 16 * 2**20  # a file coming back; also the shipped model's shard size
MAX_BACK_BYTES = 64 * 2**20
MAX_SHIPPED_BYTES = 40 * 10**6  # the shipped model's bound (tests/test_shipped_model.py)

RUN_FILE, MODEL_ARCHIVE = "run.json", "model.tar"
#: What comes back beside the shards: the model's other files, the metrics, the curves, the run.
RECORDS = (MODEL_ARCHIVE, "metrics.csv", "curves.png", RUN_FILE)
MODEL_FILES = (CONFIG, VOCAB, INDEX, METRICS)  # a model directory's files beside its weights
RESERVE_S = 90  # of the deadline, kept for validations, checkpoints and the export
TEST_SPLIT = ("tang", "test")  # the collection and split a model is shipped on


# --- train: on the lent machine -----------------------------------------------------------


def check_machine(cpu: bool) -> dict:
    """What this machine offers for training: its GPU, bf16, free memory, other processes.
    Refuses a machine without CUDA unless ``cpu`` (a dry run)."""
    info: dict = {"torch": torch.__version__, "cuda": torch.cuda.is_available()}
    if not info["cuda"]:
        if not cpu:
            raise PoetryError(
                f"no CUDA device here (torch {torch.__version__}): this recipe trains on a GPU; "
                "give --cpu for a dry run"
            )
        return info | {"device": "cpu"}
    properties = torch.cuda.get_device_properties(0)
    free, total = torch.cuda.mem_get_info()
    info |= {
        "device": properties.name,
        "capability": f"{properties.major}.{properties.minor}",
        "multiprocessors": properties.multi_processor_count,
        "cuda_version": torch.version.cuda,
        "bf16": torch.cuda.is_bf16_supported(),
        "memory_free_gib": round(free / 2**30, 1),
        "memory_total_gib": round(total / 2**30, 1),
        "nvidia_smi": _nvidia_smi("--query-gpu=name,driver_version,memory.used,utilization.gpu"),
        "other_processes": _nvidia_smi("--query-compute-apps=pid,used_memory"),
    }
    if not info["bf16"]:
        log.warning("%s has no native bf16: training runs in fp32, slower", properties.name)
    if free < 0.9 * total or info["other_processes"]:
        log.warning("the GPU is not free (%s): the run will not be alone on it", info)
    return info


def _nvidia_smi(query: str) -> str | None:
    try:
        done = subprocess.run(
            ["nvidia-smi", query, "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def stage_arguments(args: argparse.Namespace, stage: str, minutes: float, out: Path) -> list[str]:
    """The ``python -m poetry_rnn.train`` command line of one stage: ``mix`` (every collection, from
    ``--init`` or ``--preset``) or ``tang`` (the first collection alone, from the mix's best)."""
    if stage == "mix":
        start = ["--preset", args.preset] if args.preset else ["--init", str(args.init)]
        scratch = bool(args.preset)
        lr = args.lr or (1.5e-3 if scratch else 1e-3)
        warmup = args.warmup_steps if args.warmup_steps is not None else (300 if scratch else 200)
        only = []
    else:
        start = ["--init", str(out.parent / "mix" / MODEL_DIR)]
        lr, warmup, only = args.tang_lr, 50, ["--train-on", args.first, "--patience", "3"]
    return [
        "--data", str(args.data), *start, *only, "--minutes", f"{minutes:.4f}",
        "--epochs", "1000", "--lr", str(lr), "--warmup-steps", str(warmup),
        "--batch-size", str(args.batch_size), "--samples", "0", "--save-every", "1000000",
        "--device", "cpu" if args.cpu else "cuda", "--out", str(out),
    ]  # fmt: skip


def best_row(run: Path) -> dict | None:
    """The best epoch's row of a stage's model, or None where it saved none."""
    path = run / MODEL_DIR / METRICS
    return json.loads(path.read_text(encoding="utf-8"))["best"] if path.exists() else None


def history(run: Path) -> list[dict]:
    """Every epoch's row of a stage (its metrics.csv)."""
    path = run / "metrics.csv"
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def run_training(args: argparse.Namespace, work: Path, started: float) -> list[dict]:
    """Train the stages within the budget and the deadline; a record of each stage run."""
    left = args.deadline_s - (time.monotonic() - started) - RESERVE_S
    budget = min(args.minutes, left / 60)
    if budget <= 0:
        raise PoetryError(f"no time left to train before the deadline ({args.deadline_s} s)")
    stages = [("mix", budget * (1 - args.tang_share))]
    if args.tang_share > 0:
        stages.append(("tang", budget * args.tang_share))
    records = []
    for stage, planned in stages:
        left = args.deadline_s - (time.monotonic() - started) - RESERVE_S / 3
        minutes = min(planned, left / 60) if stage == "tang" else planned
        if minutes < 0.01:
            log.warning("no time left for the %s stage", stage)
            break
        out = work / stage
        argv = stage_arguments(args, stage, minutes, out)
        log.info("stage %s, %.2f minutes: python -m poetry_rnn.train %s", stage, minutes, argv)
        clock = time.monotonic()
        train_cli.main(argv)
        best = best_row(out)
        records.append({
            "stage": stage, "minutes": round(minutes, 3), "argv": argv, "best": best,
            "wall_seconds": round(time.monotonic() - clock, 1),
        })  # fmt: skip
        if best is None:
            break  # no epoch ended: nothing for a next stage to start from
    return records


def export(
    args: argparse.Namespace, work: Path, records: list[dict], out: Path, run_id: str
) -> dict:
    """The best stage's model as bf16 shards and ``model.tar`` (its other files), the run's
    metrics.csv and curves.png, in ``out``; returns the best stage's record."""
    done = [record for record in records if record["best"] is not None]
    if not done:
        raise PoetryError("no epoch finished within the budget: nothing to send back")
    best = min(done, key=lambda record: record["best"]["val_ppl"])
    model, vocab = from_pretrained(work / best["stage"] / MODEL_DIR)
    if args.vocab_size < len(vocab):
        model, vocab = trimmed(model, vocab, args.vocab_size)
    metrics = {"best": best["best"] | {"stage": best["stage"]}, "run": run_id}
    max_shard = int(args.max_shard_mb * 2**20)
    with tempfile.TemporaryDirectory() as staging:
        save_pretrained(staging, model, vocab, metrics, torch.bfloat16, max_shard)
        shards = sorted(Path(staging).glob("model*.safetensors"))
        if len(shards) + len(RECORDS) > MAX_FILES_BACK:
            raise PoetryError(
                f"{len(shards)} shards and {len(RECORDS)} other files are more than the "
                f"{MAX_FILES_BACK} that come back: raise --max-shard-mb"
            )
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            for name in MODEL_FILES:
                if (Path(staging) / name).exists():
                    tar.add(Path(staging) / name, arcname=name)
        write_bytes_atomic(out / MODEL_ARCHIVE, archive.getvalue())
        for shard in shards:
            shutil.copyfile(shard, out / shard.name)
    rows, epochs = [], 0
    for record in records:
        for row in history(work / record["stage"]):
            epochs += 1
            rows.append({"stage": record["stage"]} | row | {"epoch": epochs})
    write_metrics(out, rows)
    return best


def check_results(out: Path) -> dict[str, dict]:
    """Every file of ``out`` with its size and SHA-256; refuses what would not come back."""
    files = sorted(path for path in out.iterdir())
    if len(files) > MAX_FILES_BACK or not all(path.is_file() for path in files):
        raise PoetryError(f"{out} holds {len(files)} entries; at most {MAX_FILES_BACK} files")
    listed = {path.name: {"bytes": path.stat().st_size, "sha256": _sha256(path)} for path in files}
    too_large = [name for name, file in listed.items() if file["bytes"] > MAX_FILE_BYTES]
    if too_large or sum(file["bytes"] for file in listed.values()) > MAX_BACK_BYTES:
        raise PoetryError(f"over what comes back ({_mib_text(MAX_FILE_BYTES)} a file): {listed}")
    return listed


def run_train(args: argparse.Namespace) -> dict:
    """Check the machine, train, export to ``--out`` and describe the run in run.json."""
    started = time.monotonic()
    if args.preset and args.init:
        raise PoetryError("give --init (continue a model) or --preset (from scratch), not both")
    args.init = None if args.preset else (args.init or SHIPPED_MODEL)
    if args.out.exists() and any(args.out.iterdir()):
        raise PoetryError(f"{args.out} is not empty; the results go to an empty folder")
    machine = check_machine(args.cpu)
    log.info("machine: %s", json.dumps(machine))
    corpus = load_corpus(args.data)
    args.first = corpus.sources[0]
    if len(corpus.sources) == 1:
        args.tang_share = 0.0  # the mix is the first collection already
    if args.vocab_size is None:  # the shipped model's size, so that the result can ship
        model_dir = args.init or SHIPPED_MODEL
        args.vocab_size = load_model_config(model_dir).vocab_size
    run_id = time.strftime("gpu-%Y%m%d-%H%M%S", time.gmtime())
    work = args.work / run_id
    if work.exists():
        raise PoetryError(f"{work} exists already")
    records = run_training(args, work, started)
    args.out.mkdir(parents=True, exist_ok=True)
    best = export(args, work, records, args.out, run_id)
    throughput = json.loads(args.throughput.read_text()) if args.throughput else None
    recipe = {
        "data": str(args.data), "init": str(args.init) if args.init else None,
        "preset": args.preset, "minutes": args.minutes, "tang_share": args.tang_share,
        "vocab_size": args.vocab_size, "work": str(work),
    }  # fmt: skip
    run = {
        "run": run_id,
        "machine": machine,
        "recipe": recipe,
        "stages": records,
        "best": best["best"] | {"stage": best["stage"]},
        "throughput": throughput,
        "wall_seconds": round(time.monotonic() - started, 1),
        "files": check_results(args.out),
    }
    write_text_atomic(args.out / RUN_FILE, json.dumps(run, indent=2, ensure_ascii=False))
    check_results(args.out)
    return run


# --- ship: back on the CPU ----------------------------------------------------------------


def verified_run(results: Path) -> dict:
    """run.json of ``results``, every file it lists checked against its size and SHA-256."""
    try:
        run = json.loads((results / RUN_FILE).read_text(encoding="utf-8"))
        files = run["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PoetryError(f"{results} holds no readable {RUN_FILE}: {error}") from None
    for name, expected in files.items():
        path = results / name
        if not path.is_file():
            raise PoetryError(f"{path} is missing: it did not come back")
        if path.stat().st_size != expected["bytes"] or _sha256(path) != expected["sha256"]:
            raise PoetryError(f"{path} does not match its SHA-256 in {RUN_FILE}: damaged")
    return run


def assemble(results: Path, run: dict, candidate: Path) -> None:
    """The model directory of the returned shards and ``model.tar``, in ``candidate``."""
    shards = sorted(name for name in run["files"] if name.endswith(".safetensors"))
    if candidate.exists():
        held = {name: _sha256(candidate / name) for name in shards if (candidate / name).is_file()}
        if held != {name: run["files"][name]["sha256"] for name in shards}:
            raise PoetryError(f"{candidate} holds another model: give another --candidate")
        return
    with tarfile.open(results / MODEL_ARCHIVE) as tar:
        for member in tar.getmembers():
            if member.name not in MODEL_FILES or not member.isfile():
                raise PoetryError(f"{results / MODEL_ARCHIVE} holds {member.name!r}, not a model")
            write_bytes_atomic(candidate / member.name, tar.extractfile(member).read())
    for name in shards:
        write_bytes_atomic(candidate / name, (results / name).read_bytes())


def model_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.iterdir() if path.is_file())


def tang_test_figure(model_dir: Path, texts: list[str], titles: list[str]) -> dict:
    """The Tang test-split figures of a model directory (fp32, its digests checked): of each
    poem given its title where the model was trained with titles."""
    model, vocab = from_pretrained(model_dir)
    scores = perplexity(model, vocab, texts, titles=titles if vocab.sep_id is not None else None)
    return {key: scores[key] for key in ("poems", "characters", "perplexity")}


def shipped_figure(shipped: Path, texts: list[str], titles: list[str]) -> dict:
    """The shipped model's Tang test figures: as its metrics.json records them, if measured
    on these poems; else measured now."""
    recorded = _read_json(shipped / METRICS).get("tang_test")
    same_poems = {"poems": len(texts), "characters": sum(len(text) for text in texts)}
    if isinstance(recorded, dict) and all(recorded.get(k) == v for k, v in same_poems.items()):
        return recorded
    log.info("%s records no Tang test figure on these poems: measuring it", shipped)
    return tang_test_figure(shipped, texts, titles)


def install(candidate: Path, shipped: Path) -> None:
    """Replace the model in ``shipped`` with ``candidate``'s files: a full copy beside it
    first, then two renames, so that a failure leaves one whole model in place."""
    fresh = shipped.with_name(f".{shipped.name}.new")
    stale = shipped.with_name(f".{shipped.name}.old")
    for leftover in (fresh, stale):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.copytree(candidate, fresh)
    from_pretrained(fresh)  # the copy loads, its digests checked, before anything is replaced
    shipped.rename(stale)
    fresh.rename(shipped)
    shutil.rmtree(stale)


def run_ship(args: argparse.Namespace) -> str:
    """Verify, score and (if better and readers agree) install a GPU run's results."""
    run = verified_run(args.results)
    candidate = args.candidate or Path("runs") / f"candidate-{run['run']}"
    assemble(args.results, run, candidate)
    from_pretrained(candidate)  # every shard's digest and binding checked
    oversized = [p.name for p in candidate.iterdir() if p.stat().st_size > MAX_FILE_BYTES]
    if oversized or model_bytes(candidate) > MAX_SHIPPED_BYTES:
        raise PoetryError(f"{candidate} is too large to ship ({model_bytes(candidate):,} bytes)")
    collection, split = TEST_SPLIT
    titles, texts = scored_poems(args.corpus, (collection,), split)
    figure = tang_test_figure(candidate, texts, titles)
    metrics = _read_json(candidate / METRICS) | {"tang_test": figure}
    write_text_atomic(candidate / METRICS, json.dumps(metrics, indent=2, ensure_ascii=False))
    baseline = shipped_figure(args.shipped, texts, titles)
    rows = [
        ("run", run["run"]),
        ("trained on", run["machine"].get("device")),
        ("best stage", f"{run['best']['stage']}: Tang val ppl {run['best']['val_ppl']:.2f}"),
        ("candidate", candidate),
        (f"{collection} {split} poems", figure["poems"]),
        ("candidate perplexity", f"{figure['perplexity']:.2f}"),
        ("shipped perplexity", f"{baseline['perplexity']:.2f}"),
    ]
    report = two_columns(rows)
    if not figure["perplexity"] < baseline["perplexity"]:
        raise PoetryError(
            f"not shipped: {candidate} scores {figure['perplexity']:.2f} on the {collection} "
            f"{split} split, the shipped model {baseline['perplexity']:.2f}"
        )
    if not args.readers_ok:
        kit = Path("runs") / f"blind-{run['run']}"
        variants = (
            f"shipped='{json.dumps({'model': str(args.shipped)})}' "
            f"candidate='{json.dumps({'model': str(candidate)})}'"
        )
        shipped = "" if args.shipped == SHIPPED_MODEL else f" --shipped {args.shipped}"
        return (
            f"{report}\nBetter than the shipped model. Before it ships, readers compare the two "
            f"blind:\n  python -m poetry_rnn.evaluate blind --out {kit} --corpus {args.corpus} "
            f"--variants {variants}\n  python -m poetry_rnn.evaluate blind-score {kit}\n"
            f"If readers find it no worse: python -m poetry_rnn.app.gpu_recipe ship {args.results} "
            f"--corpus {args.corpus} --candidate {candidate}{shipped} --readers-ok"
        )
    install(candidate, args.shipped)
    return f"{report}\nInstalled in {args.shipped}: record the run in MODEL_CARD.md."


# --- helpers and command line -------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mib_text(size: int) -> str:
    return f"{size / 2**20:g} MiB"


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise PoetryError(f"damaged {path}: {error}") from None
    return value if isinstance(value, dict) else {}


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m poetry_rnn.app.gpu_recipe",
        description="The GPU run recipe: pack what travels, train there, ship the result.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    packing = commands.add_parser("pack", help="fill carry/ for a GPU call (here)")
    packing.add_argument("--data", type=Path, required=True, help="a prepared corpus .npz")
    packing.add_argument("--carry", type=Path, default=CARRY, help="default carry/")
    packing.add_argument("--root", type=Path, default=Path("."), help="the checkout that travels")
    packing.add_argument("--no-wheels", action="store_true", help="leave the wheels out")

    training = commands.add_parser("train", help="train on the GPU machine (scripts/gpu_run.sh)")
    training.add_argument("--data", type=Path, required=True, help="the corpus pack wrote")
    training.add_argument("--out", type=Path, required=True, help="an empty folder: $OUT")
    start = training.add_mutually_exclusive_group()
    start.add_argument("--init", type=Path, help="continue this model (default: the shipped one)")
    start.add_argument("--preset", help="train this preset from scratch instead")
    training.add_argument("--minutes", type=float, default=7.0, help="training time (default 7)")
    training.add_argument(
        "--tang-share", type=float, default=0.2,
        help="of the minutes, the share spent on the first collection alone after the mix "
        "(default 0.2, as in the shipped run)",
    )  # fmt: skip
    training.add_argument(
        "--deadline-s", type=float, default=540,
        help="seconds from the start by which the results are written (default 540)",
    )  # fmt: skip
    training.add_argument("--lr", type=float, help="peak lr of the mix (1e-3; from scratch 1.5e-3)")
    training.add_argument("--warmup-steps", type=int, help="of the mix (200; from scratch 300)")
    training.add_argument("--tang-lr", type=float, default=5e-4, help="default 5e-4")
    training.add_argument("--batch-size", type=int, default=128, help="default 128")
    training.add_argument(
        "--vocab-size", type=int, help="tokens kept in the result (default: the shipped model's)"
    )
    training.add_argument(
        "--max-shard-mb", type=float, default=MAX_FILE_BYTES / 2**20, help="default 16"
    )
    training.add_argument("--work", type=Path, default=Path("runs"), help="runs go here")
    training.add_argument("--throughput", type=Path, help="a benchmark's JSON, kept in run.json")
    training.add_argument("--cpu", action="store_true", help="a dry run on the CPU")

    shipping = commands.add_parser("ship", help="verify, score and install the results (here)")
    shipping.add_argument("results", type=Path, help="the folder the files came back to")
    shipping.add_argument("--corpus", required=True, help="the chinese-poetry checkout")
    shipping.add_argument(
        "--shipped", type=Path, default=SHIPPED_MODEL, help="the shipped model's folder"
    )
    shipping.add_argument(
        "--candidate", type=Path, help="where the model is assembled (runs/candidate-RUN)"
    )
    shipping.add_argument(
        "--readers-ok", action="store_true",
        help="readers found it no worse in a blind reading: replace the shipped model",
    )  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    if args.command == "pack":
        print(two_columns(list(pack(args.data, args.carry, args.root, not args.no_wheels).items())))
    elif args.command == "train":
        if not 0 <= args.tang_share < 1 or not math.isfinite(args.minutes) or args.minutes <= 0:
            raise PoetryError("--minutes must be positive and --tang-share in [0, 1)")
        run = run_train(args)
        print(json.dumps({key: run[key] for key in ("run", "best", "files")}, indent=2))
    else:
        print(run_ship(args))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
