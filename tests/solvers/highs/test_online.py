"""The HiGHS online-allocation methods (orbudget/solvers/highs/online.py): ``hindsight`` against brute force, weak
duality, integral matchings, tiny and huge consumptions, options."""

import itertools

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems import online_inputs as gen

from ...conftest import needs


def brute_force(p: ob.OnlineAllocation) -> float:
    k = p.rewards.shape[1]
    best = 0.0
    for x in itertools.product(range(-1, k), repeat=p.horizon):
        if p.is_feasible(x, rel_tol=0.0):
            best = max(best, p.reward_of(x))
    return best


@needs("highs")
def test_hindsight_equals_brute_force():
    for seed in range(6):
        rng = np.random.default_rng(seed)
        p = ob.OnlineAllocation(rewards=rng.normal(1, 1, (5, 2)), consumption=rng.integers(0, 3, (5, 2, 2)), budgets=[2.0, 3.0])
        r = ob.solve(p, method="hindsight", threads=1)
        assert r.status == ob.Status.OPTIMAL
        assert r.objective == pytest.approx(brute_force(p), abs=1e-9)
        assert p.is_feasible(r.x, rel_tol=0.0)
        q = ob.OnlineAllocation.matching(rewards=rng.random((6, 2)), budgets=rng.uniform(0.5, 3.5, 2))  # TU route
        r = ob.solve(q, method="hindsight")
        assert r.objective == pytest.approx(brute_force(q), abs=1e-9) and q.is_feasible(r.x, rel_tol=0.0)


@needs("highs")
def test_weak_duality_chain():
    """D(μ) >= hindsight LP >= hindsight MIP for random μ >= 0, on dense and matching instances."""
    rng = np.random.default_rng(1)
    for p in (gen.network_revenue_management(120, 5, 3, seed=2), gen.iid_matching(300, 4, seed=3)):
        lp = ob.solve(p, method="hindsight_lp").objective
        mip = ob.solve(p, method="hindsight", threads=1).objective
        assert lp >= mip - 1e-7
        for _ in range(20):
            mu = rng.exponential(rng.choice([0.01, 0.3, 3.0]), p.n_resources)
            assert p.dual_value(mu)[0] >= lp - 1e-7 * max(1, lp)
        r = ob.solve(p, method="dmd")
        assert r.stats["dual_bound"] >= r.stats["hindsight"] - 1e-7 >= r.objective - 1e-7


@needs("highs")
def test_matching_hindsight_is_integral(data_dir):
    """Matching with integer capacities is totally unimodular: the LP optimum is the integer optimum (AdX pub1)."""
    from orbudget.problems.adx import load_adx, load_adx_sample, replay

    pub = load_adx(1, data_dir / "adx")
    p = pub.problem(qualities=replay(load_adx_sample(data_dir / "adx"), 20_000, seed=0))
    mip = ob.solve(p, method="hindsight", threads=1)
    lp = ob.solve(p, method="hindsight_lp")
    assert mip.objective == pytest.approx(lp.objective, rel=1e-9)
    for method in ("dmd", "greedy", "fluid"):
        r = ob.solve(p, method=method)
        assert (p.consumption_of(r.x) <= p.budgets).all()
        assert r.objective <= mip.objective + 1e-9


# -- issue 13 regressions ------------------------------------------------------------------------------------------
@needs("highs")
def test_hindsight_on_tiny_consumptions_is_exact():
    """An absolute 1e-9 tolerance let HiGHS overshoot budgets of ~1e-12 (ERROR: actions over a budget, or values
    above the optimum); rows are now scaled by the budget and the actions checked exactly."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        c = rng.random((5, 2, 1)) * 1e-12
        p = ob.OnlineAllocation(
            rewards=rng.random((5, 2)), consumption=c, budgets=rng.uniform(0.1, 0.9, 1) * c.reshape(-1, 1).sum(0) / 2
        )
        r = ob.solve(p, method="hindsight", threads=1)
        assert r.status == ob.Status.OPTIMAL, r.message
        assert p.is_feasible(r.x) and r.objective == pytest.approx(brute_force(p), rel=1e-12)
        assert r.objective <= brute_force(p)


@needs("highs")
def test_hindsight_on_huge_consumptions():
    """Consumptions of 1e17..1e18 were coefficients HiGHS refuses (model 'Empty': ERROR status)."""
    p = ob.OnlineAllocation(
        rewards=[[0.532, -0.405, 0.278], [-0.177, -0.845, -0.320]],
        consumption=[[[6.9e17], [5.0e17], [7.7e16]], [[4.9e17], [0.0], [1.3e17]]],
        budgets=[3.84e17],
    )
    r = ob.solve(p, method="hindsight", threads=1)
    assert r.status == ob.Status.OPTIMAL and r.objective == pytest.approx(brute_force(p)) == 0.278
    for method in ("dmd", "greedy", "fluid", "hindsight_lp"):
        assert ob.solve(p, method=method).ok


@needs("highs")
@pytest.mark.parametrize("method", ["dmd", "greedy", "hindsight", "hindsight_lp", "fluid"])
def test_dense_nonpositive_rewards(method):
    """Dense instances whose rewards are all <= 0 crashed (an empty column set broke the HiGHS model build)."""
    rng = np.random.default_rng(0)
    p = ob.OnlineAllocation(
        rewards=-rng.random((5, 3)) * rng.choice([0, 1], (5, 3)), consumption=rng.random((5, 3, 2)), budgets=[1.0, 1.0]
    )
    r = ob.solve(p, method=method)
    assert r.ok and r.objective == 0.0
    if method != "hindsight_lp":
        assert (r.x == -1).all() or p.reward_of(r.x) == 0.0


@needs("highs")
def test_random_valid_instances_never_error():
    """About 6% of random valid instances gave `hindsight` an ERROR status or an exception (tiny or huge
    consumptions, nonpositive rewards); every method now returns OK, keeps every budget and stays at or below the
    brute-force optimum."""
    rng = np.random.default_rng(1)
    for _ in range(40):
        t, k, m = rng.integers(1, 5), rng.integers(1, 3), rng.integers(1, 3)
        scale = 10.0 ** rng.choice([-12, 0, 18])
        rewards = rng.normal(size=(t, k)) * (1 if rng.random() < 0.5 else -1)
        c = rng.random((t, k, m)) * scale
        p = ob.OnlineAllocation(rewards=rewards, consumption=c, budgets=rng.uniform(0.1, 2, m) * scale)
        opt = brute_force(p)
        for method in ("hindsight", "dmd", "greedy"):
            r = ob.solve(p, method=method, threads=1)
            assert r.ok, (method, r.message)
            assert p.is_feasible(r.x) and r.objective <= opt
        assert ob.solve(p, method="hindsight", threads=1).objective == pytest.approx(opt, rel=1e-9)


@needs("highs")
def test_online_options_are_validated():
    p = ob.OnlineAllocation(rewards=[[1.0, 2.0]], consumption=[[[1.0], [2.0]]], budgets=[2.0])
    with pytest.raises(ob.InvalidProblemError, match="`options` has unknown key `gap`"):
        ob.solve(p, method="hindsight", options={"gap": 0.1})  # was accepted and ignored
    with pytest.raises(ob.InvalidProblemError, match="`options.tol`"):
        ob.solve(p, method="hindsight_lp", options={"tol": "tight"})  # was a bare ValueError
    with pytest.raises(ob.InvalidProblemError, match="`options.max_iter`"):
        ob.solve(p, method="hindsight_lp", options={"max_iter": 0})
    with pytest.raises(ob.InvalidProblemError, match="`options.prefix`"):
        ob.solve(p, method="fluid", options={"duals": [1.0], "prefix": 0.5})  # prefix was ignored


@needs("highs")
@pytest.mark.parametrize("limit", [0.01, 0.3])
def test_hindsight_has_an_incumbent_from_the_start(limit):
    """At a limit before HiGHS finds a solution of its own, the greedy start (at least the null actions) comes back."""
    rng = np.random.default_rng(0)
    cons = rng.integers(1, 100, (3000, 3, 8)).astype(float)
    rewards = cons.sum(2) / 8 + rng.integers(0, 10, (3000, 3))
    p = ob.OnlineAllocation(rewards=rewards, consumption=cons, budgets=np.full(8, cons.mean() * 3000 * 0.3))
    r = ob.solve(p, method="hindsight", time_limit=limit, threads=1)
    assert r.status is ob.Status.FEASIBLE and r.limit is ob.Limit.TIME, (r.status, r.message)
    assert p.is_feasible(r.x) and r.objective >= ob.solve(p, method="greedy").objective - 1e-9


@needs("highs")
def test_hindsight_start_is_the_greedy_policy_or_the_null_actions():
    from orbudget.solvers.highs.online import starting_actions

    p = ob.OnlineAllocation(rewards=[[3.0], [2.0], [5.0]], consumption=[[[2.0]], [[1.0]], [[2.0]]], budgets=[3.0])
    x = starting_actions(p)
    assert x.tolist() == [0, 0, -1] and p.is_feasible(x)
