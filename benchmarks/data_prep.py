"""Cold build and cached load of a corpus: seconds and peak memory.

    python benchmarks/data_prep.py [--corpus ../shared/corpora/chinese-poetry] [--repeat 3] [--json]

Each measurement runs in a fresh Python process, so the peak resident memory is that step's
alone; the seconds are those of ``prepare_corpus`` inside it (imports excluded, listed apart).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared/corpora/chinese-poetry"

_STEP = """
import json, resource, sys, time
started = time.perf_counter()
from poetry_rnn.corpus.data import CorpusOptions, prepare_corpus
imported = time.perf_counter()
corpus = prepare_corpus(sys.argv[1], CorpusOptions(), cache_dir=sys.argv[2], progress=False)
done = time.perf_counter()
print(json.dumps({
    "seconds": done - imported,
    "import_seconds": imported - started,
    "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "cached": corpus.stats["cached"],
    "poems_kept": corpus.stats["poems_kept"],
}))
"""


def measure(corpus: Path, cache_dir: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _STEP, str(corpus), str(cache_dir)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    runs: dict[str, list[dict]] = {"cold build": [], "cached load": []}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as cache_dir:
            runs["cold build"].append(measure(args.corpus, Path(cache_dir)))
            runs["cached load"].append(measure(args.corpus, Path(cache_dir)))
    assert not any(r["cached"] for r in runs["cold build"])
    assert all(r["cached"] for r in runs["cached load"])

    table = {
        step: {
            "seconds_median": statistics.median(r["seconds"] for r in results),
            "seconds_min": min(r["seconds"] for r in results),
            "import_seconds_median": statistics.median(r["import_seconds"] for r in results),
            "peak_mib_max": max(r["peak_mib"] for r in results),
            "poems_kept": results[0]["poems_kept"],
            "runs": len(results),
        }
        for step, results in runs.items()
    }
    if args.json:
        print(json.dumps(table, indent=2))
        return
    print(f"{'step':<12} {'median s':>9} {'min s':>7} {'import s':>9} {'peak MiB':>9} {'poems':>7}")
    for step, row in table.items():
        seconds = f"{row['seconds_median']:>9.2f} {row['seconds_min']:>7.2f}"
        print(
            f"{step:<12} {seconds} {row['import_seconds_median']:>9.2f}"
            f" {row['peak_mib_max']:>9.0f} {row['poems_kept']:>7}"
        )


if __name__ == "__main__":
    main()
