import os
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from poetry_rnn.model.charrnn import CharRNN, ModelConfig
from poetry_rnn.writing.generate import Poem, PoetryGenerator

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_CORPUS = FIXTURES / "corpus"
SHARED_CORPUS = Path(__file__).resolve().parents[1].parent / "shared/corpora/chinese-poetry"


def pytest_configure(config):
    """Under pytest-xdist (``-n``) the workers share the cores: one torch thread each, for the
    commands the tests start too (more threads than cores only slows every worker)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: a worker a core, at most 4 (each loads its own models and tables)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cores or 1, 4)


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    """The full chinese-poetry corpus beside the repo; skipped without it, except under CI."""
    if not SHARED_CORPUS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the full corpus is missing: {SHARED_CORPUS}")
        pytest.skip(f"full corpus not found at {SHARED_CORPUS}")
    return SHARED_CORPUS


@pytest.fixture(scope="session", autouse=True)
def fresh_caches_under_mutation_testing():
    """Under mutmut every test session is forked from a process whose package caches (the
    tone table, rhyme groups, ...) are filled already: empty them, so that a mutant in the
    code behind a cache is run."""
    if os.environ.get("MUTANT_UNDER_TEST"):
        for module in [m for name, m in sys.modules.items() if name.startswith("poetry_rnn")]:
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


@pytest.fixture(scope="module")
def generator():
    """The shipped model's generator as users get it, on one torch thread while a test module
    uses it (a module may define its own ``generator``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield PoetryGenerator.from_pretrained()
    torch.set_num_threads(threads)


class FakeGenerator:
    """Stands in for a generator behind the demo: writes 静夜思 (``controls.n`` times) and keeps
    what each request asked; slowly, counting the requests that run at once; or fails."""

    LINES = ("床前明月光，", "疑是地上霜。", "举头望明月，", "低头思故乡。")

    def __init__(self, seconds: float = 0.0, failure: Exception | None = None) -> None:
        self.seconds, self.failure = seconds, failure
        self.running = self.most = 0
        self.asked: list[tuple] = []  # (mode, text, controls) of each request
        self.lock = threading.Lock()

    @property
    def seeds(self) -> list[int | None]:
        return [controls.seed for _, _, controls in self.asked]

    def write(self, mode, text, controls, steer="plan"):
        self.asked.append((mode, text, controls))
        if self.failure is not None:
            raise self.failure
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1
        lines = list(self.LINES)
        poem = Poem("".join(lines), lines, "五言绝句", mode, controls.seed or 0, None)
        return [poem] * controls.n


def tiny_model(vocab, direction: str = "forward") -> CharRNN:
    """An untrained model over ``vocab`` reading in ``direction``, small enough to build in a
    test."""
    config = ModelConfig(len(vocab), embedding_dim=8, hidden_size=8, num_layers=1, dropout=0.0,
                         direction=direction)  # fmt: skip
    return CharRNN(config).eval()


def favouring(char: str, vocab, direction: str = "forward", bias: float = 30.0) -> CharRNN:
    """A :func:`tiny_model` that prefers ``char``: its logit is ``bias`` above its own."""
    model = tiny_model(vocab, direction)
    with torch.no_grad():
        model.decoder.bias[vocab.index[char]] += bias
    return model
