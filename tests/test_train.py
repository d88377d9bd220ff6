"""The CharRNN, its checkpoints and its trainer, on the fixture corpus with tiny models."""

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FIXTURE_CORPUS

from poetry_rnn.checkpoint import (
    WEIGHTS,
    from_pretrained,
    load_tensors,
    load_training_state,
    save_pretrained,
)
from poetry_rnn.data import CorpusOptions, build_corpus, load_corpus, save_corpus
from poetry_rnn.errors import PoetryError, run_cli
from poetry_rnn.model import CharRNN, ModelConfig, masked_loss, preset_config
from poetry_rnn.train import STATE_FILE, main
from poetry_rnn.vocab import Vocab

TINY = ["--preset", "reference", "--embedding-dim", "32", "--hidden-size", "64"]


@pytest.fixture(scope="session")
def fixture_npz(tmp_path_factory) -> Path:
    """The fixture corpus (all three collections) prepared with an 80/20 train/val split."""
    options = CorpusOptions(include=("tang", "song", "tang300"), min_freq=1, split=(0.8, 0.2, 0))
    corpus = build_corpus(FIXTURE_CORPUS, options, progress=False)
    path = tmp_path_factory.mktemp("data") / "fixture.npz"
    save_corpus(corpus, path)
    return path


def train_cli(*argv: str) -> int:
    return run_cli(main, [*argv, "--samples", "0"])


def read_metrics(run: Path) -> list[dict]:
    with open(run / "metrics.csv", encoding="utf-8") as file:
        return list(csv.DictReader(file))


# --- the model ----------------------------------------------------------------------------


def test_step_by_step_decoding_matches_the_whole_sequence():
    model = CharRNN(ModelConfig(vocab_size=50, embedding_dim=16, hidden_size=24, num_layers=2))
    model.eval()
    tokens = torch.randint(0, 50, (3, 7))
    whole, _ = model(tokens)
    state = None
    for t in range(7):
        logits, state = model.step(tokens[:, t], state)
        torch.testing.assert_close(logits, whole[:, t])


def test_tied_weights_share_the_embedding_through_a_projection():
    model = CharRNN(ModelConfig(vocab_size=50, embedding_dim=16, hidden_size=24, tie_weights=True))
    assert model.decoder.weight is model.embedding.weight
    assert model.projection is not None and model.projection.out_features == 16
    untied = CharRNN(
        ModelConfig(vocab_size=50, embedding_dim=16, hidden_size=24, tie_weights=False)
    )
    assert untied.projection is None and untied.decoder.weight is not untied.embedding.weight


@pytest.mark.parametrize(("preset", "dtype"), [("small", None), ("base", torch.float16)])
def test_what_ships_fits_in_25_mb(preset, dtype, tmp_path):
    vocab = Vocab(["<pad>", "<s>", "</s>", "<unk>", *(chr(0x4E00 + i) for i in range(7100))])
    model = CharRNN(preset_config(preset, len(vocab)))
    save_pretrained(tmp_path, model, vocab, dtype=dtype)
    assert sum(f.stat().st_size for f in tmp_path.iterdir()) <= 25 * 2**20


def test_padding_never_changes_the_loss():
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=30, embedding_dim=8, hidden_size=16)).eval()
    batch = torch.tensor([[1, 5, 6, 7, 2], [1, 8, 9, 2, 0]])
    padded = torch.cat([batch, torch.zeros(2, 6, dtype=torch.long)], dim=1)
    torch.testing.assert_close(masked_loss(model, batch, 0), masked_loss(model, padded, 0))


# --- checkpoints --------------------------------------------------------------------------


def test_checkpoint_round_trip(tmp_path):
    vocab = Vocab.build(["床前看月光，疑是地上霜。"])
    model = CharRNN(ModelConfig(vocab_size=len(vocab), embedding_dim=8, hidden_size=12)).eval()
    save_pretrained(tmp_path / "m", model, vocab, metrics={"val_ppl": 12.5})
    loaded, loaded_vocab = from_pretrained(tmp_path / "m")
    tokens = torch.tensor([vocab.encode("床前看月光", wrap=True)])
    assert loaded_vocab == vocab and loaded.config == model.config
    assert torch.equal(loaded(tokens)[0], model(tokens)[0])
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "config.json", "metrics.json", "model.safetensors", "vocab.json"
    ]  # fmt: skip


def _saved_model(directory: Path) -> Path:
    vocab = Vocab.build(["床前看月光，疑是地上霜。"])
    model = CharRNN(ModelConfig(vocab_size=len(vocab), embedding_dim=8, hidden_size=12))
    save_pretrained(directory, model, vocab)
    return directory


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("flip a weight byte", "checksum does not match"),
        ("truncate the weights", "damaged checkpoint file"),
        ("vocab of another size", "vocab.json has"),
        ("config of another shape", "does not match its config"),
        ("no config", "not a model directory"),
    ],
)
def test_tampered_checkpoint_is_refused(damage, message, tmp_path):
    directory = _saved_model(tmp_path / "m")
    weights = directory / WEIGHTS
    if damage == "flip a weight byte":
        data = bytearray(weights.read_bytes())
        data[-5] ^= 0x01
        weights.write_bytes(bytes(data))
    elif damage == "truncate the weights":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "vocab of another size":
        Vocab.build(["山水"]).save(directory / "vocab.json")
    elif damage == "config of another shape":
        config = json.loads((directory / "config.json").read_text())
        config["model"]["hidden_size"] = 20
        (directory / "config.json").write_text(json.dumps(config))
    else:
        (directory / "config.json").unlink()
    with pytest.raises(PoetryError, match=message):
        from_pretrained(directory)


# --- training -----------------------------------------------------------------------------


def unigram_entropy(npz: Path) -> float:
    """Entropy (nats) of the predicted tokens of the training split under their frequencies."""
    corpus = load_corpus(npz)
    rows = corpus.indices("train")
    counts = Counter()
    for row in rows:
        counts.update(corpus.tokens[row, 1 : corpus.lengths[row]].tolist())
    total = sum(counts.values())
    return -sum(n / total * math.log(n / total) for n in counts.values())


def test_tiny_model_learns_well_below_the_unigram_entropy(fixture_npz, tmp_path):
    argv = ["--preset", "reference", "--embedding-dim", "64", "--hidden-size", "256"]
    argv += ["--data", str(fixture_npz), "--out", str(tmp_path / "run"), "--epochs", "40"]
    assert train_cli(*argv, "--batch-size", "4", "--lr", "0.01", "--warmup-steps", "20") == 0
    metrics = read_metrics(tmp_path / "run")
    assert int(metrics[-1]["step"]) <= 400
    assert float(metrics[-1]["train_loss"]) < 0.5 * unigram_entropy(fixture_npz)
    best = min(float(row["val_ppl"]) for row in metrics)
    model_metrics = json.loads((tmp_path / "run" / "model" / "metrics.json").read_text())
    assert model_metrics["best"]["val_ppl"] == pytest.approx(best)


def test_run_directory_holds_model_metrics_curves_and_log(fixture_npz, tmp_path):
    run = tmp_path / "run"
    argv = [*TINY, "--data", str(fixture_npz), "--out", str(run), "--epochs", "2"]
    assert run_cli(main, [*argv, "--batch-size", "8", "--samples", "2"]) == 0
    assert {"model", STATE_FILE, "metrics.csv", "curves.png", "train.log"} <= {
        p.name for p in run.iterdir()
    }
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = read_metrics(run)
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert {"train_loss", "val_loss", "val_ppl", "lr", "tokens_per_s"} <= set(rows[0])
    assert (run / "train.log").read_text(encoding="utf-8").count("sample: ") == 4
    model, _ = from_pretrained(run / "model")
    assert model.config.hidden_size == 64


def test_resume_extends_a_finished_run(fixture_npz, tmp_path):
    run = tmp_path / "run"
    assert train_cli(*TINY, "--data", str(fixture_npz), "--out", str(run), "--epochs", "2") == 0
    assert train_cli("--data", str(fixture_npz), "--resume", str(run), "--epochs", "3") == 0
    assert [row["epoch"] for row in read_metrics(run)] == ["1", "2", "3"]


def _progress(state_file: Path) -> dict | None:
    try:
        return json.loads(load_training_state(state_file).metadata["progress"])
    except PoetryError:
        return None  # not written yet


def test_resume_after_sigkill_ends_with_the_same_weights(fixture_npz, tmp_path):
    argv = [sys.executable, "-m", "poetry_rnn.train", *TINY, "--data", str(fixture_npz)]
    argv += ["--epochs", "25", "--batch-size", "4", "--save-every", "3", "--samples", "0"]
    subprocess.run([*argv, "--out", str(tmp_path / "whole")], check=True, capture_output=True)

    killed = tmp_path / "killed"
    process = subprocess.Popen([*argv, "--out", str(killed)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = _progress(killed / STATE_FILE)
        if progress and progress["epoch"] >= 2 and progress["batch_in_epoch"] > 0:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    progress = _progress(killed / STATE_FILE)
    assert progress and not progress["finished"] and progress["batch_in_epoch"] > 0

    resume = [sys.executable, "-m", "poetry_rnn.train", "--data", str(fixture_npz)]
    subprocess.run([*resume, "--resume", str(killed)], check=True, capture_output=True)
    whole = load_training_state(tmp_path / "whole" / STATE_FILE).model.state_dict()
    resumed = load_training_state(killed / STATE_FILE).model.state_dict()
    assert all(torch.equal(whole[name], resumed[name]) for name in whole)
    losses = [
        [row["val_loss"] for row in read_metrics(run)] for run in (tmp_path / "whole", killed)
    ]
    assert losses[0] == losses[1]


def test_two_process_ddp_run_on_cpu(fixture_npz, tmp_path):
    run = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    command += ["--master-port", str(29500 + os.getpid() % 1000), "-m", "poetry_rnn.train"]
    command += [*TINY, "--data", str(fixture_npz), "--out", str(run), "--epochs", "2"]
    command += ["--batch-size", "4", "--samples", "0", "--device", "cpu"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    log = (run / "train.log").read_text(encoding="utf-8")
    assert "2 processes on cpu" in log
    assert len(read_metrics(run)) == 2
    from_pretrained(run / "model")


# --- bad input ----------------------------------------------------------------------------


def _bad_run(tmp_path: Path, case: str, npz: Path) -> list[str]:
    data = ["--data", str(npz), "--out", str(tmp_path / "run")]
    if case in ("damaged state", "other vocabulary"):
        assert train_cli(*TINY, *data, "--epochs", "1") == 0
        if case == "damaged state":
            state = tmp_path / "run" / STATE_FILE
            state.write_bytes(state.read_bytes()[:-64])
            return ["--data", str(npz), "--resume", str(tmp_path / "run")]
        other = build_corpus(FIXTURE_CORPUS, CorpusOptions(min_freq=1), progress=False)
        save_corpus(other, tmp_path / "other.npz")
        return ["--data", str(tmp_path / "other.npz"), "--resume", str(tmp_path / "run")]
    return {
        "unknown preset": ["--preset", "giant", *data],
        "no cuda": [*TINY, *data, "--device", "cuda"],
        "negative lr": [*TINY, *data, "--lr", "-1"],
        "zero epochs": [*TINY, *data, "--epochs", "0"],
        "dropout of one": [*TINY, *data, "--dropout", "1"],
        "no data": [*TINY],
        "missing npz": [*TINY, "--data", str(tmp_path / "none.npz")],
    }[case]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown preset", "unknown preset 'giant'"),
        ("no cuda", "no CUDA device"),
        ("negative lr", "--lr is out of range"),
        ("zero epochs", "--epochs is out of range"),
        ("dropout of one", "dropout must be in [0, 1)"),
        ("no data", "--corpus PATH or --data FILE.npz"),
        ("missing npz", "prepared corpus not found"),
        ("damaged state", "damaged"),
        ("other vocabulary", "another vocabulary"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(case, message, fixture_npz, tmp_path, capsys):
    if case == "no cuda" and torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    argv = _bad_run(tmp_path, case, fixture_npz)
    capsys.readouterr()
    assert train_cli(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_state_file_has_no_pickles_and_verifies(fixture_npz, tmp_path):
    assert (
        train_cli(*TINY, "--data", str(fixture_npz), "--out", str(tmp_path), "--epochs", "1") == 0
    )
    tensors, metadata = load_tensors(tmp_path / STATE_FILE)
    assert "rng.cpu" in tensors and any(k.startswith("optimizer.") for k in tensors)
    assert json.loads(metadata["progress"])["finished"] is True
    assert np.isfinite(float(read_metrics(tmp_path)[0]["val_ppl"]))
