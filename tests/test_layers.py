"""The package's layers hold: core <- problems <- solvers <- apps / batch / cli. A module imports only from its own
layer or below, at module level and inside functions alike (a lazy import is still a dependency)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "orbudget"
LAYERS = {"core": 0, "problems": 1, "solvers": 2}
TOP = 3  # apps, exercises, batch, plot, cli, demos, experiments, the package __init__


def layer_of(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], TOP) if len(parts) > 1 else TOP


def imported_modules(path: Path, module: str, *, module_level: bool = False, prefix: str = "orbudget"):
    """``(line, target)`` for each import in ``module`` (at ``path``) of a name under ``prefix``, relative imports
    resolved; ``target`` is ``module.name`` for ``from module import name``. With ``module_level``, only the imports
    that run when the module is imported: not inside functions or classes, nor under ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    roots = [tree]
    if module_level:
        roots = [
            n
            for n in tree.body
            if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and not (isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test))
        ]
    for root in roots:
        for node in ast.walk(root):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:  # `from .. import solvers` names a module too
                    if target.startswith(prefix):
                        yield node.lineno, f"{target}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(prefix):
                        yield node.lineno, alias.name


MODULES = sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    module = _name(path)
    own = layer_of(module)
    bad = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: imports {target}"
        for line, target in imported_modules(path, module)
        if layer_of(target) > own
    ]
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_violation(tmp_path):
    # the rule fires on the pattern it exists for: a model importing a solver inside a method
    bad = tmp_path / "rmab.py"
    bad.write_text("def f():\n    from ..solvers.numba._kernels import held_karp\n")
    targets = [t for _, t in imported_modules(bad, "orbudget.problems.rmab")]
    registry = tmp_path / "registry.py"
    registry.write_text("from .. import solvers\n")
    assert [layer_of(t) for _, t in imported_modules(registry, "orbudget.core.registry")] == [2]
    assert targets == ["orbudget.solvers.numba._kernels.held_karp"] and layer_of(targets[0]) > layer_of("orbudget.problems.rmab")


def module_level_imports(path: Path, module: str, known) -> set[str]:
    """The package modules ``module`` imports when it is imported, each resolved to the longest known module name
    (``from .x import f`` imports ``x``)."""
    out = set()
    for _, target in imported_modules(path, module, module_level=True, prefix=module.split(".")[0]):
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != module:
            out.add(target)
    return out


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each a cycle of module-level imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycle():
    known = {_name(p): p for p in MODULES}
    graph = {m: module_level_imports(p, m, known) for m, p in known.items()}
    assert sum(len(v) for v in graph.values()) > 100  # the graph was read (the package imports within itself)
    assert import_cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from .b import f\n\ndef g():\n    from .c import h\n")
    b.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import h\nfrom . import a\n")
    known = {"p.a", "p.b", "p.c"}
    graph = {"p.a": module_level_imports(a, "p.a", known), "p.b": module_level_imports(b, "p.b", known)}
    assert graph == {"p.a": {"p.b"}, "p.b": {"p.a"}}  # the lazy and the TYPE_CHECKING imports do not count
    assert import_cycles(graph) == [["p.a", "p.b"]]


def test_no_source_file_is_over_500_lines():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in MODULES if (n := len(p.read_text().splitlines())) > 500}
    assert long == {}, f"split these modules by topic: {long}"


# -- the tests mirror the package ----------------------------------------------------------------------------------

TESTS = Path(__file__).resolve().parent
# suites that run across every method or page, named by what they check rather than by a module
SUITES = {
    "contract": "every registered method against the solve() contract: keywords, long and iterative methods",
    "fuzz": "malformed inputs in child interpreters and budget-safety properties, per family",
    "docs": "the pages' examples run as written, and the pages' own checks",
}
CROSS_CUTTING = {"test_layers.py", "test_packaging.py"}  # the package as a whole: its layers and its install


def mirrored_module(test: Path) -> Path | None:
    """The package module (or package) that ``tests/<path>/test_<name>.py`` tests: ``orbudget/<path>/<name>.py``,
    its private ``_<name>.py``, or the package ``<name>/``; ``None`` when there is none."""
    rel = test.relative_to(TESTS)
    folder = PACKAGE.joinpath(*rel.parts[:-1])
    name = rel.stem.removeprefix("test_")
    for candidate in (folder / f"{name}.py", folder / f"_{name}.py", folder / name / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _mirrored_test_files():
    return sorted(p for p in TESTS.rglob("test_*.py") if p.relative_to(TESTS).parts[0] not in SUITES)


def test_every_test_file_mirrors_a_module_of_the_package():
    files = _mirrored_test_files()
    assert len(files) > 30
    orphans = [str(p.relative_to(TESTS)) for p in files if p.name not in CROSS_CUTTING and mirrored_module(p) is None]
    assert orphans == [], "tests/<path>/test_<name>.py tests orbudget/<path>/<name>.py; move these: " + ", ".join(orphans)


def test_no_test_module_imports_another():
    """Shared helpers live in a conftest.py (or a helper module that child processes import by name, such as
    tests/sweep_helpers.py), never in a test module another test module imports."""
    bad = []
    for path in sorted(TESTS.rglob("test_*.py")):
        module = ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)
        for line, target in imported_modules(path, module, prefix="tests"):
            if any(part.startswith("test_") for part in target.split(".")[:-1]):
                bad.append(f"{path.relative_to(TESTS)}:{line}: imports {target}")
    assert bad == [], bad


def test_the_mirror_check_sees_an_orphan():
    assert mirrored_module(TESTS / "core" / "test_solve.py") == PACKAGE / "core" / "solve.py"
    assert mirrored_module(TESTS / "problems" / "test_rmab.py") == PACKAGE / "problems" / "rmab" / "__init__.py"
    assert mirrored_module(TESTS / "solvers" / "test_rmab.py") == PACKAGE / "solvers" / "_rmab.py"
    assert mirrored_module(TESTS / "solvers" / "test_rmab_solvers.py") is None


def test_the_import_check_sees_a_test_importing_a_test(tmp_path):
    bad = tmp_path / "test_b.py"
    bad.write_text("from .test_a import CASES\nfrom ..conftest import needs\n")
    targets = [t for _, t in imported_modules(bad, "tests.core.test_b", prefix="tests")]
    assert targets == ["tests.core.test_a.CASES", "tests.conftest.needs"]
