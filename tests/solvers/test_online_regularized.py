"""Regularised online allocation (Balseiro, Lu, Mirrokni, ICML 2021): λ = 0 is today's problem bit for bit, the
regularised hindsight against brute force and cvxpy, the dual bound, budgets, the step-by-step policy, regret."""

import itertools

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems.dual_mirror_descent import DualMirrorDescent
from orbudget.problems.regularizers import (
    BelowTargetPenalty,
    CustomRegularizer,
    LoadBalancing,
    MaxMinFairness,
    QuadraticPenalty,
)
from orbudget.solvers.highs.online_dual import dual_cutting_planes

REFERENCES = ["euclidean", "scaled_euclidean", "entropy", "projected_entropy"]
POLYHEDRAL = [MaxMinFairness(0.5), LoadBalancing(0.3), BelowTargetPenalty([2.0, 0.5], [0.9, 0.6])]
ALL = [*POLYHEDRAL, QuadraticPenalty([1.0, 3.0], [0.5, 0.8])]


def _instance(T, seed, regularizer=None, dense=False, m=2):
    rng = np.random.default_rng(seed)
    budgets = rng.uniform(0.15, 0.4, m) * T
    if dense:
        k = 3
        return ob.OnlineAllocation(
            rewards=rng.random((T, k)), consumption=rng.random((T, k, m)) * 0.8, budgets=budgets, regularizer=regularizer
        )
    return ob.OnlineAllocation.matching(rewards=rng.random((T, m)), budgets=budgets, regularizer=regularizer)


def _with(p, regularizer):
    return ob.OnlineAllocation(rewards=p.rewards, consumption=p.consumption, budgets=p.budgets, regularizer=regularizer)


# -- λ = 0 is exactly the unregularised problem ----------------------------------------------------------------
@pytest.mark.parametrize("dense", [False, True], ids=["matching", "dense"])
@pytest.mark.parametrize("cls", [MaxMinFairness, LoadBalancing, BelowTargetPenalty, QuadraticPenalty])
def test_zero_weight_gives_exactly_todays_results(cls, dense):
    plain = _instance(400, 0, dense=dense)
    zero = _with(plain, cls(0.0))
    for method, options in [*[("dmd", {"reference": ref}) for ref in REFERENCES], ("greedy", {}), ("fluid", {})]:
        a = ob.solve(plain, method=method, options={**options, "benchmark": "dual_bound"})
        b = ob.solve(zero, method=method, options={**options, "benchmark": "dual_bound"})
        assert np.array_equal(a.x, b.x), (method, options)
        assert a.objective == b.objective and np.array_equal(a.duals, b.duals)
        assert np.array_equal(a.stats["average_duals"], b.stats["average_duals"])
        assert a.stats["dual_bound"] == pytest.approx(b.stats["dual_bound"], rel=1e-12)
        assert b.stats["regularization"] == 0.0
        assert a.stats["hindsight"] == pytest.approx(b.stats["hindsight"], rel=1e-6)
    for ref in REFERENCES:
        pa = DualMirrorDescent(plain.budgets, plain.horizon, reference=ref)
        pb = DualMirrorDescent(plain.budgets, plain.horizon, reference=ref, regularizer=cls(0.0))
        c = [None] * plain.horizon if plain.consumption is None else plain.consumption
        assert [pa.step(r, b) for r, b in zip(plain.rewards, c)] == [pb.step(r, b) for r, b in zip(plain.rewards, c)]
        assert np.array_equal(pa.mu, pb.mu)


def test_zero_weight_hindsight_equals_the_unregularised_optimum():
    plain = _instance(60, 1, dense=True)
    exact = ob.solve(plain, method="hindsight").objective
    for cls in (MaxMinFairness, LoadBalancing, BelowTargetPenalty):
        assert ob.solve(_with(plain, cls(0.0)), method="hindsight").objective == pytest.approx(exact, rel=1e-9)


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
@pytest.mark.parametrize("reg", POLYHEDRAL, ids=lambda r: r.name)
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
@pytest.mark.parametrize("reg", ALL, ids=lambda r: r.name)
def test_relaxation_lp_and_dual_bound_agree_with_cvxpy(reg, dense):
    p = _instance(150, 2, reg, dense=dense)
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


@pytest.mark.parametrize("reg", ALL, ids=lambda r: r.name)
def test_the_dual_is_an_upper_bound_at_every_dual(reg):
    p = _instance(80, 3, reg)
    upper = _cvxpy_relaxation(p)
    rng = np.random.default_rng(0)
    ell = reg.floor(p.target_rate)
    for _ in range(30):
        mu = ell + rng.random(2) * (np.abs(ell) + 2)
        assert p.dual_value(mu)[0] >= upper - 1e-6 * abs(upper)


# -- every policy keeps every budget, and its reported objective is recomputed from x ----------------------------
@pytest.mark.parametrize("dense", [False, True], ids=["matching", "dense"])
@pytest.mark.parametrize("reg", ALL, ids=lambda r: r.name)
def test_policies_keep_budgets_and_report_the_regularised_objective(reg, dense):
    for seed in range(3):
        p = _instance(300, seed, reg, dense=dense)
        for method, options in [*[("dmd", {"reference": ref}) for ref in REFERENCES], ("greedy", {}), ("fluid", {})]:
            r = ob.solve(p, method=method, options=options)
            assert p.is_feasible(r.x), (method, options)
            assert r.objective == pytest.approx(p.value_of(r.x), rel=1e-12, abs=1e-9)
            assert r.stats["regularization"] == pytest.approx(p.regularization_of(p.consumption_of(r.x)), abs=1e-9)
            assert r.stats["hindsight"] >= r.objective - 1e-7 * abs(r.objective) - 1e-9
            assert r.stats["dual_bound"] >= r.stats["hindsight"] * (1 - 1e-6) - 1e-9
            assert r.stats["regret"] == pytest.approx(r.stats["hindsight"] - r.objective)


def test_a_stream_runs_the_same_as_the_dense_instance():
    p = _instance(1000, 5, MaxMinFairness(0.4))

    def batches():
        for s in range(0, 1000, 128):
            yield p.rewards[s : s + 128], None

    s = ob.OnlineAllocation(
        stream=batches, horizon=1000, stream_matching=True, budgets=p.budgets, reward_bound=1.0, regularizer=MaxMinFairness(0.4)
    )
    a = ob.solve(p, method="dmd", options={"benchmark": "dual_bound"})
    b = ob.solve(s, method="dmd", options={"benchmark": "dual_bound"})
    assert np.array_equal(a.x, b.x)
    assert a.objective == pytest.approx(b.objective, rel=1e-12)  # rewards are summed per batch
    assert a.stats["hindsight"] == pytest.approx(b.stats["hindsight"], rel=1e-9)


# -- the step-by-step policy is the kernel -----------------------------------------------------------------------
@pytest.mark.parametrize("dense", [False, True], ids=["matching", "dense"])
@pytest.mark.parametrize("reference", REFERENCES)
@pytest.mark.parametrize("reg", ALL, ids=lambda r: r.name)
def test_step_by_step_policy_equals_the_kernel(reg, reference, dense):
    p = _instance(300, 4, reg, dense=dense)
    r = ob.solve(p, method="dmd", options={"reference": reference, "benchmark": "none"})
    pol = DualMirrorDescent(
        p.budgets, p.horizon, reference=reference, step_size=r.stats["step_size"], reward_bound=p.reward_bound, regularizer=reg
    )
    cons = [None] * p.horizon if p.consumption is None else p.consumption
    actions = [pol.step(row, c) for row, c in zip(p.rewards, cons)]
    assert actions == r.x.tolist()
    np.testing.assert_allclose(pol.mu, r.duals, rtol=1e-9, atol=1e-12)
    assert pol.mu.min() >= reg.floor(p.target_rate).min() - 1e-12


def test_a_custom_regulariser_runs_step_by_step_as_the_built_in_one():
    fair = MaxMinFairness(0.5)
    p = _instance(300, 6, fair)
    mine = CustomRegularizer(
        lambda a: fair.value(a, p.target_rate), lambda mu: fair.response(mu, p.target_rate), floor=fair.floor(p.target_rate)
    )
    q = _with(p, mine)
    for reference in REFERENCES:
        a = ob.solve(p, method="dmd", options={"reference": reference, "benchmark": "none"})
        b = ob.solve(q, method="dmd", options={"reference": reference, "benchmark": "none"})
        assert a.x.tolist() == b.x.tolist()
        assert a.objective == pytest.approx(b.objective)
    assert dual_cutting_planes(q, tol=1e-8)["value"] == pytest.approx(dual_cutting_planes(p, tol=1e-8)["value"], rel=1e-7)


def test_state_dict_carries_the_regulariser():
    pol = DualMirrorDescent([3.0, 2.0], 10, regularizer=MaxMinFairness(0.2))
    pol.step([1.0, 0.2])
    other = DualMirrorDescent([3.0, 2.0], 10, regularizer=MaxMinFairness(0.3))
    with pytest.raises(ob.InvalidProblemError, match="fingerprint|another"):
        other.load_state_dict(pol.state_dict())
    same = DualMirrorDescent([3.0, 2.0], 10, regularizer={"kind": "max_min_fairness", "weight": 0.2})
    same.load_state_dict(pol.state_dict())
    assert np.array_equal(same.mu, pol.mu)


def test_fairness_raises_the_worst_share_against_unregularised_dmd():
    # one resource's requests pay little: plain DMD starves it, max-min fairness serves it
    rng = np.random.default_rng(7)
    T = 4000
    rewards = rng.random((T, 3)) * np.array([1.0, 0.9, 0.2])
    budgets = np.array([0.5, 0.5, 0.3]) * T  # the first two could take every request
    plain = ob.OnlineAllocation.matching(rewards=rewards, budgets=budgets)
    fair = ob.OnlineAllocation.matching(rewards=rewards, budgets=budgets, regularizer=MaxMinFairness(2.0))
    a, b = ob.solve(plain, method="dmd"), ob.solve(fair, method="dmd")
    share = lambda r: (r.stats["spent"] / budgets).min()  # noqa: E731
    assert share(b) > share(a) + 0.2
    assert b.objective > fair.value_of(a.x)


# -- regret grows like sqrt(T) -----------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("reg", [MaxMinFairness(1.0), LoadBalancing(0.5)], ids=lambda r: r.name)
def test_regret_grows_like_sqrt_t(reg):
    # i.i.d. requests, T = 10^3..10^6, regret against the regularised dual bound (>= the hindsight optimum),
    # averaged over 4 seeds; the paper's bound is O(sqrt T)
    horizons = [10**3, 10**4, 10**5, 10**6]
    regrets = []
    for T in horizons:
        values = []
        for seed in range(4):
            rng = np.random.default_rng(seed)
            p = ob.OnlineAllocation.matching(
                rewards=rng.random((T, 3)) * np.array([1.0, 0.8, 0.6]), budgets=np.array([0.2, 0.3, 0.25]) * T, regularizer=reg
            )
            r = ob.solve(p, method="dmd", options={"benchmark": "dual_bound"})
            assert p.is_feasible(r.x)
            values.append(r.stats["regret"])
        regrets.append(np.mean(values))
    slope = np.polyfit(np.log(horizons), np.log(regrets), 1)[0]
    assert 0.3 <= slope <= 0.65, (slope, regrets)
