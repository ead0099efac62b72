"""LLM-inference budgets: accuracy gained over uniform sample allocation at equal budget, and the routing frontier's
cost savings at equal accuracy against always sending every query to one model.

Run: ``python benchmarks/llm_budgets.py`` (``--quick`` for smaller sizes), or ``orbudget bench llm_budgets``.
Every allocation and routing is checked against its budget; accuracies are expected accuracies (exact tables), except
the adaptive sampler's, which is realised over simulated samples (mean over seeds).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import orbudget as ob
from orbudget.core.registry import backend_available
from orbudget.problems.llm import simulate_adaptive

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _table import print_table, timed  # noqa: E402


def sample_rows(n_questions: int, per_question, seeds: int):
    generators = [
        ("pass@k, p ~ Beta(0.5, 1.5)", dict(objective="pass_at_k")),
        ("pass@k, token costs", dict(objective="pass_at_k", token_costs=True)),
        ("vote, K=4, bias 3", dict(objective="majority_vote")),
        ("vote, K=4, bias 1.5", dict(objective="majority_vote", correct_bias=1.5)),
    ]
    rows = []
    for name, kw in generators:
        for spq in per_question:
            p = ob.SampleAllocation.random(n_questions, samples_per_question=spq, seed=0, **kw)
            p.accuracy_table()  # the exact accuracy table, computed once (timed apart)
            t_exact, exact = timed(lambda p=p: ob.solve(p))
            assert p.is_feasible(exact.x)
            acc = {}
            for method, opts in (("uniform", None), ("proportional", None), ("proportional", {"weight": "difficulty"})):
                r = ob.solve(p, method=method, options=opts)
                assert p.is_feasible(r.x)
                acc[method if opts is None else "difficulty"] = r.objective
            adaptive = np.mean([simulate_adaptive(p, seed=s, batch_budget=p.budget / 8)["accuracy"] for s in range(seeds)])
            rows.append(
                [
                    name,
                    spq,
                    acc["uniform"],
                    acc["proportional"],
                    acc["difficulty"],
                    exact.objective,
                    f"{exact.method} ({exact.stats['exact_by']})",
                    f"{exact.objective - acc['uniform']:+.4f}",
                    f"{exact.objective / acc['uniform'] - 1:+.1%}",
                    t_exact,
                    adaptive,
                ]
            )
    print_table(
        f"Sample allocation, {n_questions} questions, samples 1..32: expected accuracy at equal budget "
        "(adaptive = realised, mean of seeds)",
        [
            "instance",
            "budget/q",
            "uniform",
            "prop. uncert.",
            "prop. diff.",
            "exact",
            "exact method",
            "gain (pts)",
            "gain (rel)",
            "exact s",
            "adaptive",
        ],
        rows,
    )


def routing_rows(n_queries: int, n_budgets: int):
    rows, online = [], []
    for name, kw in (
        ("4 models, ×4 price steps", {}),
        ("5 models, ×3 steps, noisy", dict(n_models=5, cost_ratio=3.0, noise=1.0)),
    ):
        p = ob.ModelRouting.random(n_queries, seed=0, **kw)
        cheap, strong = p.always(0), p.always(p.n_models - 1)
        budgets = np.linspace(p.cost_of(cheap), p.cost_of(strong), n_budgets).astype(np.int64)
        t_front, f = timed(lambda p=p, b=budgets: p.frontier(b))
        assert np.all(f["cost"] <= f["budget"]) and np.all(f["lp_bound"] >= f["accuracy"] - 1e-9)
        lp_gap = float(np.nanmax(f["lp_bound"] - f["accuracy"]))
        for m in range(p.n_models):
            cost_m, acc_m = p.cost_of(p.always(m)), p.accuracy_of(p.always(m))
            cost, routes = p.min_cost_for(acc_m)
            assert routes is not None and p.accuracy_of(routes) >= acc_m - 1e-9
            at_cost = ob.solve(p.with_budget(cost_m)).objective
            rows.append(
                [
                    name,
                    f"always model {m}",
                    cost_m,
                    acc_m,
                    cost,
                    f"{1 - cost / cost_m:.1%}",
                    at_cost,
                    f"{at_cost - acc_m:+.4f}",
                    t_front if m == 0 else None,
                    lp_gap if m == 0 else None,
                ]
            )
        for frac in (0.1, 0.3, 0.6):
            q = p.with_budget(int(p.cost_of(cheap) + frac * (p.cost_of(strong) - p.cost_of(cheap))))
            t, r = timed(lambda q=q: ob.solve(q, method="dmd"))
            assert q.is_feasible(r.x)
            online.append(
                [
                    name,
                    f"{frac:.0%}",
                    q.budget,
                    r.stats["spent"][0],
                    r.objective,
                    r.stats["hindsight"],
                    r.stats["regret"],
                    f"{r.stats['regret'] / r.stats['hindsight']:.2%}",
                    ob.solve(q, method="cheapest").objective,
                    r.timings["policy"],
                ]
            )
    print_table(
        f"Model routing, {n_queries} queries: the exact frontier against always one model "
        "(min cost = least cost reaching that model's accuracy, exact MCKP; acc. at cost = frontier at that "
        "model's cost)",
        [
            "instance",
            "baseline",
            "cost",
            "accuracy",
            "min cost",
            "saving",
            "acc. at cost",
            "acc. gain",
            "frontier s",
            "max LP gap",
        ],
        rows,
    )
    print_table(
        "Online routing by dual mirror descent, queries in arrival order (budget = fraction of the way from "
        "always-cheapest to always-strongest)",
        [
            "instance",
            "budget frac",
            "budget",
            "spent",
            "dmd acc.",
            "hindsight",
            "regret",
            "regret/opt",
            "cheapest acc.",
            "policy s",
        ],
        online,
    )


def large_rows(peer_limit: float | None):
    """The default exact solve at 10^5 questions or queries (a fresh instance each, kernels warm): ``core`` through the
    one knapsack path, beside HiGHS' MIP of the same knapsack (``knapsack_method='mip'``, under ``peer_limit``)."""
    ob.solve(ob.ModelRouting.random(200, 4, seed=1))  # warm-up: the kernels compile (or load from the cache) here
    ob.solve(ob.SampleAllocation.random(200, max_samples=64, seed=1))
    rows = []
    for name, make, method in [
        ("ModelRouting.random(10**5, 4)", lambda: ob.ModelRouting.random(10**5, 4, seed=0), "mckp"),
        (
            "SampleAllocation.random(10**5, max_samples=64)",
            lambda: ob.SampleAllocation.random(10**5, max_samples=64, seed=0),
            "mckp",
        ),
    ]:
        p = make()
        seconds, r = timed(lambda p=p: ob.solve(p))
        assert r.ok and p.is_feasible(r.x)
        peer, peer_s = None, None
        if peer_limit is not None and backend_available("highs"):
            peer_s, peer = timed(
                lambda q=p, m=method: ob.solve(q, method=m, time_limit=peer_limit, threads=1, options={"knapsack_method": "mip"})
            )
        rows.append(
            [
                name,
                f"{r.method} ({r.stats.get('knapsack_method') or r.stats.get('exact_by') or '-'})",
                r.status.value,
                seconds,
                None if peer is None else f"{peer.status.value}{' at limit' if peer.limit else ''}",
                peer_s,
                None if peer_s is None else peer_s / seconds,
                None if peer is None or not peer.ok else peer.objective - r.objective,
            ]
        )
    print_table(
        "Default exact solve at 10^5 (s; a fresh instance, kernels warm) against HiGHS on the same knapsack",
        ["instance", "ours (method)", "status", "ours s", "HiGHS status", "HiGHS s", "HiGHS/ours", "HiGHS - ours"],
        rows,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    ob.solve(ob.MultipleChoiceKnapsack.random(5, 8, seed=0), method="dp")  # JIT warm-up (cached on disk)
    if args.quick:
        sample_rows(60, (4, 8), seeds=2)
    else:
        sample_rows(200, (4, 8, 16), seeds=5)
    if not backend_available("highs"):
        print("\nModel routing tables need HiGHS (pip install 'orbudget[mip]'); skipped")
        return
    routing_rows(150 if args.quick else 500, 6 if args.quick else 12)
    large_rows(None if args.quick else 60.0)


if __name__ == "__main__":
    main()
