"""numpy adapters: the convex-hull greedy and LP relaxation of the multiple-choice knapsack (Sinha & Zoltners,
1979) and the uniform rollout allocation (the official Knapsack RL allocation, ``knapsackrl``, runs the numba DP:
``numba/rollouts.py``)."""

from __future__ import annotations

import math

import numpy as np

from ...core.budget import exact_number, exact_total
from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions
from ...problems.knapsack import MultipleChoiceKnapsack
from ...problems.rollouts import RolloutAllocation
from .._reduce import infeasible, no_exact, via_knapsack


def hull_increments(problem: MultipleChoiceKnapsack):
    """Per group, the upper convex hull of its undominated (cost, value) points, cheapest first.

    Options whose cost alone exceeds the budget are left out (no feasible choice uses them). Returns
    ``(start, steps, (exact, den))``, the last from ``problem.exact_costs()`` (built once, for the caller too):
    ``start[i]`` the cheapest undominated option, and ``steps`` a list of
    ``(slope, group, to_option, d_cost, d_value, d_cost_exact)`` sorted by slope descending (ties: group, then
    order); ``d_cost_exact`` is a Python int in units of ``1/den`` (see ``problem.exact_costs()``).
    """
    from ..numba._knapsack_dp import prune_dominated

    values = np.ascontiguousarray(problem.values, dtype=np.float64)
    costs = np.ascontiguousarray(problem.costs)  # int64, or float64: compared as given, never rounded
    exact, den = problem.exact_costs()
    keep = prune_dominated(values, costs, np.ascontiguousarray(problem.affordable()), False)
    start = np.zeros(problem.n_groups, np.int64)
    steps = []
    for i in range(problem.n_groups):
        opts = np.flatnonzero(keep[i])
        opts = opts[np.argsort(costs[i, opts], kind="stable")]
        hull: list[int] = []
        for j in opts:
            while len(hull) >= 2:
                a, b = hull[-2], hull[-1]
                # drop b when it lies on or below the segment a -> j
                if (values[i, b] - values[i, a]) * float(exact[i][j] - exact[i][b]) <= (values[i, j] - values[i, b]) * float(
                    exact[i][b] - exact[i][a]
                ):
                    hull.pop()
                else:
                    break
            hull.append(int(j))
        start[i] = hull[0]
        for order, (a, b) in enumerate(zip(hull[:-1], hull[1:])):
            dc_exact = exact[i][b] - exact[i][a]
            dc, dv = float(costs[i, b]) - float(costs[i, a]), float(values[i, b] - values[i, a])
            dc = dc if dc > 0 else float(dc_exact)  # floats equal above 2^53: keep a positive step
            steps.append((dv / dc, i, order, b, dc, dv, dc_exact))
    steps.sort(key=lambda s: (-s[0], s[1], s[2]))
    return start, [(s[0], s[1], s[3], s[4], s[5], s[6]) for s in steps], (exact, den)


def _lp_and_greedy(problem: MultipleChoiceKnapsack):
    """The LP relaxation (floats: it is a bound) and the greedy choice (exact integers: it must fit)."""
    start, steps, (exact, den) = hull_increments(problem)
    groups = np.arange(problem.n_groups)
    _, high = problem.spend_window()
    left_greedy = math.floor(high * den) - sum(exact[i][j] for i, j in enumerate(start.tolist()))
    base_cost = float(exact_total(problem.costs[groups, start]))
    left_lp = float(problem.capped_budget()) - base_cost
    bound = float(problem.values[groups, start].sum())
    x = start.copy()
    cur = start.copy()  # the LP's current hull vertex per group
    fractions = np.zeros(problem.values.shape)
    fractions[groups, start] = 1.0
    blocked = np.zeros(problem.n_groups, bool)
    lp_done = False
    for _slope, g, to, dc, dv, dc_exact in steps:
        if not lp_done:
            take = min(1.0, left_lp / dc)
            if take > 0:
                fractions[g, cur[g]] -= take
                fractions[g, to] += take
                bound += take * dv
                left_lp -= take * dc
                cur[g] = to
            lp_done = take < 1.0
        if not blocked[g]:
            if dc_exact <= left_greedy:
                x[g] = to
                left_greedy -= dc_exact
            else:
                blocked[g] = True
    return x, bound, fractions


@register(MultipleChoiceKnapsack, "greedy", backend="numpy", priority=50, supports=no_exact, honours=("time_limit", "seed"))
def solve_greedy(problem: MultipleChoiceKnapsack, opts: SolveOptions) -> Result:
    """Convex-hull greedy: take hull steps by best value per cost while they fit; ``bound`` is the LP value."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    x, bound, _ = _lp_and_greedy(problem)
    objective = problem.value_of(x)
    return Result(
        status=Status.FEASIBLE,
        x=x,
        objective=objective,
        bound=bound,
        stats={"cost": problem.cost_of(x)},
        message="greedy; bound is the LP relaxation",
    )


@register(
    MultipleChoiceKnapsack, "lp", backend="numpy", priority=40, supports=no_exact, honours=("time_limit", "rel_gap", "seed")
)
def solve_lp(problem: MultipleChoiceKnapsack, opts: SolveOptions) -> Result:
    """LP relaxation by the convex-hull greedy: ``x`` is fractional (N, K), ``objective`` = ``bound`` = LP value."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    _, bound, fractions = _lp_and_greedy(problem)
    cost = float((fractions * problem.costs).sum())
    return Result(
        status=Status.OPTIMAL,
        x=fractions,
        objective=bound,
        bound=bound,
        duals={"fractions": fractions},
        stats={"cost": cost},
        message="LP relaxation (an upper bound)",
    )


register(
    RolloutAllocation,
    "lp",
    backend="numpy",
    priority=40,
    honours=("time_limit", "rel_gap", "seed"),
    supports=lambda p: None if not p.unit_costs else "unit-cost rollouts need the exact-budget LP, on backend 'highs'",
)(via_knapsack(solve_lp))


@register(RolloutAllocation, "uniform", backend="numpy", priority=60, honours=("time_limit", "seed"))
def solve_uniform(problem: RolloutAllocation, opts: SolveOptions) -> Result:
    """As even as the bounds allow: every prompt the same count, the remainder one each to the first prompts."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    n, c = problem.n_prompts, problem.costs_per_rollout
    if problem.unit_costs:
        x = np.full(n, problem.total_rollouts // n, np.int64)
        x[: problem.total_rollouts % n] += 1
        x = np.clip(x, problem.min_rollouts, problem.max_rollouts)
        # clipping may leave a surplus or deficit: move it one rollout at a time, round-robin
        diff = problem.total_rollouts - int(x.sum())
        i = 0
        while diff != 0:
            step = 1 if diff > 0 else -1
            if problem.min_rollouts <= x[i % n] + step <= problem.max_rollouts:
                x[i % n] += step
                diff -= step
            i += 1
    else:
        per = math.floor(exact_number(problem.total_rollouts) / exact_total(c))  # exact: never over the budget
        x = np.full(n, min(max(per, problem.min_rollouts), problem.max_rollouts), np.int64)
    objective = problem.value_of(x)
    return Result(
        status=Status.FEASIBLE, x=x, objective=objective, stats={"cost": problem.cost_of(x)}, message="uniform allocation"
    )
