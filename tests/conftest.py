import os
import sys
from pathlib import Path

import pytest
import torch

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
    from poetry_rnn.generate import PoetryGenerator

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield PoetryGenerator.from_pretrained()
    torch.set_num_threads(threads)
