"""Reading a solved Pyomo model back (orbudget/solvers/pyomo/_results.py): ``from_pyomo`` with each results type, refused
models and infeasible solutions, the gap left by ``rel_gap``."""

from __future__ import annotations

import pytest

import orbudget as ob

from ..conftest import assert_close

pyo = pytest.importorskip("pyomo.environ", reason="pyomo is not installed (pip install 'orbudget[pyomo]')")

from orbudget.solvers.pyomo import _common, _results  # noqa: E402


def test_from_pyomo_with_each_results_type():
    pytest.importorskip("highspy")
    p = ob.MultipleChoiceKnapsack.random(6, 3, seed=2)
    ref = ob.solve(p).objective
    m = ob.to_pyomo(p)
    r = ob.from_pyomo(p, m, pyo.SolverFactory("appsi_highs").solve(m))  # legacy SolverResults
    assert r.status is ob.Status.OPTIMAL
    assert_close(r.objective, ref)
    from pyomo.contrib.solver.common.factory import SolverFactory

    m = ob.to_pyomo(p)
    r = ob.from_pyomo(p, m, SolverFactory("highs").solve(m))  # Pyomo's current interface
    assert r.status is ob.Status.OPTIMAL and r.bound == pytest.approx(ref)
    assert r.backend == "pyomo" and r.method and "method None" not in r.summary()  # names the solver Pyomo ran
    r = ob.from_pyomo(p, m)  # no results: a solution, optimality unknown
    assert r.status is ob.Status.FEASIBLE and r.bound is None
    assert_close(r.objective, ref)
    assert (r.method, r.backend) == ("from_pyomo", "pyomo")


def test_from_pyomo_refuses_other_models_and_problems():
    p = ob.MultipleChoiceKnapsack.random(4, 3, seed=0)
    q = ob.MultipleChoiceKnapsack.random(4, 3, seed=1)
    with pytest.raises(ob.InvalidProblemError, match="`model`"):
        ob.from_pyomo(p, pyo.ConcreteModel())
    with pytest.raises(ob.InvalidProblemError, match="different problem"):
        ob.from_pyomo(q, ob.to_pyomo(p))
    with pytest.raises(ob.InvalidProblemError, match="`problem`"):
        ob.to_pyomo(object())


def test_from_pyomo_refuses_an_infeasible_x():
    p = ob.MultipleChoiceKnapsack(values=[[0, 5], [0, 5]], costs=[[0, 3], [0, 3]], budget=4)
    m = ob.to_pyomo(p)
    for (_, k), v in m.x.items():
        v.set_value(1 if k == 1 else 0)  # both dear options: cost 6 > 4
    r = ob.from_pyomo(p, m)
    assert r.status is ob.Status.ERROR and "own check" in r.message


def test_gap_left_by_rel_gap_is_reported():
    p = ob.MultipleChoiceKnapsack(values=[[0, 3], [0, 2]], costs=[[0, 2], [0, 2]], budget=2)
    m = ob.to_pyomo(p)
    for (i, k), v in m.x.items():
        v.set_value(1 if (i, k) in ((0, 0), (1, 1)) else 0)  # value 2, the optimum is 3
    out = _common.Outcome(ob.Status.OPTIMAL, None, True, 3.0, "stopped at the gap")
    r = _results.read_result(p, m, m._orbudget, out, {}, rel_gap=0.5)
    assert (r.status, r.limit, r.objective, r.bound) == (ob.Status.FEASIBLE, ob.Limit.GAP, 2.0, 3.0)
