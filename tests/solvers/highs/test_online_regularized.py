"""The regularised hindsight models (orbudget/solvers/highs/online_regularized.py, Balseiro, Lu, Mirrokni, ICML 2021):
λ = 0 is the unregularised optimum, the MIP against brute force, the LP and the dual bound against cvxpy."""

import itertools

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems.regularizers import (
    BelowTargetPenalty,
    LoadBalancing,
    MaxMinFairness,
)
from orbudget.solvers.highs.online_dual import dual_cutting_planes

from ..conftest import POLYHEDRAL_REGULARIZERS, REGULARIZERS, regularized_instance, with_regularizer


def test_zero_weight_hindsight_equals_the_unregularised_optimum():
    plain = regularized_instance(60, 1, dense=True)
    exact = ob.solve(plain, method="hindsight").objective
    for cls in (MaxMinFairness, LoadBalancing, BelowTargetPenalty):
        assert ob.solve(with_regularizer(plain, cls(0.0)), method="hindsight").objective == pytest.approx(exact, rel=1e-9)


# -- the regularised hindsight against brute force and cvxpy ------------------------------------------------------
def _brute_force(p):
    k = p.rewards.shape[1]
    best = -np.inf
    for x in itertools.product(range(-1, k), repeat=p.horizon):
        x = np.array(x)
        if p.is_feasible(x):
            best = max(best, p.value_of(x))
    return best


@pytest.mark.parametrize("dense", [False, True], ids=["matching", "dense"])
@pytest.mark.parametrize("reg", POLYHEDRAL_REGULARIZERS, ids=lambda r: r.name)
@pytest.mark.parametrize("seed", range(3))
def test_hindsight_mip_equals_brute_force(reg, dense, seed):
    rng = np.random.default_rng(seed)
    T, m = 6, 2
    if dense:
        p = ob.OnlineAllocation(
            rewards=rng.random((T, 2)) - 0.2, consumption=rng.random((T, 2, m)), budgets=rng.uniform(0.8, 2.0, m), regularizer=reg
        )
    else:  # zero and negative rewards too: with a regulariser they may still be worth playing
        p = ob.OnlineAllocation.matching(rewards=rng.random((T, m)) - 0.3, budgets=rng.integers(1, 4, m), regularizer=reg)
    r = ob.solve(p, method="hindsight")
    assert r.status is ob.Status.OPTIMAL
    assert p.is_feasible(r.x)
    assert r.objective == pytest.approx(p.value_of(r.x), abs=1e-12)
    assert r.objective == pytest.approx(_brute_force(p), abs=1e-7)
    assert r.stats["reward"] == pytest.approx(p.reward_of(r.x))


def _cvxpy_relaxation(p):
    pytest.importorskip("cvxpy")
    return ob.solve(p, method="hindsight_lp", backend="cvxpy", options={"solver": "CLARABEL"}).objective


@pytest.mark.parametrize("dense", [False, True], ids=["matching", "dense"])
@pytest.mark.parametrize("reg", REGULARIZERS, ids=lambda r: r.name)
def test_relaxation_lp_and_dual_bound_agree_with_cvxpy(reg, dense):
    p = regularized_instance(150, 2, reg, dense=dense)
    relaxed = _cvxpy_relaxation(p)
    dual = dual_cutting_planes(p, tol=1e-9)
    assert dual["value"] == pytest.approx(relaxed, rel=1e-5)  # strong duality for the convex relaxation
    lp = ob.solve(p, method="hindsight_lp")
    assert lp.objective == pytest.approx(relaxed, rel=1e-5)
    if reg.polyhedral:
        assert ob.solve(p, method="hindsight_lp", options={"formulation": "primal"}).objective == pytest.approx(relaxed, rel=1e-6)
        assert ob.solve(p, method="hindsight").objective <= relaxed * (1 + 1e-7) + 1e-7
    else:
        with pytest.raises(ob.InvalidProblemError, match="no exact MIP"):
            ob.solve(p, method="hindsight")


@pytest.mark.parametrize("reg", REGULARIZERS, ids=lambda r: r.name)
def test_the_dual_is_an_upper_bound_at_every_dual(reg):
    p = regularized_instance(80, 3, reg)
    upper = _cvxpy_relaxation(p)
    rng = np.random.default_rng(0)
    ell = reg.floor(p.target_rate)
    for _ in range(30):
        mu = ell + rng.random(2) * (np.abs(ell) + 2)
        assert p.dual_value(mu)[0] >= upper - 1e-6 * abs(upper)
