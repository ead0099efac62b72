"""Budgeted assignment: the DP against brute force, RCO against the exact optimum on separable instances and brute
force on a quadratic one, the penalty baseline's failure mode, budgets in integer arithmetic, bad input."""

import itertools

import numpy as np
import pytest

import orbudget as ob

pytest.importorskip("torch", reason="torch is not installed (extra 'torch')")

from orbudget.problems.assignment import BudgetedAssignment  # noqa: E402
from orbudget.solvers.torch.assignment import dp_assign  # noqa: E402


def test_dp_equals_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(30):
        n, k = rng.integers(2, 6), rng.integers(2, 4)
        scores, costs = rng.normal(size=(n, k)), rng.integers(0, 5, (n, k))
        budget = int(rng.integers(costs.min(1).sum(), costs.max(1).sum() + 1))
        for exact in (False, True):
            best, best_exact = -np.inf, -np.inf
            for x in itertools.product(range(k), repeat=n):
                c = costs[np.arange(n), x].sum()
                v = scores[np.arange(n), x].sum()
                if c <= budget:
                    best = max(best, v)
                if c == budget:
                    best_exact = max(best_exact, v)
            x = dp_assign(scores, costs, budget, exact)
            got = scores[np.arange(n), x].sum()
            cost = costs[np.arange(n), x].sum()
            assert cost <= budget
            want = best_exact if (exact and best_exact > -np.inf) else best
            assert got == pytest.approx(want, abs=1e-12)
            if exact and best_exact > -np.inf:
                assert cost == budget


def test_separable_rco_reaches_the_optimum_and_the_penalty_does_not():
    """Median gap of RCO to the DP optimum <= 1% over 5 seeds; every penalty run ends over budget or >= 10% off."""
    gaps = []
    for seed in range(5):
        p = BudgetedAssignment.separable(50, seed=100 + seed)
        best = ob.solve(p, method="proxy_dp")
        assert best.status == ob.Status.OPTIMAL
        r = ob.solve(p, method="rco", seed=seed, options={"steps": 200})
        assert p.is_feasible(r.x) and r.stats["max_budget_error"] <= 1e-9
        gaps.append(r.objective / best.objective - 1)
        pen = ob.solve(p, method="penalty", seed=seed, options={"steps": 200})
        assert pen.status == ob.Status.INFEASIBLE or pen.objective >= 1.10 * best.objective
        evo = ob.solve(p, method="evolutionary", seed=seed)
        assert p.is_feasible(evo.x) and evo.objective >= best.objective - 1e-12
    assert np.median(gaps) <= 0.01, gaps
    assert min(gaps) >= -1e-12  # nothing beats the exact optimum


def test_quadratic_best_sample_within_five_percent_of_brute_force():
    p = BudgetedAssignment.quadratic(8, 4, seed=3)
    a, m = p.loss.a, p.loss.m
    xs = np.array(list(itertools.product(range(4), repeat=8)))
    cost = p.costs[np.arange(8), xs].sum(axis=1)
    e = a[np.arange(8), xs]
    losses = e.sum(axis=1) + np.einsum("ni,ij,nj->n", e, m, e)
    optimum = losses[cost <= p.budget].min()
    r = ob.solve(p, method="rco", seed=0, options={"steps": 150})
    assert p.is_feasible(r.x)
    assert r.objective <= optimum + 0.05 * abs(optimum), (r.objective, optimum)
    proxy = ob.solve(p, method="proxy_dp")
    assert proxy.objective >= optimum - 1e-9 and p.is_feasible(proxy.x)


def test_exact_budget_and_uniform():
    p = BudgetedAssignment.separable(20, seed=1, exact=True)
    for method in ("rco", "proxy_dp"):
        r = ob.solve(p, method=method, seed=0, options={"steps": 50} if method == "rco" else None)
        assert p.cost_of(r.x) == int(p.budget)  # reachable here, so used exactly
    u = ob.solve(p, method="uniform")
    assert p.is_feasible(u.x) and len(set(u.x.tolist())) == 1


def test_bad_input():
    with pytest.raises(ob.InvalidProblemError, match="`budget` 1.0 is below the cheapest"):
        BudgetedAssignment(costs=[[2, 3], [2, 3]], budget=1, loss=lambda p: p.sum())
    with pytest.raises(ob.InvalidProblemError, match="`loss` must be a callable"):
        BudgetedAssignment(costs=[[2, 3]], budget=3, loss=3)
    p = BudgetedAssignment(costs=[[0.5, 1.5], [0.5, 1.5]], budget=2.0, loss=lambda q: (q[:, 0]).sum())
    with pytest.raises(ob.InvalidProblemError, match="options=\\{'scale': s\\}"):
        ob.solve(p, method="proxy_dp")
    r = ob.solve(p, method="proxy_dp", options={"scale": 10})
    assert p.is_feasible(r.x) and r.objective == 1.0
    with pytest.raises(ob.InvalidProblemError, match="cannot be saved"):
        ob.save(p, "/tmp/never.json")
    with pytest.raises(ob.InvalidProblemError, match="`options.mode` must be"):
        ob.solve(BudgetedAssignment.separable(5, seed=0), method="rco", options={"mode": "sgd"})


def test_compression_applications():
    from orbudget.problems.compression import mlp_quantization, moe_pruning

    moe = moe_pruning(n_experts=16, prune=4, top_k=4, n_tokens=256, seed=1)
    for method in ("rco", "proxy_dp", "evolutionary"):
        r = ob.solve(moe, method=method, seed=0, options={"steps": 40} if method == "rco" else None)
        assert int((r.x == 1).sum()) == 4 and moe.cost_of(r.x) == moe.budget  # exactly 4 experts pruned
    assert moe.loss_of(np.zeros(16, int)) == pytest.approx(0.0, abs=1e-12)  # nothing pruned: no error
    mlp, holdout = mlp_quantization(hidden=32, depth=2, n_calibration=300, n_holdout=300, seed=0, average_bits=3.0)
    r = ob.solve(mlp, method="rco", seed=0, options={"steps": 40})
    u = ob.solve(mlp, method="uniform")
    assert mlp.is_feasible(r.x) and r.stats["max_budget_error"] <= 1e-9
    assert holdout(r.x) >= 0 and r.objective <= u.objective + 1e-12  # measured: uniform bits are far worse here
    costs = ob.BudgetedAssignment.from_option_costs([2, 4], [10, 20], 90, lambda q: q[:, 0].sum()).costs
    assert costs.tolist() == [[20, 40], [40, 80]]
