"""Bandits-with-knapsacks benchmark: rounds per second of each policy, numba kernel vs its plain-Python twin, and
reward / OPT_LP at T = 1e3..1e6 for K = 10 arms, d = 3 resources, B = T/4 (median over seeds).

No library ships a BwK policy to compare against (SMPyBandits and MABWiser have none, reference §0), so the peer
is the same code in plain Python: a subprocess with ``NUMBA_DISABLE_JIT=1``.

Run: ``python benchmarks/bwk.py`` (``--quick`` for smaller sizes), or ``orbudget bench bwk``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

import orbudget as ob
from orbudget.core.registry import backend_available

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _table import print_table, timed  # noqa: E402

METHODS = ["primal_dual", "lagrange", "best_of_both", "ucb_bwk", "explore_first", "ucb"]


PYTHON_RATES = """
import json, sys, time
import orbudget as ob
q = ob.BanditsWithKnapsacks.random(10, 3, horizon=int(sys.argv[1]), seed=0)
out = {}
for m in sys.argv[2:]:
    t0 = time.perf_counter()
    r = ob.solve(q, method=m, seed=0, options={"benchmark": False})
    out[m] = r.stats["rounds"] / (time.perf_counter() - t0)
print(json.dumps(out))
"""


def speed(horizon: int, python_horizon: int):
    rows = []
    p = ob.BanditsWithKnapsacks.random(10, 3, horizon=horizon, seed=0)
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    python_rates = json.loads(
        subprocess.run(
            [sys.executable, "-c", PYTHON_RATES, str(python_horizon), *METHODS],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    for method in METHODS:
        ob.solve(
            ob.BanditsWithKnapsacks.random(10, 3, horizon=200, seed=1), method=method, options={"benchmark": False}
        )  # JIT warm-up
        t_fast, fast = timed(lambda m=method: ob.solve(p, method=m, seed=0, options={"benchmark": False}))
        fast_rate = fast.stats["rounds"] / t_fast
        slow_rate = python_rates[method]
        rows.append(
            [method, fast.stats["rounds"], t_fast, f"{fast_rate:,.0f}", f"{slow_rate:,.0f}", f"{fast_rate / slow_rate:.0f}"]
        )
    print_table(
        f"Rounds per second, K = 10, d = 3, B = T/4 (numba: T = {horizon:,}; "
        f"plain Python, NUMBA_DISABLE_JIT=1: T = {python_horizon:,})",
        ["policy", "rounds played", "numba s", "numba rounds/s", "Python rounds/s", "speed-up"],
        rows,
    )


def quality(horizons, seeds):
    rows = []
    for horizon in horizons:
        row = [horizon]
        for method in METHODS:
            ratios = []
            for s in range(seeds):
                p = ob.BanditsWithKnapsacks.random(10, 3, horizon=horizon, seed=1000 + s)
                r = ob.solve(p, method=method, seed=s)
                ratios.append(r.objective / r.stats["opt_lp"])
            row.append(f"{np.median(ratios):.3f}")
        rows.append(row)
    print_table(f"Reward / OPT_LP, K = 10, d = 3, B = T/4 (median of {seeds} random instances)", ["T", *METHODS], rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (CI smoke run)")
    args = ap.parse_args(argv)
    if not backend_available("highs"):
        print("(HiGHS not installed: OPT_LP and the LP-based policies are skipped)")
        return
    if args.quick:
        speed(100_000, 5_000)
        quality([1_000, 10_000], 3)
    else:
        speed(1_000_000, 20_000)
        quality([1_000, 10_000, 100_000, 1_000_000], 5)


if __name__ == "__main__":
    main()
