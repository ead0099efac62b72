"""The Pyomo backend's shared plumbing (orbudget/solvers/pyomo/_common.py): export with side constraints, solver choice,
options in each solver's own names, the status map, registration of every exportable method."""

from __future__ import annotations

import numpy as np
import pytest

import orbudget as ob
from orbudget.core.registry import module_available
from orbudget.core.solve import SolveOptions

from ..conftest import PYOMO_SOLVERS, assert_close

pyo = pytest.importorskip("pyomo.environ", reason="pyomo is not installed (pip install 'orbudget[pyomo]')")

from orbudget.solvers.pyomo import _common  # noqa: E402


# -- export, side constraints, read-back -------------------------------------------------------------------------
@pytest.mark.parametrize("solver", PYOMO_SOLVERS)
def test_side_constraint_then_read_back(solver):
    p = ob.MultipleChoiceKnapsack.random(8, 4, seed=9)
    best = ob.solve(p)
    m = ob.to_pyomo(p)
    i, k = 0, int(best.x[0])
    m.no_best_first = pyo.Constraint(expr=m.x[i, k] == 0)  # forbid the optimum's choice in group 0
    outcome = _common.solve_model(m, SolveOptions(threads=1, options={"solver": solver}))
    r = ob.from_pyomo(p, m, outcome)
    assert r.status is ob.Status.OPTIMAL and p.is_feasible(r.x) and r.x[0] != k
    assert r.objective <= best.objective + 1e-9
    mask = np.ones(p.values.shape, bool)
    mask[0, k] = False
    restricted = ob.MultipleChoiceKnapsack(values=p.values, costs=p.costs, budget=p.budget, available=mask)
    assert_close(r.objective, ob.solve(restricted).objective)


# -- solver choice, options, status map --------------------------------------------------------------------------
def test_unknown_solver_is_refused_by_name():
    p = ob.MultipleChoiceKnapsack.random(4, 3, seed=0)
    with pytest.raises(ob.InvalidProblemError, match="`solver` 'no_such_solver'"):
        ob.solve(p, method="mip", backend="pyomo", options={"solver": "no_such_solver"})
    with pytest.raises(ob.InvalidProblemError, match="`solver`"):
        ob.solve(p, method="mip", backend="pyomo", options={"solver": 3})
    with pytest.raises(ob.InvalidProblemError, match="`options` has unknown key `mip_rel_gap`"):
        ob.solve(p, method="mip", backend="pyomo", options={"mip_rel_gap": 0.1})
    with pytest.raises(ob.InvalidProblemError, match="`solver_options`"):
        ob.solve(p, method="mip", backend="pyomo", options={"solver_options": [1]})


@pytest.mark.skipif(module_available("pyomo") and __import__("shutil").which("cbc") is not None, reason="cbc is installed here")
def test_known_but_missing_solver_says_so():
    p = ob.MultipleChoiceKnapsack.random(4, 3, seed=0)
    with pytest.raises(ob.BackendNotAvailableError, match="`solver` 'cbc'"):
        ob.solve(p, method="mip", backend="pyomo", options={"solver": "cbc"})


@pytest.mark.parametrize("solver", PYOMO_SOLVERS)
def test_infeasible_exact_budget_is_a_status(solver):
    p = ob.MultipleChoiceKnapsack(values=[[1, 2], [1, 2]], costs=[[2, 4], [2, 4]], budget=7, exact=True)
    assert p.infeasibility_reason() is None  # not ruled out by bounds: the solver has to find it
    r = ob.solve(p, method="mip", backend="pyomo", options={"solver": solver})
    assert r.status is ob.Status.INFEASIBLE and not r.ok


@pytest.mark.parametrize("solver", [p for p in PYOMO_SOLVERS if p.id != "gurobi"])
def test_time_limit_reaches_the_solver(solver):
    p = ob.MultipleChoiceKnapsack.random(200, 20, seed=1, max_cost=1000)
    r = ob.solve(p, method="mip", backend="pyomo", time_limit=1e-3, options={"solver": solver})
    assert r.limit is ob.Limit.TIME and r.status in (ob.Status.FEASIBLE, ob.Status.NO_SOLUTION)
    if r.ok:
        assert p.is_feasible(r.x)


def test_status_map_of_each_results_type():
    from pyomo.contrib.appsi import base as appsi
    from pyomo.contrib.solver.common import results as contrib
    from pyomo.opt import SolverResults, TerminationCondition

    res = contrib.Results()
    res.termination_condition = contrib.TerminationCondition.maxTimeLimit
    res.solution_status = contrib.SolutionStatus.feasible
    res.solution_loader = type("Loader", (), {"load_vars": lambda self: None})()
    res.objective_bound = 9.0
    out = _common.outcome_of(res)
    assert (out.status, out.limit, out.bound) == (ob.Status.FEASIBLE, ob.Limit.TIME, 9.0)
    res.termination_condition = contrib.TerminationCondition.provenInfeasible
    res.solution_status = contrib.SolutionStatus.noSolution
    assert _common.outcome_of(res).status is ob.Status.INFEASIBLE
    res.termination_condition = contrib.TerminationCondition.interrupted
    assert (_common.outcome_of(res).status, _common.outcome_of(res).limit) == (ob.Status.NO_SOLUTION, ob.Limit.INTERRUPTED)
    a = appsi.Results()
    a.termination_condition = appsi.TerminationCondition.maxIterations
    a.best_feasible_objective = None
    assert (_common.outcome_of(a).status, _common.outcome_of(a).limit) == (ob.Status.NO_SOLUTION, ob.Limit.ITERATION)
    legacy = SolverResults()
    legacy.solver.termination_condition = TerminationCondition.unbounded
    assert _common.outcome_of(legacy).status is ob.Status.UNBOUNDED
    with pytest.raises(ob.InvalidProblemError, match="`results`"):
        _common.outcome_of("done")


@pytest.mark.skipif(not module_available("gurobipy"), reason="gurobipy is not installed")
def test_gurobi_beyond_its_licence_fails_clearly():
    """The pip wheel's licence stops at 2000 variables: the error says so (a size-limited run, not a crash)."""
    p = ob.MultipleChoiceKnapsack.random(300, 10, seed=1)
    try:
        r = ob.solve(p, method="mip", backend="pyomo", options={"solver": "gurobi_direct"})
    except ob.SolverError as exc:
        assert "size-limited" in str(exc) or "license" in str(exc).lower()
    else:  # a full licence is installed here
        assert r.status is ob.Status.OPTIMAL


def test_registered_for_every_exportable_method():
    table = {
        (s.problem.__name__, s.method)
        for s in __import__("orbudget.core.registry", fromlist=["x"]).specs_for(ob.MultipleChoiceKnapsack)
        if s.backend == "pyomo"
    }
    assert table == {("MultipleChoiceKnapsack", "mip"), ("MultipleChoiceKnapsack", "lp")}
    for cls, method in [
        (ob.RolloutAllocation, "mip"),
        (ob.RolloutAllocation, "lp"),
        (ob.OnlineAllocation, "hindsight"),
        (ob.OnlineAllocation, "hindsight_lp"),
        (ob.BanditsWithKnapsacks, "opt_lp"),
        (ob.CoupledRMAB, "myopic"),
        (ob.BudgetedAssignment, "mip"),
    ]:
        assert (method, "pyomo", True) in ob.available_solvers(cls)


@pytest.mark.skipif(not module_available("highspy"), reason="highspy is not installed")
@pytest.mark.parametrize("solver", ["highs", "appsi_highs"])
def test_threads_after_highs_started_its_pool(solver):
    """HiGHS refuses a new `threads` once its global pool runs (model status 'Not Set'): the adapter resets it."""
    import highspy
    from pyomo.contrib.solver.common.factory import SolverFactory

    warm = ob.to_pyomo(ob.MultipleChoiceKnapsack.random(5, 3, seed=0))
    highspy.Highs.resetGlobalScheduler(True)
    SolverFactory("highs").solve(warm, threads=2)  # the pool now runs two threads
    p = ob.MultipleChoiceKnapsack.random(10, 5, seed=0)
    r = ob.solve(p, method="mip", backend="pyomo", threads=1, options={"solver": solver})
    assert r.status is ob.Status.OPTIMAL, r.message


@pytest.mark.parametrize("solver", PYOMO_SOLVERS)
def test_standard_options_are_accepted_by_each_solver(solver):
    p = ob.MultipleChoiceKnapsack.random(10, 5, seed=0)
    r = ob.solve(p, method="mip", backend="pyomo", seed=3, threads=1, rel_gap=0.0, time_limit=30, options={"solver": solver})
    assert r.status is ob.Status.OPTIMAL
    assert_close(r.objective, ob.solve(p).objective)


def test_standard_options_in_each_solvers_own_names():
    opts = SolveOptions(time_limit=2.0, rel_gap=0.01, threads=1, seed=5)
    assert _common._native("scip_direct", opts) == {
        "limits/time": 2.0,
        "limits/gap": 0.01,
        "numerics/feastol": 1e-9,
        "parallel/maxnthreads": 1,
        "randomization/randomseedshift": 5,
    }
    assert _common._native("gurobi_persistent", opts)["MIPGap"] == 0.01
    assert _common._native("appsi_highs", opts)["mip_rel_gap"] == 0.01
    assert _common._native("cbc", SolveOptions())["ratioGap"] == 0.0  # exact by default
    assert _common._native("baron", SolveOptions()) == {}  # nothing asked, nothing refused
    with pytest.raises(ob.InvalidProblemError, match="`rel_gap` is not known for solver 'baron'"):
        _common._native("baron", SolveOptions(rel_gap=0.1))


def test_an_unknown_appsi_solver_and_a_string_relax_are_refused_by_name():
    p = ob.MultipleChoiceKnapsack(values=[[1, 2]], costs=[[1, 2]], budget=2)
    with pytest.raises(ob.InvalidProblemError, match="`options.solver` 'appsi_bogus'.*'appsi_highs'"):
        ob.solve(p, backend="pyomo", options={"solver": "appsi_bogus"})
    with pytest.raises(ob.InvalidProblemError, match="`relax`"):
        ob.to_pyomo(p, relax="no")  # a non-empty string used to mean True
