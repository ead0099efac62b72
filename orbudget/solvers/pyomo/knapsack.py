"""Pyomo models of the knapsack family (mirroring `orbudget.solvers.highs.knapsack`).

``MultipleChoiceKnapsack``: ``model.x[group, option]`` binary (in [0, 1] with ``relax=True``) for each available
option whose cost alone fits the budget, ``model.one_option[group]``: Σ_option x = 1, ``model.budget``:
Σ costs·x ≤ budget (= budget when ``exact``), ``model.value``: maximise Σ values·x.

``RolloutAllocation``: the same model over its knapsack, with ``model.x[prompt, rollouts]`` indexed by the number
of rollouts (``min_rollouts .. max``), ``model.one_count[prompt]`` and ``model.budget`` (Σ cost per rollout ·
rollouts ≤ total_rollouts).
"""

from __future__ import annotations

import numpy as np

from ...core.registry import register
from ...core.result import Status
from ...core.solve import SolveOptions, limited_result
from ...core.validation import as_bool
from ...problems.knapsack import MultipleChoiceKnapsack
from ...problems.rollouts import RolloutAllocation
from .._knapsack import starting_choice
from .._reduce import infeasible, repair_budget
from ._common import HONOURS, OPTIONS, Export, exporter
from ._results import solve_exported, value_array, whole


def _columns(problem: MultipleChoiceKnapsack) -> np.ndarray:
    """(group, option) pairs of the model: affordable options (all available ones when nothing fits, so the model
    stays well formed and the solver reports it infeasible)."""
    usable = problem.mask if problem.infeasibility_reason() else problem.affordable()
    return np.argwhere(usable)


RAW_UNITS_LIMIT = 2**53  # whole-number costs and budget up to this stay in the problem's own units (exact floats)


def budget_row(problem: MultipleChoiceKnapsack, pairs: np.ndarray):
    """``(coefficients, low, high, scale)`` of the budget row over ``pairs``. Whole-number costs and budget up to
    2^53: the problem's own units (a solver's absolute tolerance is below one unit). Otherwise (real costs, or whole
    numbers too large for a float to hold exactly) divided by the budget, so that the tolerance becomes relative to
    it, as in the HiGHS adapter; orbudget's exact check decides feasibility when the answer is read back."""
    costs = problem.costs[pairs[:, 0], pairs[:, 1]]
    low, high = problem.spend_window()
    if problem.whole_number_costs and max([int(c) for c in costs.tolist()] + [int(problem.budget)]) <= RAW_UNITS_LIMIT:
        return [int(c) for c in costs.tolist()], (int(low) if problem.exact else None), int(high), 1
    scale = problem.budget if problem.exact else problem.capped_budget()
    scale = float(scale) if scale > 0 else 1.0
    row = [float(c) / scale for c in costs.tolist()]
    return row, (float(low / scale) if problem.exact else None), float(min(high, problem.capped_budget()) / scale), scale


def _knapsack_model(problem: MultipleChoiceKnapsack, relax: bool, group_set: str, option_labels, one_name: str):
    import pyomo.environ as pyo

    pairs = _columns(problem)
    labels = list(option_labels)
    keys = [(int(i), labels[int(k)]) for i, k in pairs]
    m = pyo.ConcreteModel(name=type(problem).__name__)
    setattr(m, group_set, pyo.Set(initialize=range(problem.n_groups)))
    m.pairs = pyo.Set(initialize=keys, dimen=2)
    m.x = pyo.Var(m.pairs, domain=pyo.UnitInterval if relax else pyo.Binary)
    by_group: dict[int, list] = {}
    for key in keys:
        by_group.setdefault(key[0], []).append(key)
    setattr(m, one_name, pyo.Constraint(getattr(m, group_set), rule=lambda m, i: sum(m.x[k] for k in by_group[i]) == 1))
    row, low, high, scale = budget_row(problem, pairs)
    value = {key: float(problem.values[i, k]) for key, (i, k) in zip(keys, pairs)}
    terms = [(c, k) for c, k in zip(row, keys) if c]

    def budget_rule(m):
        if not terms:  # every option is free: nothing to constrain (an exact budget above 0 is infeasible by bounds)
            return pyo.Constraint.Skip
        spend = sum(c * m.x[k] for c, k in terms)
        if problem.exact:
            return spend == high if low == high else (low, spend, high)
        return spend <= high

    m.budget = pyo.Constraint(rule=budget_rule)
    m.budget_scale = scale  # 1: the row is in the problem's units; else it is divided by this
    m.value = pyo.Objective(expr=sum(value[k] * m.x[k] for k in keys), sense=pyo.maximize)
    return m, keys, pairs


def _read_choice(problem: MultipleChoiceKnapsack, m, keys, pairs, relax: bool):
    vals = value_array(m.x, keys)
    if relax:
        frac = np.zeros(problem.values.shape)
        frac[pairs[:, 0], pairs[:, 1]] = vals
        return frac
    on = whole(vals, "x")
    x = np.full(problem.n_groups, -1, dtype=np.int64)
    rows = pairs[on == 1]
    x[rows[:, 0]] = rows[:, 1]
    if (x < 0).any() or np.bincount(rows[:, 0], minlength=problem.n_groups).max() > 1:
        raise ValueError("x does not pick exactly one option per group")
    return x


def _repaired(kp: MultipleChoiceKnapsack, x, stats: dict, model) -> np.ndarray:
    """A non-exact budget the solver's tolerance let slip: move groups to cheaper options (as the HiGHS adapter
    does) and say so; an exact budget is left to the check (an ERROR that says why). Only in the ``pyomo``
    adapters, whose model is orbudget's own: a user's model may carry side constraints a repair would break, so
    ``from_pyomo`` reports the slip instead."""
    if kp.exact or not model._orbudget.extras.get("repair") or kp.is_feasible(x):
        return x
    over = kp.cost_of(x)
    x, moves = repair_budget(kp, x)
    stats["repaired"] = moves
    stats["_downgrade"] = f"; its choice cost {over} > budget {kp.budget}, repaired by {moves} move(s) to cheaper options"
    return x


def _check_choice(problem: MultipleChoiceKnapsack, x) -> str | None:
    if not problem.is_feasible(x):
        return f"its choice costs {problem.cost_of(x)}, outside the budget {problem.budget}"
    return None


@exporter(MultipleChoiceKnapsack)
def build_knapsack(problem: MultipleChoiceKnapsack, *, relax: bool = False):
    relax = as_bool("relax", relax)
    m, keys, pairs = _knapsack_model(problem, relax, "groups", range(problem.n_options), "one_option")

    def read(problem, model):
        x = _read_choice(problem, model, keys, pairs, relax)
        if relax:
            cost = float((x * problem.costs).sum())
            return x, {"cost": cost}
        stats: dict = {}
        x = _repaired(problem, x, stats, model)
        return x, {"cost": problem.cost_of(x), **stats}

    def objective(problem, x):
        return float((x * problem.values).sum()) if relax else problem.value_of(x)

    def check(problem, x):
        if relax:
            return None if np.allclose(x.sum(axis=1), 1.0, atol=1e-6) else "fractions do not sum to one per group"
        return _check_choice(problem, x)

    return m, Export(problem, read, "max", objective, check, integer=not relax, kind="mckp")


@exporter(RolloutAllocation)
def build_rollouts(problem: RolloutAllocation, *, relax: bool = False):
    relax = as_bool("relax", relax)
    kp = problem.to_knapsack()
    counts = range(problem.min_rollouts, problem.min_rollouts + kp.n_options)
    m, keys, pairs = _knapsack_model(kp, relax, "prompts", counts, "one_count")
    levels = np.arange(problem.min_rollouts, problem.min_rollouts + kp.n_options)

    def read(problem, model):
        x = _read_choice(kp, model, keys, pairs, relax)
        if relax:
            n = x @ levels
            return n, {"cost": float(problem.costs_per_rollout @ n), "fractions": x}
        stats: dict = {}
        n = problem.min_rollouts + _repaired(kp, x, stats, model)
        return n, {"cost": problem.cost_of(n), **stats}

    def objective(problem, n):
        if relax:
            return float((m._orbudget_fractions * kp.values).sum())
        return problem.value_of(n)

    def check(problem, n):
        if relax:
            return None
        return None if problem.is_feasible(n) else f"it uses {problem.cost_of(n)} of {problem.total_rollouts} rollouts"

    def read_keep(problem, model):
        n, stats = read(problem, model)
        if relax:
            model._orbudget_fractions = stats.pop("fractions")
        return n, stats

    return m, Export(problem, read_keep, "max", objective, check, integer=not relax, kind="rollouts")


def _offer_start(problem, opts) -> None:
    """Offer the knapsack's cheap start (`starting_choice`) before the model is built, so that a limit or a Ctrl-C
    that lands before the solver finds a solution still returns one; for rollouts, as counts per prompt."""
    kp = problem if isinstance(problem, MultipleChoiceKnapsack) else problem.to_knapsack()
    x, bound = starting_choice(kp)
    if bound is not None:
        opts.incumbent.bound = bound
    if x is None:
        return
    if not isinstance(problem, MultipleChoiceKnapsack):
        x = problem.min_rollouts + x
    if problem.is_feasible(x):
        opts.incumbent.offer(x, problem.value_of(x), cost=problem.cost_of(x))


def _solve(problem, opts, relax: bool):
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    if not relax:
        _offer_start(problem, opts)
    r = solve_exported(problem, opts, {"relax": relax})
    if not relax and r.status is Status.NO_SOLUTION and r.limit is not None and opts.incumbent.x is not None:
        return limited_result(problem, opts.incumbent, r.limit, r.message).replace(
            timings=r.timings, message=f"{r.message}; the starting solution"
        )
    return r


@register(MultipleChoiceKnapsack, "mip", backend="pyomo", priority=80, options=OPTIONS, long=True, **HONOURS)
def solve_mip(problem: MultipleChoiceKnapsack, opts: SolveOptions):
    """Exact MIP through Pyomo with any solver it reaches (``options={'solver': 'scip'}``; default HiGHS)."""
    return _solve(problem, opts, relax=False)


@register(MultipleChoiceKnapsack, "lp", backend="pyomo", priority=80, options=OPTIONS, **HONOURS)
def solve_lp(problem: MultipleChoiceKnapsack, opts: SolveOptions):
    """LP relaxation through Pyomo: fractional ``x`` (N, K) and the bound."""
    r = _solve(problem, opts, relax=True)
    return r.replace(duals={"fractions": r.x}) if r.ok else r


@register(RolloutAllocation, "mip", backend="pyomo", priority=80, options=OPTIONS, long=True, **HONOURS)
def solve_rollouts_mip(problem: RolloutAllocation, opts: SolveOptions):
    """Exact MIP through Pyomo over the rollout counts (any solver Pyomo reaches)."""
    return _solve(problem, opts, relax=False)


@register(RolloutAllocation, "lp", backend="pyomo", priority=80, options=OPTIONS, **HONOURS)
def solve_rollouts_lp(problem: RolloutAllocation, opts: SolveOptions):
    """LP relaxation through Pyomo: expected rollouts per prompt and the bound."""
    return _solve(problem, opts, relax=True)
