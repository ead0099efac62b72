"""Knapsack RL rollout allocation: closed forms, greedy = dp = mip = cpsat = brute force, compat mode."""

import numpy as np
import pytest

import orbudget as ob
import orbudget.problems.rollouts as rollouts_module
from orbudget.core.registry import backend_available
from orbudget.problems.rollouts import (
    expected_rollouts_until_mixed,
    info_gain,
    knapsack_rl_value,
    min_rollouts_for_mixed,
    nonzero_gradient_probability,
    probability_cost,
)
from tests.conftest import brute_force_rollouts, needs


def test_closed_forms():
    assert nonzero_gradient_probability(8, 0.5) == pytest.approx(1 - 2.0**-7, abs=1e-15)
    grid = np.linspace(0, 1, 100001)
    assert grid[np.argmax(info_gain(grid))] == pytest.approx(1 / 3, abs=1e-5)
    assert info_gain(1 / 3) == pytest.approx(4 / 27)
    assert expected_rollouts_until_mixed(0.01) == pytest.approx(100.0101010101, rel=1e-10)
    assert probability_cost(0.01) == pytest.approx(229.1, abs=0.05)
    assert min_rollouts_for_mixed(0.01, 0.9) == 230
    assert knapsack_rl_value(8, 0.0) == knapsack_rl_value(8, 1.0) == 0.0


BAD = [
    (dict(success_rates=[0.5, 1.2], total_rollouts=8), "`success_rates` must be <= 1.0"),
    (dict(success_rates=[-0.1], total_rollouts=8), "`success_rates` must be >= 0.0"),
    (dict(success_rates=[[0.5]], total_rollouts=8), "`success_rates` must be 1-dimensional"),
    (dict(success_rates=[np.nan], total_rollouts=8), "`success_rates` must be finite"),
    (dict(success_rates=[0.5], total_rollouts=8.5), "`total_rollouts` must be a whole number"),
    (dict(success_rates=[0.5], total_rollouts=8, min_rollouts=5, max_rollouts=4), "`max_rollouts` must be >="),
    (dict(success_rates=[0.5], total_rollouts=8, value="bogus"), "`value` must be one of"),
    (dict(success_rates=[0.5], total_rollouts=8, max_rollouts=4, value=np.zeros((1, 3))), "`value` must be of shape"),
    (dict(success_rates=[0.5], total_rollouts=8, rollout_costs=[0]), "`rollout_costs` must be positive"),
    (dict(success_rates=[0.5, 0.1], total_rollouts=8, rollout_costs=[1]), "`rollout_costs` must be of shape"),
]


@pytest.mark.parametrize("kwargs, fragment", BAD)
def test_bad_input(kwargs, fragment):
    with pytest.raises(ob.InvalidProblemError) as info:
        ob.RolloutAllocation(**kwargs)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "method",
    ["greedy", "dp", "uniform", pytest.param("mip", marks=needs("highs")), pytest.param("cpsat", marks=needs("ortools"))],
)
def test_infeasible_budgets(method):
    low = ob.RolloutAllocation(success_rates=[0.5] * 4, total_rollouts=7)
    high = ob.RolloutAllocation(success_rates=[0.5] * 4, total_rollouts=20, max_rollouts=4)
    assert "below n·min_rollouts, 8" in ob.solve(low, method=method).message
    assert ob.solve(high, method=method).status is ob.Status.INFEASIBLE


METHODS = ["greedy", "dp", pytest.param("mip", marks=needs("highs")), pytest.param("cpsat", marks=needs("ortools"))]


@pytest.mark.parametrize("method", METHODS)
def test_exact_methods_equal_brute_force(method):
    rng = np.random.default_rng(0)
    for _ in range(12):
        n = int(rng.integers(1, 5))
        p = rng.choice([0.0, 1.0, 0.5, 0.1, 0.9, 0.3], size=n) if rng.random() < 0.4 else rng.random(n)
        hi = int(rng.integers(2, 6))
        w = int(rng.integers(2 * n, n * hi + 1))
        prob = ob.RolloutAllocation(success_rates=p, total_rollouts=w, max_rollouts=hi)
        r = ob.solve(prob, method=method, **({"threads": 1} if method in ("mip", "cpsat") else {}))
        assert r.status is ob.Status.OPTIMAL
        assert r.objective == pytest.approx(brute_force_rollouts(prob), abs=1e-12)
        assert int(r.x.sum()) == w and r.x.min() >= 2 and r.x.max() <= hi


def test_invariants_optimum_nondecreasing_and_concave_in_budget():
    p = np.random.default_rng(1).random(12)
    values = []
    for w in range(24, 24 * 8, 6):
        r = ob.solve(ob.RolloutAllocation(success_rates=p, total_rollouts=w, max_rollouts=16), method="greedy")
        values.append(r.objective)
    d = np.diff(values)
    assert (d >= -1e-12).all() and (np.diff(d) <= 1e-12).all()


def test_zero_and_one_success_rates_score_nothing():
    prob = ob.RolloutAllocation(success_rates=[0.0, 1.0, 0.4], total_rollouts=20, max_rollouts=16)
    r = ob.solve(prob)
    assert r.x[2] == 16 and r.objective == pytest.approx(knapsack_rl_value(16, 0.4))


def test_rollout_costs_budget_is_an_upper_bound():
    rng = np.random.default_rng(4)
    for _ in range(8):
        c = rng.integers(1, 4, 3)
        prob = ob.RolloutAllocation(
            success_rates=rng.random(3),
            total_rollouts=int(rng.integers(2 * c.sum(), 6 * c.sum())),
            max_rollouts=6,
            rollout_costs=c,
        )
        d = ob.solve(prob)
        assert d.method != "greedy" and d.status is ob.Status.OPTIMAL  # an exact method by default
        assert d.objective == pytest.approx(brute_force_rollouts(prob))
        assert prob.cost_of(d.x) <= prob.total_rollouts
        g = ob.solve(prob, method="greedy")
        assert prob.cost_of(g.x) <= prob.total_rollouts and g.objective <= d.objective + 1e-12


@needs("highs")
def test_lp_relaxation_of_rollouts():
    prob = ob.RolloutAllocation.synthetic(32, 8, seed=5)
    lp = ob.solve(prob, method="lp")
    assert lp.objective >= ob.solve(prob).objective - 1e-9
    assert lp.x.sum() == pytest.approx(prob.total_rollouts)


# -- compat mode: the official code ------------------------------------------------------------------------


# -- issue 13: bounds, totals, exact costs, table sizes; issue 15: one table per solve ---------------------------------

ROLLOUT_METHODS = [
    "greedy",
    "dp",
    "uniform",
    "knapsackrl",
    pytest.param("mip", marks=needs("highs")),
    pytest.param("cpsat", marks=needs("ortools")),
]

ODD_INSTANCES = [
    dict(success_rates=[1, 1], total_rollouts=3, min_rollouts=1, max_rollouts=5),  # knapsackrl gave [8, 8]
    dict(success_rates=[0.0, 0.5], total_rollouts=40, min_rollouts=2, max_rollouts=25),  # surplus beyond max
    dict(success_rates=[0.3, 0.6, 0.05], total_rollouts=12, min_rollouts=1, max_rollouts=6),
    dict(success_rates=[0.0, 1.0, 0.0], total_rollouts=9, min_rollouts=0, max_rollouts=3),
    dict(success_rates=[0.5], total_rollouts=5, min_rollouts=5, max_rollouts=5),
]


@pytest.mark.parametrize("method", ROLLOUT_METHODS)
@pytest.mark.parametrize("kwargs", ODD_INSTANCES, ids=range(len(ODD_INSTANCES)))
def test_every_method_stays_within_bounds_and_total(method, kwargs):
    prob = ob.RolloutAllocation(**kwargs)
    r = ob.solve(prob, method=method, threads=1) if method in ("mip", "cpsat") else ob.solve(prob, method=method)
    assert r.ok, r
    x = np.asarray(r.x)
    assert x.min() >= prob.min_rollouts and x.max() <= prob.max_rollouts, (method, x)
    assert int(x.sum()) == prob.total_rollouts and prob.is_feasible(x)
    assert r.objective <= brute_force_rollouts(prob) + 1e-12


def test_huge_max_rollouts_costs_nothing_when_the_budget_is_small():
    prob = ob.RolloutAllocation(success_rates=[0.5, 0.2], total_rollouts=16, max_rollouts=10**12)
    for method in ("greedy", "dp", "uniform", "knapsackrl"):
        r = ob.solve(prob, method=method)
        assert r.ok and r.x.sum() == 16, method
    assert prob.useful_max() == 14


@pytest.mark.parametrize("method", ["greedy", "dp"])
def test_a_table_that_cannot_fit_is_refused_naming_the_field(method):
    prob = ob.RolloutAllocation(success_rates=[0.5, 0.2], total_rollouts=10**12, max_rollouts=10**12)
    with pytest.raises(ob.InvalidProblemError, match=r"`max_rollouts` is too large.*(GiB|TiB)"):
        ob.solve(prob, method=method)


def test_large_integer_rollout_costs_do_not_wrap():
    c = 4 * 10**18
    prob = ob.RolloutAllocation(
        success_rates=[0.5] * 3, total_rollouts=9 * 10**18, min_rollouts=1, max_rollouts=4, rollout_costs=[c] * 3
    )
    assert prob.cost_of([1, 1, 1]) == 3 * c
    assert "below the cost of min_rollouts" in prob.infeasibility_reason()
    for method in ("greedy", "dp", "uniform"):
        assert ob.solve(prob, method=method).status is ob.Status.INFEASIBLE
    ok = ob.RolloutAllocation(
        success_rates=[0.5, 0.3], total_rollouts=9 * 10**18, min_rollouts=1, max_rollouts=4, rollout_costs=[c, c]
    )
    for method in ("greedy", "dp", "uniform"):
        r = ob.solve(ok, method=method)
        assert r.ok and ok.is_feasible(r.x) and r.stats["cost"] <= 9 * 10**18, method
    with pytest.raises(ob.InvalidProblemError, match="`total_rollouts`.*int64"):
        ob.RolloutAllocation(success_rates=[0.5], total_rollouts=2**63)
    # integer input stays exact (it was rounded through float64: 10**18 + 1 became 10**18, and cpsat overspent)
    near = ob.RolloutAllocation(
        success_rates=[0.5, 0.5],
        total_rollouts=10**18,
        min_rollouts=0,
        max_rollouts=1,
        value=[[0.0, 1.0], [0.0, 2.0]],
        rollout_costs=[10**18, 10**18 + 1],
    )
    assert int(near.rollout_costs[1]) == 10**18 + 1 and not near.is_feasible([0, 1])
    for method in ("greedy", "dp") + (("cpsat",) if backend_available("ortools") else ()):
        r = ob.solve(near, method=method)
        assert r.x.tolist() == [1, 0] and r.stats["cost"] == 10**18, method


def test_no_rollouts_is_never_mixed():
    assert nonzero_gradient_probability(0, 0.5) == 0.0 and knapsack_rl_value(0, 0.3) == 0.0
    prob = ob.RolloutAllocation(
        success_rates=[0.5, 0.2], total_rollouts=1, min_rollouts=0, max_rollouts=1, value="nonzero_gradient"
    )
    assert ob.solve(prob).objective == 0.0  # was -1: P_nz(0, p) = 1 - 1 - 1


def test_float_rollout_costs_use_the_relative_tolerance():
    prob = ob.RolloutAllocation(
        success_rates=[0.5, 0.4], total_rollouts=1e-9, min_rollouts=0, max_rollouts=8, rollout_costs=[1e-10, 3e-11]
    )
    for method in ("greedy", "dp", "uniform"):
        r = ob.solve(prob, method=method, options={"scale": 1e12} if method == "dp" else None)
        assert r.ok and prob.exact_cost(r.x) <= prob.total_rollouts * (1 + 1e-9), method
    assert not prob.is_feasible([8, 8])  # 1.04e-9: within an absolute 1e-12·B slack of old, over the budget


@pytest.mark.parametrize("method, kwargs", [("greedy", {}), ("dp", {"rollout_costs": [1, 2, 3]}), ("dp", {})])
def test_the_value_table_is_built_once_per_solve(method, kwargs, monkeypatch):
    import orbudget.problems.rollouts as rollouts

    calls = []
    real = rollouts.value_table
    monkeypatch.setattr(rollouts, "value_table", lambda *a, **k: calls.append(a) or real(*a, **k))
    prob = ob.RolloutAllocation(success_rates=[0.2, 0.5, 0.7], total_rollouts=12, max_rollouts=8, **kwargs)
    r = ob.solve(prob, method=method)
    assert r.ok and len(calls) == 1


def test_analytic_values_are_not_concave_from_zero_rollouts_and_greedy_says_so():
    # found by the knapsack fuzz: with min_rollouts=0 the gains are 0 (0 -> 1) then 2p(1-p) (1 -> 2); the greedy
    # stalled at [0, 0, 0] and called it OPTIMAL although [0, 0, 2] is worth 0.0625
    p = ob.RolloutAllocation(success_rates=[0.0, 0.0, 0.5], total_rollouts=2, min_rollouts=0, max_rollouts=2)
    assert not p.is_concave()
    r = ob.solve(p, method="greedy")
    assert r.status is ob.Status.FEASIBLE
    assert ob.solve(p).objective == pytest.approx(0.0625)  # the default is then an exact method
    assert ob.RolloutAllocation(success_rates=[0.5], total_rollouts=2, min_rollouts=1, max_rollouts=2).is_concave()


def test_to_knapsack_asked_to_stop_builds_in_blocks_the_same_knapsack_or_gives_up():
    # 70k prompts by 17 counts: two blocks of about 1M entries, each entry computed on its own
    rng = np.random.default_rng(4)
    costs = rng.integers(1, 50, 70_000)
    p = ob.RolloutAllocation(
        success_rates=rng.uniform(0, 1, 70_000), max_rollouts=16, total_rollouts=int(4 * costs.sum()), rollout_costs=costs
    )
    whole, asked = p.to_knapsack(), []
    blocks = p.to_knapsack(lambda: asked.append(1) and False)
    assert len(asked) == 3  # before each block and after the last
    assert np.array_equal(whole.values, blocks.values) and np.array_equal(whole.costs, blocks.costs)
    assert (whole.budget, whole.exact, whole.available) == (blocks.budget, blocks.exact, blocks.available)
    assert p.to_knapsack(lambda: True) is None
    later = []
    assert p.to_knapsack(lambda: later.append(1) or len(later) > 1) is None  # stopped after the first block


# -- every RolloutAllocation method builds the value table at most once per solve (issue 15) --

TABLE_PROBLEMS = {
    "unit costs": dict(success_rates=[0.2, 0.5, 0.7, 0.1], total_rollouts=12, max_rollouts=8),
    "rollout costs": dict(success_rates=[0.2, 0.5, 0.7], total_rollouts=12, max_rollouts=8, rollout_costs=[1, 2, 3]),
}


@pytest.mark.parametrize("name", TABLE_PROBLEMS)
def test_every_method_builds_the_value_table_at_most_once(name, monkeypatch):
    calls = []
    real = rollouts_module.value_table
    monkeypatch.setattr(rollouts_module, "value_table", lambda *a, **k: calls.append(a) or real(*a, **k))
    prob = ob.RolloutAllocation(**TABLE_PROBLEMS[name])
    tried = []
    for method, backend, _ in ob.available_solvers(prob):
        calls.clear()
        try:
            r = ob.solve(prob, method=method, backend=backend)
        except ob.InvalidProblemError as e:  # e.g. numpy 'lp' on unit costs: refused by name, builds nothing
            assert "cannot solve" in str(e) and not calls, (method, backend)
            continue
        assert r.ok, (method, backend, r.message)
        assert len(calls) <= 1, (method, backend, len(calls))
        tried.append((method, backend))
    assert ("greedy", "numba") in tried and ("dp", "numba") in tried and len(tried) >= 4
