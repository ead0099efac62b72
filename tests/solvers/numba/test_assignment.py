"""The numba budgeted-assignment methods (orbudget/solvers/numba/assignment.py): ``proxy_dp``, ``evolutionary`` and
``uniform`` on exact budgets, scales and bad input."""

import time

import pytest

import orbudget as ob

from ..conftest import linear_assignment

pytest.importorskip("torch", reason="torch is not installed (extra 'torch')")

from orbudget.problems.assignment import BudgetedAssignment  # noqa: E402


def test_exact_budget_and_uniform():
    p = BudgetedAssignment.separable(20, seed=1, exact=True)
    for method in ("rco", "proxy_dp"):
        r = ob.solve(p, method=method, seed=0, options={"steps": 50} if method == "rco" else None)
        assert p.cost_of(r.x) == int(p.budget)  # reachable here, so used exactly
    u = ob.solve(p, method="uniform")
    assert p.is_feasible(u.x) and len(set(u.x.tolist())) == 1


def test_bad_input():
    with pytest.raises(ob.InvalidProblemError, match="`budget` 1.0 is below the cheapest"):
        BudgetedAssignment(costs=[[2, 3], [2, 3]], budget=1, loss=lambda p: p.sum())
    with pytest.raises(ob.InvalidProblemError, match="`loss` must be a callable"):
        BudgetedAssignment(costs=[[2, 3]], budget=3, loss=3)
    p = BudgetedAssignment(costs=[[0.5, 1.5], [0.5, 1.5]], budget=2.0, loss=lambda q: (q[:, 0]).sum())
    r = ob.solve(p, method="proxy_dp", options={"scale": 10})
    assert p.is_feasible(r.x) and r.objective == 1.0
    with pytest.raises(ob.InvalidProblemError, match="cannot be saved"):
        ob.save(p, "/tmp/never.json")
    with pytest.raises(ob.InvalidProblemError, match="`options.gradient` must be"):
        ob.solve(BudgetedAssignment.separable(5, seed=0), method="rco", options={"gradient": "sgd"})


def test_evolutionary_takes_the_scale_it_asks_for():
    p = linear_assignment([[0.5, 1.5], [0.5, 1.5]], 2.0, exact=False)
    r = ob.solve(p, method="evolutionary", seed=0, options={"scale": 4})
    assert r.ok and p.is_feasible(r.x)


def test_evolutionary_checks_its_limit_within_the_start_and_the_generations():
    """The measured proxy of the start takes N·K = 1,600 loss evaluations of milliseconds: seconds. The limit is
    checked per evaluation, so the run stops within it with the cheapest or the uniform assignment."""
    from ..conftest import slow_assignment

    p = slow_assignment()
    limit = 1.0
    t0 = time.perf_counter()
    r = ob.solve(p, method="evolutionary", seed=0, time_limit=limit)
    assert time.perf_counter() - t0 <= limit * 1.1 + 1.0
    assert r.status is ob.Status.FEASIBLE and r.limit is ob.Limit.TIME and p.is_feasible(r.x)
    assert r.stats["generations"] == 0


def test_evolutionary_is_the_same_run_after_run():
    p = BudgetedAssignment.quadratic(12, 4, seed=2)
    a, b = (ob.solve(p, method="evolutionary", seed=3, options={"evaluations": 200}) for _ in range(2))
    assert a.x.tolist() == b.x.tolist() and a.objective == b.objective and a.stats == b.stats
