"""The docs say what the code does: the sample poems, the documented flags, the help; the
site builds."""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from poetry_rnn.errors import run_cli

ROOT = Path(__file__).resolve().parents[1]
#: Every page a user reads: the README, the card, the site (but the blind rounds' records).
DOCS = [
    *(ROOT / name for name in ("README.md", "MODEL_CARD.md", "data/README.md", "demo/README.md")),
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "docs/experiments").glob("*.md")),
]
#: The site's page that documents each command's every flag.
FLAG_PAGES = {
    "generate": "writing.md",
    "check": "checking.md",
    "demo": "demo.md",
    "data": "data.md",
    "train": "training.md",
}
EVALUATE_SUBCOMMANDS = ("perplexity", "generation", "corpus", "report", "blind", "blind-score")
sys.path.insert(0, str(ROOT / "docs"))
samples = importlib.import_module("samples")
ratings_fit = importlib.import_module("ratings_fit")

#: Every command of the docs and the module whose --help lists its flags.
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
COMMAND = re.compile(r"(?:python -m poetry_rnn\.|poetry-rnn )(generate|data|train|evaluate|demo"
                     r"|checkpoint|build_tables|check)\b([^\n`|]*)")  # fmt: skip


@pytest.mark.skipif(
    samples.decoding_kernels() not in samples.SAMPLE_KERNELS,
    reason=f"the samples print with {samples.SAMPLE_KERNELS} kernels, as the pages say: other "
    "kernels round differently and may write other poems",
)
def test_the_sample_poems_are_what_their_commands_print():
    shown = {
        str(page.relative_to(ROOT)): samples.samples(page.read_text(encoding="utf-8"))
        for page in samples.PAGES
    }
    assert shown["README.md"], "the README shows a poem and the command that writes it"
    commands = {arguments: poem for pairs in shown.values() for arguments, poem in pairs}
    assert len(commands) >= 10
    for page, pairs in shown.items():
        for arguments, poem in pairs:
            assert commands[arguments] == poem, f"{page} shows another poem for {arguments}"
    for arguments, poem in commands.items():
        assert samples.printed(arguments) == poem, f"python -m poetry_rnn.generate {arguments}"


def _help(module: str, capsys) -> str:
    main = importlib.import_module(f"poetry_rnn.{module}").main
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"] if module != "evaluate" else ["report", "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_every_documented_flag_exists(capsys):
    documented: dict[str, set[str]] = {}
    for path in DOCS:
        for module, rest in COMMAND.findall(path.read_text(encoding="utf-8")):
            documented.setdefault(module, set()).update(
                re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest)
            )
    assert {"generate", "data", "train", "evaluate", "demo"} <= set(documented)
    for module, flags in documented.items():
        if module == "evaluate":
            continue  # subcommands: checked below
        if importlib.util.find_spec(f"poetry_rnn.{module}") is None:
            continue
        known = _help(module, capsys)
        missing = sorted(flag for flag in flags if flag not in known)
        assert not missing, f"{module}: documented but unknown {missing}"


def _flags(text: str) -> set[str]:
    return set(FLAG.findall(text)) - {"--help"}


@pytest.mark.parametrize("module", sorted(FLAG_PAGES))
def test_every_flag_of_a_command_is_documented_on_its_page(module, capsys):
    page = (ROOT / "docs" / FLAG_PAGES[module]).read_text(encoding="utf-8")
    undocumented = sorted(_flags(_help(module, capsys)) - _flags(page))
    assert not undocumented, f"{module}: not on docs/{FLAG_PAGES[module]}: {undocumented}"


def test_every_flag_of_evaluate_is_documented_on_its_page(capsys):
    from poetry_rnn.app.evaluate_cli import main

    page = (ROOT / "docs/evaluation.md").read_text(encoding="utf-8")
    for command in EVALUATE_SUBCOMMANDS:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        undocumented = sorted(_flags(capsys.readouterr().out) - _flags(page))
        assert not undocumented, f"evaluate {command}: not on docs/evaluation.md: {undocumented}"


def test_the_evaluate_subcommands_know_their_documented_flags(capsys):
    from poetry_rnn.app.evaluate_cli import main

    text = "\n".join(path.read_text(encoding="utf-8") for path in DOCS)
    for command, rest in re.findall(
        r"(?:python -m poetry_rnn\.|poetry-rnn )evaluate ([a-z][\w-]*)([^\n`|]*)", text
    ):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        known = capsys.readouterr().out
        missing = [
            flag for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", rest) if flag not in known
        ]
        assert not missing, f"evaluate {command}: documented but unknown {missing}"


def test_the_documented_error_of_an_empty_start(capsys):
    from poetry_rnn.app.generate_cli import main

    assert run_cli(main, ["--start", ""]) == 2
    assert capsys.readouterr().err.strip() == "error: the start is empty"


def test_the_ratings_by_form_and_mode_are_the_rounds_own():
    poems = ratings_fit.rated_poems(range(10, 22))
    assert len(poems) == 544
    card = (ROOT / "docs/experiments/blind-reading.md").read_text(encoding="utf-8")
    header = re.search(r"^\| \| 五言绝句 .*$", card, re.M).group(0)
    columns = [cell.strip() for cell in header.split("|")[2:-1]]
    for score in ("fluency", "coherence"):
        row = re.search(rf"^\| model, {score} \|(.*)$", card, re.M).group(1)
        shown = [float(cell.strip(" *")) for cell in row.split("|")[:-1]]
        for column, value in zip(columns, shown, strict=True):
            group = "form" if column in ("五言绝句", "七言绝句", "五言律诗", "七言律诗") else "mode"
            some = [p[score] for p in poems if p[group] == column]
            assert round(sum(some) / len(some), 2) == value, (score, column)


def test_the_ratings_fit_finds_an_effect_planted_in_one_measure():
    import numpy as np

    rng = np.random.default_rng(1)
    forms, modes = ("五言绝句", "七言律诗"), ("free", "start", "theme")
    poems = [{"form": forms[i % 2], "mode": modes[i % 3]} for i in range(600)]
    measured = rng.normal(size=(600, 3)) * [1.0, 5.0, 0.1]
    for poem, (_, planted, _) in zip(poems, measured, strict=True):
        poem["fluency"] = 3 + 0.5 * (poem["form"] == "七言律诗") + 0.08 * planted
    poems[0]["fluency"] += 0.1  # not a perfect fit
    coefficients, widths = ratings_fit.fit(poems, measured, "fluency")
    assert abs(coefficients[1] - 0.4) < 0.02  # for one standard deviation of the measure: 5
    assert abs(coefficients[0]) < 0.01 and abs(coefficients[2]) < 0.01
    assert all(0 < width < 0.05 for width in widths)


def test_the_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"^pip install .*python -m pytest .*$", readme, re.M).group(0)
    assert command in (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()


def test_the_model_card_opens_with_the_hugging_face_metadata():
    card = (ROOT / "MODEL_CARD.md").read_text(encoding="utf-8")
    front = re.match(r"---\n(.*?)\n---\n", card, re.S)
    assert front, "the card opens with YAML front matter"
    keys = set(re.findall(r"^([a-z_]+):", front.group(1), re.M))
    assert {"language", "license", "library_name", "tags", "datasets", "metrics"} <= keys
    assert re.search(r"^language: zh$", front.group(1), re.M)


def test_the_site_builds_strictly(tmp_path):
    """Every page in the nav, every link and anchor found (mkdocs.yml's validation)."""
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        if os.environ.get("CI"):
            pytest.fail('CI is set but mkdocs is missing: pip install -e ".[docs]"')
        pytest.skip('mkdocs and mkdocs-material are not installed: pip install -e ".[docs]"')
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "index.html").is_file()
