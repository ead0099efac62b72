"""solve_many and sweep: same results on every executor, the batched knapsack DP, resuming a killed sweep,
failing points, the CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import orbudget as ob
from orbudget.batch import grid_points, read_records, summarize

from . import sweep_helpers as helpers
from .conftest import needs

ROOT = Path(__file__).resolve().parents[1]


def _bwk_problems():
    return [ob.BanditsWithKnapsacks.random(4, 2, horizon=400 + 100 * i, seed=i) for i in range(5)]


def test_batched_knapsack_dp_equals_one_by_one():
    problems = [
        ob.MultipleChoiceKnapsack.random(12, 5, max_cost=9, budget_fraction=f, seed=s) for s in range(30) for f in (0.0, 0.3, 0.9)
    ]
    problems.append(
        ob.MultipleChoiceKnapsack(values=[[1, 2, 3, 4, 5]] * 12, costs=[[5, 6, 7, 8, 9]] * 12, budget=3)
    )  # infeasible
    batched = ob.solve_many(problems, progress=False)
    assert all(r.stats.get("batched") for r in batched if r.ok)
    for p, r in zip(problems, batched):
        one = ob.solve(p, method="dp")
        assert r.status == one.status
        if one.ok:
            assert r.objective == pytest.approx(one.objective, abs=1e-9) and p.is_feasible(r.x)
    exact = [ob.MultipleChoiceKnapsack.random(8, 4, max_cost=5, exact=True, seed=s) for s in range(10)]
    for p, r in zip(exact, ob.solve_many(exact, progress=False)):
        assert r.status == ob.solve(p, method="dp").status and (not r.ok or r.objective == ob.solve(p).objective)


def test_batch_functions_hang_off_the_registry(monkeypatch):
    """solve_many asks each method's registered batch function, in preference order (or the named method's), and
    falls back to one-by-one solves when it returns None."""
    from orbudget.core import registry

    calls = []

    def batch(problems):
        calls.append(len(problems))
        return (
            None
            if len(problems) == 1
            else [
                ob.Result(status="optimal", x=np.zeros(p.n_groups, int), objective=0.0, method="toy", backend="numpy")
                for p in problems
            ]
        )

    spec = registry.SolverSpec(ob.MultipleChoiceKnapsack, "toy", "numpy", lambda p, o: None, 0, batch=batch)
    monkeypatch.setattr(registry, "_REGISTRY", [spec, *registry.registered()])
    problems = [ob.MultipleChoiceKnapsack.random(4, 3, seed=s) for s in range(3)]
    assert [r.method for r in ob.solve_many(problems, progress=False)] == ["toy"] * 3 and calls == [3]
    assert ob.solve_many(problems, method="dp", progress=False)[0].stats.get("batched")  # dp's own batch function
    one = ob.solve_many(problems[:1], method="dp", progress=False, executor="serial", batch=False)
    assert one[0].method == "dp" and not one[0].stats.get("batched")
    with pytest.raises(ob.InvalidProblemError, match="do not qualify"):
        ob.solve_many(problems[:1], method="toy", batch=True, progress=False)


def test_solve_many_process_pool_equals_sequential():
    problems = _bwk_problems()
    seeds = [11, 12, 13, 14, 15]
    sequential = [ob.solve(p, method="primal_dual", seed=s) for p, s in zip(problems, seeds)]
    pooled = ob.solve_many(problems, method="primal_dual", seeds=seeds, executor="process", progress=False)
    for a, b in zip(sequential, pooled):
        assert np.array_equal(a.x, b.x) and a.objective == b.objective
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:  # the API Ray's drop-in Pool implements
        via_pool = ob.solve_many(problems, method="primal_dual", seeds=seeds, executor=pool, progress=False)
    assert all(np.array_equal(a.x, b.x) for a, b in zip(sequential, via_pool))
    with pytest.raises(ob.InvalidProblemError, match="one seed per problem"):
        ob.solve_many(problems, seeds=[1, 2], executor="serial")


@needs("numba")
def test_solve_many_on_a_dask_local_cluster_equals_sequential():
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed (extra 'cluster')")
    problems = _bwk_problems()
    sequential = [ob.solve(p, method="lagrange", seed=7) for p in problems]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            on_cluster = ob.solve_many(problems, method="lagrange", seeds=[7] * 5, executor=client, progress=False)
            records = ob.sweep(helpers.counted, {"x": [1, 2, 3]}, seeds=2, executor=client, progress=False, as_frame=False)
    for a, b in zip(sequential, on_cluster):
        assert np.array_equal(a.x, b.x) and a.objective == b.objective
    assert [r["square"] for r in records] == [1, 2, 4, 5, 9, 10]


def test_a_killed_sweep_resumes_without_recomputing(tmp_path):
    path, calls = tmp_path / "sweep.jsonl", tmp_path / "calls.txt"
    code = f"from tests.sweep_helpers import run_counted_sweep; run_counted_sweep({str(path)!r}, {str(calls)!r})"
    env = {**os.environ, "ORBUDGET_TEST_KILL": "1"}
    crashed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True)
    assert crashed.returncode != 0  # killed by SIGKILL at x = 3
    assert [r["x"] for r in read_records(path)] == [0, 1, 2]
    records = helpers.run_counted_sweep(str(path), str(calls))
    assert [r["square"] for r in records] == [0, 1, 4, 9, 16, 25]
    assert helpers.calls_of(calls) == ["0,0", "1,0", "2,0", "3,0", "3,0", "4,0", "5,0"]  # only x = 3 ran twice
    again = helpers.run_counted_sweep(str(path), str(calls))
    assert again == records and len(helpers.calls_of(calls)) == 7  # a finished sweep recomputes nothing
    with open(path, "a") as fh:
        fh.write('{"x": 9, "trunc')  # a line cut short by a kill is ignored
    assert len(read_records(path)) == 6


def test_a_failing_point_is_reported_and_the_others_finish(tmp_path):
    records = ob.sweep(
        helpers.fails_on_three, {"x": [1, 2, 3, 4]}, executor="serial", progress=False, as_frame=False, path=tmp_path / "s.jsonl"
    )
    assert [r["x"] for r in records] == [1, 2, 3, 4]
    bad = [r for r in records if r["error"]]
    assert len(bad) == 1 and bad[0]["x"] == 3 and "three is not allowed" in bad[0]["error"]
    assert [r["value"] for r in records if not r["error"]] == [1.0, 2.0, 4.0]
    rerun = ob.sweep(
        helpers.fails_on_three,
        {"x": [1, 2, 3, 4]},
        executor="serial",
        progress=False,
        as_frame=False,
        path=tmp_path / "s.jsonl",
        retry_failed=True,
    )
    assert rerun[2]["error"]  # retried, failed again, still reported


def test_sweep_returns_a_frame_and_solves_problems():
    pd = pytest.importorskip("pandas")

    def make(n, seed):
        return ob.MultipleChoiceKnapsack.random(n, 4, seed=seed)

    frame = ob.sweep(make, {"n": [5, 10]}, seeds=2, method="dp", executor="serial", progress=False)
    assert isinstance(frame, pd.DataFrame) and list(frame["n"]) == [5, 5, 10, 10]
    assert (frame["status"] == "optimal").all() and frame["objective"].notna().all()
    rows = summarize(frame, ["n"], "objective")
    assert [r["n"] for r in rows] == [5, 10] and all(r["count"] == 2 for r in rows)


def test_grid_validation_and_lambdas_on_a_process_pool():
    assert grid_points({"a": [1, 2], "b": ["x"]}, seeds=[0, 1]) == [
        {"a": 1, "b": "x", "seed": 0},
        {"a": 1, "b": "x", "seed": 1},
        {"a": 2, "b": "x", "seed": 0},
        {"a": 2, "b": "x", "seed": 1},
    ]
    with pytest.raises(ob.InvalidProblemError, match="`grid\\['a'\\]` must be a list"):
        grid_points({"a": 3})
    with pytest.raises(ob.InvalidProblemError, match="`executor` must be"):
        ob.sweep(helpers.counted, {"x": [1]}, executor="threads")
    records = ob.sweep(lambda x: {"y": x}, {"x": [1]}, executor="process", progress=False, as_frame=False)
    assert records[0]["error"] and "pickl" in records[0]["error"].lower()


def test_cli_sweep(tmp_path):
    config = {
        "function": "orbudget.experiments:knapsack_frontier",
        "grid": {"n_groups": [10], "budget_fraction": [0.2, 0.8]},
        "seeds": 2,
        "executor": "serial",
        "output": str(tmp_path / "k.jsonl"),
        "summary": {"by": ["budget_fraction"], "value": "value"},
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    out = subprocess.run(
        [sys.executable, "-m", "orbudget.cli", "sweep", str(path), "--no-progress"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "value_mean" in out.stdout and "4 points, 0 failed" in out.stderr
    assert len(read_records(tmp_path / "k.jsonl")) == 4
    path.write_text(json.dumps({**config, "bogus": 1}))
    bad = subprocess.run([sys.executable, "-m", "orbudget.cli", "sweep", str(path)], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown key `bogus`" in bad.stderr


def test_plots_from_a_sweep():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from orbudget import plot

    records = [
        {"horizon": t, "method": m, "regret": (t**0.5) * (1 + (m == "b")), "seed": s, "error": None}
        for t in (100, 1000, 10000)
        for m in ("a", "b")
        for s in (0, 1)
    ]
    ax = plot.regret_curve(records)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["a (slope 0.50)", "b (slope 0.50)"]
    ax = plot.frontier(records, "horizon", "regret", by="method")
    assert len(ax.get_lines()) >= 2


def test_points_differing_beyond_the_16th_entry_get_their_own_records(tmp_path):
    """Keys were a repr that cut arrays of more than 16 entries to `array(shape)`: two such points shared a key and
    the second got the first's record, fresh and on resume."""
    a, b = np.arange(20.0), np.arange(20.0)
    b[18] = 99.0
    assert ob.batch.point_key({"values": a}) != ob.batch.point_key({"values": b})
    path, calls = tmp_path / "s.jsonl", tmp_path / "calls.txt"
    grid = [{"values": a, "calls": str(calls)}, {"values": b, "calls": str(calls)}]
    records = ob.sweep(helpers.keyed, grid, executor="serial", path=path, progress=False, as_frame=False)
    assert [r["total"] for r in records] == [a.sum(), b.sum()]
    c = a.copy()
    c[17] = -1.0
    resumed = ob.sweep(
        helpers.keyed, [*grid, {"values": c, "calls": str(calls)}], executor="serial", path=path, progress=False, as_frame=False
    )
    assert [r["total"] for r in resumed] == [a.sum(), b.sum(), c.sum()]
    assert helpers.calls_of(calls) == ["19.0", "19.0", "19.0"]  # each point ran once: a, b, then c on resume


def test_sweep_files_with_the_old_keys_are_reused_only_where_the_old_key_is_exact(tmp_path):
    """Records written before hashed keys carry the JSON of the parameters: reused when that names one point in full,
    run again when an array was cut short in it."""
    from orbudget.batch import _legacy_key

    path, calls = tmp_path / "old.jsonl", tmp_path / "calls.txt"
    small, big = np.arange(3.0), np.arange(20.0)
    lines = [
        {"x": 1, "square": 100, "error": None, "_key": _legacy_key({"x": 1})},
        {
            "values": "array((20,))",
            "last": -5.0,
            "total": -5.0,
            "error": None,
            "_key": _legacy_key({"values": big, "calls": str(calls)}),
        },
        {
            "values": small.tolist(),
            "last": -7.0,
            "total": -7.0,
            "error": None,
            "_key": _legacy_key({"values": small, "calls": str(calls)}),
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert (
        ob.sweep(helpers.counted, {"x": [1]}, executor="serial", path=path, progress=False, as_frame=False)[0]["square"] == 100
    )  # exact old key: the old record
    records = ob.sweep(
        helpers.keyed,
        [{"values": small, "calls": str(calls)}, {"values": big, "calls": str(calls)}],
        executor="serial",
        path=path,
        progress=False,
        as_frame=False,
    )
    assert records[0]["total"] == -7.0  # exact old key: reused
    assert records[1]["total"] == big.sum() and helpers.calls_of(calls) == ["19.0"]  # cut-short old key: run again


def _pids_alive(pids):
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        try:  # a zombie waiting for its reaper is dead too
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                continue
        except OSError:
            pass
        alive.append(pid)
    return alive


def _wait_for(predicate, seconds):
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _start_pool_sweep(tmp_path):
    path, pids = tmp_path / "pool.jsonl", tmp_path / "pids"
    pids.mkdir()
    code = f"from tests.sweep_helpers import run_pool_sweep; run_pool_sweep({str(path)!r}, {str(pids)!r})"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # both workers sleep in points 2 and 3 once points 0 and 1 are on disk
    ready = _wait_for(lambda: len(list(pids.iterdir())) == 2 and len(read_records(path)) == 2, 240)
    if not ready:
        proc.kill()
        raise AssertionError(f"the pool sweep did not start: {proc.communicate()}")
    return proc, path, [int(p.name) for p in pids.iterdir()]


def test_pool_workers_die_with_a_killed_sweep(tmp_path):
    """Before, workers sleeping in a point outlived a SIGKILLed parent (for more than 16 minutes in the report)."""
    import signal

    proc, path, workers = _start_pool_sweep(tmp_path)
    try:
        assert _pids_alive(workers) == workers
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _wait_for(lambda: not _pids_alive(workers), 5), f"workers {_pids_alive(workers)} outlived the parent"
    finally:
        for pid in _pids_alive(workers):
            os.kill(pid, signal.SIGKILL)
    assert sorted(r["x"] for r in read_records(path)) == [0, 1]


def test_ctrl_c_stops_a_pool_sweep_keeps_the_finished_points_and_ends_the_workers(tmp_path):
    import signal

    proc, path, workers = _start_pool_sweep(tmp_path)
    try:
        os.killpg(proc.pid, signal.SIGINT)  # a Ctrl-C in the terminal reaches the whole process group
        out, err = proc.communicate(timeout=60)
        assert proc.returncode != 0 and "KeyboardInterrupt" in err
        assert _wait_for(lambda: not _pids_alive(workers), 5)
    finally:
        for pid in _pids_alive(workers):
            os.kill(pid, signal.SIGKILL)
    assert sorted(r["x"] for r in read_records(path)) == [0, 1]  # the finished points, not the interrupted ones


def test_a_sweep_interrupted_inside_a_real_solve_records_nothing_for_that_point_and_resumes(tmp_path):
    """A Ctrl-C during HiGHS came back as a 'solve error' result, recorded as a finished point, and the sweep went
    on; now the point is not recorded, the sweep stops, and running it again computes only the rest."""
    path, marker, calls = tmp_path / "s.jsonl", tmp_path / "marker", tmp_path / "calls.txt"
    code = (
        f"from tests.sweep_helpers import run_interrupted_sweep; "
        f"run_interrupted_sweep({str(path)!r}, {str(marker)!r}, {str(calls)!r})"
    )
    first = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert first.returncode != 0 and "KeyboardInterrupt" in first.stderr, first.stderr[-2000:]
    assert [r["x"] for r in read_records(path)] == [0, 1]
    records = helpers.run_interrupted_sweep(str(path), str(marker), str(calls))
    assert [r["value"] for r in records] == [0, 1, 2, 3] and all(r["error"] is None for r in records)
    assert helpers.calls_of(calls) == ["0", "1", "2", "2", "3"]


def test_solve_many_checks_its_arguments_once_at_the_call():
    p = ob.MultipleChoiceKnapsack(values=[[1, 2]], costs=[[1, 2]], budget=2)
    with pytest.raises(ob.InvalidProblemError, match="`seeds`"):
        ob.solve_many([p] * 4, seeds="abcd", progress=False, executor="serial")  # used to give each a character
    with pytest.raises(TypeError, match="`time_limt`"):
        ob.solve_many([p], time_limt=3, progress=False, executor="serial")  # used to be an ERROR result per problem
    with pytest.raises(ob.InvalidProblemError, match="unknown key `scael`"):
        ob.solve_many([p], "dp", options={"scael": 2}, progress=False, executor="serial")
    assert ob.solve_many([p], "dp", progress=False, executor="serial")[0].objective == 2
