"""Multiple-choice knapsack: bad inputs, brute-force differentials, bounds, budgets never exceeded."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orbudget as ob
from tests.conftest import brute_force_mckp, needs

EXACT_METHODS = [pytest.param("dp"), pytest.param("mip", marks=needs("highs")),
                 pytest.param("cpsat", marks=needs("ortools"))]

V = [[1.0, 2.0], [3.0, 4.0]]
C = [[1, 2], [1, 3]]

BAD = [
    (dict(values=[1, 2], costs=[1, 2], budget=3), "`values` must be 2-dimensional"),
    (dict(values=V, costs=[[1, 2]], budget=3), "`costs` must be of shape (2, 2)"),
    (dict(values=[[np.nan, 1], [1, 1]], costs=C, budget=3), "`values` must be finite"),
    (dict(values=V, costs=[[1, np.inf], [1, 1]], budget=3), "`costs` must be finite"),
    (dict(values=V, costs=[[-1, 2], [1, 3]], budget=3), "`costs` must be non-negative"),
    (dict(values=V, costs=C, budget=-1), "`budget` must be >= 0.0"),
    (dict(values=V, costs=C, budget=float("nan")), "`budget` must be finite"),
    (dict(values=V, costs=C, budget="ten"), "`budget` must be a real number"),
    (dict(values=V, costs=C, budget=3, exact="yes"), "`exact` must be True or False"),
    (dict(values=V, costs=C, budget=3, available=[[1, 0], [1, 1]]), "`available` must be a boolean array"),
    (dict(values=V, costs=C, budget=3, available=[[False, False], [True, True]]), "group 0 has none"),
    (dict(values=np.zeros((0, 2)), costs=np.zeros((0, 2)), budget=3), "`values` must be non-empty"),
]


@pytest.mark.parametrize("kwargs, fragment", BAD)
def test_bad_input_is_rejected_with_the_field_named(kwargs, fragment):
    with pytest.raises(ob.InvalidProblemError) as info:
        ob.MultipleChoiceKnapsack(**kwargs)
    assert fragment in str(info.value)


def test_problem_is_frozen_and_arrays_read_only():
    p = ob.MultipleChoiceKnapsack(values=V, costs=C, budget=3)
    with pytest.raises(AttributeError):
        p.budget = 4
    with pytest.raises(ValueError):
        p.values[0, 0] = 9


@pytest.mark.parametrize("method", EXACT_METHODS + ["greedy", "lp"])
def test_budget_below_cheapest_is_infeasible_with_a_message(method):
    p = ob.MultipleChoiceKnapsack(values=V, costs=[[60, 70], [68, 90]], budget=100)
    r = ob.solve(p, method=method)
    assert r.status is ob.Status.INFEASIBLE
    assert "budget 100 is below the cheapest choice, 128" in r.message
    with pytest.raises(ob.NoSolutionError):
        _ = r.x


@pytest.mark.parametrize("method", EXACT_METHODS)
def test_exact_budget_unreachable_is_infeasible(method):
    p = ob.MultipleChoiceKnapsack(values=V, costs=[[2, 4], [2, 6]], budget=7, exact=True)  # all sums even
    r = ob.solve(p, method=method)
    assert r.status is ob.Status.INFEASIBLE and r.message


def _instance(rng, exact):
    n, k = rng.integers(1, 5), rng.integers(1, 5)
    costs = rng.integers(0, 7, size=(n, k))
    values = rng.integers(-3, 10, size=(n, k)).astype(float)
    available = rng.random((n, k)) < 0.8
    available[np.arange(n), rng.integers(0, k, n)] = True
    lo, hi = costs.min(axis=1).sum(), costs.max(axis=1).sum()
    budget = int(rng.integers(max(0, lo - 2), hi + 3))
    return ob.MultipleChoiceKnapsack(values=values, costs=costs, budget=budget, available=available, exact=exact)


@pytest.mark.parametrize("method", EXACT_METHODS)
@pytest.mark.parametrize("exact", [False, True])
def test_exact_methods_equal_brute_force(method, exact):
    rng = np.random.default_rng(11 if exact else 7)
    for _ in range(40):
        p = _instance(rng, exact)
        best, _ = brute_force_mckp(p)
        r = ob.solve(p, method=method, threads=1, seed=0)
        if best is None:
            assert r.status is ob.Status.INFEASIBLE, (p, r)
        else:
            assert r.status is ob.Status.OPTIMAL, (p, r)
            assert p.is_feasible(r.x)
            assert r.objective == pytest.approx(best, abs=1e-9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), exact=st.booleans())
def test_dp_property_against_brute_force(seed, exact):
    p = _instance(np.random.default_rng(seed), exact)
    best, _ = brute_force_mckp(p)
    r = ob.solve(p, method="dp")
    assert (r.status is ob.Status.INFEASIBLE) if best is None else r.objective == pytest.approx(best)


def test_heuristics_are_feasible_and_bounded_by_the_optimum():
    rng = np.random.default_rng(5)
    for _ in range(40):
        p = _instance(rng, False)
        best, _ = brute_force_mckp(p)
        g, lp = ob.solve(p, method="greedy"), ob.solve(p, method="lp")
        if best is None:
            assert g.status is lp.status is ob.Status.INFEASIBLE
            continue
        assert p.is_feasible(g.x)
        assert g.objective <= best + 1e-9 <= lp.objective + 2e-9
        assert g.bound == pytest.approx(lp.objective)
        x = lp.x
        assert np.allclose(x.sum(axis=1), 1) and (x >= -1e-12).all()
        assert (x * p.costs).sum() <= p.budget + 1e-9


@needs("highs")
@needs("ortools")
@pytest.mark.parametrize("exact", [False, True])
def test_methods_agree_on_larger_instances(exact):
    for seed in range(3):
        p = ob.MultipleChoiceKnapsack.random(60, 6, max_cost=15, seed=seed, exact=exact)
        dp = ob.solve(p, method="dp")
        mip = ob.solve(p, method="mip", threads=1)
        cp = ob.solve(p, method="cpsat", threads=1, time_limit=60)
        assert dp.status is mip.status is ob.Status.OPTIMAL
        assert mip.objective == pytest.approx(dp.objective, rel=1e-9)
        assert cp.objective == pytest.approx(dp.objective, rel=1e-9)
        lp_method = "lp"
        assert ob.solve(p, method=lp_method).objective >= dp.objective - 1e-6
        for r in (dp, mip, cp):
            assert p.is_feasible(r.x)
            assert p.cost_of(r.x) <= p.budget


@needs("highs")
def test_exact_lp_relaxation_bounds_the_integer_optimum():
    p = ob.MultipleChoiceKnapsack.random(30, 5, seed=4, exact=True)
    lp = ob.solve(p, method="lp")
    assert lp.backend == "highs"
    assert lp.objective >= ob.solve(p, method="dp").objective - 1e-7
    assert (lp.x * p.costs).sum() == pytest.approx(p.budget)


def test_non_integer_costs_need_scale_for_dp_and_scaling_never_exceeds_budget():
    rng = np.random.default_rng(2)
    costs = rng.uniform(0, 3, (8, 4))
    p = ob.MultipleChoiceKnapsack(values=rng.random((8, 4)), costs=costs, budget=7.3)
    with pytest.raises(ob.InvalidProblemError, match="not whole numbers"):
        ob.solve(p, method="dp")
    for scale in (1, 10, 1000):  # coarse scales may round the only fits away: infeasible, never over budget
        r = ob.solve(p, method="dp", options={"scale": scale})
        assert r.status in ((ob.Status.FEASIBLE, ob.Status.INFEASIBLE) if scale == 1 else (ob.Status.FEASIBLE,))
        if r.ok:
            assert p.cost_of(r.x) <= p.budget
    best, _ = brute_force_mckp(p)
    assert ob.solve(p, method="dp", options={"scale": 1000}).objective <= best + 1e-12


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
    assert r.status in (ob.Status.FEASIBLE, ob.Status.NO_SOLUTION, ob.Status.OPTIMAL)
    if r.status is not ob.Status.OPTIMAL:
        assert r.limit is ob.Limit.TIME
    if r.ok:
        assert p.is_feasible(r.x)


def test_interrupt_returns_best_so_far(monkeypatch):
    """A Ctrl-C inside an adapter gives back the incumbent it recorded, with limit INTERRUPTED."""
    from orbudget.core.registry import specs_for

    spec = next(s for s in specs_for(ob.MultipleChoiceKnapsack) if s.method == "greedy")

    def interrupted(problem, opts):
        opts.incumbent.offer(np.zeros(problem.n_groups, int), 1.0)
        raise KeyboardInterrupt

    import dataclasses
    import importlib

    solve_module = importlib.import_module("orbudget.core.solve")

    monkeypatch.setattr(solve_module, "pick", lambda *a: dataclasses.replace(spec, func=interrupted))
    p = ob.MultipleChoiceKnapsack(values=V, costs=C, budget=3)
    r = ob.solve(p, method="greedy")
    assert r.status is ob.Status.FEASIBLE and r.limit is ob.Limit.INTERRUPTED and r.objective == 1.0


def test_dp_optimum_is_nondecreasing_in_budget():
    p = ob.MultipleChoiceKnapsack.random(20, 4, seed=8)
    prev = -np.inf
    for b in range(p.cheapest_cost(), p.dearest_cost() + 2, 7):
        q = ob.MultipleChoiceKnapsack(values=p.values, costs=p.costs, budget=b)
        v = ob.solve(q, method="dp").objective
        assert v >= prev - 1e-12
        prev = v


def test_same_seed_same_instance():
    a = ob.MultipleChoiceKnapsack.random(10, 3, seed=42)
    assert a == ob.MultipleChoiceKnapsack.random(10, 3, seed=42)
    assert a != ob.MultipleChoiceKnapsack.random(10, 3, seed=43)


def test_check_choice_rejects_unavailable_options():
    p = ob.MultipleChoiceKnapsack(values=V, costs=C, budget=3, available=[[True, False], [True, True]])
    with pytest.raises(ob.InvalidProblemError, match="not available"):
        p.value_of([1, 0])
