"""Knapsack family benchmark: ours against HiGHS, CP-SAT and OR-Tools' KnapsackSolver, side by side.

Run: ``python benchmarks/knapsack.py`` (``--quick`` for smaller sizes), or ``orbudget bench knapsack``.
Every row checks that the returned choice is within budget and prints the objective of each tool.

``--peers`` prints the peers table instead: the core solver against ``dp``, ``mip``, ``cpsat``, OR-Tools'
``KnapsackSolver`` (branch and bound, dynamic programming) and Martello-Toth MT2 (the ``mknapsack`` package, extra
``bench``) over Pisinger's instance classes (``ob.knapsack_instances``). ``mknapsack``'s wheels are built against
NumPy 1.x; where it cannot be imported here, ``MKNAPSACK_PYTHON`` may name an interpreter that can import it (for
example a virtual environment with ``numpy<2``). Peers run in a child process killed at ``--limit`` seconds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import subprocess
import sys
import tempfile
import time

import numpy as np

import orbudget as ob
from orbudget.core.registry import backend_available

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _table import print_table, timed  # noqa: E402


def mckp_rows(sizes, cpsat_limit):
    rows = []
    for n in sizes:
        p = ob.MultipleChoiceKnapsack.random(n, 8, max_cost=20, seed=n)
        ob.solve(ob.MultipleChoiceKnapsack.random(5, 8, seed=0), method="dp")  # JIT warm-up (cached on disk)
        t_dp, dp = timed(lambda p=p: ob.solve(p, method="dp"))
        assert p.is_feasible(dp.x)
        row = [n, p.budget, t_dp, dp.objective]
        if backend_available("highs"):
            t_mip, mip = timed(lambda p=p: ob.solve(p, method="mip", threads=1, time_limit=600))
            row += [t_mip, mip.objective, t_mip / t_dp]
        else:
            row += [None] * 3
        if backend_available("ortools"):
            t_cp, cp = timed(lambda p=p: ob.solve(p, method="cpsat", time_limit=cpsat_limit))
            gap = (dp.objective - cp.objective) / dp.objective if cp.ok else None
            row += [t_cp, cp.status.value, f"{gap:.2e}" if gap is not None else "-", t_cp / t_dp]
        else:
            row += [None] * 4
        rows.append(row)
    print_table(
        "Multiple-choice knapsack, K=8, costs 0..20, budget halfway (dp = ours, numba)",
        [
            "N",
            "budget",
            "dp s",
            "dp obj",
            "HiGHS s",
            "HiGHS obj",
            "HiGHS/dp",
            "CP-SAT s",
            "CP-SAT status",
            "CP-SAT gap",
            "CP-SAT/dp",
        ],
        rows,
    )


def rollout_rows(cases):
    rows = []
    for n, w in cases:
        p = ob.RolloutAllocation.synthetic(n, w // n, seed=0)
        t_g, g = timed(lambda p=p: ob.solve(p, method="greedy"), repeat=5)
        t_d, d = timed(lambda p=p: ob.solve(p, method="dp"))
        row = [n, w, t_g * 1e3, g.objective, t_d, d.objective, t_d / t_g]
        if backend_available("highs"):
            t_m, m = timed(lambda p=p: ob.solve(p, method="mip", threads=1, time_limit=600))
            row += [t_m, m.objective, t_m / t_g]
        else:
            row += [None] * 3
        t_u, u = timed(lambda p=p: ob.solve(p, method="uniform"))
        row += [f"{g.objective / u.objective - 1:+.1%}"]
        rows.append(row)
    print_table(
        "Knapsack RL rollout allocation (greedy = ours, exact for concave values)",
        [
            "prompts",
            "rollouts",
            "greedy ms",
            "greedy obj",
            "dp s",
            "dp obj",
            "dp/greedy",
            "HiGHS s",
            "HiGHS obj",
            "HiGHS/greedy",
            "vs uniform",
        ],
        rows,
    )


def zero_one_rows(sizes):
    if not backend_available("ortools"):
        print("\n0/1 knapsack: OR-Tools not installed, skipped")
        return
    from ortools.algorithms.python import knapsack_solver

    rows = []
    for n in sizes:
        rng = np.random.default_rng(n)
        w = rng.integers(1, 100, n)
        v = w + rng.integers(0, 50, n)
        cap = int(w.sum() // 2)
        p = ob.MultipleChoiceKnapsack(values=np.stack([np.zeros(n), v], 1), costs=np.stack([np.zeros(n, int), w], 1), budget=cap)
        t_dp, dp = timed(lambda p=p: ob.solve(p, method="dp"))

        def ortools_solve(kind, v=v, w=w, cap=cap):
            s = knapsack_solver.KnapsackSolver(kind, "bench")
            s.init(v.tolist(), [w.tolist()], [cap])
            return s.solve()

        kinds = [
            ("DP", knapsack_solver.SolverType.KNAPSACK_DYNAMIC_PROGRAMMING_SOLVER),
            ("B&B", knapsack_solver.SolverType.KNAPSACK_MULTIDIMENSION_BRANCH_AND_BOUND_SOLVER),
        ]
        row = [n, cap, t_dp, dp.objective]
        for _, kind in kinds:
            t, val = timed(lambda kind=kind: ortools_solve(kind))
            row += [t, float(val), t / t_dp]
        rows.append(row)
    print_table(
        "0/1 knapsack (two options per group: skip, or take) vs OR-Tools KnapsackSolver",
        ["N", "capacity", "dp s", "dp obj", "OR DP s", "OR DP obj", "ORDP/dp", "OR B&B s", "OR B&B obj", "ORB&B/dp"],
        rows,
    )


# -- the peers table over Pisinger's classes ---------------------------------------------------------------------

ZERO_ONE_ROWS = [(kind, 10_000, 10_000) for kind in ob.knapsack_instances.ZERO_ONE_CLASSES] + [
    ("uncorrelated", 1_000, 1_000),
    ("strongly_correlated", 1_000, 1_000),
]
MCKP_ROWS = [(kind, 10_000, k) for k in (10, 100) for kind in ob.knapsack_instances.MULTIPLE_CHOICE_CLASSES] + [
    ("uncorrelated", 100, 10),
    ("weakly_correlated", 100, 10),
    ("strongly_correlated", 100, 10),
    ("weakly_correlated", 1_000, 100),
    ("monotone", 1_000, 100),
]
ZERO_ONE_QUICK = [("uncorrelated", 1_000, 1_000), ("strongly_correlated", 1_000, 1_000), ("subset_sum", 1_000, 1_000)]
MCKP_QUICK = [("uncorrelated", 100, 10), ("strongly_correlated", 100, 10)]

_MT2_SCRIPT = """
import sys, time, numpy as np
from mknapsack import solve_single_knapsack
d = np.load(sys.argv[1])
p, w, c = d["p"].tolist(), d["w"].tolist(), int(d["c"])
t0 = time.perf_counter()
x = solve_single_knapsack(p, w, c, method="mt2", method_kwargs={"require_exact": 1, "check_inputs": 1})
print(time.perf_counter() - t0, float(np.dot(d["p"], x)))
"""


def _child(fn, limit):
    """``fn()`` in a forked process: ``(seconds, result)``, or None when it runs past ``limit`` seconds."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()

    def target():
        t0 = time.perf_counter()
        try:
            res = fn()
        except Exception as exc:  # noqa: BLE001 - reported in the table
            res = ("error", f"{type(exc).__name__}: {exc}")
        out.put((time.perf_counter() - t0, res))

    proc = ctx.Process(target=target)
    proc.start()
    try:
        got = out.get(timeout=limit + 30)  # the solver's own limit, plus building the model
    except queue.Empty:
        got = None
    proc.kill()
    proc.join()
    return got if got is not None and got[0] <= limit + 1 else None


def _median_of_3(run, limit):
    """Median time of up to 3 runs of ``run() -> (seconds, objective) | None``; runs past ``limit`` (or over 2 s)
    are not repeated. Returns ``(cell, objective, seconds)``; ``seconds`` is ``inf`` past the limit and None when
    the run was refused or failed."""
    times, obj = [], None
    for _ in range(3):
        got = run()
        if got is None:
            if not times:
                return f">{limit:g} s", obj, np.inf
            break
        if isinstance(got, str):
            return got, None, None
        times.append(got[0])
        obj = got[1]
        if got[0] > 2.0:
            break
    return f"{np.median(times):.3g}", obj, float(np.median(times))


def _ratio(seconds, t_core, limit):
    """``seconds / t_core`` as a cell: '>' when the peer ran past ``limit``, '-' without a time."""
    if seconds is None or not np.isfinite(t_core):
        return "-"
    return f">{limit / t_core:.3g}x" if seconds == np.inf else f"{seconds / t_core:.3g}x"


def _fastest_ratio(peer_times, t_core, limit):
    """The fastest peer that finished, over core; '>' past the limit when none finished."""
    done = [t for t in peer_times if t is not None and np.isfinite(t)]
    if done:
        return _ratio(min(done), t_core, limit)
    return _ratio(np.inf, t_core, limit) if any(t == np.inf for t in peer_times) else "-"


def _ob_peer(p, method, limit, **kw):
    def run():
        got = _child(lambda: _ob_result(p, method, limit, **kw), limit)
        if got is None:
            return None
        secs, res = got
        if isinstance(res, tuple) and res[0] == "error":
            return "refused" if "InvalidProblemError" in res[1] else "error"
        status, objective = res
        return None if status != "optimal" else (secs, objective)

    return run


def _ob_result(p, method, limit, **kw):
    r = ob.solve(p, method=method, **kw)
    return r.status.value, (r.objective if r.ok else None)


def _ortools_peer(p, kind, limit):
    from ortools.algorithms.python import knapsack_solver

    w, v, cap = p.costs[:, 1].tolist(), p.values[:, 1].astype(np.int64).tolist(), int(p.budget)
    solver_type = {
        "B&B": knapsack_solver.SolverType.KNAPSACK_MULTIDIMENSION_BRANCH_AND_BOUND_SOLVER,
        "DP": knapsack_solver.SolverType.KNAPSACK_DYNAMIC_PROGRAMMING_SOLVER,
    }[kind]

    def solve_once():
        s = knapsack_solver.KnapsackSolver(solver_type, "bench")
        s.set_time_limit(float(limit))
        s.init(v, [w], [cap])
        value = float(s.solve())
        return ("optimal" if s.is_solution_optimal() else "limit"), value

    def run():
        got = _child(solve_once, limit)
        if got is None or got[1][0] != "optimal":
            return None
        return got[0], got[1][1]

    return run


def _mt2_python():
    """An interpreter that can import mknapsack: this one, or ``MKNAPSACK_PYTHON``; None when there is none."""
    for exe in (sys.executable, os.environ.get("MKNAPSACK_PYTHON")):
        if exe and subprocess.run([exe, "-c", "import mknapsack"], capture_output=True).returncode == 0:
            return exe
    return None


def _mt2_peer(p, exe, limit):
    def run():
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "kp.npz")
            np.savez(path, p=p.values[:, 1].astype(np.int64), w=p.costs[:, 1], c=np.int64(p.budget))
            try:
                out = subprocess.run([exe, "-c", _MT2_SCRIPT, path], capture_output=True, text=True, timeout=limit)
            except subprocess.TimeoutExpired:
                return None
        if out.returncode != 0:
            return "error"
        secs, value = out.stdout.split()
        return float(secs), float(value)

    return run


def _agreement(objectives):
    vals = [v for v in objectives if v is not None]
    if not vals:
        return "-"
    lo, hi = min(vals), max(vals)
    return f"all {len(vals)} agree" if hi - lo <= 1e-9 * max(1.0, abs(hi)) else f"DIFFER ({lo:.10g}..{hi:.10g})"


def _ours(p, limit):
    ob.solve(p, method="core", time_limit=min(limit, 5.0))  # once untimed, as each peer's child is warm too
    times, r = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        r = ob.solve(p, method="core", time_limit=limit)
        times.append(time.perf_counter() - t0)
        if times[-1] > 2.0:
            break
    assert r.x is not None and p.is_feasible(r.x)
    optimal = r.status is ob.Status.OPTIMAL
    cell = f"{np.median(times):.3g}" if optimal else f">{limit:g} s (gap {r.bound - r.objective:.3g})"
    return float(np.median(times)) if optimal else np.inf, cell, (r.objective if r.status is ob.Status.OPTIMAL else None), r


def peers_rows(zero_one, mckp, limit, core_limit):
    """The peers tables; times in seconds (medians of 3 unless over 2 s), '>L s' past the limit."""
    warm = ob.knapsack_instances.zero_one("uncorrelated", 20, R=100, seed=0)
    ob.solve(warm, method="core"), ob.solve(warm, method="dp"), ob.solve(warm, method="lp")  # JIT warm-up
    has_highs, has_ortools = backend_available("highs"), backend_available("ortools")
    mt2 = _mt2_python()
    rows = []
    for kind, n, R in zero_one:
        p = ob.knapsack_instances.zero_one(kind, n, R=R, seed=1)
        t_core, core_cell, core_obj, r = _ours(p, core_limit)
        row, objs, secs = [kind, n, R, core_cell], [core_obj], []
        for run in (
            _ob_peer(p, "dp", limit),
            _ob_peer(p, "mip", limit, threads=1, time_limit=limit) if has_highs else None,
            _ob_peer(p, "cpsat", limit, threads=1, time_limit=limit) if has_ortools else None,
            _ortools_peer(p, "B&B", limit) if has_ortools else None,
            _ortools_peer(p, "DP", limit) if has_ortools else None,
            _mt2_peer(p, mt2, limit) if mt2 else None,
        ):
            cell, obj, sec = _median_of_3(run, limit) if run else ("n/a", None, None)
            row.append(cell)
            objs.append(obj)
            secs.append(sec)
        mt2_ratio = (
            "-"
            if secs[-1] is None or not np.isfinite(t_core)
            else (f"<{t_core / limit:.3g}x" if secs[-1] == np.inf else f"{t_core / secs[-1]:.3g}x")
        )
        row += [
            _fastest_ratio(secs[:2], t_core, limit),
            _fastest_ratio(secs[:-1], t_core, limit),
            mt2_ratio,
            _agreement(objs),
            r.stats["core_size"],
            r.stats["max_states"],
        ]
        rows.append(row)
        print(row, flush=True, file=sys.stderr)
    if rows:
        print_table(
            f"0/1 knapsack, Pisinger's classes (seed 1, capacity half the weight): seconds, medians of 3; "
            f"core limit {core_limit:g} s, peers {limit:g} s",
            [
                "class",
                "n",
                "R",
                "core",
                "dp",
                "mip",
                "cpsat",
                "OR B&B",
                "OR DP",
                "MT2",
                "dp,mip/core",
                "others/core",
                "core/MT2",
                "optimum",
                "core size",
                "states",
            ],
            rows,
        )
    rows = []
    for kind, n, k in mckp:
        p = ob.knapsack_instances.multiple_choice(kind, n, k, R=1000, seed=1)
        t_core, core_cell, core_obj, r = _ours(p, core_limit)
        lp_times = []
        for _ in range(3):
            t0 = time.perf_counter()
            ob.solve(p, method="lp")
            lp_times.append(time.perf_counter() - t0)
        row, objs, secs = [kind, n, k, core_cell, f"{np.median(lp_times):.3g}"], [core_obj], []
        for run in (
            _ob_peer(p, "dp", limit),
            _ob_peer(p, "mip", limit, threads=1, time_limit=limit) if has_highs else None,
            _ob_peer(p, "cpsat", limit, threads=1, time_limit=limit) if has_ortools else None,
        ):
            cell, obj, sec = _median_of_3(run, limit) if run else ("n/a", None, None)
            row.append(cell)
            objs.append(obj)
            secs.append(sec)
        row += [
            _fastest_ratio(secs[:2], t_core, limit),
            _fastest_ratio(secs, t_core, limit),
            _agreement(objs),
            r.stats["core_size"],
            r.stats["max_states"],
        ]
        rows.append(row)
        print(row, flush=True, file=sys.stderr)
    if rows:
        print_table(
            f"Multiple-choice knapsack (R = 1,000, seed 1, budget halfway): seconds, medians of 3; core limit "
            f"{core_limit:g} s, peers {limit:g} s; lp is the LP bound (numba hull code)",
            [
                "class",
                "N",
                "K",
                "core",
                "lp",
                "dp",
                "mip",
                "cpsat",
                "dp,mip/core",
                "others/core",
                "optimum",
                "core size",
                "states",
            ],
            rows,
        )
    if mt2 is None and zero_one:
        print("\nMT2: mknapsack cannot be imported here (its wheels need NumPy 1.x); set MKNAPSACK_PYTHON")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--peers", action="store_true", help="the peers table over Pisinger's classes")
    ap.add_argument("--limit", type=float, default=10.0, help="seconds per peer run (--peers)")
    ap.add_argument("--core-limit", type=float, default=60.0, help="seconds per core run (--peers)")
    ap.add_argument("--tables", default="zero_one,mckp", help="which peers tables: zero_one, mckp or both")
    args = ap.parse_args(argv)
    if args.peers:
        tables = set(args.tables.split(","))
        zero_one, mckp = (ZERO_ONE_QUICK, MCKP_QUICK) if args.quick else (ZERO_ONE_ROWS, MCKP_ROWS)
        peers_rows(zero_one if "zero_one" in tables else [], mckp if "mckp" in tables else [], args.limit, args.core_limit)
    elif args.quick:
        mckp_rows([100, 1000], cpsat_limit=5)
        rollout_rows([(256, 2048)])
        zero_one_rows([1000])
    else:
        mckp_rows([100, 1000, 10000], cpsat_limit=30)
        rollout_rows([(256, 2048), (4096, 32768)])
        zero_one_rows([1000, 3000])  # OR-Tools DP is O(N·capacity): minutes beyond this


if __name__ == "__main__":
    main()
