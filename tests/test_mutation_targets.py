"""The mutation run's settings name what is there: every module it mutates, the tests it runs
and the functions it narrows to (benchmarks/mutation.py and pyproject's [tool.mutmut]). A
module that moves or a test that is renamed fails here, not an hour into a mutation run."""

import ast
import fnmatch
import importlib.util
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11, as the mutation run itself
ROOT = Path(__file__).resolve().parents[1]


def _mutation():
    spec = importlib.util.spec_from_file_location("mutation", ROOT / "benchmarks" / "mutation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutation"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


TARGETS = _mutation().TARGETS


def mutmut_names(source: Path) -> set[str]:
    """mutmut's names of a module's functions: ``x_f`` for a function, ``xǁCǁm`` for a method."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names.add(f"x_{node.name}")
        elif isinstance(node, ast.ClassDef):
            methods = (n for n in node.body if isinstance(n, ast.FunctionDef))
            names |= {f"xǁ{node.name}ǁ{method.name}" for method in methods}
    return names


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_targets_module_tests_and_functions_exist(name):
    target = TARGETS[name]
    source = ROOT / target.source
    assert source.is_file(), target.source
    for test in target.tests:
        path, _, function = test.partition("::")
        assert (ROOT / path).is_file(), path
        assert not function or f"def {function}(" in (ROOT / path).read_text(encoding="utf-8")
    names = mutmut_names(source)
    for pattern in target.functions:
        assert fnmatch.filter(names, pattern), f"{pattern} matches no function of {target.source}"


def test_the_shared_mutmut_settings_name_modules_and_tests_that_exist():
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    mutmut = settings["mutmut"]
    assert [path for path in mutmut["only_mutate"] if not (ROOT / path).is_file()] == []
    tests = mutmut["pytest_add_cli_args_test_selection"]
    assert [path for path in tests if not (ROOT / path).is_file()] == []
