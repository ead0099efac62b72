"""Pyomo model of budgeted assignment with a separable loss (``separable_loss=True``: the loss is Σ proxy ⊙ P, a
linear loss of the one-hot assignment), the exact optimum that ``proxy_dp`` reaches by DP.

``model.x[group, option]`` binary, ``model.one_option[group]``: Σ_option x = 1, ``model.budget``: Σ costs·x ≤ budget,
or, when ``exact`` (whole-number costs), = the largest total within the budget that some assignment reaches (found
by a reachable-sums pass, so the MIP is the problem's own: the budget used exactly when it can be),
``model.loss``: minimise Σ proxy·x.
"""

from __future__ import annotations

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.registry import register
from ...core.solve import SolveOptions
from ...problems.assignment import BudgetedAssignment
from ._common import HONOURS, OPTIONS, Export, exporter
from ._results import solve_exported, value_array, whole


def largest_reachable(costs: np.ndarray, budget: int) -> int:
    """The largest Σ_i costs[i, x_i] ≤ budget over assignments: a bitset of reachable totals while the budget is
    below 2^27 (16 MiB), else the set of reachable totals itself (a budget of 1e18 would need an exabyte bitset)."""
    if budget >= 2**27:
        return _largest_reachable_sparse(costs, budget)
    mask = (1 << (budget + 1)) - 1
    reach = 1
    for row in costs.tolist():
        new = 0
        for c in set(row):
            if int(c) <= budget:  # a dearer option never fits (and shifting by it would build a huge int)
                new |= reach << int(c)
        reach = new & mask
        if not reach:
            raise InvalidProblemError(f"`budget` {budget} is below the cheapest assignment")
    return reach.bit_length() - 1


REACHABLE_LIMIT = 2_000_000  # distinct totals kept by the sparse pass before it gives up


def _largest_reachable_sparse(costs: np.ndarray, budget: int) -> int:
    reach = {0}
    for row in costs.tolist():
        options = {int(c) for c in row}
        reach = {s + c for s in reach for c in options if s + c <= budget}
        if not reach:
            raise InvalidProblemError(f"`budget` {budget} is below the cheapest assignment")
        if len(reach) > REACHABLE_LIMIT:
            raise InvalidProblemError(
                f"`budget`: exact=True needs the largest reachable total, and more than {REACHABLE_LIMIT:,} distinct "
                f"totals lie below {budget}; solve with exact=False, or method='proxy_dp'"
            )
    return max(reach)


def _separable(problem: BudgetedAssignment) -> str | None:
    if not problem.separable_loss:
        return "its loss is not declared separable (`separable_loss=True` with the `proxy` table): no linear MIP"
    if problem.exact and problem.costs.dtype.kind != "i":
        return "`exact` needs whole-number costs for the MIP (the largest reachable total is found in integers)"
    return None


@exporter(BudgetedAssignment)
def build_assignment(problem: BudgetedAssignment):
    import pyomo.environ as pyo

    why = _separable(problem)
    if why:
        raise InvalidProblemError(f"`loss`: {why}")
    n, k = problem.costs.shape
    proxy = np.asarray(problem.proxy, float)
    m = pyo.ConcreteModel(name=problem.name or "BudgetedAssignment")
    m.groups = pyo.Set(initialize=range(n))
    m.options = pyo.Set(initialize=range(k))
    m.x = pyo.Var(m.groups, m.options, domain=pyo.Binary)
    m.one_option = pyo.Constraint(m.groups, rule=lambda m, i: sum(m.x[i, j] for j in m.options) == 1)
    whole_costs = problem.costs.dtype.kind == "i"
    cost = (lambda i, j: int(problem.costs[i, j])) if whole_costs else (lambda i, j: float(problem.costs[i, j]))
    # options dearer than the whole budget are fixed off (with a budget of 0, a cost of 1e-12 sat inside the
    # solver's 1e-9 tolerance, and a cost of 1e18 broke its numerics); the row is in budget units for real costs or
    # totals past 2^53 (the solver's absolute tolerance becomes relative, as in the HiGHS knapsack adapter)
    for i, j in zip(*np.nonzero(problem.costs > problem.budget)):
        m.x[int(i), int(j)].fix(0)
    usable = [(i, j) for i in range(n) for j in range(k) if problem.costs[i, j] <= problem.budget]
    target = largest_reachable(problem.costs, int(np.floor(problem.budget))) if problem.exact else None
    cap = target if problem.exact else problem.budget
    scale = 1.0 if (whole_costs and float(cap) <= 2.0**53) or cap <= 0 else float(cap)
    spend = sum(cost(i, j) / scale * m.x[i, j] for i, j in usable)
    m.budget = pyo.Constraint(expr=(spend == cap / scale) if problem.exact else (spend <= float(cap) / scale))
    m.loss = pyo.Objective(expr=sum(float(proxy[i, j]) * m.x[i, j] for i in range(n) for j in range(k)), sense=pyo.minimize)
    keys = [(i, j) for i in range(n) for j in range(k)]

    def read(problem, model):
        on = whole(value_array(model.x, keys), "x").reshape(n, k)
        if (on.sum(axis=1) != 1).any():
            raise ValueError("x does not pick exactly one option per group")
        x = on.argmax(axis=1).astype(np.int64)
        return x, {"cost": problem.cost_of(x), "budget": problem.budget, "loss_evaluations": 1}

    def objective(problem, x):
        return problem.loss_of(x)

    def check(problem, x):
        if not problem.is_feasible(x):
            return f"its cost {problem.cost_of(x)} exceeds the budget {problem.budget}"
        if target is not None and problem.cost_of(x) != target:
            return f"its cost {problem.cost_of(x)} is not the largest reachable total {target} (exact budget)"
        return None

    return m, Export(problem, read, "min", objective, check, integer=True, kind="assignment", extras={"target": target})


@register(BudgetedAssignment, "mip", backend="pyomo", priority=80, supports=_separable, options=OPTIONS, long=True, **HONOURS)
def solve_mip(problem: BudgetedAssignment, opts: SolveOptions):
    """Exact MIP of a separable loss through Pyomo (any solver it reaches)."""
    return solve_exported(problem, opts)
