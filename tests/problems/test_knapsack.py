"""Multiple-choice knapsack: bad inputs, brute-force differentials, bounds, budgets never exceeded."""

import numpy as np
import pytest

import orbudget as ob
from orbudget.core.registry import backend_available
from tests.conftest import brute_force_mckp, needs, small_mckp

EXACT_METHODS = [pytest.param("dp"), pytest.param("mip", marks=needs("highs")), pytest.param("cpsat", marks=needs("ortools"))]

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


@pytest.mark.parametrize("method", EXACT_METHODS)
@pytest.mark.parametrize("exact", [False, True])
def test_exact_methods_equal_brute_force(method, exact):
    rng = np.random.default_rng(11 if exact else 7)
    for _ in range(40):
        p = small_mckp(rng, exact)
        best, _ = brute_force_mckp(p)
        r = ob.solve(p, method=method, **({"threads": 1, "seed": 0} if method in ("mip", "cpsat") else {}))
        if best is None:
            assert r.status is ob.Status.INFEASIBLE, (p, r)
        else:
            assert r.status is ob.Status.OPTIMAL, (p, r)
            assert p.is_feasible(r.x)
            assert r.objective == pytest.approx(best, abs=1e-9)


def test_heuristics_are_feasible_and_bounded_by_the_optimum():
    rng = np.random.default_rng(5)
    for _ in range(40):
        p = small_mckp(rng, False)
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


def test_interrupt_returns_best_so_far(monkeypatch):
    """A Ctrl-C inside an adapter gives back the incumbent it recorded, with limit INTERRUPTED."""
    from orbudget.core.registry import specs_for

    spec = next(s for s in specs_for(ob.MultipleChoiceKnapsack) if s.method == "greedy")

    def interrupted(problem, opts):
        opts.incumbent.offer(np.zeros(problem.n_groups, int), problem.value_of(np.zeros(problem.n_groups, int)))
        raise KeyboardInterrupt

    import dataclasses
    import importlib

    solve_module = importlib.import_module("orbudget.core.solve")

    monkeypatch.setattr(solve_module, "pick", lambda *a: dataclasses.replace(spec, func=interrupted))
    p = ob.MultipleChoiceKnapsack(values=V, costs=C, budget=3)
    r = ob.solve(p, method="greedy")
    assert r.status is ob.Status.FEASIBLE and r.limit is ob.Limit.INTERRUPTED and r.objective == 4.0


def test_same_seed_samesmall_mckp():
    a = ob.MultipleChoiceKnapsack.random(10, 3, seed=42)
    assert a == ob.MultipleChoiceKnapsack.random(10, 3, seed=42)
    assert a != ob.MultipleChoiceKnapsack.random(10, 3, seed=43)


def test_check_choice_rejects_unavailable_options():
    p = ob.MultipleChoiceKnapsack(values=V, costs=C, budget=3, available=[[True, False], [True, True]])
    with pytest.raises(ob.InvalidProblemError, match="not available"):
        p.value_of([1, 0])


# -- issue 13: exact integer arithmetic, relative tolerances, table sizes --------------------------------------------

ALL_MCKP = ["dp", "greedy", "lp", pytest.param("mip", marks=needs("highs")), pytest.param("cpsat", marks=needs("ortools"))]


def test_whole_float_costs_beyond_int64_are_never_cast_and_dp_does_not_crash():
    """1e300 used to wrap to INT64_MIN: dp segfaulted (run in a child so a crash fails this test)."""
    import subprocess
    import sys

    code = (
        "import orbudget as ob\n"
        "p = ob.MultipleChoiceKnapsack(values=[[1, 5], [1, 5]], costs=[[0, 1e300], [0, 1e300]], budget=10)\n"
        "r = ob.solve(p, method='dp')\n"
        "print(r.status.name, r.x.tolist(), r.stats['cost'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[:3] == ["OPTIMAL", "[0,", "0]"]


@pytest.mark.parametrize("method", [m for m in ALL_MCKP if m != "dp"])
def test_whole_float_costs_beyond_int64_never_overspend(method):
    p = ob.MultipleChoiceKnapsack(values=[[1, 5], [1, 5]], costs=[[0, 1e300], [0, 1e300]], budget=10)
    assert p.cost_of([1, 1]) == 2 * int(1e300) and not p.is_feasible([1, 1])
    r = ob.solve(p, method=method)
    assert r.ok
    if method != "lp":
        assert r.x.tolist() == [0, 0] and r.stats["cost"] == 0 and p.is_feasible(r.x)
    assert r.bound == pytest.approx(2.0)


def test_sums_of_large_integer_costs_do_not_wrap():
    big = 2**62
    p = ob.MultipleChoiceKnapsack(values=[[0, 1]] * 3, costs=[[0, big]] * 3, budget=big)
    assert p.cost_of([1, 1, 1]) == 3 * big and not p.is_feasible([1, 1, 1])  # int64 wrapped to -2^62
    assert p.dearest_cost() == 3 * big
    for method in ("dp", "greedy") + (("mip",) if backend_available("highs") else ()):
        r = ob.solve(p, method=method)
        assert r.objective == 1.0 and p.is_feasible(r.x), (method, r)


def test_integer_input_is_never_rounded_through_a_float():
    p = ob.MultipleChoiceKnapsack(values=[[1.0]], costs=np.array([[2**62 + 1]]), budget=2**62)
    assert int(p.costs[0, 0]) == 2**62 + 1 and p.budget == 2**62
    assert ob.solve(p, method="dp").status is ob.Status.INFEASIBLE
    with pytest.raises(ob.InvalidProblemError, match="`costs`.*int64"):
        ob.MultipleChoiceKnapsack(values=[[1.0]], costs=[[2**70 + 1]], budget=1)  # no float holds it exactly
    assert ob.MultipleChoiceKnapsack(values=[[1.0]], costs=[[2**70]], budget=1).costs[0, 0] == 2.0**70  # a float does


@pytest.mark.parametrize("method", ["greedy", "dp", pytest.param("mip", marks=needs("highs"))])
def test_tolerance_is_relative_to_the_budget(method):
    """Costs around 1e-10 and a budget below 1: an absolute 1e-9 slack let mip and greedy take both items."""
    p = ob.MultipleChoiceKnapsack(values=[[0, 1], [0, 1]], costs=[[0, 3e-10], [0, 3e-10]], budget=4e-10)
    assert not p.is_feasible([1, 1]) and p.is_feasible([1, 0])
    opts = {"scale": 1e12} if method == "dp" else None
    r = ob.solve(p, method=method, options=opts)
    assert r.objective == 1.0 and p.is_feasible(r.x)
    assert p.cost_of(r.x) <= p.budget


def test_float_budget_slack_is_relative_and_exact():
    p = ob.MultipleChoiceKnapsack(values=[[1.0, 2.0]], costs=[[0.1, 0.3]], budget=0.3)
    assert p.is_feasible([1])  # 0.3 costs exactly the budget
    q = ob.MultipleChoiceKnapsack(values=[[1.0, 2.0], [0, 0]], costs=[[0.1, 0.2], [0, 0.1]], budget=0.3)
    assert q.is_feasible([1, 1])  # 0.2 + 0.1 is above 0.3 by 2e-17 in binary: within 1e-9·B
    tiny = ob.MultipleChoiceKnapsack(values=[[1.0, 2.0]], costs=[[0.0, 1e-12 * (1 + 2e-9)]], budget=1e-12)
    assert not tiny.is_feasible([1])


def test_choice_must_hold_whole_numbers():
    p = ob.MultipleChoiceKnapsack(values=V, costs=C, budget=3)
    with pytest.raises(ob.InvalidProblemError, match="whole-number"):
        p.value_of([0.5, 1.0])
    with pytest.raises(ob.InvalidProblemError, match="`x`"):
        p.cost_of([np.nan, 0.0])
