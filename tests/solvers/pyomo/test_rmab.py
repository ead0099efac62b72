"""The Pyomo RMAB models (orbudget/solvers/pyomo/rmab.py): the action set against enumeration, ``myopic``, the Q-network
formulations, and export errors."""

from __future__ import annotations

import numpy as np
import pytest

import orbudget as ob
from orbudget.core.registry import module_available
from orbudget.core.solve import SolveOptions

from ..conftest import PYOMO_SOLVERS, RMAB_FAMILY_NAMES, assert_close, rmab_family, skip_beyond_gurobi_licence

pytest.importorskip("pyomo.environ", reason="pyomo is not installed (pip install 'orbudget[pyomo]')")

from orbudget.solvers import _relu  # noqa: E402
from orbudget.solvers.pyomo import _common  # noqa: E402
from orbudget.solvers.pyomo import rmab as pyomo_rmab  # noqa: E402


def _enumerated_linear(p, values):
    acts = p.feasible_actions()
    lv = p.constraint.levels(acts)
    return float(values[np.arange(p.n_arms), lv].sum(axis=1).max())


@pytest.mark.parametrize("solver", PYOMO_SOLVERS)
@pytest.mark.parametrize("family", RMAB_FAMILY_NAMES)
def test_action_set_linear_optimum_matches_enumeration(solver, family):
    p = rmab_family(family, seed=1)
    rng = np.random.default_rng(2)
    for _ in range(2):
        values = rng.normal(size=(p.n_arms, p.n_levels))
        model = ob.to_pyomo(p, values=values)
        skip_beyond_gurobi_licence(model, solver)
        outcome = _common.solve_model(model, SolveOptions(threads=1, options={"solver": solver}))
        r = ob.from_pyomo(p, model, outcome)
        assert r.status is ob.Status.OPTIMAL and p.is_feasible(r.x)
        assert_close(r.objective, _enumerated_linear(p, values))


def test_myopic_through_pyomo_equals_python_myopic():
    p = rmab_family("capacity")
    p = ob.CoupledRMAB(transitions=p.transitions, rewards=p.rewards, constraint=p.constraint, horizon=5, episodes=3)
    a = ob.solve(p, method="myopic", backend="pyomo", seed=0, threads=1)
    b = ob.solve(p, method="myopic", backend="numpy", seed=0, options={"oracle": "enumerate"})
    assert a.objective == pytest.approx(b.objective, rel=1e-9) and a.stats["solves"] >= 1


@pytest.mark.skipif(not (module_available("omlt") and module_available("pyscipopt")), reason="needs omlt, pyscipopt")
@pytest.mark.parametrize("family", RMAB_FAMILY_NAMES)
def test_qnetwork_formulations_agree(family):
    """Ours (interval, big-M) and OMLT's (big-M, partition) through Pyomo + SCIP on one state per family."""
    p = rmab_family(family, seed=4)
    net = _relu.random_network(p.n_decisions + p.n_arms * p.n_states, (6, 6), seed=5)
    s = np.random.default_rng(0).integers(0, p.n_states, p.n_arms)
    _, q_e = pyomo_rmab.enumerate_argmax(p, net, s)
    scip = SolveOptions(threads=1, options={"solver": "scip"})
    for formulation in pyomo_rmab.FORMULATIONS:
        x, q, r = pyomo_rmab.argmax(p, net, s, formulation=formulation, opts=scip)
        assert r.status is ob.Status.OPTIMAL and p.is_feasible(x), (formulation, r.message)
        assert_close(q, q_e)


def test_interval_model_drops_stable_neurons():
    p = rmab_family("budget")
    net = _relu.random_network(p.n_decisions + p.n_arms * p.n_states, (8, 8), seed=1)
    s = np.zeros(p.n_arms, dtype=np.int64)
    tight = ob.to_pyomo(p, network=net, states=s)
    loose = ob.to_pyomo(p, network=net, states=s, formulation="bigm")
    assert len(tight.relu_active) < len(loose.relu_active) == 16


def test_rmab_export_errors_name_the_field():
    p = rmab_family("budget")
    with pytest.raises(ob.InvalidProblemError, match="`values`"):
        ob.to_pyomo(p)
    with pytest.raises(ob.InvalidProblemError, match="`states`"):
        ob.to_pyomo(p, network=_relu.random_network(p.n_decisions + p.n_arms * p.n_states, (4,)))
    with pytest.raises(ob.InvalidProblemError, match="`network`"):
        ob.to_pyomo(p, network=[(np.ones((2, 3)), np.ones(2))], states=np.zeros(p.n_arms, dtype=int))
    with pytest.raises(ob.InvalidProblemError, match="`formulation`"):
        ob.to_pyomo(
            p,
            network=_relu.random_network(p.n_decisions + p.n_arms * p.n_states, (4,)),
            states=np.zeros(p.n_arms, dtype=int),
            formulation="nope",
        )
