"""Online allocation benchmark: DMD (numba) against a plain numpy loop and the step-by-step policy, the hindsight
LP by dual cutting planes against the primal LP (HiGHS), and reward/OPT and regret/T of dmd, greedy and fluid on
the network-revenue-management generator and the AdX display-ad instances.

Run: ``python benchmarks/online.py`` (``--quick`` for smaller sizes), or ``orbudget bench online``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

import orbudget as ob
from orbudget.core.registry import backend_available
from orbudget.problems import online_inputs as gen

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _table import print_table, timed  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "adx"


def numpy_loop(rewards: np.ndarray, budgets: np.ndarray, step_size: float):
    """DMD (Euclidean reference, matching form) as one would write it with numpy, one request at a time."""
    horizon, m = rewards.shape
    rate = budgets / horizon
    mu = np.zeros(m)
    remaining = budgets.astype(float).copy()
    total = 0.0
    for t in range(horizon):
        scores = rewards[t] - mu
        k = int(np.argmax(scores))
        use = np.zeros(m)
        if scores[k] > 0:
            use[k] = 1.0
            if remaining[k] >= 1.0:
                remaining[k] -= 1.0
                total += rewards[t, k]
        mu = np.maximum(mu - step_size * (rate - use), 0.0)
    return total


def speed(horizon: int, loop_horizon: int):
    p = gen.iid_matching(horizon, 10, seed=0)
    ob.solve(gen.iid_matching(100, 10, seed=1), method="dmd", options={"benchmark": "none"})  # JIT warm-up
    t_dmd, r = timed(lambda: ob.solve(p, method="dmd", options={"benchmark": "none"}), repeat=3)
    eta = 1 / math.sqrt(horizon)
    sub = p.rewards[:loop_horizon]
    t_np, _ = timed(lambda: numpy_loop(sub, p.budgets, eta))
    t_np *= horizon / loop_horizon
    pol = ob.DualMirrorDescent(p.budgets, horizon)

    def policy_loop():
        for t in range(loop_horizon):
            pol.step(sub[t])

    t_pol, _ = timed(policy_loop)
    t_pol *= horizon / loop_horizon
    scaled = "" if loop_horizon == horizon else f" (loops timed on {loop_horizon:,} requests, scaled)"
    print_table(f"DMD, matching form, T = {horizon:,}, m = 10{scaled}",
                ["implementation", "seconds", "x slower than numba"],
                [["dmd (numba kernel, ours)", t_dmd, 1.0], ["plain numpy loop", t_np, t_np / t_dmd],
                 ["DualMirrorDescent.step loop (ours)", t_pol, t_pol / t_dmd]])
    if not backend_available("highs"):
        return
    rows = []
    for T in ([10_000, 50_000] if horizon >= 10**6 else [10_000]) + [horizon]:
        q = gen.iid_matching(T, 10, seed=2)
        t_cut, cut = timed(lambda q=q: ob.solve(q, method="hindsight_lp", options={"form": "dual"}))
        if T <= 50_000:
            t_pr, pr = timed(lambda q=q: ob.solve(q, method="hindsight_lp", options={"form": "primal"}))
            rel = abs(cut.objective - pr.objective) / pr.objective
            rows.append([T, t_cut, cut.stats["iterations"], t_pr, t_pr / t_cut, f"{rel:.1e}"])
        else:
            rows.append([T, t_cut, cut.stats["iterations"], None, None, "-"])
    print_table("Hindsight LP, m = 10: Kelley cutting planes on the dual (ours) vs the primal LP (HiGHS)",
                ["T", "cutting planes s", "iterations", "primal LP s", "primal/ours", "rel. difference"], rows)


def quality_rows(name, make, horizons, seeds):
    rows = []
    for T in horizons:
        out = {m: [] for m in ("dmd", "greedy", "fluid")}
        for s in range(seeds):
            p = make(T, s)
            hind = None
            for method in out:
                r = ob.solve(p, method=method, options={"benchmark": "hindsight_lp"} if hind is None else
                             {"benchmark": "none"})
                hind = r.stats["hindsight"] if hind is None else hind
                assert p.is_feasible(r.x)
                out[method].append((r.objective / hind, (hind - r.objective) / T))
        row = [name, T]
        for method in out:
            vals = np.array(out[method])
            row += [f"{np.median(vals[:, 0]):.4f}", f"{np.median(vals[:, 1]):.2e}"]
        rows.append(row)
    return rows


def quality(horizons, seeds):
    rows = quality_rows("iid matching, m=10", lambda T, s: gen.iid_matching(T, 10, seed=s), horizons, seeds)
    rows += quality_rows("NRM m=100, d=10", lambda T, s: gen.network_revenue_management(T, 100, 10, seed=s),
                         [T for T in horizons if T <= 10_000], seeds)
    if DATA.is_dir():
        from orbudget.problems.adx import load_adx, load_adx_sample, replay

        sample = load_adx_sample(DATA)
        pub1 = load_adx(1, DATA)
        rows += quality_rows("AdX pub1 sample (replay)", lambda T, s: pub1.problem(qualities=replay(sample, T, seed=s)),
                             horizons, seeds)
        for pub in (2, 5):
            data = load_adx(pub, DATA)
            rows += quality_rows(f"AdX pub{pub} (generated)", lambda T, s, d=data: d.problem(T, seed=s),
                                 [T for T in horizons if T <= 100_000], seeds)
    else:
        print(f"\n(AdX data not found at {DATA}: AdX rows skipped)")
    head = ["instance", "T"]
    for m in ("dmd", "greedy", "fluid"):
        head += [f"{m} R/OPT", f"{m} regret/T"]
    print_table(f"Reward / hindsight LP and regret per request (median of {seeds} seeds)", head, rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (CI smoke run)")
    args = ap.parse_args(argv)
    if args.quick:
        speed(100_000, 20_000)
        quality([1_000, 10_000], 2)
    else:
        speed(1_000_000, 1_000_000)
        quality([1_000, 10_000, 100_000], 5)


if __name__ == "__main__":
    main()
