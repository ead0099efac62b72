"""Bidding benchmark: the RLB value DP (T = 1,000, B = 10,000, δmax = 300) in numba against numpy, a pure-Python
loop in the reference code's style and the torch batched DP; then clicks of every method on iPinYou campaign 2997
at every budget fraction (the paper's small-scale table for one campaign), and expected clicks on a synthetic market.

Run: ``python benchmarks/bidding.py`` (``--quick`` for smaller sizes), or ``orbudget bench bidding``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import orbudget as ob
from orbudget.core.registry import backend_available
from orbudget.problems.bidding import BUDGET_FRACTIONS
from orbudget.solvers.numba._bidding import value_table

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _table import print_table, timed  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ipinyou"
METHODS = ["rlb", "rlb_exact", "rlb_nn", "ss_mdp", "linear", "ortb", "dual_pacing", "mcpc", "constant", "random"]


def numpy_table(horizon, budget, pmf, theta):
    """θ̄-DP vectorised over b for each δ (positive-part form), V(t, 0) = 0."""
    v = np.zeros((horizon, budget + 1))
    for t in range(1, horizon):
        prev = v[t - 1]
        row = prev.copy()
        for d in range(min(budget, pmf.size - 1) + 1):
            gain = np.maximum(theta + prev[: budget + 1 - d] - prev[d:], 0.0)
            row[d:] += pmf[d] * gain
        row[0] = 0.0
        v[t] = row
    return v


def python_table(horizon, budget, pmf, theta):
    """The reference code's style: plain lists, break at the first negative term, V(t, 0) = 0."""
    pmf = pmf.tolist()
    max_bid = len(pmf) - 1
    prev = [0.0] * (budget + 1)
    for _ in range(1, horizon):
        row = [0.0] * (budget + 1)
        for b in range(1, budget + 1):
            total = 0.0
            for d in range(min(b, max_bid) + 1):
                g = theta + prev[b - d] - prev[b]
                if g < 0:
                    break
                total += pmf[d] * g
            row[b] = prev[b] + total
        prev = row
    return prev


def dp_speed(horizon, budget, python_horizon):
    c = ob.BiddingCampaign.synthetic(n_test=10, n_train=200_000, max_bid=300, seed=0)
    pmf, theta = np.ascontiguousarray(c.market_price), c.ctr_mean * 20  # a higher CTR: fewer early breaks
    value_table(5, 50, pmf, theta, True)  # JIT warm-up
    t_nb, v = timed(lambda: value_table(horizon, budget, pmf, theta, True))
    t_np, vn = timed(lambda: numpy_table(horizon, budget, pmf, theta))
    t_py, vp = timed(lambda: python_table(python_horizon, budget, pmf, theta))
    assert np.allclose(v, vn, atol=1e-9) and np.allclose(vp, v[python_horizon - 1], atol=1e-9)
    t_py *= (horizon - 1) / (python_horizon - 1)
    rows = [
        ["numba (ours)", t_nb, 1.0],
        ["numpy, vectorised over b", t_np, t_np / t_nb],
        [f"pure Python (timed on T = {python_horizon}, scaled)", t_py, t_py / t_nb],
    ]
    if backend_available("torch"):
        from orbudget.solvers.torch.bidding import default_device, value_tables

        t_th, _ = timed(lambda: value_tables(pmf, theta, horizon, budget))
        rows.append([f"torch batched DP, 1 campaign ({default_device()})", t_th, t_th / t_nb])
        pmfs = np.stack([pmf] * 8)
        t_th8, _ = timed(lambda: value_tables(pmfs, [theta] * 8, horizon, budget))
        rows.append([f"torch batched DP, 8 campaigns ({default_device()})", t_th8, t_th8 / t_nb])
        rows.append(["numba, 8 campaigns one after another", 8 * t_nb, 8.0])
    print_table(f"RLB value DP, T = {horizon:,}, B = {budget:,}, δmax = 300", ["implementation", "seconds", "x numba"], rows)


def table_for(campaign_at, title, value_name, fractions=BUDGET_FRACTIONS):
    rows = []
    for f in fractions:
        c = campaign_at(f)
        row = [f"1/{round(1 / f)}", c.budget]
        for m in METHODS:
            if m == "rlb_nn" and not backend_available("torch"):
                row.append(None)
                continue
            r = ob.solve(c, method=m, seed=0)
            assert r.stats["max_episode_spend"] <= c.budget
            row.append(f"{r.objective:.1f}")
        rows.append(row)
    print_table(f"{title}: {value_name} per method and budget fraction c0", ["c0", "B", *METHODS], rows)


def large_scale(n_test, horizon, fractions):
    """Episodes too long for a T×B table: RLB-NN-MapD against the baselines that need no table."""
    base = ob.BiddingCampaign.synthetic(n_test=n_test, n_train=200_000, episode_length=horizon, ctr_spread=1.0, seed=2)
    methods = ["rlb_nn", "linear", "dual_pacing", "ortb", "mcpc"] if backend_available("torch") else ["linear", "dual_pacing"]
    rows = []
    for f in fractions:
        c = base.with_budget(fraction=f)
        row = [f"1/{round(1 / f)}", c.budget]
        for m in methods:
            r = ob.solve(c, method=m, seed=0)
            assert r.stats["max_episode_spend"] <= c.budget
            row.append(f"{r.objective:.1f}")
        rows.append(row)
    print_table(
        f"Large scale: synthetic σc = 1, episodes of T = {horizon:,} ({n_test // horizon} episodes), expected clicks",
        ["c0", "B", *methods],
        rows,
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (CI smoke run)")
    args = ap.parse_args(argv)
    dp_speed(200 if args.quick else 1000, 2000 if args.quick else 10_000, 5 if args.quick else 20)
    fractions = (1 / 32, 1 / 8) if args.quick else BUDGET_FRACTIONS
    folder = DATA / "2997"
    if folder.is_dir():
        table_for(
            lambda f: ob.BiddingCampaign.from_ipinyou(folder, 1000, f),
            "iPinYou 2997, T = 1000, 157 episodes",
            "clicks",
            fractions,
        )
    else:
        print(f"\n(iPinYou data not found at {folder}: campaign table skipped)")
    n_test = 50_000 if args.quick else 200_000
    base = ob.BiddingCampaign.synthetic(n_test=n_test, n_train=100_000, ctr_spread=1.0, seed=1)
    table_for(
        lambda f: base.with_budget(fraction=f), f"synthetic σc = 1, {n_test // 1000} episodes", "expected clicks", fractions
    )
    if args.quick:
        large_scale(200_000, 50_000, (1 / 32,))
    else:
        large_scale(1_000_000, 100_000, (1 / 32, 1 / 8, 1 / 2))


if __name__ == "__main__":
    main()
