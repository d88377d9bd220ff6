"""The command line as a shell user meets it: the ``poetry-rnn`` console script, output that goes
to a closed pipe, a full disk or an encoding without Chinese, and an uninstalled checkout."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import poetry_rnn
from poetry_rnn.app.cli import COMMANDS
from poetry_rnn.errors import BROKEN_PIPE_STATUS

ROOT = Path(__file__).resolve().parents[1]
ENV = os.environ | {"PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}


def run(*argv, **options):
    """A fresh interpreter running ``argv`` from the checkout, text in and out."""
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    options = pipes | {"text": True, "env": ENV, "check": False} | options
    return subprocess.run([sys.executable, *argv], **options)


# --- poetry-rnn ------------------------------------------------------------------------------


def test_help_lists_every_subcommand():
    done = run("-m", "poetry_rnn.app.cli", "--help")
    assert done.returncode == 0
    listing = done.stdout.split("commands:\n")[1].split("\n\n")[0]
    listed = [line.split()[0] for line in listing.splitlines()]
    assert listed == list(COMMANDS) == ["generate", "data", "train", "evaluate", "demo", "check"]


def test_a_subcommand_runs_its_modules_cli_with_the_same_arguments():
    argv = ["--start", "床前", "--seed", "5", "--json"]
    through_script = run("-m", "poetry_rnn.app.cli", "generate", *argv)
    direct = run("-m", "poetry_rnn.generate", *argv)
    assert through_script.returncode == direct.returncode == 0, through_script.stderr
    assert through_script.stdout == direct.stdout and '"text": "床前' in direct.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compose"], "error: argument COMMAND: invalid choice: 'compose'"),
        ([], "error: the following arguments are required: COMMAND"),
        (["generate", "--form", "sonnet"], "error: unknown form 'sonnet'; the closest:"),
        (["evaluate", "generation", "--form", "六言绝句"], "error: unknown form '六言绝句'"),
        (["data", "--corpus", "/nowhere"], "error: corpus not found"),
    ],
)
def test_errors_are_one_line_and_exit_2(argv, message):
    done = run("-m", "poetry_rnn.app.cli", *argv)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(message) and len(done.stderr.strip().splitlines()) == 1


def test_version():
    done = run("-m", "poetry_rnn.app.cli", "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"poetry-rnn {poetry_rnn.__version__}"


# --- where the output goes -------------------------------------------------------------------

GENERATE = ["-m", "poetry_rnn.generate", "--start", "床前", "--n", "3"]


def test_a_reader_that_goes_away_ends_the_tool_quietly():
    """As ``| head -1`` does once it has its line: the pipe's reading end is closed."""
    reading, writing = os.pipe()
    os.close(reading)
    try:
        done = run(*GENERATE, stdout=writing)
    finally:
        os.close(writing)
    assert done.returncode == BROKEN_PIPE_STATUS
    assert done.stderr == ""


def test_an_encoding_without_chinese_is_one_line_saying_how_to_fix_it():
    done = run(*GENERATE, env=ENV | {"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "error: the output encoding (ascii) cannot show Chinese characters; "
        "set PYTHONIOENCODING=utf-8 (on Windows: PYTHONUTF8=1)\n"
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_a_full_disk_is_one_line():
    with open("/dev/full", "w") as full:
        done = run(*GENERATE, stdout=full)
    assert done.returncode == 2
    assert done.stderr == "error: cannot write the output: No space left on device\n"


def test_a_closed_standard_output_is_one_line():
    """As ``>&-`` leaves it: the tool starts with no standard output at all."""
    done = run(*GENERATE, stdout=None, preexec_fn=lambda: os.close(1))
    assert done.returncode == 2
    assert done.stderr == "error: cannot write the output: standard output is closed\n"


def test_the_console_script_reports_output_errors_too():
    done = run("-m", "poetry_rnn.app.cli", "generate", "--start", "床前", env=ENV | {
        "PYTHONIOENCODING": "ascii"
    })  # fmt: skip
    assert done.returncode == 2 and "cannot show Chinese characters" in done.stderr


# --- a checkout that is not installed ----------------------------------------------------------


def test_a_source_checkout_that_is_not_installed_imports_and_knows_its_version(tmp_path):
    """No site-packages (-S), so no installed metadata: only the package's own files."""
    shutil.copytree(
        ROOT / "poetry_rnn", tmp_path / "poetry_rnn", ignore=shutil.ignore_patterns("pretrained")
    )
    script = "import sys; sys.path.insert(0, ''); import poetry_rnn as p; "
    script += "print(p.__file__, p.__version__)"
    done = run("-I", "-S", "-c", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    location, version = done.stdout.split()
    assert location == str(tmp_path / "poetry_rnn" / "__init__.py")
    assert version == poetry_rnn.__version__ and version.count(".") == 2
