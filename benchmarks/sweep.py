"""Solving many at once: 1,000 small multiple-choice knapsacks sequentially, in one batched numba call and on a
local process pool; then a sweep of the online-allocation regret experiment sequentially and on a 2-worker Dask
cluster, side by side with ratios.

Run: ``python benchmarks/sweep.py`` (``--quick`` for smaller sizes), or ``orbudget bench sweep``.
"""

from __future__ import annotations

import argparse
import sys

import orbudget as ob
from orbudget.core.registry import module_available
from orbudget.experiments import online_regret

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _table import print_table, timed  # noqa: E402


def knapsacks(count: int):
    problems = [ob.MultipleChoiceKnapsack.random(20, 8, max_cost=20, seed=s) for s in range(count)]
    ob.solve_many(problems[:4], progress=False)  # JIT warm-up (batched kernel)
    ob.solve(problems[0], method="dp")
    t_seq, seq = timed(lambda: [ob.solve(p, method="dp") for p in problems])
    t_bat, bat = timed(lambda: ob.solve_many(problems, progress=False))
    t_pool, pool = timed(lambda: ob.solve_many(problems, method="dp", executor="process", batch=False, progress=False))
    assert all(abs(a.objective - b.objective) < 1e-9 and abs(a.objective - c.objective) < 1e-9 for a, b, c in zip(seq, bat, pool))
    print_table(
        f"{count:,} multiple-choice knapsacks (N = 20, K = 8), exact DP",
        ["how", "seconds", "problems/s", "x sequential"],
        [
            ["sequential ob.solve", t_seq, f"{count / t_seq:,.0f}", 1.0],
            ["solve_many, batched numba (ours)", t_bat, f"{count / t_bat:,.0f}", t_seq / t_bat],
            ["solve_many, process pool", t_pool, f"{count / t_pool:,.0f}", t_seq / t_pool],
        ],
    )


def dask_sweep(horizons, seeds):
    grid = {"horizon": horizons, "method": ["dmd", "greedy"]}
    t_seq, seq = timed(lambda: ob.sweep(online_regret, grid, seeds=seeds, executor="serial", progress=False, as_frame=False))
    rows = [["sequential (one process)", t_seq, 1.0]]
    if module_available("distributed"):
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                client.run(
                    lambda: __import__("orbudget").solve(
                        __import__("orbudget").online_inputs.iid_matching(100, 2, seed=0), method="dmd"
                    )
                )  # warm the workers' JIT caches
                t_dask, on_dask = timed(
                    lambda: ob.sweep(online_regret, grid, seeds=seeds, executor=client, progress=False, as_frame=False)
                )
        same = all(abs(a["regret"] - b["regret"]) < 1e-6 for a, b in zip(seq, on_dask))
        rows.append([f"Dask LocalCluster, 2 workers (same records: {same})", t_dask, t_seq / t_dask])
    else:
        rows.append(["Dask not installed (pip install 'orbudget[cluster]')", None, None])
    n = len(horizons) * 2 * seeds
    print_table(
        f"Sweep of online_regret: {n} points (T in {horizons}, dmd and greedy, {seeds} seeds)",
        ["executor", "seconds", "speed-up"],
        rows,
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (CI smoke run)")
    args = ap.parse_args(argv)
    knapsacks(200 if args.quick else 1000)
    dask_sweep([1_000, 10_000] if args.quick else [10_000, 100_000, 1_000_000], 2 if args.quick else 4)


if __name__ == "__main__":
    main()
