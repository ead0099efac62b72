"""What every budgeted-assignment method shares (orbudget/solvers/_assignment.py): the exact-budget DP against brute
force, exact integer cost units for any costs (issue 13), `decode_assignment`; and the model's ``from_option_costs``."""

import itertools

import numpy as np
import pytest

import orbudget as ob

from .conftest import linear_assignment

pytest.importorskip("torch", reason="torch is not installed (extra 'torch')")

from orbudget.problems.assignment import BudgetedAssignment  # noqa: E402
from orbudget.solvers._assignment import dp_assign  # noqa: E402


def test_dp_equals_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(30):
        n, k = rng.integers(2, 6), rng.integers(2, 4)
        scores, costs = rng.normal(size=(n, k)), rng.integers(0, 5, (n, k))
        budget = int(rng.integers(costs.min(1).sum(), costs.max(1).sum() + 1))
        for exact in (False, True):
            xs = list(itertools.product(range(k), repeat=n))
            totals = [costs[np.arange(n), x].sum() for x in xs]
            # exact: the budget when some assignment reaches it, else the largest reachable total below it
            target = max(t for t in totals if t <= budget)
            best = max(scores[np.arange(n), x].sum() for x, t in zip(xs, totals) if (t == target if exact else t <= budget))
            x = dp_assign(scores, costs, budget, exact)
            got = scores[np.arange(n), x].sum()
            cost = costs[np.arange(n), x].sum()
            assert cost <= budget
            assert got == pytest.approx(best, abs=1e-12)
            if exact:
                assert cost == target


FAST = {"rco": {"steps": 5, "samples": 2}}


DP_METHODS = ("rco", "proxy_dp", "evolutionary")


@pytest.mark.parametrize("method", DP_METHODS)
def test_whole_float_costs_of_two_to_the_63_do_not_wrap(method):
    """2^63 and 1e19 as whole floats were cast to int64 (INT64_MIN) and crashed the DP."""
    p = linear_assignment([[0.0, 2.0**63], [0.0, 1e19], [1.0, 3.0]], 10)
    assert p.costs.dtype.kind == "f"  # kept as the exact floats they are
    r = ob.solve(p, method=method, seed=0, options=FAST.get(method))
    assert r.ok and p.is_feasible(r.x) and r.x[:2].tolist() == [0, 0]
    q = linear_assignment([[2.0**63, 2.0**64], [0.0, 1.0]], 2.0**63 + 2**11)  # only the cheapest option of group 0 fits
    r = ob.solve(q, method=method, seed=0, options=FAST.get(method))
    assert r.ok and q.is_feasible(r.x) and r.x[0] == 0


def test_integer_costs_beyond_int64_are_refused_with_the_limit():
    with pytest.raises(ob.InvalidProblemError, match=r"`costs`.*2\^63 − 1"):
        linear_assignment([[0, 2**62], [0, 2**62]], 5)
    with pytest.raises(ob.InvalidProblemError, match=r"`costs`.*2\^63 − 1"):
        linear_assignment([[0, 2**70]], 5)
    p = linear_assignment([[10**18 + 1, 10**18 + 3]], 10**18 + 1)  # kept exactly (a float would round both to 1e18)
    assert p.costs.dtype.kind == "i" and p.cost_of([0]) == 10**18 + 1 and not p.is_feasible([1])
    r = ob.solve(p, method="proxy_dp")
    assert r.x.tolist() == [0]


@pytest.mark.parametrize("method", DP_METHODS)
def test_fractional_costs_need_no_scale_and_keep_the_exact_budget(method):
    p = linear_assignment([[0.25, 0.5], [0.25, 0.75]], 1.0)
    r = ob.solve(p, method=method, seed=0, options=FAST.get(method))
    assert r.ok and p.uses_budget_exactly(r.x) and r.x.tolist() == [0, 1]
    third = linear_assignment([[1 / 3, 1.0]] * 3, 1.0)  # 3·fl(1/3) < 1: feasible, but ⌈10·(1/3)⌉·3 = 12 > 10 on a grid
    for options in (None, {"scale": 10}):
        r = ob.solve(third, method=method, seed=0, options={**FAST.get(method, {}), **(options or {})})
        assert r.ok and third.is_feasible(r.x) and r.x.tolist() == [0, 0, 0], options


@pytest.mark.parametrize("method", DP_METHODS)
def test_every_assignment_costing_the_same_is_solved(method):
    for costs, budget in (([[2, 2], [2, 2]], 4), ([[0.3, 0.3], [0.3, 0.3]], 0.6), ([[0, 0]], 0)):
        p = linear_assignment(costs, budget)
        r = ob.solve(p, method=method, seed=0, options=FAST.get(method))
        assert r.ok and p.is_feasible(r.x), (costs, r.message)


def test_exact_budget_unreachable_uses_the_largest_total_below():
    """Totals 0, 3, 6 against B = 5: an exact problem uses 3 (the model's rule), even though 0 has a lower loss."""
    from orbudget.problems.assignment import _LinearLoss

    table = np.array([[0.0, 1.0], [0.0, 1.0]])
    p = BudgetedAssignment(costs=[[0, 3], [0, 3]], budget=5, loss=_LinearLoss(table), proxy=table, exact=True)
    for method in DP_METHODS:
        r = ob.solve(p, method=method, seed=0, options=FAST.get(method))
        assert p.cost_of(r.x) == 3, method


def test_tiny_and_huge_costs_are_exact():
    for unit in (1e-12, 1e18):
        p = linear_assignment(np.array([[1, 2, 4], [1, 3, 5]]) * unit, 6 * unit)
        for method in DP_METHODS:
            r = ob.solve(p, method=method, seed=0, options=FAST.get(method))
            assert p.is_feasible(r.x), (unit, method)
            assert p.uses_budget_exactly(r.x) == (p.exact_cost(r.x) == p.exact_budget), (unit, method)
        want = [x for x in itertools.product(range(3), repeat=2) if p.uses_budget_exactly(x)]
        r = ob.solve(p, method="proxy_dp")
        assert (tuple(r.x.tolist()) in want) == bool(want), unit


def test_decode_assignment_is_the_best_scored_assignment_within_or_at_the_budget():
    rng = np.random.default_rng(5)
    for trial in range(20):
        costs = rng.integers(1, 9, (4, 3))
        budget = int(rng.integers(costs.min(axis=1).sum(), costs.max(axis=1).sum() + 1))
        p = ob.BudgetedAssignment(costs=costs, budget=budget, loss=lambda P: P.sum(), exact=bool(trial % 2))
        scores = rng.normal(size=(4, 3))
        x = ob.decode_assignment(p, scores)
        choices = [np.array(c) for c in itertools.product(range(3), repeat=4) if costs[np.arange(4), c].sum() <= budget]
        if p.exact:  # the budget exactly when reachable, else the largest reachable total
            top = max(costs[np.arange(4), c].sum() for c in choices)
            choices = [c for c in choices if costs[np.arange(4), c].sum() == top]
        best = max(scores[np.arange(4), c].sum() for c in choices)
        assert p.is_feasible(x) and scores[np.arange(4), x].sum() == pytest.approx(best)
    with pytest.raises(ob.InvalidProblemError, match="`scores`"):
        ob.decode_assignment(p, np.zeros((3, 3)))


def test_costs_too_large_for_a_table_are_decoded_exactly_by_the_core_search():
    """Costs in the millions: the DP table would pass DP_CELLS, so the choice comes from the multiple-choice core
    search (exact, no table) instead of a rounded-up grid; brute force over every assignment agrees, for the plain
    budget and for an exact one (the largest reachable total within it)."""
    from orbudget.solvers._assignment import CostUnits

    rng = np.random.default_rng(5)
    for trial in range(8):
        n, k = 7, 3
        costs = rng.integers(10**6, 10**7, (n, k)) * 3 + 1  # coprime-ish: nothing divides out
        budget = int(costs.sum(axis=1).mean() * rng.uniform(1.5, 2.5))
        exact = trial % 2 == 1
        p = BudgetedAssignment(costs=costs, budget=budget, loss=lambda x: 0.0, exact=exact)
        units = CostUnits(p)
        assert units.mode == "core"
        scores = rng.normal(size=(n, k))
        totals = {c: sum(costs[i, c[i]] for i in range(n)) for c in itertools.product(range(k), repeat=n)}
        fits = [c for c, t in totals.items() if t <= budget]
        if exact:
            top = max(totals[c] for c in fits)
            fits = [c for c in fits if totals[c] == top]
        best = max(fits, key=lambda c: sum(scores[i, c[i]] for i in range(n)))
        x = ob.decode_assignment(p, scores, exact=exact)
        assert sum(scores[i, x[i]] for i in range(n)) == pytest.approx(sum(scores[i, best[i]] for i in range(n)))
        assert totals[tuple(x)] <= budget and (not exact or totals[tuple(x)] == totals[best])
