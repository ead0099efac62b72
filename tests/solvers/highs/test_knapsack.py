"""HiGHS methods of the knapsack family (orbudget/solvers/highs/knapsack.py): the MIP and the exact-budget LP, for the
multiple-choice knapsack and, through it, rollout allocation."""

import numpy as np
import pytest

import orbudget as ob

from ...conftest import brute_force_mckp, needs


@needs("highs")
def test_exact_lp_relaxation_bounds_the_integer_optimum():
    p = ob.MultipleChoiceKnapsack.random(30, 5, seed=4, exact=True)
    lp = ob.solve(p, method="lp")
    assert lp.backend == "highs"
    assert lp.objective >= ob.solve(p, method="dp").objective - 1e-7
    assert (lp.x * p.costs).sum() == pytest.approx(p.budget)


@needs("highs")
def test_mip_float_costs_exact_and_warm_start():
    rng = np.random.default_rng(9)
    p = ob.MultipleChoiceKnapsack(values=rng.random((6, 3)), costs=rng.uniform(0, 2, (6, 3)), budget=7.0)
    best, best_x = brute_force_mckp(p)
    r = ob.solve(p, method="mip", warm_start=best_x, threads=1)
    assert r.objective == pytest.approx(best) and p.is_feasible(r.x)
    with pytest.raises(ob.InvalidProblemError, match="`options` key"):
        ob.solve(p, method="mip", options={"not_a_highs_option": 1})


@needs("highs")
def test_mip_time_limit_returns_best_so_far_or_no_solution():
    p = ob.MultipleChoiceKnapsack.random(3000, 8, seed=1)
    r = ob.solve(p, method="mip", time_limit=0.05, threads=1)
    assert r.status in (ob.Status.FEASIBLE, ob.Status.OPTIMAL)  # never NO_SOLUTION: it starts from the LP's integral part
    if r.status is not ob.Status.OPTIMAL:
        assert r.limit is ob.Limit.TIME
    assert p.is_feasible(r.x)


@needs("highs")
@pytest.mark.parametrize("limit", [0.01, 0.2])
def test_mip_has_an_incumbent_and_a_gap_from_the_start(limit):
    """3,000 strongly correlated classes of 10: HiGHS finds nothing of its own in 2 s, so this is the start."""
    p = ob.knapsack_instances.multiple_choice("strongly_correlated", 3000, 10, R=10000, seed=1)
    r = ob.solve(p, method="mip", time_limit=limit, threads=1)
    assert r.status is ob.Status.FEASIBLE and r.limit is ob.Limit.TIME, (r.status, r.message)
    assert p.is_feasible(r.x) and r.objective == p.value_of(r.x)
    assert r.bound >= ob.solve(p, method="lp").objective - 1e-6 and 0 <= r.gap < 1e-3


@needs("highs")
def test_mip_starts_from_the_better_of_the_warm_start_and_its_own():
    p = ob.knapsack_instances.multiple_choice("strongly_correlated", 3000, 10, R=10000, seed=1)
    cheapest = np.where(p.mask, p.costs, np.iinfo(np.int64).max).argmin(axis=1)
    r = ob.solve(p, method="mip", time_limit=0.01, threads=1, warm_start=cheapest)
    assert r.ok and r.objective > p.value_of(cheapest)


@needs("highs")
def test_mip_overspend_beyond_its_tolerance_is_repaired_never_optimal():
    """Costs above 2^53 reach HiGHS rounded, so it takes both items (one unit over); the old adapter returned ERROR."""
    p = ob.MultipleChoiceKnapsack(values=[[0, 1], [0, 1.5]], costs=np.array([[0, 2**60 + 1], [0, 2**60 + 3]]), budget=2**61 + 3)
    r = ob.solve(p, method="mip", threads=1)
    assert r.ok and p.is_feasible(r.x)
    best, _ = brute_force_mckp(p)
    assert r.objective <= best
    if r.stats.get("repaired"):
        assert r.status is ob.Status.FEASIBLE and "repaired" in r.message


@needs("highs")
def test_mip_agrees_on_30_prompts():
    prob = ob.RolloutAllocation(success_rates=np.random.default_rng(3).random(30), total_rollouts=240, max_rollouts=32)
    assert ob.solve(prob, method="mip", threads=1).objective == pytest.approx(ob.solve(prob, method="dp").objective, rel=1e-9)
