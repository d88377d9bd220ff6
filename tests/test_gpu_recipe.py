"""The GPU run recipe (docs/gpu.md) end to end on the CPU, so that it cannot rot while no GPU
is at hand: pack the fixture corpus, run scripts/gpu_run.sh for a few seconds of a small model,
then ship what came back, or refuse to."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FIXTURE_CORPUS

from poetry_rnn.app import gpu_pack, gpu_recipe
from poetry_rnn.corpus.data import CorpusOptions, build_corpus, load_corpus, save_corpus
from poetry_rnn.errors import run_cli
from poetry_rnn.model.charrnn import CharRNN
from poetry_rnn.model.checkpoint import from_pretrained, save_pretrained

ROOT = Path(__file__).resolve().parents[1]
SHARD_MB = 1.0  # small enough that the test model comes back in several shards


def recipe(*argv) -> int:
    return run_cli(gpu_recipe.main, [str(arg) for arg in argv])


def sha256(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> Path:
    """A folder with the fixture corpus prepared (fixture.npz), packed (carry/) and trained on
    by the recipe's script on the CPU (out/, what a GPU call sends back)."""
    root = tmp_path_factory.mktemp("gpu")
    options = CorpusOptions(include=("tang", "song"), min_freq=1, split=(0.7, 0.2, 0.1))
    save_corpus(build_corpus(FIXTURE_CORPUS, options, progress=False), root / "fixture.npz")
    carry = root / "carry"
    assert recipe("pack", "--data", root / "fixture.npz", "--carry", carry, "--no-wheels") == 0
    env = os.environ | {
        "OUT": str(root / "out"), "CARRY": str(carry), "PYTHON": sys.executable,
        "OMP_NUM_THREADS": "1",
    }  # fmt: skip
    done = subprocess.run(
        ["bash", "scripts/gpu_run.sh", "--cpu", "--preset", "reference", "--batch-size", "8",
         "--minutes", "0.05", "--work", str(root / "work"), "--max-shard-mb", str(SHARD_MB)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def results(dry_run, tmp_path) -> Path:
    """A writable copy of what came back."""
    return Path(shutil.copytree(dry_run / "out", tmp_path / "results"))


def test_pack_carries_the_poems_training_reads_and_no_other(dry_run):
    full = load_corpus(dry_run / "fixture.npz")
    travelling = load_corpus(dry_run / "carry" / "fixture.npz.xz")
    read = (full.split == 0) | ((full.split == 1) & (full.source == 0))
    assert travelling.texts() == full.texts(np.flatnonzero(read))
    assert travelling.vocab == full.vocab and travelling.sources == full.sources
    assert len(travelling) < len(full)  # its test poems and val poems of Song stay behind
    assert sorted(path.name for path in (dry_run / "carry").iterdir()) == ["fixture.npz.xz"]


def test_pack_leaves_later_collections_train_poems_here_where_the_tree_would_not_fit(
    dry_run, tmp_path, monkeypatch, capsys
):
    checkout = tmp_path / "checkout"  # a checkout of one small file
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    readme = b"a checkout\n"
    (checkout / "README.md").write_bytes(readme)
    full = load_corpus(dry_run / "fixture.npz")
    read = (full.split == 0) | ((full.split == 1) & (full.source == 0))
    tang, song = read & (full.source == 0), read & (full.source == 1)
    # A byte short of room for every poem training reads.
    limit = len(readme) + (dry_run / "carry" / "fixture.npz.xz").stat().st_size - 1
    monkeypatch.setattr(gpu_pack, "MAX_TREE_BYTES", limit)
    argv = ("--data", dry_run / "fixture.npz", "--root", checkout, "--no-wheels")
    assert recipe("pack", *argv, "--carry", tmp_path / "carry") == 0
    assert gpu_pack.travelling_bytes(checkout, tmp_path / "carry") <= limit
    travelling = set(load_corpus(tmp_path / "carry" / "fixture.npz.xz").texts())
    assert set(full.texts(np.flatnonzero(tang))) <= travelling  # the shipped-on collection whole
    song = full.texts(np.flatnonzero(song))
    assert 0 < len(set(song) - travelling) < len(song)  # a share of Song's train poems stays
    assert travelling <= set(full.texts(np.flatnonzero(read)))
    assert "train poems left here to fit" in capsys.readouterr().out
    # Room for less than Tang alone: one line, and nothing half-written.
    monkeypatch.setattr(gpu_pack, "MAX_TREE_BYTES", len(readme) + 100)
    assert recipe("pack", *argv, "--carry", tmp_path / "small") == 2
    assert "does not fit" in capsys.readouterr().err
    assert list((tmp_path / "small").iterdir()) == []


def test_the_dry_run_sends_back_what_a_gpu_call_can_return(dry_run):
    out = dry_run / "out"
    files = sorted(path.name for path in out.iterdir())
    shards = [name for name in files if name.endswith(".safetensors")]
    assert len(files) <= 8 and len(shards) > 1
    assert set(files) == {*shards, "model.tar", "metrics.csv", "curves.png", "run.json"}
    assert all((out / name).stat().st_size <= SHARD_MB * 2**20 for name in shards)
    assert (out / "curves.png").read_bytes().startswith(b"\x89PNG")
    rows = (out / "metrics.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("stage,epoch,") and {row.split(",")[0] for row in rows[1:]} == {
        "mix", "tang",
    }  # fmt: skip
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["machine"]["device"] == "cpu" and [s["stage"] for s in run["stages"]] == [
        "mix", "tang",
    ]  # fmt: skip
    assert sorted(run["files"]) == sorted(set(files) - {"run.json"})
    assert all(run["files"][name]["sha256"] == sha256(out)[name] for name in run["files"])
    with tarfile.open(out / "model.tar") as tar:
        assert sorted(tar.getnames()) == sorted(gpu_recipe.MODEL_FILES)


def test_the_model_comes_back_in_bf16_with_the_best_stage(dry_run, tmp_path):
    run = json.loads((dry_run / "out" / "run.json").read_text(encoding="utf-8"))
    gpu_recipe.assemble(dry_run / "out", run, tmp_path / "model")
    model, _ = from_pretrained(tmp_path / "model")
    best = min(run["stages"], key=lambda stage: stage["best"]["val_ppl"])
    trained, _ = from_pretrained(Path(run["recipe"]["work"]) / best["stage"] / "model")
    for name, weight in model.state_dict().items():
        assert torch.equal(weight, trained.state_dict()[name].to(torch.bfloat16).float())
    assert run["best"]["stage"] == best["stage"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_train_refuses_a_machine_without_cuda_unless_a_dry_run(dry_run, tmp_path, capsys):
    data = dry_run / "carry" / "fixture.npz.xz"
    assert recipe("train", "--data", data, "--out", tmp_path / "out") == 2
    assert "no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def ship(results: Path, shipped: Path, candidate: Path, *more: str) -> int:
    return recipe(
        "ship", results, "--corpus", FIXTURE_CORPUS, "--shipped", shipped,
        "--candidate", candidate, *more,
    )  # fmt: skip


@pytest.fixture
def worse_shipped(dry_run, tmp_path) -> Path:
    """A shipped model of the same shape and vocabulary, untrained: any training beats it."""
    run = json.loads((dry_run / "out" / "run.json").read_text(encoding="utf-8"))
    gpu_recipe.assemble(dry_run / "out", run, tmp_path / "returned")
    model, vocab = from_pretrained(tmp_path / "returned")
    torch.manual_seed(1)
    save_pretrained(tmp_path / "shipped", CharRNN(model.config), vocab, {"best": {}})
    return tmp_path / "shipped"


def test_ship_refuses_a_shard_damaged_on_the_way(results, worse_shipped, tmp_path, capsys):
    shard = results / "model-00001-of-00003.safetensors"
    damaged = bytearray(shard.read_bytes())
    damaged[-1] ^= 0xFF
    shard.write_bytes(bytes(damaged))
    before = sha256(worse_shipped)
    assert ship(results, worse_shipped, tmp_path / "candidate", "--readers-ok") == 2
    assert "damaged" in capsys.readouterr().err
    # run.json made to agree: the shard's own checksum still refuses it
    run = json.loads((results / "run.json").read_text(encoding="utf-8"))
    run["files"][shard.name] = {"bytes": len(damaged), "sha256": sha256(results)[shard.name]}
    (results / "run.json").write_text(json.dumps(run), encoding="utf-8")
    assert ship(results, worse_shipped, tmp_path / "candidate", "--readers-ok") == 2
    assert "checksum does not match" in capsys.readouterr().err
    assert sha256(worse_shipped) == before


def test_ship_refuses_a_model_no_better_than_the_recorded_figure(
    results, worse_shipped, tmp_path, capsys
):
    _, texts = gpu_recipe.scored_poems(FIXTURE_CORPUS, ("tang",), "test")
    poems = {"poems": len(texts), "characters": sum(len(text) for text in texts)}
    metrics = {"best": {}, "tang_test": poems | {"perplexity": 1.5}}
    (worse_shipped / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    before = sha256(worse_shipped)
    assert ship(results, worse_shipped, tmp_path / "candidate", "--readers-ok") == 2
    error = capsys.readouterr().err
    assert "not shipped" in error and "1.50" in error
    assert sha256(worse_shipped) == before


def test_ship_installs_a_better_model_only_once_readers_said_yes(
    results, worse_shipped, tmp_path, capsys
):
    stale = {"poems": 1, "characters": 1, "perplexity": 1.5}  # measured on other poems: ignored
    (worse_shipped / "metrics.json").write_text(json.dumps({"tang_test": stale}), encoding="utf-8")
    before, candidate = sha256(worse_shipped), tmp_path / "candidate"
    assert ship(results, worse_shipped, candidate) == 0
    said = capsys.readouterr().out
    assert "evaluate blind --out" in said and "--readers-ok" in said
    assert sha256(worse_shipped) == before
    assert ship(results, worse_shipped, candidate, "--readers-ok") == 0
    assert "Installed" in capsys.readouterr().out
    assert sha256(worse_shipped) == sha256(candidate)
    figure = json.loads((worse_shipped / "metrics.json").read_text(encoding="utf-8"))["tang_test"]
    assert figure["poems"] == 2 and figure["perplexity"] > 1.5
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
