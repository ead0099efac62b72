"""Knapsack family benchmark: ours against HiGHS, CP-SAT and OR-Tools' KnapsackSolver, side by side.

Run: ``python benchmarks/knapsack.py`` (``--quick`` for smaller sizes), or ``orbudget bench knapsack``.
Every row checks that the returned choice is within budget and prints the objective of each tool.
"""

from __future__ import annotations

import argparse
import sys

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
        t_dp, dp = timed(lambda: ob.solve(p, method="dp"))
        assert p.is_feasible(dp.x)
        row = [n, p.budget, t_dp, dp.objective]
        if backend_available("highs"):
            t_mip, mip = timed(lambda: ob.solve(p, method="mip", threads=1, time_limit=600))
            row += [t_mip, mip.objective, t_mip / t_dp]
        else:
            row += [None] * 3
        if backend_available("ortools"):
            t_cp, cp = timed(lambda: ob.solve(p, method="cpsat", time_limit=cpsat_limit))
            gap = (dp.objective - cp.objective) / dp.objective if cp.ok else None
            row += [t_cp, cp.status.value, f"{gap:.2e}" if gap is not None else "-", t_cp / t_dp]
        else:
            row += [None] * 4
        rows.append(row)
    print_table("Multiple-choice knapsack, K=8, costs 0..20, budget halfway (dp = ours, numba)",
                ["N", "budget", "dp s", "dp obj", "HiGHS s", "HiGHS obj", "HiGHS/dp", "CP-SAT s",
                 "CP-SAT status", "CP-SAT gap", "CP-SAT/dp"], rows)


def rollout_rows(cases):
    rows = []
    for n, w in cases:
        p = ob.RolloutAllocation.synthetic(n, w // n, seed=0)
        t_g, g = timed(lambda: ob.solve(p, method="greedy"), repeat=5)
        t_d, d = timed(lambda: ob.solve(p, method="dp"))
        row = [n, w, t_g * 1e3, g.objective, t_d, d.objective, t_d / t_g]
        if backend_available("highs"):
            t_m, m = timed(lambda: ob.solve(p, method="mip", threads=1, time_limit=600))
            row += [t_m, m.objective, t_m / t_g]
        else:
            row += [None] * 3
        t_u, u = timed(lambda: ob.solve(p, method="uniform"))
        row += [f"{g.objective / u.objective - 1:+.1%}"]
        rows.append(row)
    print_table("Knapsack RL rollout allocation (greedy = ours, exact for concave values)",
                ["prompts", "rollouts", "greedy ms", "greedy obj", "dp s", "dp obj", "dp/greedy", "HiGHS s",
                 "HiGHS obj", "HiGHS/greedy", "vs uniform"], rows)


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
        p = ob.MultipleChoiceKnapsack(values=np.stack([np.zeros(n), v], 1), costs=np.stack([np.zeros(n, int), w], 1),
                                      budget=cap)
        t_dp, dp = timed(lambda: ob.solve(p, method="dp"))

        def ortools_solve(kind):
            s = knapsack_solver.KnapsackSolver(kind, "bench")
            s.init(v.tolist(), [w.tolist()], [cap])
            return s.solve()

        kinds = [("DP", knapsack_solver.SolverType.KNAPSACK_DYNAMIC_PROGRAMMING_SOLVER),
                 ("B&B", knapsack_solver.SolverType.KNAPSACK_MULTIDIMENSION_BRANCH_AND_BOUND_SOLVER)]
        row = [n, cap, t_dp, dp.objective]
        for _, kind in kinds:
            t, val = timed(lambda kind=kind: ortools_solve(kind))
            row += [t, float(val), t / t_dp]
        rows.append(row)
    print_table("0/1 knapsack (two options per group: skip, or take) vs OR-Tools KnapsackSolver",
                ["N", "capacity", "dp s", "dp obj", "OR DP s", "OR DP obj", "ORDP/dp", "OR B&B s", "OR B&B obj",
                 "ORB&B/dp"], rows)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        mckp_rows([100, 1000], cpsat_limit=5)
        rollout_rows([(256, 2048)])
        zero_one_rows([1000])
    else:
        mckp_rows([100, 1000, 10000], cpsat_limit=30)
        rollout_rows([(256, 2048), (4096, 32768)])
        zero_one_rows([1000, 3000])  # OR-Tools DP is O(N·capacity): minutes beyond this


if __name__ == "__main__":
    main()
