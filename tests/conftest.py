import os
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_CORPUS = FIXTURES / "corpus"
SHARED_CORPUS = Path(__file__).resolve().parents[1].parent / "shared/corpora/chinese-poetry"


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
