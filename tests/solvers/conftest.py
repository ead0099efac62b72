"""Helpers that the solver tests of several modules share (the backends' folders import them as ``from ..conftest
import ...``; tests/conftest.py holds those of the whole suite)."""

import itertools

import numpy as np
import pytest

import orbudget as ob
from orbudget.core.registry import module_available
from orbudget.core.solve import SolveOptions
from orbudget.problems.assignment import BudgetedAssignment
from orbudget.problems.regularizers import BelowTargetPenalty, LoadBalancing, MaxMinFairness, QuadraticPenalty
from orbudget.solvers import _relu


# -- budgeted assignment -----------------------------------------------------------------------------------------------
# a BudgetedAssignment with a linear loss (and that table as its proxy) for any costs: the issue-13 instances
def linear_assignment(costs, budget, exact=True, seed=0, **kw):
    from orbudget.problems.assignment import _LinearLoss

    table = np.random.default_rng(seed).normal(size=np.shape(costs))
    return BudgetedAssignment(costs=costs, budget=budget, loss=_LinearLoss(table), exact=exact, proxy=table, **kw)


class RepeatedLoss:
    """A loss evaluated ``repeat`` times over (the same value and gradient): one evaluation is a large unit of work,
    so a method that checks its limit only between steps overshoots by a whole step."""

    def __init__(self, base, repeat: int):
        self.base, self.repeat = base, repeat

    def __call__(self, p):
        out = self.base(p)
        for _ in range(self.repeat - 1):
            out = out + 0.0 * self.base(p)
        return out


def slow_assignment(n_groups=400, repeat=40, seed=0):
    """The quadratic instance with a loss evaluation of several milliseconds (the measured proxy of ``proxy_dp``
    takes N·K of them: seconds)."""
    p = BudgetedAssignment.quadratic(n_groups, 4, seed=seed)
    return BudgetedAssignment(costs=p.costs, budget=p.budget, loss=RepeatedLoss(p.loss, repeat), exact=False)


# -- bidding -----------------------------------------------------------------------------------------------------------
def small_campaign(seed=4, **kw):
    return ob.BiddingCampaign.synthetic(
        **{"n_test": 3000, "n_train": 5000, "episode_length": 300, "budget_fraction": 1 / 8, "seed": seed, **kw}
    )


# -- bandits with knapsacks --------------------------------------------------------------------------------------------
BWK_POLICIES = ["primal_dual", "lagrange", "best_of_both", "ucb", "ucb_bwk", "explore_first"]


# -- LLM inference: sample allocation and routing ----------------------------------------------------------------------
def brute_samples(p: ob.SampleAllocation) -> float:
    best = -1.0
    for combo in itertools.product(*[range(lo, hi + 1) for lo, hi in zip(p.min_samples, p.max_samples)]):
        if p.is_feasible(combo):
            best = max(best, p.accuracy_of(combo))
    return best


def brute_routes(p: ob.ModelRouting) -> float:
    best = None
    low = -1 if p.allow_skip else 0
    for combo in itertools.product(range(low, p.n_models), repeat=p.n_queries):
        if p.is_feasible(combo):
            v = p.accuracy_of(combo)
            best = v if best is None else max(best, v)
    return best


# -- multiple-choice knapsack ------------------------------------------------------------------------------------------
def random_mckp(rng):
    n, k = int(rng.integers(1, 6)), int(rng.integers(1, 5))
    costs = rng.integers(0, 12, (n, k))
    values = rng.integers(-3, 15, (n, k)).astype(float)
    if rng.random() < 0.5:
        values += rng.random((n, k))
    available = rng.random((n, k)) < 0.8
    available[np.arange(n), rng.integers(0, k, n)] = True
    return ob.MultipleChoiceKnapsack(
        values=values,
        costs=costs,
        budget=int(rng.integers(0, costs.sum() + 2)),
        available=available,
        exact=bool(rng.random() < 0.4),
    )


# -- regularised online allocation -------------------------------------------------------------------------------------
POLYHEDRAL_REGULARIZERS = [MaxMinFairness(0.5), LoadBalancing(0.3), BelowTargetPenalty([2.0, 0.5], [0.9, 0.6])]
REGULARIZERS = [*POLYHEDRAL_REGULARIZERS, QuadraticPenalty([1.0, 3.0], [0.5, 0.8])]


def regularized_instance(T, seed, regularizer=None, dense=False, m=2):
    rng = np.random.default_rng(seed)
    budgets = rng.uniform(0.15, 0.4, m) * T
    if dense:
        k = 3
        return ob.OnlineAllocation(
            rewards=rng.random((T, k)), consumption=rng.random((T, k, m)) * 0.8, budgets=budgets, regularizer=regularizer
        )
    return ob.OnlineAllocation.matching(rewards=rng.random((T, m)), budgets=budgets, regularizer=regularizer)


def with_regularizer(p, regularizer):
    return ob.OnlineAllocation(rewards=p.rewards, consumption=p.consumption, budgets=p.budgets, regularizer=regularizer)


# -- the Pyomo backend: every solver it reaches, and the instances of its RMAB models ----------------------------------
GUROBI_LIMIT = 2000  # the pip wheel's size-limited licence: at most 2000 variables and 2000 linear constraints


def _needs_module(module: str):
    return pytest.mark.skipif(not module_available(module), reason=f"{module} is not installed")


PYOMO_SOLVERS = [
    pytest.param("highs", marks=_needs_module("highspy"), id="highs"),
    pytest.param("appsi_highs", marks=_needs_module("highspy"), id="appsi_highs"),
    pytest.param("scip", marks=_needs_module("pyscipopt"), id="scip"),
    pytest.param("gurobi_direct", marks=_needs_module("gurobipy"), id="gurobi"),
]


def skip_beyond_gurobi_licence(model, solver: str) -> None:
    """Skip, saying why, when Gurobi's size-limited licence cannot hold the model."""
    if solver.startswith("gurobi"):
        nv, nc = model.nvariables(), model.nconstraints()
        if nv > GUROBI_LIMIT or nc > GUROBI_LIMIT:
            pytest.skip(
                f"the model has {nv} variables and {nc} constraints, beyond Gurobi's size-limited pip "
                f"licence ({GUROBI_LIMIT} each)"
            )


def assert_close(a, b, rel=1e-6):
    assert abs(a - b) <= rel * max(1.0, abs(a), abs(b)), (a, b)


def pyomo_solve(problem, method, solver, **kw):
    model = ob.to_pyomo(problem, **kw.pop("export", {}))
    skip_beyond_gurobi_licence(model, solver)
    return ob.solve(problem, method=method, backend="pyomo", threads=1, options={"solver": solver}, **kw)


# J = 6 instances of five constraint families as the Pyomo models are checked on (not tests.conftest.tiny's)
def rmab_family(name, seed=0):
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


RMAB_FAMILY_NAMES = ["budget", "path", "matching", "capacity", "interventions"]


# -- coupled restless bandits ------------------------------------------------------------------------------------------
ONE_THREAD = SolveOptions(threads=1)
random_layers = _relu.random_network
