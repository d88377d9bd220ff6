"""The model that ships inside the package: small enough, found by default, writes every form,
and travels in the wheel so that a plain install writes a poem offline."""

import json
import os
import subprocess
import sys
import zipfile

import pytest

from poetry_rnn import __version__
from poetry_rnn.errors import PoetryError
from poetry_rnn.forms import FORMS
from poetry_rnn.model import checkpoint
from poetry_rnn.model.checkpoint import CONFIG, INDEX, SHIPPED_MODEL, VOCAB
from poetry_rnn.poetics.prosody import check_format, check_poem, check_rhyme
from poetry_rnn.text import split_lines
from poetry_rnn.writing.generate import PoetryGenerator

MAX_BYTES = 40 * 10**6  # 40 MB


def test_the_shipped_model_is_complete_small_and_sharded():
    names = {path.name for path in SHIPPED_MODEL.iterdir()}
    index = json.loads((SHIPPED_MODEL / INDEX).read_text(encoding="utf-8"))
    shards = set(index["weight_map"].values())
    assert names == {CONFIG, VOCAB, INDEX, "metrics.json", *shards} and len(shards) > 1
    assert all((SHIPPED_MODEL / shard).stat().st_size <= 16 * 2**20 for shard in shards)
    size = sum(path.stat().st_size for path in SHIPPED_MODEL.iterdir())
    assert size <= MAX_BYTES


@pytest.mark.parametrize("form", list(FORMS))
def test_the_shipped_model_writes_every_form_in_every_mode(generator, form):
    heads = "春江花月夜山水长"[: FORMS[form].lines]
    poems = [
        *generator.generate(form=form, n=2, seed=1),
        *generator.generate("床前", form=form, n=2, seed=1),
        *generator.acrostic(heads, form=form, n=2, seed=1),
        *generator.themed("秋夜思乡", form=form, n=2, seed=1),
    ]
    for poem in poems:
        assert check_format(poem.text, FORMS[form]) and check_rhyme(poem.text, FORMS[form])
    assert poems[2].text.startswith("床前")
    assert [line[0] for line in split_lines(poems[4].text)] == list(heads)


@pytest.mark.parametrize("argv", [["--start", "床前"], []])
def test_the_headline_command_writes_a_rhymed_tonal_quatrain(argv):
    done = subprocess.run(
        [sys.executable, "-m", "poetry_rnn.generate", *argv, "--seed", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    title, *rows = done.stdout.split()  # the poem's title, then its lines
    assert title and not any(mark in title for mark in "，。")
    assert len(rows) == 4 and len({len(row) for row in rows}) == 1 and len(rows[0]) in (6, 8)
    assert rows[0].startswith("床前" if argv else "")
    form = {6: "五言绝句", 8: "七言绝句"}[len(rows[0])]
    checks = check_poem("".join(rows), FORMS[form])
    assert checks.format_ok and checks.rhyme_ok and checks.tone_satisfied == checks.tone_checked


@pytest.mark.parametrize(("start", "form"), [("春风", "五言绝句"), ("江上", "七言绝句")])
def test_without_a_form_the_model_chooses_the_line_length_after_the_start(generator, start, form):
    """The model ends a line after 春风 + three characters and carries on after 江上 + three;
    every seed gets the same choice."""
    poems = [poem for seed in range(4) for poem in generator.generate(start, seed=seed)]
    assert {poem.form for poem in poems} == {form}
    assert all(poem.checks.format_ok and poem.checks.rhyme_ok for poem in poems)
    assert generator.generate(start, form="free", seed=0)[0].form is None


def test_a_missing_default_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(checkpoint, "SHIPPED_MODEL", tmp_path / "gone")
    with pytest.raises(PoetryError, match="default model is missing"):
        PoetryGenerator.from_pretrained()


def test_the_wheel_carries_the_model_and_writes_a_poem_offline_with_no_corpus(tmp_path):
    """Build the wheel, install it (its dependencies are this environment's) into a folder of
    its own, and write a poem from a folder far from the checkout."""
    root = SHIPPED_MODEL.parents[1]
    wheels, target, elsewhere = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, root],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = wheels.glob("poetry_rnn-*.whl")
    assert wheel.name.startswith(f"poetry_rnn-{__version__}-")  # the version from __init__.py
    shipped = {f"poetry_rnn/pretrained/{path.name}" for path in SHIPPED_MODEL.iterdir()}
    files = zipfile.ZipFile(wheel)
    assert shipped <= set(files.namelist())
    entry_points = files.read(f"poetry_rnn-{__version__}.dist-info/entry_points.txt").decode()
    assert "poetry-rnn = poetry_rnn.app.cli:main" in entry_points.splitlines()
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", target, wheel],
        check=True, capture_output=True,
    )  # fmt: skip

    elsewhere.mkdir()
    script = "import poetry_rnn.app.generate_cli as g, sys; print(g.__file__); g.main(sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", script, "--start", "床前", "--seed", "2"],
        cwd=elsewhere, env=os.environ | {"PYTHONPATH": str(target)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    location, title, poem = done.stdout.split("\n", 2)
    assert location.startswith(str(target)) and title and poem.startswith("床前")
