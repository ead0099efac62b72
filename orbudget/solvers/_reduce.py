"""Shared adapter plumbing: infeasibility by bounds, integer costs for DP/CP-SAT, and the reduction of
``RolloutAllocation`` to ``MultipleChoiceKnapsack`` so every exact knapsack method solves both."""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from fractions import Fraction

import numpy as np

from ..core.errors import InvalidProblemError, SolverError
from ..core.result import Limit, Result, Status
from ..core.solve import Incumbent, SolveOptions
from ..problems.knapsack import INT64_MAX, MultipleChoiceKnapsack, exact_number
from ..problems.rollouts import RolloutAllocation


def infeasible(reason: str) -> Result:
    return Result(status=Status.INFEASIBLE, message=reason)


def round_costs_up(costs, budget, scale) -> tuple[np.ndarray, int]:
    """``ceil(s·c)`` and ``floor(s·B)`` for a positive scale s: any choice within the scaled budget is within the true
    one. The one rule every DP-backed method uses for non-integer costs.

    Exact and overflow-free: the products are formed in exact arithmetic, every cost above the scaled budget (it can
    never be chosen) becomes ``floor(s·B) + 1`` before the int64 cast, and a scaled budget of 2^63 or more is refused.
    """
    if not (isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale > 0 and np.isfinite(scale)):
        raise InvalidProblemError(f"`options.scale` must be a positive number; got {scale!r}")
    s = Fraction(scale)
    cap = math.floor(exact_number(budget) * s)
    if cap >= INT64_MAX:
        raise InvalidProblemError(
            f"`options.scale` {scale} makes the scaled budget {cap} reach the int64 limit 2^63 - 1; use a smaller scale"
        )
    raw = np.asarray(costs, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        prod = raw * float(scale)
        up = np.ceil(prod)
    # the float product is within a relative 2^-53 of the exact one, so its ceiling is exact unless it lies that
    # close to a whole number, or is too large for a float to resolve: those few are done in exact arithmetic
    margin = 1e-12 * np.maximum(1.0, np.abs(prod))
    safe = np.isfinite(prod) & (prod < 2.0**52) & (up - prod > margin) & (prod - (up - 1) > margin)
    safe |= np.isfinite(prod) & (prod < 2.0**52) & (prod == up) & (raw == 0)
    out = np.where(safe, up, 0).astype(np.int64)
    for i in np.flatnonzero(~safe.ravel()).tolist():
        out.flat[i] = min(math.ceil(exact_number(float(raw.flat[i])) * s), cap + 1)
    return np.minimum(out, cap + 1), int(cap)


def integer_costs(problem: MultipleChoiceKnapsack, scale) -> tuple[np.ndarray, int, bool]:
    """Whole-number int64 costs and an int budget of an equivalent problem, for DP and CP-SAT.

    Equivalent means: a choice fits the returned budget exactly when it fits the problem's. Options whose cost alone
    exceeds the budget get cost ``budget + 1`` (never chosen, and never cast from a value beyond int64), and a
    non-exact budget above the dearest possible total is lowered to that total. Non-integer costs need
    ``options={"scale": s}``: costs become ``ceil(s·c)`` and the budget ``floor(s·B)``, so any choice within the scaled
    budget is within the true one (the optimum may be missed; the third value, ``scaled``, is then True). The
    budget scaled is the model's own limit ``B·(1 + 1e-9)``, so a cost equal to the budget still fits.
    """
    if problem.whole_number_costs:
        if scale is not None:
            raise InvalidProblemError("`options.scale` applies only to non-integer costs; these are whole numbers")
        budget = problem.budget
        usable = problem.affordable()
        if not problem.exact:
            budget = problem.capped_budget()
        if budget >= INT64_MAX:
            raise InvalidProblemError(
                f"`budget` {problem.budget} reaches the int64 limit 2^63 - 1 that DP and CP-SAT work within; use 'mip'"
            )
        # unavailable options and those costing more than the budget get budget + 1: never chosen, never cast
        if usable.all():  # one pass over a large table
            costs = np.array(problem.costs, dtype=np.int64)
        else:
            costs = np.where(usable, problem.costs, 0).astype(np.int64)
            costs[~usable] = budget + 1
        return np.ascontiguousarray(costs, dtype=np.int64), int(budget), False
    if scale is None:
        raise InvalidProblemError(
            "`costs` are not whole numbers: use method='mip', or pass options={'scale': s} to round s·costs up"
        )
    if problem.exact:
        raise InvalidProblemError("`exact` budgets need whole-number costs for this method; use method='mip'")
    # the scaled budget is floor(s·high), high = B·(1 + 1e-9) the model's own limit: a choice within it is feasible
    return (*round_costs_up(problem.costs, problem.spend_window()[1], scale), True)


def repair_budget(problem: MultipleChoiceKnapsack, x) -> tuple[np.ndarray, int]:
    """Make an over-budget choice feasible (non-exact budgets): repeatedly move one group to a cheaper option, the move
    that loses least value per unit of cost saved, in exact arithmetic. Ends, since the all-cheapest choice fits
    whenever the problem is not infeasible by bounds. Returns the choice and the number of moves."""
    x = problem.check_choice(x).copy()
    costs, den = problem.exact_costs()
    _, high = problem.spend_window()
    limit = math.floor(high * den)
    values, mask = problem.values, problem.mask
    total = sum(costs[i][j] for i, j in enumerate(x.tolist()))
    moves = 0
    while total > limit:
        best = None
        for i, j in enumerate(x.tolist()):
            for k in np.flatnonzero(mask[i]).tolist():
                saved = costs[i][j] - costs[i][k]
                if saved <= 0:
                    continue
                key = (Fraction(float(values[i, j] - values[i, k])) / saved, -saved, i, k)
                if best is None or key < best:
                    best = key
        if best is None:
            raise SolverError("no cheaper option is left to repair an over-budget choice")
        _, neg_saved, i, k = best
        x[i] = k
        total += neg_saved
        moves += 1
    return x, moves


def no_solution_after_scaling(scale) -> Result:
    """What a method that rounds costs up at ``options.scale`` returns when nothing fits the rounded budget: not a
    proof of infeasibility (a finer scale or 'mip' may find a choice), so NO_SOLUTION, never INFEASIBLE."""
    return Result(
        status=Status.NO_SOLUTION,
        message=f"no choice fits the budget after rounding costs up at scale {scale}; a larger "
        "`options.scale` or method='mip' may find one",
    )


def no_exact(problem) -> str | None:
    return "it does not support exact budgets (`exact=True`); use 'dp', 'mip' or 'cpsat'" if problem.exact else None


def via_knapsack(knapsack_adapter):
    """Turn a ``MultipleChoiceKnapsack`` adapter into a ``RolloutAllocation`` adapter."""

    def adapter(problem: RolloutAllocation, opts: SolveOptions) -> Result:
        t0 = time.perf_counter()
        reason = problem.infeasibility_reason()
        if reason:
            return infeasible(reason)
        limit = opts.time_limit
        kp = problem.to_knapsack(None if limit is None else lambda: time.perf_counter() - t0 >= limit)
        if limit is not None:  # the limit counts from the call: the reduction's time comes off it
            left = float(limit) - (time.perf_counter() - t0)
            if kp is None or left <= 0:
                return Result(
                    status=Status.NO_SOLUTION,
                    limit=Limit.TIME,
                    timings={"reduce": time.perf_counter() - t0},
                    message="time limit reached while building the knapsack",
                )
            opts = dataclasses.replace(opts, time_limit=left)
        if (
            "scale" in opts.options
            and kp.whole_number_costs
            and problem.rollout_costs is not None
            and problem.rollout_costs.dtype.kind == "f"
        ):  # real costs that reduce to whole ones (all counts 0)
            opts = dataclasses.replace(opts, options={k: v for k, v in opts.options.items() if k != "scale"})
        if opts.warm_start is not None:
            start = problem.check_allocation(opts.warm_start) - problem.min_rollouts
            opts = dataclasses.replace(opts, warm_start=start)
        inner = Incumbent()  # the knapsack adapter offers knapsack choices: offer them on as rollout counts
        try:
            r = knapsack_adapter(kp, dataclasses.replace(opts, incumbent=inner))
        finally:
            if inner.x is not None:
                opts.incumbent.offer(problem.min_rollouts + inner.x, inner.objective, **inner.stats)
                opts.incumbent.bound = inner.bound
        if not r.ok:
            return r
        x = np.asarray(r.x)
        if x.dtype.kind == "f":  # a fractional LP solution: expected rollouts per prompt
            fractions = r.duals["fractions"]  # one column per count min_rollouts..useful_max (see to_knapsack)
            n = fractions @ np.arange(problem.min_rollouts, problem.min_rollouts + fractions.shape[1])
            return r.replace(x=n, stats={**r.stats, "cost": float(problem.costs_per_rollout @ n)})
        n = problem.min_rollouts + x
        return r.replace(x=n, stats={**r.stats, "cost": problem.cost_of(n)})

    # its docstring, and `__wrapped__`: where it runs is the knapsack method's backend
    return functools.update_wrapper(adapter, knapsack_adapter, assigned=("__doc__",))
