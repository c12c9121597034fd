"""The shape of the package: imports go one way, every module imports on its own, no module is
over 400 lines, and the readable reference never loads numba."""

import ast
import pathlib
import subprocess
import sys

import pytest

import fastmlp

PACKAGE = pathlib.Path(fastmlp.__file__).parent
KERNELS = pathlib.Path(fastmlp.__file__).parent.parent / "kernels"
if not KERNELS.is_dir():  # an installed (non-editable) package keeps them under fastmlp/
    KERNELS = PACKAGE / "kernels"


def _modules():
    """{dotted name: path} of every module of fastmlp and fastmlp.kernels."""
    found = {}
    for folder, package in ((PACKAGE, "fastmlp"), (KERNELS, "fastmlp.kernels")):
        for path in sorted(folder.glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    return found


MODULES = _modules()

# Imports go one way: each module may import only modules of its own layer or below
# (data helpers -> reference/kernels -> settings, fitted state and the training driver ->
# estimators -> tools built on estimators -> command line and the package's front door).
LAYERS = [
    ("fastmlp.errors", "fastmlp.codes", "fastmlp.layout", "fastmlp.validation",
     "fastmlp.schedules", "fastmlp.progress", "fastmlp.init", "fastmlp.datasets",
     "fastmlp.sklearn_compat", "fastmlp.persistence", "fastmlp.argtypes", "fastmlp.labels",
     "fastmlp.backends", "fastmlp.sparse", "fastmlp.features", "fastmlp.weights",
     "fastmlp.paramchecks", "fastmlp.scaling", "fastmlp.resources", "fastmlp.fittedfile",
     "fastmlp.interrupts"),
    ("fastmlp.reference",) + tuple(m for m in MODULES if m.startswith("fastmlp.kernels")),
    ("fastmlp.params", "fastmlp.paramdoc", "fastmlp.fitted", "fastmlp.diagnostics",
     "fastmlp.health", "fastmlp.training", "fastmlp.divergence", "fastmlp.stopping"),
    ("fastmlp.estimators", "fastmlp.protocol", "fastmlp.online"),
    ("fastmlp.gradcheck", "fastmlp.xor"),
    ("fastmlp.plotting",),
    ("fastmlp.firstrun", "fastmlp.cliparse", "fastmlp.clicheck", "fastmlp.inputfiles",
     "fastmlp.usemodel", "fastmlp.clixor"),
    ("fastmlp.cli", "fastmlp", "fastmlp.__main__"),
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _imported(name, path):
    """[(imported fastmlp module, line, inside a function?)] of one module."""
    tree = ast.parse(path.read_text())
    package = name if path.stem == "__init__" else name.rsplit(".", 1)[0]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            local = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function) for a in child.names
                             if a.name.split(".")[0] == "fastmlp")
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = ".".join(base[:len(base) - child.level + 1])
                    target = f"{base}.{child.module}" if child.module else base
                else:
                    target = child.module
                if target.split(".")[0] != "fastmlp":
                    continue
                for a in child.names:  # "from . import kernels" imports a module, too
                    sub = f"{target}.{a.name}"
                    found.append((sub if sub in MODULES else target, child.lineno, in_function))
            visit(child, local)

    visit(tree, False)
    return found


def test_every_module_is_placed_in_a_layer():
    assert set(MODULES) == set(RANK)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_go_one_way(name):
    for target, line, _ in _imported(name, MODULES[name]):
        assert target in RANK, f"{name}:{line} imports unknown module {target}"
        assert RANK[target] <= RANK[name], (
            f"{name}:{line} imports {target}, a module of a higher layer")


def test_no_import_cycles():
    graph = {name: {t for t, _, _ in _imported(name, path) if t != name and t != "fastmlp"}
             for name, path in MODULES.items()}
    state = {}

    def visit(node, trail):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", f"import cycle: {' -> '.join(trail + [node])}"
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, trail + [node])
        state[node] = "done"

    for name in sorted(graph):
        visit(name, [])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_function_local_import_of_a_fastmlp_module(name):
    """Optional heavy dependencies (matplotlib, scikit-learn, PIL) may be imported lazily;
    fastmlp's own modules never are, so no import cycle can hide behind one."""
    local = [(t, line) for t, line, in_function in _imported(name, MODULES[name]) if in_function]
    assert local == [], f"{name} imports fastmlp modules inside functions: {local}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_400_lines(name):
    assert len(MODULES[name].read_text().splitlines()) <= 400


def test_every_module_imports_first_in_a_fresh_interpreter():
    script = ("import importlib, sys\n"
              "importlib.import_module(sys.argv[1])\n")
    failures = []
    for name in sorted(MODULES):
        if name == "fastmlp.__main__":  # runs the command line when imported
            continue
        proc = subprocess.run([sys.executable, "-c", script, name], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            failures.append(f"{name}: {proc.stderr.strip().splitlines()[-1]}")
    assert failures == []


def test_the_reference_and_the_package_never_load_numba():
    script = ("import sys\n"
              "import fastmlp, fastmlp.reference, fastmlp.codes, fastmlp.layout\n"
              "print('numba' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "False"
