"""The torch budgeted-assignment methods (orbudget/solvers/torch/assignment.py): RCO against the exact optimum and brute
force, the penalty baseline's failure mode, bad option values."""

import itertools
import time

import numpy as np
import pytest

import orbudget as ob

from ..conftest import linear_assignment

pytest.importorskip("torch", reason="torch is not installed (extra 'torch')")

from orbudget.problems.assignment import BudgetedAssignment  # noqa: E402


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


@pytest.mark.parametrize(
    "method,options,field",
    [
        ("rco", {"temperature": (0, 0)}, "options.temperature"),
        ("rco", {"temperature": 1.0}, "options.temperature"),
        ("rco", {"temperature": (1.0, -0.5)}, "options.temperature"),
        ("penalty", {"temperature": (0, 1)}, "options.temperature"),
        ("rco", {"antithetic": "yes"}, "options.antithetic"),
        ("rco", {"gradient": "sgd"}, "options.gradient"),
        ("rco", {"scale": -1}, "options.scale"),
        ("proxy_dp", {"scale": 0}, "options.scale"),
        ("evolutionary", {"scale": "fine"}, "options.scale"),
        ("evolutionary", {"start": "best"}, "options.start"),
        ("penalty", {"weight": -1}, "options.weight"),
        ("rco", {"steps": 0}, "options.steps"),
    ],
)
def test_bad_option_values_name_the_option(method, options, field):
    with pytest.raises(ob.InvalidProblemError, match=f"`{field}`"):
        ob.solve(linear_assignment([[0.5, 1.5], [0.5, 1.5]], 2.0), method=method, options=options)


def test_rco_checks_its_limit_within_a_step():
    """400 samples a step, each a DP and a loss evaluation of milliseconds: one step takes about 10 s. The limit is
    checked per sample, so the run stops within it with the best hard sample."""
    from ..conftest import slow_assignment

    ob.solve(BudgetedAssignment.separable(30, seed=1), method="rco", seed=0, options={"steps": 2})  # compile the DP
    p = slow_assignment()
    limit = 1.0
    t0 = time.perf_counter()
    r = ob.solve(p, method="rco", seed=0, time_limit=limit, options={"steps": 1000, "samples": 400})
    assert time.perf_counter() - t0 <= limit * 1.1 + 1.0
    assert r.status is ob.Status.FEASIBLE and r.limit is ob.Limit.TIME and p.is_feasible(r.x)
    assert r.stats["steps"] == 0 and 0 < r.stats["hard_samples"] < 400
