"""The HiGHS BwK methods (orbudget/solvers/highs/bwk.py): ``opt_lp`` against closed forms, explore-first's decoy."""

import math

import numpy as np
import pytest

import orbudget as ob
from solutions.bwk_exercises import decoy_instance

from ...conftest import needs


# -- LP closed forms ------------------------------------------------------------------------------------------------
@needs("highs")
@pytest.mark.parametrize("d", [2, 3, 4])
def test_lp_gap_fixed_distribution_vs_fixed_arm(d):
    """d arms, arm a pays 1 and uses one unit of resource a, T = d·B: OPT_FA = B, OPT_FD = d·B."""
    budget = 50
    p = ob.BanditsWithKnapsacks(
        reward_means=np.ones(d), consumption_means=np.eye(d), budgets=np.full(d, budget), horizon=d * budget
    )
    r = ob.solve(p, method="opt_lp")
    assert r.objective == pytest.approx(d * budget, rel=1e-9)
    assert p.opt_fixed_arm() == pytest.approx(budget)
    np.testing.assert_allclose(r.x, np.full(d, 1 / d), atol=1e-9)


@needs("highs")
def test_lp_one_resource_two_arms_and_time_only():
    # arm A: reward 1, consumption 1; arm B: reward 0.2, free; budget B: OPT = B + 0.2 (T - B)
    horizon, budget = 1000, 300
    p = ob.BanditsWithKnapsacks(reward_means=[1.0, 0.2], consumption_means=[[1.0], [0.0]], budgets=[budget], horizon=horizon)
    assert ob.solve(p, method="opt_lp").objective == pytest.approx(budget + 0.2 * (horizon - budget))
    # time only (nothing consumed): T·max r
    q = ob.BanditsWithKnapsacks(reward_means=[0.3, 0.7, 0.5], consumption_means=np.zeros((3, 1)), budgets=[5], horizon=400)
    assert ob.solve(q, method="opt_lp").objective == pytest.approx(400 * 0.7)
    assert q.opt_fixed_arm() == pytest.approx(400 * 0.7)
    # a resource that binds: consumption 0.5 at reward 1, budget 100, T = 1000: X = 0.2, OPT = 200 (null arm the rest)
    s = ob.BanditsWithKnapsacks(reward_means=[1.0], consumption_means=[[0.5]], budgets=[100], horizon=1000)
    r = ob.solve(s, method="opt_lp")
    assert r.objective == pytest.approx(200) and r.stats["null_arm"] == pytest.approx(0.8)


@needs("highs")
def test_explore_first_loses_on_the_decoy():
    for horizon in (1_000, 10_000, 100_000):
        budget = math.sqrt(horizon) / 2
        n = math.ceil((3 * horizon**2) ** (1 / 3))
        p = decoy_instance(horizon, budget, n)  # Exercise 10.1(a)'s instance, from the checkout's solutions/
        r = ob.solve(p, method="explore_first", seed=0, options={"explore_rounds": n})
        assert r.objective / r.stats["opt_lp"] <= 0.75
        # primal_dual adapts: it stops pulling the bad arm after one try
        assert ob.solve(p, method="primal_dual", seed=0).objective > r.objective
