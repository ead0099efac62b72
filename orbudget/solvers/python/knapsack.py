"""Pure numpy adapters: the convex-hull greedy and LP relaxation of the multiple-choice knapsack (Sinha & Zoltners,
1979), the uniform rollout allocation, and the official Knapsack RL allocation (``knapsackrl``)."""

from __future__ import annotations

import numpy as np

from ...core.registry import register
from ...core.result import Result, Status
from ...problems.knapsack import MultipleChoiceKnapsack
from ...problems.rollouts import RolloutAllocation, probability_cost
from .._reduce import infeasible, no_exact, via_knapsack


def hull_increments(problem: MultipleChoiceKnapsack):
    """Per group, the upper convex hull of its undominated (cost, value) points, cheapest first.

    Returns ``(start, steps)``: ``start[i]`` the cheapest undominated option, and ``steps`` a list of
    ``(slope, group, to_option, d_cost, d_value)`` sorted by slope descending (ties: group, then order).
    """
    from ..numba._kernels import prune_dominated

    values = np.ascontiguousarray(problem.values, dtype=np.float64)
    costs = np.ascontiguousarray(problem.costs)
    keep = prune_dominated(values, costs.astype(np.float64), np.ascontiguousarray(problem.mask), False)
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
                if (values[i, b] - values[i, a]) * (costs[i, j] - costs[i, b]) <= \
                        (values[i, j] - values[i, b]) * (costs[i, b] - costs[i, a]):
                    hull.pop()
                else:
                    break
            hull.append(int(j))
        start[i] = hull[0]
        for order, (a, b) in enumerate(zip(hull[:-1], hull[1:])):
            dc, dv = float(costs[i, b] - costs[i, a]), float(values[i, b] - values[i, a])
            steps.append((dv / dc, i, order, b, dc, dv))
    steps.sort(key=lambda s: (-s[0], s[1], s[2]))
    return start, [(s[0], s[1], s[3], s[4], s[5]) for s in steps]


def _lp_and_greedy(problem: MultipleChoiceKnapsack):
    start, steps = hull_increments(problem)
    groups = np.arange(problem.n_groups)
    base_cost = float(problem.costs[groups, start].sum())
    left_lp = left_greedy = problem.budget - base_cost
    bound = float(problem.values[groups, start].sum())
    x = start.copy()
    cur = start.copy()  # the LP's current hull vertex per group
    fractions = np.zeros(problem.values.shape)
    fractions[groups, start] = 1.0
    blocked = np.zeros(problem.n_groups, bool)
    lp_done = False
    for _slope, g, to, dc, dv in steps:
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
            if dc <= left_greedy:
                x[g] = to
                left_greedy -= dc
            else:
                blocked[g] = True
    return x, bound, fractions


@register(MultipleChoiceKnapsack, "greedy", backend="python", priority=50, supports=no_exact)
def solve_greedy(problem: MultipleChoiceKnapsack, opts) -> Result:
    """Convex-hull greedy: take hull steps by best value per cost while they fit; ``bound`` is the LP value."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    x, bound, _ = _lp_and_greedy(problem)
    objective = problem.value_of(x)
    return Result(status=Status.FEASIBLE, x=x, objective=objective, bound=bound,
                  stats={"cost": problem.cost_of(x)}, message="greedy; bound is the LP relaxation")


@register(MultipleChoiceKnapsack, "lp", backend="python", priority=40, supports=no_exact)
def solve_lp(problem: MultipleChoiceKnapsack, opts) -> Result:
    """LP relaxation by the convex-hull greedy: ``x`` is fractional (N, K), ``objective`` = ``bound`` = LP value."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    _, bound, fractions = _lp_and_greedy(problem)
    cost = float((fractions * problem.costs).sum())
    return Result(status=Status.OPTIMAL, x=fractions, objective=bound, bound=bound,
                  duals={"fractions": fractions}, stats={"cost": cost}, message="LP relaxation (an upper bound)")


register(RolloutAllocation, "lp", backend="python", priority=40,
         supports=lambda p: None if not p.unit_costs else
         "unit-cost rollouts need the exact-budget LP, on backend 'highs'")(via_knapsack(solve_lp))


@register(RolloutAllocation, "uniform", backend="python", priority=60)
def solve_uniform(problem: RolloutAllocation, opts) -> Result:
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
        per = int(np.floor(problem.total_rollouts / c.sum()))
        x = np.full(n, int(np.clip(per, problem.min_rollouts, problem.max_rollouts)), np.int64)
    objective = problem.value_of(x)
    return Result(status=Status.FEASIBLE, x=x, objective=objective, stats={"cost": problem.cost_of(x)},
                  message="uniform allocation")


# -- the official Knapsack RL allocation -----------------------------------------------------------------------

def knapsackrl_allocation(success_rates, valid, total_rollouts: int, *, default_rollouts: int = 8,
                          min_rollouts: int = 2, max_rollouts: int = 128, alpha: float = 0.9,
                          allow_fallback: bool = True):
    """Reproduce ``sampling_budget_by_knapsack`` of the official code (liziniu/KnapsackRL, verl 0.5 fork).

    Rules, in the official order: invalid prompts get ``default_rollouts``; valid prompts with 0 < p < 1 are
    *effective* and start at ``min_rollouts``; p in {0, 1} get ``min_rollouts``. If the effective prompts'
    "probability" costs (truncated, capped at ``max_rollouts``) total less than the remaining budget, the surplus
    goes evenly to prompts whose recorded rate is 0 (which, as in the official code, includes invalid prompts),
    else to all non-effective prompts. A DP then spends the rest in *extra* rollouts on effective prompts, where
    zero extra scores 0 (the official quirk) and k extra score Value(min + k, p); if the exact budget is
    unreachable it uses the largest reachable one and spreads the leftover evenly over effective prompts.

    Departures, each where the official code would crash: when every prompt is effective the fallback is skipped
    (official: division by zero); a negative remaining budget is reported as infeasible (official: assertion).
    Returns ``(allocation, info)``.
    """
    from ..numba._kernels import mckp_dp

    p = np.where(valid, np.asarray(success_rates, float), 0.0)
    n = p.size
    alloc = np.where(valid, min_rollouts, default_rollouts).astype(np.int64)
    effective = np.flatnonzero(valid & (p > 0) & (p < 1))
    remaining = int(total_rollouts) - int(alloc.sum())
    info = {"fallback": False, "fallback_effective_ratio": 1.0}
    if remaining < 0:
        raise ValueError(f"total_rollouts {total_rollouts} is below the base allocation {int(alloc.sum())}")
    if remaining > 0 and effective.size == 0:
        zero = np.flatnonzero(p == 0)
        if zero.size:
            alloc[zero] += remaining // zero.size
            alloc[zero[: remaining % zero.size]] += 1
        else:
            alloc[:] = default_rollouts
        return alloc, info
    est = int(sum(int(min(max_rollouts, c)) for c in probability_cost(p[effective], alpha)))
    candidates = np.flatnonzero(p == 0)
    if candidates.size == 0:
        candidates = np.setdiff1d(np.arange(n), effective)
    if allow_fallback and est < remaining and candidates.size:
        info = {"fallback": True, "fallback_effective_ratio": est / remaining}
        surplus = remaining - est
        alloc[candidates] += surplus // candidates.size
        alloc[candidates[: surplus % candidates.size]] += 1
        remaining = est
    if remaining <= 0 or effective.size == 0:
        return alloc, info
    extra_max = max_rollouts - min_rollouts
    k = np.arange(extra_max + 1)
    pe = p[effective][:, None]
    values = (1 - pe ** (k + min_rollouts) - (1 - pe) ** (k + min_rollouts)) * pe * (1 - pe) ** 2
    values[:, 0] = 0.0  # the official "0 extra scores 0" quirk
    costs = np.broadcast_to(k, values.shape).astype(np.int64)
    avail = np.ones(values.shape, bool)
    usable = remaining
    while usable > 0:
        choice = np.empty((effective.size, usable + 1), np.uint8 if extra_max < 256 else np.uint16)
        _, x, ok = mckp_dp(np.ascontiguousarray(values), np.ascontiguousarray(costs), avail, usable, True, choice)
        if ok:
            alloc[effective] += x
            break
        usable -= 1
    left = remaining - max(usable, 0)
    if left > 0:
        alloc[effective] += left // effective.size
        alloc[effective[: left % effective.size]] += 1
    return alloc, info


@register(RolloutAllocation, "knapsackrl", backend="numba", priority=70,
          supports=lambda p: None if (p.unit_costs and isinstance(p.value, str) and p.value == "knapsack_rl")
          else "the official allocation uses unit costs and the 'knapsack_rl' value",
          options=("alpha", "allow_fallback", "valid", "default_rollouts"))
def solve_knapsackrl(problem: RolloutAllocation, opts) -> Result:
    """The official Knapsack RL code's allocation (fallback rules and "0 extra scores 0" quirk), for comparison."""
    valid = np.asarray(opts.get("valid", np.ones(problem.n_prompts, bool)), bool)
    try:
        x, info = knapsackrl_allocation(problem.success_rates, valid, problem.total_rollouts,
                                        default_rollouts=opts.get("default_rollouts", 8),
                                        min_rollouts=problem.min_rollouts, max_rollouts=problem.max_rollouts,
                                        alpha=opts.get("alpha", 0.9), allow_fallback=opts.get("allow_fallback", True))
    except ValueError as exc:
        return infeasible(str(exc))
    table = problem.table()
    clipped = np.clip(x, 0, problem.max_rollouts)
    objective = float(table[np.arange(problem.n_prompts), clipped].sum())
    within = bool(((x >= problem.min_rollouts) & (x <= problem.max_rollouts)).all())
    return Result(status=Status.FEASIBLE, x=x, objective=objective, stats={"cost": int(x.sum()), **info,
                  "within_bounds": within}, message="official Knapsack RL allocation (compat)")
