"""The CharRNN, its checkpoints and its trainer, on the fixture corpus with tiny models."""

import csv
import dataclasses
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import time
import types
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FIXTURE_CORPUS

from poetry_rnn.app.checkpoint_cli import main as checkpoint_main
from poetry_rnn.app.train_cli import main
from poetry_rnn.corpus.data import CorpusOptions, build_corpus, load_corpus, save_corpus
from poetry_rnn.errors import PoetryError, run_cli
from poetry_rnn.model.checkpoint import (
    SHIPPED_MODEL,
    from_pretrained,
    load_tensors,
    load_training_state,
)
from poetry_rnn.training import budget, train, validation
from poetry_rnn.training.run_directory import STATE_FILE
from poetry_rnn.training.runs import TrainConfig, learning_rate, read_run_state

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


def checkpoint_cli(argv: list[str]) -> int:
    return run_cli(checkpoint_main, argv)


def read_metrics(run: Path) -> list[dict]:
    with open(run / "metrics.csv", encoding="utf-8") as file:
        return list(csv.DictReader(file))


# --- training -----------------------------------------------------------------------------


def unigram_entropy(npz: Path) -> float:
    """Entropy (nats) of the predicted tokens of the training split under their frequencies."""
    corpus = load_corpus(npz)
    counts = Counter()
    for row in corpus.batch(corpus.indices("train")):
        counts.update(token for token in row[1:].tolist() if token != corpus.vocab.pad_id)
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
    assert train_cli("--resume", str(run), "--epochs", "3") == 0  # its own data, as documented
    assert [row["epoch"] for row in read_metrics(run)] == ["1", "2", "3"]


def test_a_run_is_replaced_only_when_asked(fixture_npz, tmp_path, capsys):
    run = tmp_path / "run"
    argv = [*TINY, "--data", str(fixture_npz), "--out", str(run)]
    assert train_cli(*argv, "--epochs", "1") == 0
    kept = {path.name: path.read_bytes() for path in run.iterdir() if path.is_file()}
    capsys.readouterr()
    assert train_cli(*argv, "--epochs", "2") == 2
    assert capsys.readouterr().err == (
        f"error: {run} holds a run already: continue it with --resume {run}, "
        "or replace it with --overwrite\n"
    )
    assert {path.name: path.read_bytes() for path in run.iterdir() if path.is_file()} == kept
    assert train_cli("--resume", str(run), "--overwrite") == 2
    assert "--overwrite would replace the run that --resume continues" in capsys.readouterr().err

    assert train_cli(*argv, "--epochs", "2", "--seed", "1", "--overwrite") == 0
    assert [row["epoch"] for row in read_metrics(run)] == ["1", "2"]  # a new run, not resumed
    assert read_run_state(run / STATE_FILE).train_config.seed == 1
    assert (run / "train.log").read_text(encoding="utf-8").count("validating on") == 1


def _progress(state_file: Path) -> dict | None:
    try:
        return json.loads(load_training_state(state_file).metadata["run_state"])
    except PoetryError:
        return None  # not written yet


def test_resume_after_sigkill_ends_with_the_same_weights(fixture_npz, tmp_path):
    argv = [sys.executable, "-m", "poetry_rnn.train", *TINY, "--data", str(fixture_npz)]
    argv += ["--epochs", "8", "--batch-size", "4", "--save-every", "3", "--samples", "0"]
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

    resume = [sys.executable, "-m", "poetry_rnn.train", "--resume", str(killed)]
    subprocess.run(resume, check=True, capture_output=True)
    whole = load_training_state(tmp_path / "whole" / STATE_FILE).model.state_dict()
    resumed = load_training_state(killed / STATE_FILE).model.state_dict()
    assert all(torch.equal(whole[name], resumed[name]) for name in whole)
    losses = [
        [row["val_loss"] for row in read_metrics(run)] for run in (tmp_path / "whole", killed)
    ]
    assert losses[0] == losses[1]


#: Runs the trainer as torchrun's worker, writing down the corpus rows of every batch stream
#: the worker reads (its training batches and its validation rows) to rows-<rank>.json.
DDP_WORKER = """
import json, os, sys
from poetry_rnn.app import train_cli
from poetry_rnn.training import train, validation
from poetry_rnn.errors import run_cli

streams = []
read = train.device_batches

def recording(corpus, batches, device, direction):
    streams.append([[int(row) for row in rows] for rows in batches])
    return read(corpus, batches, device, direction)

train.device_batches = validation.device_batches = recording
code = run_cli(train_cli.main, sys.argv[1:])
with open(os.path.join(os.path.dirname(__file__), f"rows-{os.environ['RANK']}.json"), "w") as f:
    json.dump(streams, f)
sys.exit(code)
"""


def test_two_process_ddp_run_on_cpu_gives_each_rank_its_own_share(fixture_npz, tmp_path):
    run = tmp_path / "ddp"
    worker = tmp_path / "worker.py"
    worker.write_text(DDP_WORKER, encoding="utf-8")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    command += ["--master-port", str(29500 + os.getpid() % 1000), str(worker)]
    command += [*TINY, "--data", str(fixture_npz), "--out", str(run), "--epochs", "2"]
    command += ["--batch-size", "4", "--samples", "0", "--device", "cpu"]
    root = str(Path(__file__).resolve().parents[1])
    env = os.environ | {"PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(read_metrics(run)) == 2
    from_pretrained(run / "model")

    train_rows = set(load_corpus(fixture_npz).indices("train").tolist())
    epochs = []  # per rank: each epoch's training batches
    for rank in (0, 1):
        streams = json.loads((tmp_path / f"rows-{rank}.json").read_text(encoding="utf-8"))
        epochs.append([s for s in streams if {r for b in s for r in b} <= train_rows])
    assert [len(e) for e in epochs] == [2, 2]
    for first, second in zip(*epochs, strict=True):
        mine, theirs = ({r for batch in share for r in batch} for share in (first, second))
        assert len(first) == len(second) > 0  # equal shares: the ranks step together
        assert not mine & theirs  # no poem read by both ranks in an epoch
        assert len(train_rows - (mine | theirs)) <= 4  # all but an odd last batch of 4 read
    assert epochs[0][0] != epochs[0][1]  # a new order each epoch


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
        "infinite lr": [*TINY, *data, "--lr", "inf"],
        "zero epochs": [*TINY, *data, "--epochs", "0"],
        "dropout of one": [*TINY, *data, "--dropout", "1"],
        "no data": [*TINY],
        "missing npz": [*TINY, "--data", str(tmp_path / "none.npz")],
        "nothing to resume": ["--resume", str(tmp_path)],
        "huge hidden size": [*TINY, *data, "--hidden-size", "100000"],
        "too many layers": [*TINY, *data, "--num-layers", "1000000"],
        "unknown collection": [*TINY, *data, "--train-on", "yuan"],
        "log is a directory": [*TINY, *data],
    }[case]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown preset", "unknown preset 'giant'"),
        ("no cuda", "no CUDA device"),
        ("negative lr", "lr is out of range"),
        ("infinite lr", "lr must be finite"),
        ("zero epochs", "epochs is out of range"),
        ("dropout of one", "dropout must be in [0, 1)"),
        ("no data", "--corpus PATH or --data FILE.npz"),
        ("missing npz", "prepared corpus not found"),
        ("nothing to resume", "no training state to resume from"),
        ("huge hidden size", "hidden_size must be between 1 and 8,192"),
        ("too many layers", "num_layers must be between 1 and 16"),
        ("unknown collection", "the corpus has no 'yuan' poems; it holds tang, song, tang300"),
        ("log is a directory", "train.log: Is a directory"),
        ("damaged state", "damaged"),
        ("other vocabulary", "another vocabulary"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(case, message, fixture_npz, tmp_path, capsys):
    if case == "no cuda" and torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    argv = _bad_run(tmp_path, case, fixture_npz)
    if case == "log is a directory":
        (tmp_path / "run" / "train.log").mkdir(parents=True)
    capsys.readouterr()
    assert train_cli(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"WORLD_SIZE": "two"}, "WORLD_SIZE must be a whole number of at least 1, got 'two'"),
        ({"WORLD_SIZE": "0"}, "WORLD_SIZE must be a whole number of at least 1, got '0'"),
        ({"WORLD_SIZE": "1.5"}, "WORLD_SIZE must be a whole number of at least 1, got '1.5'"),
        ({"WORLD_SIZE": "2", "RANK": "2"}, "RANK must be a whole number from 0 to 1, got '2'"),
        ({"RANK": "-1"}, "RANK must be a whole number from 0 to 0, got '-1'"),
    ],
)
def test_a_process_number_from_the_environment_that_is_not_one_is_one_line(
    environment, message, fixture_npz, tmp_path, monkeypatch, capsys
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert train_cli(*TINY, "--data", str(fixture_npz), "--out", str(tmp_path)) == 2
    assert capsys.readouterr().err == f"error: the environment's {message}\n"
    assert not (tmp_path / STATE_FILE).exists()


LONG = "x" * 300  # a path name of more bytes than a file system's 255


@pytest.mark.parametrize(
    ("tool", "argv", "what"),
    [
        (
            "generate",
            ["--model", "{tmp}/" + LONG, "--start", "床前"],
            "a forward model's directory",
        ),
        ("checkpoint", ["{model}", "{tmp}/" + LONG], "the model directory"),
        ("checkpoint", ["{tmp}/" + LONG, "{tmp}/copy"], "the source"),
        ("data", ["--corpus", "{tmp}/" + LONG], "the corpus"),
        (
            "data",
            ["--corpus", str(FIXTURE_CORPUS), "--cache-dir", "{tmp}", "--name", LONG],
            "the cache",
        ),
        ("train", ["--data", "{tmp}/" + LONG], "the prepared corpus"),
        ("train", ["--resume", "{tmp}/" + LONG], "the training state"),
    ],
)
def test_a_path_name_too_long_is_one_line_and_exit_2(tool, argv, what, tmp_path, capsys):
    from poetry_rnn.app import data_cli, generate_cli

    mains = {"generate": generate_cli.main, "checkpoint": checkpoint_main, "data": data_cli.main,
             "train": main}  # fmt: skip
    argv = [arg.format(tmp=tmp_path, model=SHIPPED_MODEL) for arg in argv]
    assert run_cli(mains[tool], argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot use {what} {tmp_path}") and len(err.splitlines()) == 1
    assert err.endswith(": File name too long\n")


def test_state_file_is_pure_safetensors_and_verifies(fixture_npz, tmp_path):
    assert (
        train_cli(*TINY, "--data", str(fixture_npz), "--out", str(tmp_path), "--epochs", "1") == 0
    )
    state = tmp_path / STATE_FILE
    data = state.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    spans = sorted(entry["data_offsets"] for key, entry in header.items() if key != "__metadata__")
    # A JSON header, then tensor bytes end to end: no room for anything else, a pickle included.
    assert spans[0][0] == 0 and 8 + size + spans[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    tensors, metadata = load_tensors(state)
    assert "rng.cpu" in tensors and any(k.startswith("optimizer.") for k in tensors)
    assert json.loads(metadata["run_state"])["finished"] is True
    assert np.isfinite(float(read_metrics(tmp_path)[0]["val_ppl"]))


def test_an_edited_state_header_is_refused(fixture_npz, tmp_path):
    assert (
        train_cli(*TINY, "--data", str(fixture_npz), "--out", str(tmp_path), "--epochs", "1") == 0
    )
    state = tmp_path / STATE_FILE
    data = state.read_bytes()
    edited = data.replace(b'\\"epochs\\": 1', b'\\"epochs\\": 9')
    assert edited != data
    state.write_bytes(edited)
    with pytest.raises(PoetryError, match="checksum does not match"):
        load_training_state(state)


def test_learning_rate_warms_up_then_follows_a_cosine_to_its_floor():
    config = TrainConfig(lr=1e-3, warmup_steps=10, min_lr_ratio=0.1)
    assert learning_rate(0, 110, config) == pytest.approx(1e-4)
    assert learning_rate(4, 110, config) == pytest.approx(5e-4)
    assert learning_rate(10, 110, config) == pytest.approx(1e-3)
    assert learning_rate(60, 110, config) == pytest.approx(1e-4 + 0.9e-3 * 0.5)  # half-way
    assert learning_rate(110, 110, config) == pytest.approx(1e-4)
    assert learning_rate(500, 110, config) == pytest.approx(1e-4)
    # A run one step longer than its warm-up reaches the floor on that step.
    assert learning_rate(11, 11, config) == pytest.approx(1e-4)

    # A time budget three-quarters spent puts the cosine three-quarters along, whatever the
    # steps say; the steps still rule where they are further along.
    three_quarters = 1e-4 + 0.9e-3 * 0.5 * (1 + math.cos(0.75 * math.pi))
    assert learning_rate(20, 110, config, 0.75) == pytest.approx(three_quarters)
    assert learning_rate(20, 110, config, 1.0) == pytest.approx(1e-4)
    assert learning_rate(60, 110, config, 0.1) == pytest.approx(1e-4 + 0.9e-3 * 0.5)
    assert learning_rate(5, 110, config, 0.9) == pytest.approx(6e-4)  # warming up


def test_a_time_budget_ends_the_run_mid_epoch_and_a_resume_spends_a_larger_one(
    fixture_npz, tmp_path, monkeypatch
):
    # A fake clock: each training step takes one second, and nothing else any time.
    clock = [0.0]
    step = train.Trainer.train_step

    def timed_step(self, batch):
        clock[0] += 1.0
        return step(self, batch)

    monkeypatch.setattr(train.Trainer, "train_step", timed_step)
    for module in (train, budget, validation):
        monkeypatch.setattr(module, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    for module in (train, budget):
        monkeypatch.setattr(module, "LOG_EVERY", 5)
    argv = [*TINY, "--data", str(fixture_npz), "--out", str(tmp_path), "--batch-size", "1"]
    assert train_cli(*argv, "--epochs", "100", "--minutes", "0.5") == 0
    first = read_metrics(tmp_path)
    assert [row["step"] for row in first] == ["30"]  # one epoch, cut short at 30 seconds
    assert int(first[0]["step"]) < len(load_corpus(fixture_npz).indices("train"))
    assert (tmp_path / "model").is_dir()
    assert "the time budget of 0.5 minutes is spent" in (tmp_path / "train.log").read_text()
    state = read_run_state(tmp_path / STATE_FILE).run_state
    assert state.finished is True and state.seconds == 30.0
    assert train_cli("--resume", str(tmp_path), "--minutes", "1") == 0
    assert [row["step"] for row in read_metrics(tmp_path)] == ["30", "60"]


def test_a_time_budget_holds_and_the_learning_rate_ends_at_its_floor_with_it(fixture_npz, tmp_path):
    # A real clock on the fixture corpus: epochs of a second or less, each ended by a validation
    # and saving. The run's own records say when it stopped and what its last validation took.
    budget = 6.0
    argv = [*TINY, "--data", str(fixture_npz), "--out", str(tmp_path), "--batch-size", "2"]
    argv += ["--epochs", "1000", "--warmup-steps", "5", "--minutes", str(budget / 60)]
    assert train_cli(*argv) == 0
    rows = read_metrics(tmp_path)
    last = rows[-1]
    assert len(rows) < 1000  # the budget ended the run, not the epochs
    assert float(last["elapsed"]) <= budget * 1.1 + float(last["val_seconds"])
    floor = TrainConfig().lr * TrainConfig().min_lr_ratio
    assert float(last["lr"]) - floor <= 0.03 * (TrainConfig().lr - floor)
    state = read_run_state(tmp_path / STATE_FILE).run_state
    assert state.finished and state.seconds <= budget * 1.1 + float(last["val_seconds"])
    assert "the time budget of 0.1 minutes is spent" in (tmp_path / "train.log").read_text()


@pytest.mark.parametrize(
    ("patience", "epochs", "ran"),
    [(["--patience", "2"], 6, 5), ([], 3, 3)],
    ids=["patience 2", "default"],
)
def test_patience_stops_a_run_that_no_longer_improves(
    fixture_npz, tmp_path, monkeypatch, patience, epochs, ran
):
    from poetry_rnn.training import validation

    # Validation improves in epochs 1 and 3 only. With patience 2 the run ends after epoch 5
    # of 6 (epoch 3 reset the count); without it (0, the default) the run goes to the end.
    losses = iter([3.0, 4.0, 2.0, 5.0, 6.0, 7.0])
    monkeypatch.setattr(validation, "validation_loss", lambda *args: next(losses))
    argv = [*TINY, "--data", str(fixture_npz), "--out", str(tmp_path), "--epochs", str(epochs)]
    assert train_cli(*argv, *patience) == 0
    assert [row["epoch"] for row in read_metrics(tmp_path)] == [str(e + 1) for e in range(ran)]
    log = (tmp_path / "train.log").read_text(encoding="utf-8").splitlines()
    stopped = [line for line in log if line.endswith("no improvement for 2 epochs: stopping early")]
    assert len(stopped) == bool(patience)


def test_a_diverging_run_stops_with_a_message_and_keeps_its_last_good_state(
    fixture_npz, tmp_path, monkeypatch, capsys
):
    from poetry_rnn.training import train

    argv = [*TINY, "--data", str(fixture_npz), "--out", str(tmp_path), "--epochs", "1"]
    assert train_cli(*argv) == 0
    good = (tmp_path / STATE_FILE).read_bytes()
    monkeypatch.setattr(train.Trainer, "train_step", lambda self, batch: torch.tensor(math.nan))
    capsys.readouterr()
    assert train_cli("--resume", str(tmp_path), "--epochs", "2") == 2
    err = capsys.readouterr().err.strip()
    last = err.splitlines()[-1]  # the log of the run before it, then one line for the error
    assert last.startswith("error: training diverged at step") and "lower --lr" in last
    assert "Traceback" not in err
    assert (tmp_path / STATE_FILE).read_bytes() == good


def test_a_backward_model_trains_on_reversed_poems_and_is_kept_apart(fixture_npz, tmp_path):
    argv = [*TINY, "--data", str(fixture_npz), "--out", str(tmp_path), "--epochs", "1"]
    assert train_cli(*argv, "--direction", "backward") == 0
    model, _ = from_pretrained(tmp_path / "model", direction="backward")
    assert model.config.direction == "backward"
    with pytest.raises(PoetryError, match="holds a backward model, but a forward one is needed"):
        from_pretrained(tmp_path / "model")
    assert "(backward)" in (tmp_path / "train.log").read_text(encoding="utf-8")


def test_validation_reads_the_first_collection_only(fixture_npz, tmp_path):
    corpus = load_corpus(fixture_npz)
    assert corpus.sources[0] == "tang" and len(corpus.sources) > 1
    tang_val = len(corpus.indices("val", "tang"))
    assert 0 < tang_val < len(corpus.indices("val"))
    assert (
        train_cli(*TINY, "--data", str(fixture_npz), "--out", str(tmp_path), "--epochs", "1") == 0
    )
    log = (tmp_path / "train.log").read_text(encoding="utf-8")
    assert f"validating on the tang val split: {tang_val} poems" in log


def test_train_on_reads_one_collection_keeps_the_corpus_vocabulary_and_survives_resume(
    fixture_npz, tmp_path, monkeypatch
):
    corpus = load_corpus(fixture_npz)
    train_rows, song_rows = (set(corpus.indices("train", s).tolist()) for s in (None, "song"))
    assert 0 < len(song_rows) < len(train_rows)
    read, epochs = train.device_batches, []

    def recording(corpus, batches, device, direction):
        rows = {int(row) for batch in batches for row in batch}
        if rows <= train_rows:  # a training epoch, not validation
            epochs.append(rows)
        return read(corpus, batches, device, direction)

    monkeypatch.setattr(train, "device_batches", recording)
    argv = [*TINY, "--data", str(fixture_npz), "--out", str(tmp_path), "--batch-size", "4"]
    assert train_cli(*argv, "--train-on", "song", "--epochs", "1") == 0
    assert train_cli("--resume", str(tmp_path), "--epochs", "2") == 0
    assert len(epochs) == 2
    for rows in epochs:
        assert rows <= song_rows and len(song_rows - rows) < 4  # all but an odd last batch
    assert from_pretrained(tmp_path / "model")[1] == corpus.vocab
    log = (tmp_path / "train.log").read_text(encoding="utf-8")
    assert f"{len(song_rows)} train poems (song)" in log
    assert "validating on the tang val split" in log


def test_train_config_from_python_rejects_wrong_types():
    with pytest.raises(PoetryError, match="training option lr must be a number"):
        TrainConfig(lr="0.1")
    with pytest.raises(PoetryError, match="training option batch_size must be a number"):
        TrainConfig(batch_size=2.5)
    with pytest.raises(PoetryError, match="training option epochs must be a number"):
        TrainConfig(epochs=True)


# --- starting from a trained model --------------------------------------------------------


@pytest.fixture(scope="module")
def tang_run(tmp_path_factory) -> Path:
    """A tiny model trained on the fixture's Tang poems alone: a smaller vocabulary than
    ``fixture_npz``'s, which adds the Song poems."""
    tmp = tmp_path_factory.mktemp("tang")
    corpus = build_corpus(
        FIXTURE_CORPUS, CorpusOptions(min_freq=1, split=(0.8, 0.2, 0)), progress=False
    )
    save_corpus(corpus, tmp / "tang.npz")
    assert (
        train_cli(*TINY, "--data", str(tmp / "tang.npz"), "--out", str(tmp), "--epochs", "1") == 0
    )
    return tmp / "model"


def test_init_starts_from_a_model_with_every_shared_character_in_its_row(
    tang_run, fixture_npz, tmp_path
):
    # lr so small that one epoch leaves the weights where --init put them
    argv = ["--init", str(tang_run), "--data", str(fixture_npz), "--out", str(tmp_path)]
    assert train_cli(*argv, "--epochs", "1", "--lr", "1e-12", "--weight-decay", "0") == 0
    source, source_vocab = from_pretrained(tang_run)
    model, vocab = from_pretrained(tmp_path / "model")
    assert model.config == dataclasses.replace(source.config, vocab_size=len(vocab))
    new = [token for token in vocab.tokens if token not in source_vocab.index]
    assert new and len(vocab) == len(source_vocab) + len(new)
    for token in source_vocab.tokens:
        old, now = source_vocab.index[token], vocab.index[token]
        assert torch.allclose(model.embedding.weight[now], source.embedding.weight[old])
        assert model.decoder.bias[now].item() == pytest.approx(source.decoder.bias[old].item())
    unk_bias = source.decoder.bias[source_vocab.unk_id].item()
    assert all(model.decoder.bias[vocab.index[t]].item() == pytest.approx(unk_bias) for t in new)
    torch.testing.assert_close(model.lstm.weight_hh_l1, source.lstm.weight_hh_l1)
    log = (tmp_path / "train.log").read_text(encoding="utf-8")
    assert f"{len(source_vocab)} of {len(vocab)} tokens kept their rows" in log


def test_init_then_training_improves_on_the_model_it_started_from(tang_run, fixture_npz, tmp_path):
    argv = ["--init", str(tang_run), "--data", str(fixture_npz)]
    still = [*argv, "--out", str(tmp_path / "still"), "--lr", "1e-12", "--weight-decay", "0"]
    assert train_cli(*still, "--epochs", "1") == 0
    trained = [*argv, "--out", str(tmp_path / "trained"), "--batch-size", "4", "--lr", "0.01"]
    assert train_cli(*trained, "--epochs", "3") == 0
    start = float(read_metrics(tmp_path / "still")[0]["val_loss"])
    assert float(read_metrics(tmp_path / "trained")[-1]["val_loss"]) < start


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--preset", "small"], "--init takes the shape of its model: leave out --preset"),
        (["--hidden-size", "32"], "--init takes the shape of its model: leave out --hidden-size"),
        (["--direction", "backward"], "holds a forward model, but a backward one is needed"),
    ],
)
def test_init_refuses_a_shape_or_direction_of_its_own(
    extra, message, tang_run, fixture_npz, tmp_path, capsys
):
    argv = ["--init", str(tang_run), "--data", str(fixture_npz), "--out", str(tmp_path), *extra]
    capsys.readouterr()
    assert train_cli(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_the_model_where_a_run_stands_is_copied_out_of_its_training_state(
    fixture_npz, tmp_path, capsys
):
    run = tmp_path / "run"
    argv = [*TINY, "--data", str(fixture_npz), "--out", str(run), "--epochs", "2"]
    assert train_cli(*argv, "--batch-size", "4", "--save-every", "3") == 0
    state = load_training_state(run / STATE_FILE)
    assert checkpoint_cli([str(run / STATE_FILE), str(tmp_path / "now")]) == 0
    model, vocab = from_pretrained(tmp_path / "now")
    expected = state.model.state_dict()
    assert all(torch.equal(tensor, expected[name]) for name, tensor in model.state_dict().items())
    assert vocab == load_corpus(fixture_npz).vocab
    metrics = json.loads((tmp_path / "now" / "metrics.json").read_text(encoding="utf-8"))
    progress = json.loads(state.metadata["run_state"])
    assert metrics["training_state"] == {
        "epoch": progress["epoch"] + 1,
        "batch_in_epoch": progress["batch_in_epoch"],
        "step": progress["step"],
        "finished": True,
    }
    assert [row["epoch"] for row in metrics["history"]] == [1, 2]
    capsys.readouterr()
    argv = [str(run / STATE_FILE), str(tmp_path / "back"), "--direction", "backward"]
    assert checkpoint_cli(argv) == 2
    assert "holds a forward model, but a backward one is needed" in capsys.readouterr().err
