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


def imported_modules(path: Path, module: str):
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # `from .. import solvers` names a module too
                if target.startswith("orbudget"):
                    yield node.lineno, f"{target}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("orbudget"):
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
    bad = [f"{path.relative_to(PACKAGE.parent)}:{line}: imports {target}"
           for line, target in imported_modules(path, module) if layer_of(target) > own]
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
