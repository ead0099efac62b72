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


# -- the exercises' worked solutions stay out of the wheel --------------------------------------------------------
def _solution_lines(solutions: Path) -> dict[str, list[str]]:
    """{function: its code lines (stripped, no docstring, the short ones left out)} for each function in
    ``solutions``/*.py, and each docstring's sentences: the worked answers and their arguments."""
    import ast

    out = {}
    for path in sorted(solutions.glob("*.py")):
        source = path.read_text()
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef):
                doc = ast.get_docstring(node) or ""
                start = node.body[1].lineno if doc and len(node.body) > 1 else node.body[0].lineno
                code = [line.strip() for line in source.splitlines()[start - 1 : node.end_lineno] if len(line.strip()) > 24]
                prose = [s.strip() for s in " ".join(doc.split()).split(". ") if len(s.strip()) > 40]
                out[f"{path.stem}.{node.name}"] = code + prose
    return out


def _leaks(package: Path, solutions: Path) -> dict[str, list[str]]:
    """{module of ``package``: the solution lines it holds} (whitespace folded, so rewrapped prose is caught too)."""
    import re

    lines = [line for lines in _solution_lines(solutions).values() for line in lines]
    out = {}
    for path in sorted(package.rglob("*.py")):
        text = " ".join(re.sub(r'"\s*\n\s*"', "", path.read_text()).split())  # adjacent string literals joined
        found = [line for line in lines if " ".join(line.split()) in text]
        if found:
            out[str(path.relative_to(package.parent))] = found
    return out


def test_the_worked_solutions_are_not_in_the_wheel():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    assert config["targets"]["wheel"]["packages"] == ["orbudget"]  # the wheel ships orbudget/ only, not solutions/
    assert "solutions" not in str(config)  # no include or force-include brings it back
    assert len(_solution_lines(ROOT / "solutions")) >= 7  # one worked answer per exercise
    assert _leaks(ROOT / "orbudget", ROOT / "solutions") == {}


def test_the_leak_check_sees_a_copied_solution(tmp_path):
    package = tmp_path / "orbudget"
    package.mkdir()
    hedge = (ROOT / "solutions" / "bwk_exercises.py").read_text().split("def hedge(")[1].split("\n\n\n")[0]
    (package / "grader.py").write_text("def reference(" + hedge + "\n")
    assert list(_leaks(package, ROOT / "solutions")) == ["orbudget/grader.py"]
    (package / "grader.py").write_text(
        'TEXT = (\n    "Before round t, play softmax(−ε·cumulative); subtract the maximum "\n    "logit to avoid overflow."\n)\n'
    )
    assert list(_leaks(package, ROOT / "solutions")) == ["orbudget/grader.py"]  # a solution's argument, rewrapped
