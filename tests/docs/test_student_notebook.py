"""The student version of the exercises notebook (scripts/student_notebook.py): in step with the worked one, with
no worked answer left in it, and its stubs graded "NOT YET"."""

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from orbudget import exercises

ROOT = Path(__file__).resolve().parents[2]
WORKED = ROOT / "notebooks" / "03_bwk_exercises.py"
STUDENT = ROOT / "notebooks" / "03_bwk_exercises_student.py"


def _script():
    spec = importlib.util.spec_from_file_location("student_notebook", ROOT / "scripts" / "student_notebook.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _solution_functions(text):
    """{name: the function's source lines as written} for the functions of the cells tagged solution: defined there,
    or imported from the checkout's solutions/ (where the worked answers live)."""
    cells = re.split(r"(?m)^(?=# %%)", text)
    out = {}
    for cell in cells:
        if cell.startswith('# %% tags=["solution"]'):
            for node in ast.parse(cell).body:
                if isinstance(node, ast.FunctionDef):
                    out[node.name] = "\n".join(cell.splitlines()[node.lineno - 1 : node.end_lineno])
                elif isinstance(node, ast.ImportFrom) and node.module.startswith("solutions."):
                    source = (ROOT / Path(*node.module.split("."))).with_suffix(".py").read_text()
                    defined = {n.name: n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
                    for alias in node.names:
                        fn = defined[alias.name]
                        out[alias.name] = "\n".join(source.splitlines()[fn.lineno - 1 : fn.end_lineno])
    return out


def test_the_committed_student_notebook_is_the_generated_one():
    # run `python scripts/student_notebook.py` after editing notebooks/03_bwk_exercises.py
    assert STUDENT.read_text() == _script().student_version(WORKED.read_text())


def test_no_worked_answer_is_left_and_every_stub_is_graded_not_yet():
    text = WORKED.read_text()
    worked = _solution_functions(text)
    rest = "".join(c for c in re.split(r"(?m)^(?=# %%)", text) if not c.startswith('# %% tags=["solution"]'))
    assert set(worked) == {"instance", "explore_rounds", "best_price", "loss_bound", "hedge", "equilibrium"}
    student = STUDENT.read_text()
    namespace: dict = {}
    for name, source in worked.items():
        body = [line.strip() for line in source.splitlines()[1:] if len(line.strip()) > 12]
        leaked = [line for line in body if line in student and line not in rest]  # `rest`: the cells kept as is
        assert body and not leaked, (name, leaked)
        stub = re.search(rf"(?m)^def {name}\(.*\n.*\n", student).group(0)
        exec(stub, namespace)  # noqa: S102 - the stub the script wrote
        with pytest.raises(NotImplementedError):
            namespace[name](*([1] * namespace[name].__code__.co_argcount))
    for exercise_id, name in [
        ("bwk-10.2", "instance"),
        ("bwk-10.1b", "explore_rounds"),
        ("bwk-10.3a", "best_price"),
        ("bwk-10.3b", "loss_bound"),
        ("hedge", "hedge"),
        ("games-9.3", "equilibrium"),
    ]:
        feedback = exercises.check(exercise_id, namespace[name])
        assert not feedback.passed and "NotImplementedError" in feedback.message


def test_the_worked_notebook_imports_its_answers_from_solutions_and_defines_none():
    text = WORKED.read_text()
    cells = [c for c in re.split(r"(?m)^(?=# %%)", text) if c.startswith('# %% tags=["solution"]')]
    assert cells and all("from solutions.bwk_exercises import " in c for c in cells)
    assert not any(isinstance(n, ast.FunctionDef) for c in cells for n in ast.parse(c).body)


def test_a_solution_import_of_a_missing_function_is_refused(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "ex.py").write_text("def f(x):\n    return x\n")
    text = '# %% [markdown]\n# # Title\n\n# %% tags=["solution"]\nfrom solutions.ex import f, g\n'
    with pytest.raises(ValueError, match="defines no function 'g'"):
        _script().student_version(text, tmp_path)
    student = _script().student_version(text.replace(", g", ""), tmp_path)
    assert "def f(x):\n    raise NotImplementedError" in student and "return x" not in student


def test_a_solution_cell_without_a_function_is_refused():
    text = '# %% [markdown]\n# # Title\n\n# %% tags=["solution"]\nx = 1\n'
    with pytest.raises(ValueError, match="defines no function"):
        _script().student_version(text)


def _runner():
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_test_command_builds_the_student_notebook_a_student_opens(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("jupytext")
    written = _runner().build_student_notebooks(ROOT / "notebooks", tmp_path)
    assert [p.name for p in written] == ["03_bwk_exercises_student.ipynb"]
    nb = nbformat.read(str(written[0]), as_version=4)
    nbformat.validate(nb)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "raise NotImplementedError" in code and not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    worked = _solution_functions(WORKED.read_text())
    assert all(source not in code for source in worked.values())  # no worked answer in the notebook


def test_notebook_kernels_run_over_ipc(tmp_path):
    pytest.importorskip("nbclient")
    path = tmp_path / "01_tiny.py"
    path.write_text("# %%\nprint(1 + 1)\n")
    import subprocess
    import sys

    runner = str(ROOT / "scripts" / "run_notebooks.py")
    code = f"import pathlib, runpy; print(runpy.run_path({runner!r})['execute'](pathlib.Path({str(path)!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "without encryption" not in out.stderr and out.stdout.strip() == "1"
    assert not list(tmp_path.glob("kernel-ipc-*")) and not list(ROOT.glob("kernel-ipc-*"))


def test_the_runner_runs_only_the_notebooks_named(tmp_path):
    pytest.importorskip("nbclient")
    with pytest.raises(SystemExit, match="no such notebook: .*nope.py"):
        _runner().main([str(tmp_path / "nope.py")])
