"""The numpy LLM-inference methods (orbudget/solvers/numpy/llm.py): the sample-allocation greedy against brute force and
its fallback on non-concave gains, and the allocation and routing baselines."""

import numpy as np
import pytest

import orbudget as ob

from ..conftest import brute_samples


@pytest.mark.parametrize("seed", range(6))
def test_greedy_equals_brute_force_when_concave(seed):
    rng = np.random.default_rng(seed)
    p = ob.SampleAllocation(
        success_rates=rng.beta(0.5, 1.0, 4), budget=int(rng.integers(4, 14)), min_samples=rng.integers(0, 2, 4), max_samples=5
    )
    assert p.concavity()["concave"]
    r = ob.solve(p)
    assert r.method == "greedy" and r.status == ob.Status.OPTIMAL and r.stats["exact_by"] == "greedy"
    assert r.objective == pytest.approx(brute_samples(p), abs=1e-12)
    assert p.is_feasible(r.x) and r.stats["cost"] <= p.budget


@pytest.mark.parametrize("seed", range(4))
def test_greedy_falls_back_to_mckp_when_not_concave(seed):
    rng = np.random.default_rng(seed)
    p = ob.SampleAllocation(
        answer_probabilities=rng.dirichlet([2.0, 1.0, 1.0], 4), budget=int(rng.integers(6, 16)), max_samples=5
    )
    assert not p.concavity()["concave"]  # majority vote: odd and even counts
    r = ob.solve(p, method="greedy")
    assert r.stats["exact_by"] == "mckp" and "not concave" in r.stats["greedy_refused"]
    assert r.status == ob.Status.OPTIMAL and r.objective == pytest.approx(brute_samples(p), abs=1e-12)
    assert ob.solve(p).method == "mckp"  # the default is the exact method
    with pytest.raises(ob.InvalidProblemError, match="`method` 'greedy' is not exact"):
        ob.solve(p, method="greedy", options={"fallback": False})


def test_plain_marginal_greedy_is_not_optimal_on_the_nonconcave_case():
    """Why the greedy is refused: taken literally on majority vote it gets stuck at the even count."""
    from orbudget.solvers.numpy.llm import marginal_greedy

    p = ob.SampleAllocation(answer_probabilities=[[0.6, 0.4], [0.55, 0.45]], budget=6, max_samples=5)
    assert marginal_greedy(p).tolist() != ob.solve(p, method="mckp").x.tolist()
    assert p.accuracy_of(marginal_greedy(p)) < ob.solve(p, method="mckp").objective - 1e-3


def test_baselines_spend_the_budget_and_respect_bounds():
    p = ob.SampleAllocation.random(40, seed=2, min_samples=2, max_samples=16)
    exact = ob.solve(p).objective
    for method, kw in (("uniform", {}), ("proportional", {}), ("proportional", {"weight": "difficulty"})):
        r = ob.solve(p, method=method, options=kw or None)
        x = r.x
        assert (x >= 2).all() and (x <= 16).all() and r.stats["cost"] == x.sum() <= p.budget
        assert p.budget - x.sum() < 1 or (x == 16).all()  # every sample that fits is used
        assert r.objective <= exact + 1e-12
    u = ob.solve(p, method="uniform").x
    assert u.max() - u.min() <= 1


def test_infeasible_budget_is_a_status():
    p = ob.SampleAllocation(success_rates=[0.5, 0.5], budget=3, min_samples=2)
    for method in ("greedy", "mckp", "uniform", "proportional"):
        r = ob.solve(p, method=method)
        assert r.status == ob.Status.INFEASIBLE and "below the cost of min_samples" in r.message


def test_routing_baselines():
    p = ob.ModelRouting(quality=[[0.3, 0.9], [0.6, 0.7]], costs=[[1, 5], [2, 5]], budget=7)
    assert ob.solve(p, method="cheapest").x.tolist() == [0, 0]
    strong = ob.solve(p, method="strongest")
    assert strong.status == ob.Status.NO_SOLUTION and "over the budget" in strong.message  # the problem is feasible
    assert ob.solve(p.with_budget(10), method="strongest").x.tolist() == [1, 1]
    assert ob.solve(p).x.tolist() == [1, 0]
