"""Mutation testing of the core modules with mutmut, one module at a time, in bounded time.

    python benchmarks/mutation.py rhymes                   # every mutant of rhymes.py
    python benchmarks/mutation.py batch --functions "x_allowed_tokens*"
    python benchmarks/mutation.py data --minutes 20        # stop after 20 minutes
    python benchmarks/mutation.py rhymes --survivors       # the last run's survivors again
    python benchmarks/mutation.py --list                   # the modules and their tests

Each module is mutated in its own scratch copy of the package and the tests
(``build/mutation/<module>``, kept between runs: ``--survivors`` runs only the mutants not
killed yet, after new tests or a stopped run; ``--fresh`` starts over), with ``[tool.mutmut]`` of
pyproject.toml narrowed to that module's source file, its test files and the functions it
names. mutmut maps each function to the tests that call it and runs only those for its
mutants, with one worker unless ``--workers`` says more (the machine is shared). The report:
the mutants killed, survived, not covered and timed out, the score (killed and timed out over
all checked), and each surviving mutant's name (``mutmut show NAME`` in the scratch folder
shows its diff). Needs Python 3.11 (tomllib) and ``pip install -e ".[mutation]"``. Not part of
the test suite or CI: docs/mutation.md records the scores and why each surviving mutant is
kept.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / "build" / "mutation"
MUTMUT = Path(sys.executable).with_name("mutmut")


@dataclass(frozen=True)
class Target:
    """A module under mutation: its source file, the tests that exercise it, and the functions
    mutated (mutmut's names, globbed; ``*`` for all of the file)."""

    source: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ("*",)


TARGETS = {
    # The poem checkers, and the tables they read: tones, rhyme books, doubles and 对仗 pairs.
    "prosody": Target("poetry_rnn/poetics/prosody.py", ("tests/test_prosody.py",)),
    "tones": Target("poetry_rnn/poetics/tones.py", ("tests/test_prosody.py",)),
    "rhymes": Target("poetry_rnn/poetics/rhymes.py", ("tests/test_prosody.py",)),
    "repeats": Target("poetry_rnn/poetics/repeats.py", ("tests/test_prosody.py",)),
    "parallelism": Target("poetry_rnn/poetics/parallelism.py", ("tests/test_prosody.py",)),
    # Every form as a pattern, and the constraints a plan compiles to.
    "patterns": Target("poetry_rnn/poetics/patterns.py", ("tests/test_patterns.py",)),
    "constraints": Target(
        "poetry_rnn/writing/constraints.py",
        ("tests/test_patterns.py", "tests/test_rules.py", "tests/test_decoding.py"),
    ),
    # The step rules over a batch of partial poems, and the whole-line search; with the
    # generator's test of the score a sampled form poem is given.
    "batch": Target(
        "poetry_rnn/writing/batch.py", ("tests/test_decoding.py", "tests/test_rules.py")
    ),
    "decoding": Target(
        "poetry_rnn/writing/decoding.py",
        (
            "tests/test_decoding.py",
            "tests/test_rules.py",
            "tests/test_generate.py::test_the_score_is_the_log_likelihood_per_token_and_ranks_the_search",
        ),
    ),
    # The corpus's association table read back: the coherence score, clashes and the plan.
    "coherence": Target("poetry_rnn/poetics/coherence.py", ("tests/test_coherence.py",)),
    # The corpus's cleaning rules, each named and counted.
    "cleaning": Target("poetry_rnn/corpus/cleaning.py", ("tests/test_cleaning.py",)),
    # The poem checker and its suggestions for a broken position.
    "check": Target("poetry_rnn/poetics/check.py", ("tests/test_check.py",)),
    "suggest": Target("poetry_rnn/poetics/suggest.py", ("tests/test_check.py",)),
    # What every entry point asks for, checked once: types and ranges, and the shared flags.
    "controls": Target(
        "poetry_rnn/writing/controls.py",
        (
            "tests/test_generate.py::test_controls_refuse_wrong_types_and_ranges",
            "tests/test_generate.py::test_controls_take_the_edges_of_their_ranges_and_refuse_beyond",
            "tests/test_generate.py::test_controls_hold_plain_python_numbers",
            "tests/test_generate.py::test_controls_are_one_object_the_package_exports",
            "tests/test_generate.py::test_cli_errors_are_one_line_and_exit_2",
            "tests/test_generate.py::test_an_unknown_rhyme_book_is_refused",
            "tests/test_coherence.py::test_a_bad_coherence_weight_is_refused",
            "tests/test_decoding.py::test_search_out_of_range_is_refused",
            "tests/test_cli_flags.py",
        ),
    ),
    # The training data's shape: padded rows, length-bucketed batches; the vocabulary.
    "batching": Target("poetry_rnn/corpus/batching.py", ("tests/test_data.py",)),
    "vocab": Target("poetry_rnn/corpus/vocab.py", ("tests/test_data.py", "tests/test_model.py")),
    # The evaluation's measures: perplexity, distinct n-grams, 对仗, the metrics of poems.
    "metrics": Target("poetry_rnn/evaluation/metrics.py", ("tests/test_evaluate.py",)),
    # The evaluation's commands and their printed reports.
    "evaluate": Target(
        "poetry_rnn/evaluation/evaluate.py", ("tests/test_evaluate.py", "tests/test_reading.py")
    ),
    "reports": Target("poetry_rnn/evaluation/reports.py", ("tests/test_evaluate.py",)),
    # Drawing a token: temperature, top-k and the nucleus.
    "sampling": Target("poetry_rnn/writing/sampling.py", ("tests/test_sampling.py",)),
    # A request read into a plan, its form and slots, and the generator that writes it.
    "requests": Target(
        "poetry_rnn/writing/requests.py", ("tests/test_generate.py", "tests/test_cli_flags.py")
    ),
    "layout": Target("poetry_rnn/writing/layout.py", ("tests/test_generate.py",)),
    "generate": Target(
        "poetry_rnn/writing/generate.py", ("tests/test_generate.py", "tests/test_cli_flags.py")
    ),
    # The cache: its key, its name, and when a cache is reused, refused or rebuilt.
    "data": Target(
        "poetry_rnn/corpus/data.py",
        ("tests/test_data.py",),
        ("x_cache_key*", "x_default_cache_name*", "x__options_json*", "x_prepare_corpus*"),
    ),
    # Verification: digests, safetensors headers, the model's binding to its vocabulary; the
    # training state read back. (The resume after SIGKILL takes minutes a mutant: not here.)
    "checkpoint": Target(
        "poetry_rnn/model/checkpoint.py",
        (
            "tests/test_model.py",
            "tests/test_training_state.py",
            "tests/test_train.py::test_state_file_is_pure_safetensors_and_verifies",
            "tests/test_train.py::test_an_edited_state_header_is_refused",
        ),
        (
            "x_tensor_digest*",
            "x_load_tensors*",
            "x__safetensors_metadata*",
            "x__binding*",
            "x__read_config*",
            "x_model_from_tensors*",
            "x__read_weights*",
            "x_load_training_state*",
            "x_load_models*",
            "x__shards*",
            "x_trimmed*",
        ),
    ),
    # The model: its config's checks and parameter count, the step against the forward pass,
    # the one loss and the summed likelihood.
    "model": Target("poetry_rnn/model/charrnn.py", ("tests/test_model.py",)),
    # Reading a chinese-poetry checkout: its files in order, their poems, the bad ones skipped.
    "corpus": Target("poetry_rnn/corpus/sources.py", ("tests/test_data.py",)),
    # The tables the decoder reads, built from the corpus: tones, doubles, the rhyme books;
    # 对仗 pairs, the coherence statistics, the variants.
    "build_prosody_tables": Target(
        "poetry_rnn/poetics/build_prosody_tables.py", ("tests/test_prosody.py",)
    ),
    "build_association_tables": Target(
        "poetry_rnn/poetics/build_association_tables.py",
        ("tests/test_coherence.py", "tests/test_variants.py"),
    ),
    # The web demo: how a request is answered. The page's layout, ``build_app`` (471 mutants,
    # nearly all labels and sizes), is left out.
    "demo": Target(
        "poetry_rnn/app/demo.py",
        ("tests/test_demo.py", "tests/test_demo_controls.py", "tests/test_demo_answers.py"),
        (
            "x_answer*",
            "x__answer*",
            "x__report*",
            "x__seed*",
            "x__chosen*",
            "x__shown*",
            "x__candidate_lines*",
            "x__lock_choices*",
            "x__integer*",
            "x_main*",
        ),
    ),
    # Int8 inference: the packed weights and the LSTM run over them.
    "quantized": Target("poetry_rnn/model/quantized.py", ("tests/test_model.py",)),
    # The blind reading kit's scoring: ratings read, averaged and paired.
    "ratings": Target(
        "poetry_rnn/evaluation/ratings.py",
        ("tests/test_reading.py",),
        ("x_score_kit*", "x_paired*", "x_format_scores*", "x__change*", "x_interval*"),
    ),
    # The training schedule: warm-up and cosine, the time budget, and patience. Each training
    # run takes seconds, so only the tests that pin them.
    "runs": Target(
        "poetry_rnn/training/runs.py",
        ("tests/test_train.py::test_learning_rate_warms_up_then_follows_a_cosine_to_its_floor",),
        ("x_learning_rate*",),
    ),
    "budget": Target(
        "poetry_rnn/training/budget.py",
        (
            "tests/test_train.py::test_a_time_budget_ends_the_run_mid_epoch_and_a_resume_spends_a_larger_one",
            "tests/test_train.py::test_a_time_budget_holds_and_the_learning_rate_ends_at_its_floor_with_it",
        ),
    ),
    "train": Target(
        "poetry_rnn/training/train.py",
        (
            "tests/test_train.py::test_patience_stops_a_run_that_no_longer_improves",
            "tests/test_train.py::test_a_time_budget_ends_the_run_mid_epoch_and_a_resume_spends_a_larger_one",
        ),
        ("xǁTrainerǁstop_early_unless*", "xǁTrainerǁtime_spent*", "xǁTrainerǁrun*"),
    ),
}


def mutant_globs(target: Target, functions: tuple[str, ...]) -> list[str]:
    """mutmut's names of the mutants to run: ``poetry_rnn.<module>.<function>__mutmut_<n>``."""
    module = target.source.removesuffix(".py").replace("/", ".")
    return [f"{module}.{function}" for function in functions]


def prepare(name: str, target: Target, fresh: bool) -> Path:
    """The module's scratch folder: the package, the tests, the demo launcher, a pyproject
    narrowed to it."""
    folder = SCRATCH / name
    if fresh and folder.exists():
        shutil.rmtree(folder)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("poetry_rnn", "tests", "demo"):
        shutil.copytree(ROOT / part, folder / part, ignore=ignore, dirs_exist_ok=True)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    settings = config["mutmut"] | {
        "only_mutate": [target.source],
        "pytest_add_cli_args_test_selection": list(target.tests),
    }
    lines = ["[tool.mutmut]", *(f"{key} = {json.dumps(value)}" for key, value in settings.items())]
    lines += ["", "[tool.pytest.ini_options]"]
    lines += [
        f"{key} = {json.dumps(value)}" for key, value in config["pytest"]["ini_options"].items()
    ]
    (folder / "pyproject.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def statuses(folder: Path) -> dict[str, str]:
    """Each mutant's status as mutmut reports it (killed, survived, no tests, timeout, ...)."""
    result = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    pairs = (line.strip().rsplit(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    return dict(pair for pair in pairs if len(pair) == 2)


def report(name: str, found: dict[str, str], globs: list[str]) -> dict:
    """The counts and the score of the mutants of ``globs``, and the survivors by name."""
    chosen = {k: v for k, v in found.items() if any(fnmatch.fnmatch(k, g) for g in globs)}
    counts = Counter(chosen.values())
    checked = sum(n for status, n in counts.items() if status != "not checked")
    caught = counts["killed"] + counts["timeout"]
    return {
        "module": name,
        "mutants": len(chosen),
        "counts": dict(counts),
        "score": round(caught / checked, 4) if checked else None,
        "survivors": sorted(k for k, v in chosen.items() if v in ("survived", "no tests")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("module", nargs="?", choices=TARGETS, help="the module to mutate")
    parser.add_argument("--functions", nargs="+", help="mutmut function names (globs) instead")
    parser.add_argument("--minutes", type=float, default=20, help="stop the run after this long")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="mutants tested at once (default 1: a shared machine)",
    )
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="run only the mutants not killed yet: survivors, and those a stopped run left",
    )
    parser.add_argument("--list", action="store_true", help="list the modules and their tests")
    args = parser.parse_args(argv)
    if args.list or args.module is None:
        width = max(map(len, TARGETS))
        for name, target in TARGETS.items():
            print(f"{name:<{width}} {target.source:<46} {' '.join(target.tests)}")
        return 0
    target = TARGETS[args.module]
    globs = mutant_globs(target, tuple(args.functions or target.functions))
    folder = prepare(args.module, target, args.fresh)
    chosen = globs
    if args.survivors:
        unkilled = ("survived", "no tests", "not checked")
        found = statuses(folder)
        chosen = [name for name, status in found.items() if status in unkilled]
        chosen = [name for name in chosen if any(fnmatch.fnmatch(name, g) for g in globs)]
        if not chosen:
            print("no survivors to run again", file=sys.stderr)
            return 0
    command = [str(MUTMUT), "run", "--max-children", str(args.workers), *chosen]
    # Its own process group, so that a run out of time ends with every test process it forked.
    # One thread: the machine is shared, and torch's thread pool does not survive mutmut's
    # fork of each test run (a forked training run waits on it forever).
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    run = subprocess.Popen(command, cwd=folder, start_new_session=True, env=env)
    try:
        run.wait(timeout=args.minutes * 60)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait()
        print(f"stopped after {args.minutes:g} minutes; run again to go on", file=sys.stderr)
    summary = report(args.module, statuses(folder), globs)
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
