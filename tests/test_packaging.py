"""What ships with the package: the typing marker, and a changelog for the version it reports."""

from pathlib import Path

import orbudget as ob

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_is_marked_typed_and_the_changelog_names_its_version():
    assert (Path(ob.__file__).parent / "py.typed").is_file()  # PEP 561: type checkers read orbudget's annotations
    assert f"({ob.__version__})" in (ROOT / "CHANGELOG.md").read_text()


def test_the_version_is_written_once_in_pyproject():
    import tomllib
    from importlib import metadata

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert ob.__version__ == metadata.version("orbudget") == project["version"]
    assert "version" not in project.get("dynamic", [])
    assert "0.1.0" not in (ROOT / "orbudget" / "__init__.py").read_text()  # not written twice


def test_import_loads_the_solvers_only_when_the_registry_is_first_read():
    """`import orbudget` imports no backend, no model and no adapter; the first solve imports them, and every
    public name and the subpackages still resolve from the bare package."""
    import subprocess
    import sys

    code = """
import sys
import orbudget as ob
heavy = lambda: sorted(m for m in sys.modules if m in ("numpy", "numba", "orbudget.problems", "orbudget.solvers"))
print(heavy())
p = ob.MultipleChoiceKnapsack(values=[[1, 4], [2, 3]], costs=[[1, 3], [1, 2]], budget=4)
print(heavy())
print(ob.solve(p).objective, heavy())
missing = [n for n in ob.__all__ if getattr(ob, n, None) is None]
print(missing, ob.core.validation.__name__, ob.core.solve.__name__, "__version__" in dir(ob))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "[]"  # nothing heavy on import
    assert "orbudget.problems" in lines[1] and "orbudget.solvers" not in lines[1]  # a model loads the models only
    assert lines[2].startswith("6.0 ") and "orbudget.solvers" in lines[2]  # the first solve loads the adapters
    assert lines[3] == "[] orbudget.core.validation solve True"  # `ob.core.solve` is the function, as before
