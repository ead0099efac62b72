"""The cvxpy convex relaxation of rollout allocation (orbudget/solvers/cvxpy/rollouts.py): an upper bound."""

import pytest

import orbudget as ob

from ...conftest import brute_force_rollouts, needs


@needs("cvxpy")
def test_convex_relaxation_is_an_upper_bound():
    prob = ob.RolloutAllocation.synthetic(64, 8, seed=2)
    c = ob.solve(prob, method="convex")
    g = ob.solve(prob, method="greedy")
    assert c.bound >= c.objective - 1e-9
    assert c.bound >= g.objective - 1e-6
    assert c.bound <= g.objective * 1.05
    assert c.x.sum() == pytest.approx(prob.total_rollouts, rel=1e-6)


@needs("cvxpy")
def test_convex_bound_holds_when_prompts_may_get_no_rollouts():
    prob = ob.RolloutAllocation(success_rates=[0.5], total_rollouts=0, min_rollouts=0, max_rollouts=1)
    c = ob.solve(prob, method="convex")
    assert c.bound >= brute_force_rollouts(prob) - 1e-9 == -1e-9  # the curve gave -0.125 at N = 0
