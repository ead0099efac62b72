"""Online allocation benchmark: DMD (numba) against a plain numpy loop and the step-by-step policy, the hindsight
LP by dual cutting planes against the primal LP (HiGHS), reward/OPT and regret/T of dmd, greedy and fluid on
the network-revenue-management generator and the AdX display-ad instances, and the reward-fairness trade-off of
max-min fair DMD (Balseiro, Lu, Mirrokni, ICML 2021) as λ varies, against greedy and unregularised DMD.

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
    print_table(
        f"DMD, matching form, T = {horizon:,}, m = 10{scaled}",
        ["implementation", "seconds", "x slower than numba"],
        [
            ["dmd (numba kernel, ours)", t_dmd, 1.0],
            ["plain numpy loop", t_np, t_np / t_dmd],
            ["DualMirrorDescent.step loop (ours)", t_pol, t_pol / t_dmd],
        ],
    )
    if not backend_available("highs"):
        return
    rows = []
    for T in ([10_000, 50_000] if horizon >= 10**6 else [10_000]) + [horizon]:
        q = gen.iid_matching(T, 10, seed=2)
        t_cut, cut = timed(lambda q=q: ob.solve(q, method="hindsight_lp", options={"formulation": "dual"}))
        if T <= 50_000:
            t_pr, pr = timed(lambda q=q: ob.solve(q, method="hindsight_lp", options={"formulation": "primal"}))
            rel = abs(cut.objective - pr.objective) / pr.objective
            rows.append([T, t_cut, cut.stats["iterations"], t_pr, t_pr / t_cut, f"{rel:.1e}"])
        else:
            rows.append([T, t_cut, cut.stats["iterations"], None, None, "-"])
    print_table(
        "Hindsight LP, m = 10: Kelley cutting planes on the dual (ours) vs the primal LP (HiGHS)",
        ["T", "cutting planes s", "iterations", "primal LP s", "primal/ours", "rel. difference"],
        rows,
    )


def quality_rows(name, make, horizons, seeds):
    rows = []
    for T in horizons:
        out = {m: [] for m in ("dmd", "greedy", "fluid")}
        for s in range(seeds):
            p = make(T, s)
            hind = None
            for method in out:
                r = ob.solve(p, method=method, options={"benchmark": "hindsight_lp"} if hind is None else {"benchmark": "none"})
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
    rows += quality_rows(
        "NRM m=100, d=10",
        lambda T, s: gen.network_revenue_management(T, 100, 10, seed=s),
        [T for T in horizons if T <= 10_000],
        seeds,
    )
    if DATA.is_dir():
        from orbudget.problems.adx import load_adx, load_adx_sample, replay

        sample = load_adx_sample(DATA)
        pub1 = load_adx(1, DATA)
        rows += quality_rows(
            "AdX pub1 sample (replay)", lambda T, s: pub1.problem(qualities=replay(sample, T, seed=s)), horizons, seeds
        )
        for pub in (2, 5):
            data = load_adx(pub, DATA)
            rows += quality_rows(
                f"AdX pub{pub} (generated)",
                lambda T, s, d=data: d.problem(T, seed=s),
                [T for T in horizons if T <= 100_000],
                seeds,
            )
    else:
        print(f"\n(AdX data not found at {DATA}: AdX rows skipped)")
    head = ["instance", "T"]
    for m in ("dmd", "greedy", "fluid"):
        head += [f"{m} R/OPT", f"{m} regret/T"]
    print_table(f"Reward / hindsight LP and regret per request (median of {seeds} seeds)", head, rows)


FAIRNESS_WEIGHTS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0)


def fairness_rows(name, p, weights=FAIRNESS_WEIGHTS):
    """Rows (and records for a figure) of the trade-off on one instance: per λ, max-min fair DMD against greedy and
    unregularised DMD, each scored on the regularised objective, with the regularised hindsight bound (min D)."""
    rows, records = [], []
    plain = ob.solve(p, method="dmd", options={"benchmark": "none"})
    greedy = ob.solve(p, method="greedy", options={"benchmark": "none"})
    for lam in weights:
        q = ob.OnlineAllocation(
            rewards=p.rewards, consumption=p.consumption, budgets=p.budgets, regularizer=ob.regularizers.MaxMinFairness(lam)
        )
        r = ob.solve(q, method="dmd", options={"benchmark": "dual_bound"})
        assert q.is_feasible(r.x)
        bound = r.stats["hindsight"]
        row = [name, lam]
        for label, x in (("fair DMD", r.x), ("DMD", plain.x), ("greedy", greedy.x)):
            share = float((q.consumption_of(x) / q.budgets).min())
            value = q.value_of(x)
            row += [f"{q.reward_of(x):.1f}", f"{share:.3f}", f"{value:.1f}"]
            records.append(
                {
                    "instance": name,
                    "lambda": lam,
                    "method": label,
                    "reward": q.reward_of(x),
                    "min_share": share,
                    "objective": value,
                }
            )
        rows.append(row + [f"{bound:.1f}", f"{(bound - r.objective) / bound:.4f}"])
    return rows, records


def fairness(horizon: int, figure: str | None = None):
    """The reward-fairness trade-off on i.i.d. matching and the AdX publishers (paper settings: Σρ = 1.5)."""
    cases = [("iid matching, m=10", gen.iid_matching(horizon, 10, seed=0))]
    if DATA.is_dir():
        from orbudget.problems.adx import load_adx

        for pub in (2, 5):
            cases.append((f"AdX pub{pub} (generated)", load_adx(pub, DATA).problem(horizon, seed=0)))
    rows, records = [], []
    for name, p in cases:
        more, recs = fairness_rows(name, p)
        rows += more
        records += recs
    head = ["instance", "λ"]
    for label in ("fair DMD", "DMD", "greedy"):
        head += [f"{label} reward", f"{label} min share", f"{label} objective"]
    print_table(
        f"Max-min fairness r(a) = λ·min_j a_j/ρ_j, T = {horizon}: reward, worst share of a budget, and the "
        "regularised objective; bound = min D(μ) (regularised hindsight LP)",
        head + ["bound", "fair gap"],
        rows,
    )
    q = cases[0][1]
    fair = ob.OnlineAllocation(rewards=q.rewards, budgets=q.budgets, regularizer=ob.regularizers.MaxMinFairness(0.1))
    ob.solve(fair, method="dmd", options={"benchmark": "none"})  # JIT warm-up
    t_kernel, _ = timed(lambda: ob.solve(fair, method="dmd", options={"benchmark": "none"}), repeat=3)
    n = min(horizon, 20_000)
    pol = ob.DualMirrorDescent(q.budgets, q.horizon, regularizer=ob.regularizers.MaxMinFairness(0.1))
    t_step, _ = timed(lambda: [pol.step(q.rewards[t]) for t in range(n)])
    print_table(
        "Regularised DMD per request (max-min fairness, m = 10)",
        ["path", "µs per request", "ratio"],
        [
            ["numba kernel (ob.solve)", f"{t_kernel / horizon * 1e6:.3f}", 1.0],
            ["DualMirrorDescent.step", f"{t_step / n * 1e6:.2f}", f"{(t_step / n) / (t_kernel / horizon):.0f}"],
        ],
    )
    if figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from orbudget.plot import frontier

        names = [c[0] for c in cases]
        fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
        for ax, name in zip(axes[0], names):
            frontier([r for r in records if r["instance"] == name], "min_share", "reward", by="method", ax=ax)
            ax.set_title(name, fontsize=10)
            ax.set_xlabel("worst resource's share of its budget")
        fig.tight_layout()
        fig.savefig(figure, dpi=110)
        print(f"\nfigure written to {figure}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (CI smoke run)")
    ap.add_argument("--figure", help="write the reward-fairness trade-off figure (PNG) to this path")
    args = ap.parse_args(argv)
    if args.quick:
        speed(100_000, 20_000)
        quality([1_000, 10_000], 2)
        fairness(5_000, args.figure)
    else:
        speed(1_000_000, 1_000_000)
        quality([1_000, 10_000, 100_000], 5)
        fairness(100_000, args.figure)


if __name__ == "__main__":
    main()
