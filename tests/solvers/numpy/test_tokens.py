"""Token-budget allocation methods (solvers/numpy/tokens.py): exact against brute force, joint >= either baseline."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import orbudget as ob


def brute_force(p: ob.TokenBudgetAllocation) -> float:
    best = 0.0
    for x in itertools.product(range(p.n_options), repeat=p.n_prompts):
        if p.is_feasible(np.array(x)):
            best = max(best, p.value_of(np.array(x)))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_exact_against_brute_force(seed):
    p = ob.TokenBudgetAllocation.random(
        3, rollout_counts=(2, 4), length_caps=(1024, 4096), n_lengths=4, budget_fraction=0.4, seed=seed
    )
    r = ob.solve(p, method="mckp")
    assert r.status is ob.Status.OPTIMAL and p.is_feasible(r.x)
    assert r.objective == pytest.approx(brute_force(p), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("fraction", [0.05, 0.15, 0.4])
def test_joint_is_at_least_both_baselines_at_equal_tokens(seed, fraction):
    p = ob.TokenBudgetAllocation.random(40, budget_fraction=fraction, seed=seed)
    joint = ob.solve(p).objective
    for m in ("rollouts_only", "length_only"):
        r = ob.solve(p, method=m)
        assert r.stats["cost"] <= p.budget and joint >= r.objective - 1e-12, m


def test_default_method_and_restriction_label():
    p = ob.TokenBudgetAllocation.random(10, seed=0)
    assert ob.solve(p).method == "mckp"
    r = ob.solve(p, method="rollouts_only")
    assert r.stats["restriction"].startswith("cap") and len(set(r.stats["caps"][r.stats["rollouts"] > 0].tolist())) <= 1
