"""The official Knapsack RL allocation, knapsackrl (orbudget/solvers/numba/rollouts.py): its quirks reproduced, its
departures counted."""

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems.rollouts import knapsack_rl_value, probability_cost
from orbudget.solvers.numba.rollouts import knapsackrl_allocation


def _official_quirk_objective(p, extra, low):
    """The official DP objective: sum over effective prompts with k > 0 extra of Value(low + k)."""
    return sum(knapsack_rl_value(low + k, q) for q, k in zip(p, extra) if k > 0)


def test_compat_dp_maximises_the_quirk_objective():
    import itertools

    p = np.array([0.3, 0.6, 0.05])
    valid = np.ones(3, bool)
    # budget 3*2 base + 9 extra; probability costs exceed it, so no fallback
    x, info = knapsackrl_allocation(p, valid, 15, min_rollouts=2, max_rollouts=8)
    assert not info["fallback"] and x.sum() == 15
    best = max(_official_quirk_objective(p, ks, 2) for ks in itertools.product(range(7), repeat=3) if sum(ks) == 9)
    assert _official_quirk_objective(p, x - 2, 2) == pytest.approx(best)


def test_compat_fallback_goes_to_zero_rate_prompts_only():
    p = np.array([0.5, 0.0, 0.0, 1.0, 0.5])
    valid = np.array([True, True, True, True, True])
    x, info = knapsackrl_allocation(p, valid, 200, min_rollouts=2, max_rollouts=128)
    assert info["fallback"]
    est = 2 * int(probability_cost(0.5))  # 3 + 3
    surplus = 200 - 10 - est
    assert x[1] + x[2] == 4 + surplus and abs(x[1] - x[2]) <= 1
    assert x[3] == 2 and x.sum() == 200


def test_compat_quirk_invalid_prompts_receive_fallback_like_official():
    p = np.array([0.5, 0.9])
    valid = np.array([True, False])  # invalid prompt: recorded rate 0, so the official fallback feeds it
    x, info = knapsackrl_allocation(p, valid, 64, min_rollouts=2, max_rollouts=128)
    assert info["fallback"] and x[1] > 8 and x.sum() == 64


def test_compat_all_effective_does_not_crash():
    x, info = knapsackrl_allocation(np.array([0.5, 0.5]), np.ones(2, bool), 200, max_rollouts=128)
    assert x.sum() == 200 and not info["fallback"]


def test_compat_through_solve_and_objective_vs_true_optimum():
    prob = ob.RolloutAllocation.synthetic(64, 8, seed=1)
    official = ob.solve(prob, method="knapsackrl")
    best = ob.solve(prob)
    assert official.x.sum() == prob.total_rollouts
    assert official.objective <= best.objective + 1e-12


def test_knapsackrl_departures_are_counted_and_options_checked():
    prob = ob.RolloutAllocation(success_rates=[1, 1], total_rollouts=3, min_rollouts=1, max_rollouts=5)
    r = ob.solve(prob, method="knapsackrl")
    assert r.x.sum() == 3 and r.stats["repaired"] > 0 and "moved" in r.message
    for bad, name in (
        ({"alpha": 2.0}, "options.alpha"),
        ({"allow_fallback": "no"}, "options.allow_fallback"),
        ({"default_rollouts": -1}, "options.default_rollouts"),
        ({"valid": [1, 0]}, "options.valid"),
        ({"valid": np.ones(3, bool)}, "options.valid"),
    ):
        with pytest.raises(ob.InvalidProblemError, match=f"`{name}`"):
            ob.solve(prob, method="knapsackrl", options=bad)
