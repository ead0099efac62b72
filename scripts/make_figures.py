"""Make the docs' figures (docs/figures/*.png), one per family, with the plotting helpers that ship
(`orbudget.plot`). The online allocation figure comes from `benchmarks/online.py --figure`. About a minute.

    python scripts/make_figures.py [FAMILY ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import orbudget as ob  # noqa: E402
from orbudget import plot  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "figures"


def knapsack(ax):
    p = ob.RolloutAllocation.synthetic(400, 8, seed=0, max_rollouts=64)
    plot.allocation(p, ob.solve(p), ax=ax)


def bidding(ax):
    from orbudget.solvers.numba.bidding import rlb_table

    c = ob.BiddingCampaign.synthetic(n_test=2000, n_train=20_000, episode_length=200, budget_fraction=1 / 4, seed=3)
    plot.bid_curves(c, rlb_table(c, exact=True), t=150, budgets=[20, 100, c.budget], ax=ax)


def bidding_values(ax):
    from orbudget.solvers.numba.bidding import rlb_table

    c = ob.BiddingCampaign.synthetic(n_test=2000, n_train=20_000, episode_length=200, budget_fraction=1 / 4, seed=3)
    plot.value_heatmap(rlb_table(c, exact=True), ax=ax, title="RLB's value V(t, b): expected clicks to come")


def online_spend(ax):
    p = ob.online_inputs.iid_matching(5_000, 3, seed=0)
    plot.spend_paths(p, ob.solve(p, method="dmd"), ax=ax)


def bwk(ax):
    records = []
    for horizon in (1_000, 3_000, 10_000, 30_000):
        for method in ("primal_dual", "ucb_bwk", "explore_first"):
            for seed in range(3):
                p = ob.BanditsWithKnapsacks.random(8, 2, horizon=horizon, seed=100 + seed)
                r = ob.solve(p, method=method, seed=seed)
                records.append({"horizon": horizon, "method": method, "seed": seed, "regret": max(r.stats["regret"], 1e-9)})
    plot.regret_curve(records, ax=ax)
    ax.set_title("BwK: regret against OPT_LP (mean over 3 instances)", fontsize=9)


def rmab(ax):
    p = ob.CoupledRMAB.budget(8, 2, seed=0, horizon=20, episodes=200)
    results = {m: ob.solve(p, method=m, seed=0) for m in ("index", "myopic", "random")}
    results["sequoia"] = ob.solve(p, method="sequoia", seed=0, options={"episodes": 60, "device": "cpu"})
    plot.methods(results, ax=ax, ylabel="mean reward per step")
    ax.set_title("Coupled RMAB (8 arms, budget 2): SEQUOIA and baselines", fontsize=9)


def rco(ax):
    p = ob.BudgetedAssignment.separable(12, seed=0)
    results = {m: ob.solve(p, method=m, seed=0) for m in ("proxy_dp", "uniform")}
    results["rco"] = ob.solve(p, method="rco", seed=0, options={"steps": 300})
    results["penalty"] = ob.solve(p, method="penalty", seed=0, options={"steps": 300})
    plot.methods(results, ax=ax, ylabel="loss (lower is better)")
    ax.set_title("Budgeted assignment (12 groups): RCO against the penalty method", fontsize=9)


def llm(ax):
    p = ob.SampleAllocation.random(60, seed=0)
    results = {m: ob.solve(p, method=m) for m in ("greedy", "uniform", "proportional")}
    plot.methods(results, ax=ax, ylabel="expected share solved (pass@k)")
    ax.set_title("Sample allocation (60 questions)", fontsize=9)


FIGURES = {
    "knapsack_allocation": knapsack,
    "bidding_bids": bidding,
    "bidding_values": bidding_values,
    "online_spend": online_spend,
    "bwk_regret": bwk,
    "rmab_methods": rmab,
    "rco_methods": rco,
    "llm_methods": llm,
}


def main(names: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in FIGURES.items():
        if names and not any(name.startswith(n) for n in names):
            continue
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
        make(ax)
        fig.tight_layout()
        fig.savefig(OUT / f"{name}.png", dpi=100)
        plt.close(fig)
        print(f"wrote {OUT / name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
