"""The model that ships inside the package: small enough, found by default, writes every form,
and travels in the wheel so that a plain install writes a poem offline."""

import os
import subprocess
import sys
import zipfile

import pytest

from poetry_rnn import checkpoint
from poetry_rnn.checkpoint import CONFIG, SHIPPED_MODEL, VOCAB, WEIGHTS
from poetry_rnn.errors import PoetryError
from poetry_rnn.generate import PoetryGenerator
from poetry_rnn.prosody import FORMS, check_format, check_rhyme
from poetry_rnn.text import split_lines

MAX_MEGABYTES = 25


@pytest.fixture(scope="module")
def generator():
    return PoetryGenerator.from_pretrained()


def test_the_shipped_model_is_complete_and_small():
    names = {path.name for path in SHIPPED_MODEL.iterdir()}
    assert {CONFIG, VOCAB, WEIGHTS} <= names
    size = sum(path.stat().st_size for path in SHIPPED_MODEL.iterdir())
    assert size <= MAX_MEGABYTES * 2**20


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


def test_the_shipped_model_continues_chuang_qian_from_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "poetry_rnn.generate", "--start", "床前", "--seed", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("床前") and done.stdout.strip().endswith("。")


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
    shipped = {f"poetry_rnn/pretrained/{name}" for name in (CONFIG, VOCAB, WEIGHTS)}
    assert shipped <= set(zipfile.ZipFile(wheel).namelist())
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", target, wheel],
        check=True, capture_output=True,
    )  # fmt: skip

    elsewhere.mkdir()
    script = "import poetry_rnn.generate as g, sys; print(g.__file__); g.main(sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", script, "--start", "床前", "--seed", "2"],
        cwd=elsewhere, env=os.environ | {"PYTHONPATH": str(target)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    location, poem = done.stdout.split("\n", 1)
    assert location.startswith(str(target)) and poem.startswith("床前")
