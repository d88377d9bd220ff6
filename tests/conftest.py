import os
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
