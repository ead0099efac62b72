import json
import subprocess
import sys

import orbudget as ob


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
    assert "status optimal" in out.stderr


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
