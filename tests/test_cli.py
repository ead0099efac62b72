import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import orbudget as ob

ROOT = Path(__file__).resolve().parents[1]


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "orbudget.cli", *args], capture_output=True, text=True, **kw)


def test_solve_writes_result_json_to_stdout(tmp_path):
    p = ob.MultipleChoiceKnapsack.random(8, 3, seed=0)
    path = ob.save(p, tmp_path / "p.json")
    out = run("solve", str(path), "--method", "dp")
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["kind"] == "Result" and payload["data"]["status"] == "optimal"
    assert payload["data"]["objective"] == ob.solve(p, method="dp").objective
    assert "orbudget: status     optimal" in out.stderr and "orbudget: method     dp (numba)" in out.stderr


def test_solve_to_file_and_load(tmp_path):
    p = ob.RolloutAllocation.synthetic(16, 8, seed=0)
    path = ob.save(p, tmp_path / "p.json")
    out = run("solve", str(path), "-o", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stderr
    r = ob.load(tmp_path / "r.json")
    assert r.method == "greedy" and int(r.x.sum()) == 128


def test_infeasible_exits_one_and_errors_exit_two_without_traceback(tmp_path):
    p = ob.MultipleChoiceKnapsack(values=[[1, 2]], costs=[[5, 6]], budget=1)
    out = run("solve", str(ob.save(p, tmp_path / "p.json")))
    assert out.returncode == 1 and "infeasible" in out.stderr
    out = run("solve", str(tmp_path / "missing.json"))
    assert out.returncode == 2 and out.stderr.startswith("orbudget: error:") and "Traceback" not in out.stderr
    out = run("solve", str(tmp_path / "p.json"), "--method", "nope")
    assert out.returncode == 2 and "`method` must be one of" in out.stderr
    out = run("demo", "--family", "nope")
    assert out.returncode == 2 and "`family`" in out.stderr


def test_demo_quick_and_info():
    out = run("demo", "--quick", "--family", "knapsack")
    assert out.returncode == 0, out.stderr
    assert "MCKP" in out.stdout and "greedy" in out.stdout and "uniform" in out.stdout
    out = run("info")
    assert out.returncode == 0 and "numba" in out.stdout
    # every family's methods with what they honour (issue 15)
    assert "MultipleChoiceKnapsack" in out.stdout and "CoupledRMAB" in out.stdout
    line = next(ln for ln in out.stdout.splitlines() if ln.strip().startswith("dp (numba)"))
    assert "honours: rel_gap, seed; options: scale" in line
    assert "long: can run for more than about a second" in out.stdout  # what the `long` mark means


def _corrupt(tmp_path, how):
    """A problem file spoilt one way (each printed a Python traceback before, or an error without the file)."""
    p = ob.MultipleChoiceKnapsack.random(300, 20, seed=0)  # large: its arrays sit in a .npz beside the JSON
    path = ob.save(p, tmp_path / "p.json")
    payload = json.loads(path.read_text())
    if how == "null data":
        payload["data"] = None
    elif how == "missing dtype":
        payload["data"]["budget"] = {"__array__": [1], "shape": [1]}
    elif how == "bad npz key":
        payload["data"]["values"] = {"__npz__": "a9"}
    elif how == "unknown kind":
        payload["kind"] = "Knapsak"
    elif how == "empty":
        path.write_text("")
        return path
    elif how == "truncated":
        path.write_text(path.read_text()[:200])
        return path
    elif how == "wrong kind":
        return ob.save(ob.solve(ob.MultipleChoiceKnapsack.random(3, 2, seed=0)), tmp_path / "r.json")
    path.write_text(json.dumps(payload))
    return path


@pytest.mark.parametrize(
    "how, what",
    [
        ("null data", "`data` must be an object"),
        ("missing dtype", "`dtype`"),
        ("bad npz key", "'a9'"),
        ("unknown kind", "unknown kind 'Knapsak'"),
        ("empty", "the file is empty"),
        ("truncated", "cut short"),
        ("wrong kind", "holds a Result, not a problem"),
    ],
)
def test_corrupt_problem_files_give_one_line_naming_the_file_and_exit_two(tmp_path, how, what):
    path = _corrupt(tmp_path, how)
    out = run("solve", str(path))
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith(f"orbudget: error: {path}: ") and what in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_sweep_configs_and_exercise_files_that_are_wrong_name_the_file(tmp_path):
    cases = [
        ("", "the file is empty"),
        ("[1]", "must be a JSON object"),
        ('{"grid": {"x": [1]}', "cut short"),
        ('{"function": "orbudget.experiments:nope", "grid": {"x": [1]}}', "has no function 'nope'"),
        ('{"function": "no_such_module:f", "grid": {"x": [1]}}', "cannot import no_such_module"),
        ('{"function": "orbudget.experiments:knapsack_frontier", "grid": [1]}', "`grid[0]` must be a dict"),
        ('{"function": "orbudget.experiments:knapsack_frontier", "grid": {"n": 3}}', "must be a list"),
        (
            '{"function": "orbudget.experiments:knapsack_frontier", "grid": {"n": [3]}, "executor": 4}',
            "`executor` must be a string",
        ),
    ]
    for text, what in cases:
        config = tmp_path / "c.json"
        config.write_text(text)
        out = run("sweep", str(config))
        assert out.returncode == 2 and out.stderr.startswith(f"orbudget: error: {config}: "), (text, out.stderr)
        assert what in out.stderr and len(out.stderr.strip().splitlines()) == 1, (text, out.stderr)
    for text, what in [
        ("def answer(:\n", "not valid Python"),
        ("1 / 0\n", "ZeroDivisionError"),
        ("x = 1\n", "defines no `answer`"),
    ]:
        student = tmp_path / "answer.py"
        student.write_text(text)
        out = run("exercises", "check", "hedge", str(student))
        assert out.returncode == 2 and out.stderr.startswith(f"orbudget: error: {student}: "), out.stderr
        assert what in out.stderr and "Traceback" not in out.stderr


def test_sweep_imports_an_experiment_from_the_current_or_the_config_folder(tmp_path):
    # `python -I` keeps the current folder off sys.path, as the `orbudget` console script does
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()
    (here / "myexp.py").write_text("def point(n, seed):\n    return {'value': float(10 * n + seed)}\n")
    config = {
        "function": "myexp:point",
        "grid": {"n": [1, 2]},
        "seeds": [0],
        "executor": "serial",
        "summary": {"value": "value", "by": ["n"]},
    }
    for folder, cwd in [(here, there), (there, here)]:  # next to the config; in the current folder
        path = folder / "c.json"
        path.write_text(json.dumps(config))
        out = subprocess.run(
            [sys.executable, "-I", "-m", "orbudget.cli", "sweep", str(path), "--no-progress"],
            capture_output=True,
            text=True,
            cwd=cwd,
        )
        assert out.returncode == 0, out.stderr
        assert "0 failed" in out.stderr and out.stdout.split()[-3:] == ["20", "None", "1"], out.stdout
        path.unlink()


def test_demo_and_bench_help_list_what_they_run():
    demo, bench = run("demo", "--help"), run("bench", "--help")
    assert demo.returncode == 0 and "knapsack, online, bwk, bidding, rmab, rco, llm" in " ".join(demo.stdout.split())
    names = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if not p.stem.startswith("_"))
    assert bench.returncode == 0 and f"Benchmarks: {', '.join(names)}." in " ".join(bench.stdout.split())


def test_version_is_one_number_everywhere():
    import importlib.metadata

    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"orbudget {ob.__version__}"
    assert importlib.metadata.version("orbudget") == ob.__version__  # pyproject reads it from orbudget/__init__.py


def test_exercise_show_says_how_to_hand_in_and_that_way_passes(tmp_path):
    shown = run("exercises", "show", "hedge")
    assert shown.returncode == 0 and "`answer = hedge`" in shown.stdout
    assert "orbudget exercises check hedge FILE.py" in shown.stdout
    student = tmp_path / "mine.py"  # as the text says: define hedge, bind it to `answer`
    student.write_text(
        f"import sys\n\nsys.path.insert(0, {str(ROOT)!r})\nfrom solutions.bwk_exercises import hedge\n\nanswer = hedge\n"
    )
    out = run("exercises", "check", "hedge", str(student))
    assert out.returncode == 0 and out.stdout.startswith("PASS: "), out.stdout + out.stderr


def test_exercise_solutions_are_not_shipped_and_the_flag_says_where_they_are():
    out = run("exercises", "show", "hedge", "--solution")
    assert out.returncode == 2 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert "not shipped" in out.stderr and "solutions/ folder" in out.stderr
    shown = run("exercises", "show", "hedge")
    assert shown.returncode == 0 and "Solution" not in shown.stdout and "--solution" not in run("exercises", "--help").stdout


def test_solve_output_follows_the_umask(tmp_path):
    import stat

    path = ob.save(ob.MultipleChoiceKnapsack.random(4, 3, seed=0), tmp_path / "p.json")
    out = run("solve", str(path), "-o", str(tmp_path / "r.json"), preexec_fn=lambda: os.umask(0o022))
    assert out.returncode == 0 and stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o644


def test_solve_says_kind_once_and_shows_one_progress_display_without_escape_codes(tmp_path):
    pytest.importorskip("highspy")
    p = ob.RolloutAllocation.synthetic(50, 8, seed=0)
    out = run("solve", str(ob.save(p, tmp_path / "rollouts.json")), "--method", "mip")  # stderr is a pipe
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["kind"] == "Result" and "kind" not in payload["data"]
    assert "\x1b[" not in out.stderr and "\r" not in out.stderr
    shown = [line for line in out.stderr.splitlines() if line.startswith("mip: ")]
    assert shown and not any(line.startswith("mip: 0 events") for line in shown)
    assert len([line for line in shown if "HiGHS" in line]) == 1  # one display, closed once


HEAVY = ("numpy", "numba", "scipy", "orbudget.problems", "orbudget.solvers")


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["demo", "--help"]])
def test_version_and_help_import_neither_numba_nor_the_solvers(args):
    code = (
        "import sys, orbudget.cli\n"
        "try:\n    orbudget.cli.main(sys.argv[1:])\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m.startswith({HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "[]" and "orbudget" in out.stdout


def test_warmup_solves_the_named_families_and_says_what_it_compiled():
    out = run("warmup", "--family", "MultipleChoiceKnapsack", "--family", "ModelRouting")
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("orbudget warmup:")]
    assert len(lines) == 3 and "core (numba)" in lines[0] and "mckp (numba)" in lines[1] and "2 families" in lines[2]
    assert run("warmup", "--family", "Nope").returncode == 2
