"""The package's layers (docs/architecture.md): a module imports only its own layer and the ones
below it, no modules import each other in a circle, and none outgrows one reading."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "poetry_rnn"
#: Lowest first; the base is the package's own top-level modules.
LAYERS = ("base", "corpus", "model", "poetics", "writing", "training", "evaluation", "app")
#: The thin modules that keep ``python -m poetry_rnn.<command>`` working run the app's.
COMMANDS = {"generate", "data", "train", "evaluate", "check", "checkpoint", "demo"}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else "base"


def imports() -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports (at any depth)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith("poetry_rnn"):
                    used.add(node.module)
            elif isinstance(node, ast.Import):
                used |= {a.name for a in node.names if a.name.startswith("poetry_rnn")}
        found[name] = used - {name, "poetry_rnn"}
    return found


def test_the_layers_are_the_packages_folders():
    folders = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    assert folders == set(LAYERS) - {"base"}


@pytest.mark.parametrize("module", sorted(imports()))
def test_a_module_imports_no_layer_above_its_own(module):
    if module.split(".")[-1] in COMMANDS and layer_of(module) == "base":
        return  # python -m poetry_rnn.<command>: runs the command's module, wherever it lives
    own = LAYERS.index(layer_of(module))
    above = sorted(m for m in imports()[module] if LAYERS.index(layer_of(m)) > own)
    assert not above, f"{module} ({layer_of(module)}) imports {above}"


def test_no_modules_import_each_other_in_a_circle():
    graph = imports()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError(" -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        for used in graph.get(module, ()):
            visit(used, [*path, module])
        done.add(module)

    for module in graph:
        visit(module, [])


#: A module a maintainer reads top to bottom, a class of one job (docs/architecture.md).
MOST_MODULE_LINES, MOST_CLASS_LINES = 600, 210


def test_no_module_or_class_outgrows_one_reading():
    long_modules, long_classes = [], []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(PACKAGE.parent).as_posix()
        if len(text.splitlines()) > MOST_MODULE_LINES:
            long_modules.append(name)
        for node in ast.walk(ast.parse(text)):
            lines = node.end_lineno - node.lineno + 1 if isinstance(node, ast.ClassDef) else 0
            if lines > MOST_CLASS_LINES:
                long_classes.append(f"{name}:{node.name}")
    assert long_modules == [] and long_classes == []
