"""The Pyomo backend: export, read-back and cross-checks of every exact MIP and LP against SCIP (pyscipopt), Gurobi
(gurobipy, size-limited licence) and HiGHS through Pyomo; the Q-network argmax from our HiGHS MIP, from OMLT + SCIP
and from enumeration. Skips are visible and say which package is missing."""

from __future__ import annotations

import numpy as np
import pytest

import orbudget as ob
from orbudget.core.registry import module_available
from orbudget.core.solve import SolveOptions

pyo = pytest.importorskip("pyomo.environ", reason="pyomo is not installed (pip install 'orbudget[pyomo]')")

from orbudget.solvers import _relu  # noqa: E402
from orbudget.solvers.pyomo import _common, _results  # noqa: E402
from orbudget.solvers.pyomo import rmab as pyomo_rmab  # noqa: E402

GUROBI_LIMIT = 2000  # the pip wheel's size-limited licence: at most 2000 variables and 2000 linear constraints


def _needs(module: str):
    return pytest.mark.skipif(not module_available(module), reason=f"{module} is not installed")


SOLVERS = [
    pytest.param("highs", marks=_needs("highspy"), id="highs"),
    pytest.param("appsi_highs", marks=_needs("highspy"), id="appsi_highs"),
    pytest.param("scip", marks=_needs("pyscipopt"), id="scip"),
    pytest.param("gurobi_direct", marks=_needs("gurobipy"), id="gurobi"),
]


def _fits(model, solver: str) -> None:
    """Skip, saying why, when Gurobi's size-limited licence cannot hold the model."""
    if solver.startswith("gurobi"):
        nv, nc = model.nvariables(), model.nconstraints()
        if nv > GUROBI_LIMIT or nc > GUROBI_LIMIT:
            pytest.skip(
                f"the model has {nv} variables and {nc} constraints, beyond Gurobi's size-limited pip "
                f"licence ({GUROBI_LIMIT} each)"
            )


def _close(a, b, rel=1e-6):
    assert abs(a - b) <= rel * max(1.0, abs(a), abs(b)), (a, b)


def _pyomo_solve(problem, method, solver, **kw):
    model = ob.to_pyomo(problem, **kw.pop("export", {}))
    _fits(model, solver)
    return ob.solve(problem, method=method, backend="pyomo", threads=1, options={"solver": solver}, **kw)


# -- knapsack and rollouts ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("exact", [False, True])
def test_mckp_optimum_matches_default_exact(solver, seed, exact):
    p = ob.MultipleChoiceKnapsack.random(10, 5, seed=seed, exact=exact)
    ref = ob.solve(p)
    r = _pyomo_solve(p, "mip", solver)
    assert ref.status == r.status
    if not ref.ok:
        return
    assert r.status is ob.Status.OPTIMAL and r.backend == "pyomo"
    _close(r.objective, ref.objective)
    assert p.is_feasible(r.x) and r.objective == p.value_of(r.x)
    _close(r.bound, ref.objective)


@pytest.mark.parametrize("solver", SOLVERS)
def test_mckp_lp_matches_highs_lp(solver):
    p = ob.MultipleChoiceKnapsack.random(12, 6, seed=4)
    ref = ob.solve(p, method="lp", backend="highs")
    r = _pyomo_solve(p, "lp", solver, export={"relax": True})
    _close(r.objective, ref.objective)
    assert r.x.shape == p.values.shape and np.allclose(r.x.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_rollouts_optimum_matches_default_exact(solver):
    rates = np.random.default_rng(3).uniform(0.05, 0.95, 8)
    p = ob.RolloutAllocation(success_rates=rates, total_rollouts=40, min_rollouts=1, max_rollouts=10)
    ref = ob.solve(p)
    r = _pyomo_solve(p, "mip", solver)
    _close(r.objective, ref.objective)
    assert p.is_feasible(r.x) and int(r.x.sum()) <= 40


@pytest.mark.parametrize("solver", SOLVERS)
def test_rollouts_lp_matches_highs_lp(solver):
    p = ob.RolloutAllocation.synthetic(6, 4, seed=0)
    ref = ob.solve(p, method="lp", backend="highs")
    r = _pyomo_solve(p, "lp", solver, export={"relax": True})
    _close(r.objective, ref.objective)
    assert r.x.shape == (6,) and r.stats["cost"] <= p.total_rollouts + 1e-6


def test_rollout_model_is_indexed_by_rollout_counts():
    p = ob.RolloutAllocation(success_rates=[0.5, 0.2], total_rollouts=6, min_rollouts=2, max_rollouts=4)
    m = ob.to_pyomo(p)
    assert sorted({n for _, n in m.x.keys()}) == [2, 3, 4] and hasattr(m, "one_count")


# -- online allocation and BwK -----------------------------------------------------------------------------------
def _online(seed, matching=False):
    rng = np.random.default_rng(seed)
    if matching:
        return ob.OnlineAllocation.matching(rng.uniform(0, 1, (25, 3)), np.array([3.0, 2.0, 4.0]))
    return ob.OnlineAllocation(
        rewards=rng.uniform(0, 1, (25, 3)), consumption=rng.uniform(0, 1, (25, 3, 2)), budgets=np.array([4.0, 3.0])
    )


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("matching", [False, True])
def test_hindsight_mip_and_lp_match_highs(solver, matching):
    p = _online(5, matching)
    ref = ob.solve(p, method="hindsight", backend="highs")
    r = _pyomo_solve(p, "hindsight", solver)
    _close(r.objective, ref.objective)
    assert p.is_feasible(r.x) and r.stats["regret"] == 0.0
    ref_lp = ob.solve(p, method="hindsight_lp", backend="highs")
    r_lp = _pyomo_solve(p, "hindsight_lp", solver, export={"relax": True})
    _close(r_lp.objective, ref_lp.objective)
    assert r_lp.objective >= r.objective - 1e-9


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("rewards", [0.0, 1.0])
def test_hindsight_with_nothing_to_play(solver, rewards):
    """No positive reward, or every action over a whole budget: an empty model (HiGHS refuses those), answered as
    the null action everywhere."""
    p = ob.OnlineAllocation(rewards=np.full((5, 2), rewards), consumption=np.full((5, 2, 1), 3.0), budgets=np.array([1.0]))
    r = ob.solve(p, method="hindsight", backend="pyomo", options={"solver": solver})
    assert r.status is ob.Status.OPTIMAL and r.objective == 0.0 and (r.x == -1).all()
    lp = ob.solve(p, method="hindsight_lp", backend="pyomo", options={"solver": solver})
    _close(lp.objective, ob.solve(p, method="hindsight_lp", backend="highs").objective)


@pytest.mark.parametrize("solver", SOLVERS)
def test_bwk_opt_lp_matches_highs(solver):
    rng = np.random.default_rng(6)
    p = ob.BanditsWithKnapsacks(
        reward_means=rng.uniform(0, 1, 5), consumption_means=rng.uniform(0, 1, (5, 2)), budgets=[40.0, 25.0], horizon=200
    )
    ref = ob.solve(p, method="opt_lp", backend="highs")
    r = _pyomo_solve(p, "opt_lp", solver)
    _close(r.objective, ref.objective)
    assert r.x.sum() <= 1 + 1e-6 and (p.consumption_means.T @ r.x <= p.budgets / p.horizon + 1e-6).all()


# -- budgeted assignment -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("exact", [False, True])
def test_separable_assignment_matches_proxy_dp(solver, exact):
    pytest.importorskip("torch", reason="the assignment loss is a torch callable")
    p = ob.BudgetedAssignment.separable(10, seed=7, exact=exact)
    ref = ob.solve(p, method="proxy_dp")
    r = _pyomo_solve(p, "mip", solver)
    assert ref.status is ob.Status.OPTIMAL and r.status is ob.Status.OPTIMAL
    _close(r.objective, ref.objective)
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


# -- coupled restless bandits ------------------------------------------------------------------------------------
def _rmab_family(name, seed=0):
    J = 6
    if name == "budget":
        return ob.CoupledRMAB.budget(J, 2, seed=seed)
    if name == "path":
        return ob.CoupledRMAB.path(J, 2, graph=(J, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (0, 3)], 0), seed=seed)
    if name == "matching":
        return ob.CoupledRMAB.matching(J, 2, seed=seed, distinct_workers=bool(seed % 2))
    if name == "capacity":
        return ob.CoupledRMAB.capacity(J, 2, seed=seed)
    return ob.CoupledRMAB.multiple_interventions(J, 5, 2, seed=seed)


FAMILIES = ["budget", "path", "matching", "capacity", "interventions"]


def _enumerated_linear(p, values):
    acts = p.feasible_actions()
    lv = p.constraint.levels(acts)
    return float(values[np.arange(p.n_arms), lv].sum(axis=1).max())


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("family", FAMILIES)
def test_action_set_linear_optimum_matches_enumeration(solver, family):
    p = _rmab_family(family, seed=1)
    rng = np.random.default_rng(2)
    for _ in range(2):
        values = rng.normal(size=(p.n_arms, p.n_levels))
        model = ob.to_pyomo(p, values=values)
        _fits(model, solver)
        outcome = _common.solve_model(model, SolveOptions(threads=1, options={"solver": solver}))
        r = ob.from_pyomo(p, model, outcome)
        assert r.status is ob.Status.OPTIMAL and p.is_feasible(r.x)
        _close(r.objective, _enumerated_linear(p, values))


def test_myopic_through_pyomo_equals_python_myopic():
    p = _rmab_family("capacity")
    p = ob.CoupledRMAB(transitions=p.transitions, rewards=p.rewards, constraint=p.constraint, horizon=5, episodes=3)
    a = ob.solve(p, method="myopic", backend="pyomo", seed=0, threads=1)
    b = ob.solve(p, method="myopic", backend="numpy", seed=0, options={"oracle": "enumerate"})
    assert a.objective == pytest.approx(b.objective, rel=1e-9) and a.stats["solves"] >= 1


@pytest.mark.skipif(
    not (module_available("omlt") and module_available("pyscipopt") and module_available("highspy")),
    reason="needs omlt, pyscipopt and highspy",
)
def test_qnetwork_argmax_agrees_ours_omlt_scip_enumeration():
    """50 states across the five families: our HiGHS MIP (interval bounds), OMLT's big-M encoding solved by SCIP,
    our formulation through Pyomo + SCIP, and enumeration agree on the argmax value (and each x is feasible)."""
    from orbudget.solvers.highs.rmab import QNetworkMIP

    checked = nonempty = 0
    scip = SolveOptions(threads=1, options={"solver": "scip"})
    for family in FAMILIES:
        p = _rmab_family(family, seed=3)
        net = _relu.random_network(p.n_decisions + p.n_arms * p.n_states, (8, 8), seed=11)
        ours = QNetworkMIP(p, net)
        rng = np.random.default_rng(13)
        for _ in range(10):
            s = rng.integers(0, p.n_states, p.n_arms)
            x_h, q_h, _ = ours.argmax(s)
            x_e, q_e = pyomo_rmab.enumerate_argmax(p, net, s)
            x_o, q_o, r_o = pyomo_rmab.argmax(p, net, s, formulation="omlt_bigm", opts=scip)
            assert r_o.status is ob.Status.OPTIMAL, r_o.message
            for x in (x_h, x_o):
                assert p.is_feasible(x)
            _close(q_h, q_e, 1e-6)
            _close(q_o, q_e, 1e-6)
            checked += 1
            nonempty += int(x_e.sum() > 0)
    assert checked >= 50 and nonempty >= 25  # the argmax is not the trivial empty action


@pytest.mark.skipif(not (module_available("omlt") and module_available("pyscipopt")), reason="needs omlt, pyscipopt")
@pytest.mark.parametrize("family", FAMILIES)
def test_qnetwork_formulations_agree(family):
    """Ours (interval, big-M) and OMLT's (big-M, partition) through Pyomo + SCIP on one state per family."""
    p = _rmab_family(family, seed=4)
    net = _relu.random_network(p.n_decisions + p.n_arms * p.n_states, (6, 6), seed=5)
    s = np.random.default_rng(0).integers(0, p.n_states, p.n_arms)
    _, q_e = pyomo_rmab.enumerate_argmax(p, net, s)
    scip = SolveOptions(threads=1, options={"solver": "scip"})
    for formulation in pyomo_rmab.FORMULATIONS:
        x, q, r = pyomo_rmab.argmax(p, net, s, formulation=formulation, opts=scip)
        assert r.status is ob.Status.OPTIMAL and p.is_feasible(x), (formulation, r.message)
        _close(q, q_e)


def test_interval_model_drops_stable_neurons():
    p = _rmab_family("budget")
    net = _relu.random_network(p.n_decisions + p.n_arms * p.n_states, (8, 8), seed=1)
    s = np.zeros(p.n_arms, dtype=np.int64)
    tight = ob.to_pyomo(p, network=net, states=s)
    loose = ob.to_pyomo(p, network=net, states=s, formulation="bigm")
    assert len(tight.relu_active) < len(loose.relu_active) == 16


def test_rmab_export_errors_name_the_field():
    p = _rmab_family("budget")
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


# -- export, side constraints, read-back -------------------------------------------------------------------------
@pytest.mark.parametrize("solver", SOLVERS)
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
    _close(r.objective, ob.solve(restricted).objective)


def test_from_pyomo_with_each_results_type():
    pytest.importorskip("highspy")
    p = ob.MultipleChoiceKnapsack.random(6, 3, seed=2)
    ref = ob.solve(p).objective
    m = ob.to_pyomo(p)
    r = ob.from_pyomo(p, m, pyo.SolverFactory("appsi_highs").solve(m))  # legacy SolverResults
    assert r.status is ob.Status.OPTIMAL
    _close(r.objective, ref)
    from pyomo.contrib.solver.common.factory import SolverFactory

    m = ob.to_pyomo(p)
    r = ob.from_pyomo(p, m, SolverFactory("highs").solve(m))  # Pyomo's current interface
    assert r.status is ob.Status.OPTIMAL and r.bound == pytest.approx(ref)
    r = ob.from_pyomo(p, m)  # no results: a solution, optimality unknown
    assert r.status is ob.Status.FEASIBLE and r.bound is None
    _close(r.objective, ref)


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


@pytest.mark.parametrize("solver", SOLVERS)
def test_infeasible_exact_budget_is_a_status(solver):
    p = ob.MultipleChoiceKnapsack(values=[[1, 2], [1, 2]], costs=[[2, 4], [2, 4]], budget=7, exact=True)
    assert p.infeasibility_reason() is None  # not ruled out by bounds: the solver has to find it
    r = ob.solve(p, method="mip", backend="pyomo", options={"solver": solver})
    assert r.status is ob.Status.INFEASIBLE and not r.ok


@pytest.mark.parametrize("solver", [p for p in SOLVERS if p.id != "gurobi"])
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


def test_gap_left_by_rel_gap_is_reported():
    p = ob.MultipleChoiceKnapsack(values=[[0, 3], [0, 2]], costs=[[0, 2], [0, 2]], budget=2)
    m = ob.to_pyomo(p)
    for (i, k), v in m.x.items():
        v.set_value(1 if (i, k) in ((0, 0), (1, 1)) else 0)  # value 2, the optimum is 3
    out = _common.Outcome(ob.Status.OPTIMAL, None, True, 3.0, "stopped at the gap")
    r = _results.read_result(p, m, m._orbudget, out, {}, rel_gap=0.5)
    assert (r.status, r.limit, r.objective, r.bound) == (ob.Status.FEASIBLE, ob.Limit.GAP, 2.0, 3.0)


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


@pytest.mark.parametrize("solver", SOLVERS)
def test_standard_options_are_accepted_by_each_solver(solver):
    p = ob.MultipleChoiceKnapsack.random(10, 5, seed=0)
    r = ob.solve(p, method="mip", backend="pyomo", seed=3, threads=1, rel_gap=0.0, time_limit=30, options={"solver": solver})
    assert r.status is ob.Status.OPTIMAL
    _close(r.objective, ob.solve(p).objective)


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


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_budget_slipped_by_tolerance_is_repaired_or_refused(solver):
    """Two options costing 2e-7 over the budget together: if the solver's tolerance lets the budget slip, a
    non-exact budget is repaired (FEASIBLE, said in the message) and an exact one refused (ERROR), never returned
    over budget; with our default tight tolerances the solvers find the true optimum."""
    costs = [[0, 0.5 + 2e-7], [0, 0.5]]
    p = ob.MultipleChoiceKnapsack(values=[[0, 10], [0, 10]], costs=costs, budget=1.0)
    r = ob.solve(p, method="mip", backend="pyomo", options={"solver": solver})
    assert r.status is ob.Status.OPTIMAL and r.objective == 10.0 and "repaired" not in r.stats
    p = ob.MultipleChoiceKnapsack(values=[[0, 10], [0, 10]], costs=costs, budget=1.0)
    r = ob.solve(p, method="mip", backend="pyomo", options={"solver": solver, "solver_options": _loose(solver)})
    assert r.ok and p.is_feasible(r.x) and r.objective == 10.0
    if solver == "highs":  # HiGHS takes both options at a 1e-6 tolerance (measured): the repair must have run
        assert "repaired" in r.stats
    if "repaired" in r.stats:
        assert r.status is ob.Status.FEASIBLE and "repaired" in r.message
    q = ob.MultipleChoiceKnapsack(values=[[0, 10], [0, 10]], costs=costs, budget=1.0, exact=True)
    r = ob.solve(q, method="mip", backend="pyomo", options={"solver": solver, "solver_options": _loose(solver)})
    assert r.status in (ob.Status.INFEASIBLE, ob.Status.ERROR) and not r.ok


def _loose(solver):
    """Loose feasibility tolerances (1e-6, the solvers' own defaults are 1e-6/1e-7) that let a 2e-7 overshoot in."""
    fam = _common.family_of(solver)
    return {k: 1e-6 for k in _common._TIGHT.get(fam, {})}


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
