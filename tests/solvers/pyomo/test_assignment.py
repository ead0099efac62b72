"""The Pyomo budgeted-assignment MIP (orbudget/solvers/pyomo/assignment.py): against ``proxy_dp``, separable losses only,
exact budgets with huge and tiny costs."""

from __future__ import annotations

import numpy as np
import pytest

import orbudget as ob

from ..conftest import PYOMO_SOLVERS, assert_close, pyomo_solve

pytest.importorskip("pyomo.environ", reason="pyomo is not installed (pip install 'orbudget[pyomo]')")


@pytest.mark.parametrize("solver", PYOMO_SOLVERS)
@pytest.mark.parametrize("exact", [False, True])
def test_separable_assignment_matches_proxy_dp(solver, exact):
    pytest.importorskip("torch", reason="the assignment loss is a torch callable")
    p = ob.BudgetedAssignment.separable(10, seed=7, exact=exact)
    ref = ob.solve(p, method="proxy_dp")
    r = pyomo_solve(p, "mip", solver)
    assert ref.status is ob.Status.OPTIMAL and r.status is ob.Status.OPTIMAL
    assert_close(r.objective, ref.objective)
    assert p.is_feasible(r.x)
    if exact:
        assert p.cost_of(r.x) == p.cost_of(ref.x)


def test_non_separable_assignment_is_refused_by_name():
    pytest.importorskip("torch", reason="the assignment loss is a torch callable")
    p = ob.BudgetedAssignment.quadratic(4, 3, seed=0)
    with pytest.raises(ob.InvalidProblemError, match="`loss`"):
        ob.to_pyomo(p)
    with pytest.raises(ob.InvalidProblemError, match="separable"):
        ob.solve(p, method="mip", backend="pyomo")


def test_largest_reachable_with_huge_whole_costs_uses_no_budget_sized_bitset():
    from orbudget.solvers.pyomo.assignment import largest_reachable

    costs = np.array([[10**17, 3 * 10**17], [2 * 10**17, 5 * 10**17]], dtype=np.int64)
    assert largest_reachable(costs, 10**18) == 8 * 10**17  # 3e17 + 5e17; a bitset would need 1e18 bits
    assert largest_reachable(np.array([[1, 2], [4, 8]]), 2**27 + 5) == 10
    with pytest.raises(ob.InvalidProblemError, match="`budget`"):
        largest_reachable(costs, 10**17)


def test_assignment_mip_keeps_a_zero_budget_against_tiny_costs():
    # found by the assignment fuzz: with budget 0 the solver's 1e-9 tolerance admitted an option costing 1e-12
    from orbudget.problems.assignment import _LinearLoss

    proxy = np.array([[0.0, -1.0, -1.0]])
    p = ob.BudgetedAssignment(
        costs=np.array([[0.0, 0.0, 1e-12]]), budget=0.0, loss=_LinearLoss(proxy), exact=False, proxy=proxy, separable_loss=True
    )
    r = ob.solve(p, method="mip", backend="pyomo")
    assert r.status is ob.Status.OPTIMAL and r.x.tolist() == [1] and p.is_feasible(r.x)
