"""Ready-made experiments for sweeps: module-level functions (so process pools and Dask workers can import them)
that build an instance from a few parameters, solve it, and return flat metrics.

Examples:
    >>> from orbudget.experiments import knapsack_frontier
    >>> sorted(knapsack_frontier(n_groups=10, budget_fraction=0.5, seed=0))
    ['budget', 'cost', 'greedy_gap', 'lp_bound', 'value']
"""

from __future__ import annotations

from .core.solve import solve


def knapsack_frontier(n_groups: int = 100, budget_fraction: float = 0.5, n_options: int = 8, seed: int = 0) -> dict:
    """Optimal value of a random multiple-choice knapsack at a budget (the value-budget frontier), with the LP bound
    and the greedy gap."""
    from .problems.knapsack import MultipleChoiceKnapsack

    p = MultipleChoiceKnapsack.random(n_groups, n_options, budget_fraction=budget_fraction, seed=seed)
    exact = solve(p, method="dp")
    greedy = solve(p, method="greedy")
    lp = solve(p, method="lp")
    return {
        "budget": p.budget,
        "value": exact.objective,
        "cost": exact.stats["cost"],
        "lp_bound": lp.objective,
        "greedy_gap": (exact.objective - greedy.objective) / max(abs(exact.objective), 1e-12),
    }


def online_regret(
    horizon: int = 10_000, n_resources: int = 10, method: str = "dmd", reference: str = "euclidean", seed: int = 0
) -> dict:
    """Regret of an online-allocation method on i.i.d. matching requests against the hindsight LP."""
    from .problems.online_inputs import iid_matching

    p = iid_matching(horizon, n_resources, seed=seed)
    options = {"benchmark": "hindsight_lp", **({"reference": reference} if method == "dmd" else {})}
    r = solve(p, method=method, options=options)
    return {
        "reward": r.objective,
        "hindsight": r.stats["hindsight"],
        "regret": r.stats["regret"],
        "regret_per_request": r.stats["regret"] / horizon,
        "seconds": r.timings["total"],
    }


def bwk_regret(
    horizon: int = 10_000,
    method: str = "primal_dual",
    n_arms: int = 10,
    n_resources: int = 3,
    budget_fraction: float = 0.25,
    seed: int = 0,
) -> dict:
    """Reward and regret against OPT_LP of a bandits-with-knapsacks policy on a random Bernoulli instance."""
    from .problems.bwk import BanditsWithKnapsacks

    p = BanditsWithKnapsacks.random(n_arms, n_resources, horizon=horizon, budget_fraction=budget_fraction, seed=seed)
    r = solve(p, method=method, seed=seed)
    return {
        "reward": r.objective,
        "opt_lp": r.stats["opt_lp"],
        "regret": r.stats["regret"],
        "ratio": r.objective / r.stats["opt_lp"],
        "rounds": r.stats["rounds"],
    }


def bidding_clicks(
    budget_fraction: float = 1 / 32, method: str = "rlb_exact", ctr_spread: float = 1.0, n_test: int = 100_000, seed: int = 0
) -> dict:
    """Expected clicks of a bidding method on a synthetic market at a budget fraction c0."""
    from .problems.bidding import BiddingCampaign

    c = BiddingCampaign.synthetic(
        n_test=n_test, n_train=100_000, ctr_spread=ctr_spread, budget_fraction=budget_fraction, seed=seed
    )
    r = solve(c, method=method, seed=seed)
    return {"budget": c.budget, "expected_clicks": r.objective, "cost": r.stats["cost"], "win_rate": r.stats["win_rate"]}
