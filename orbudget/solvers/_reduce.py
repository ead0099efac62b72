"""Shared adapter plumbing: infeasibility by bounds, integer costs for DP/CP-SAT, and the reduction of
``RolloutAllocation`` to ``MultipleChoiceKnapsack`` so every exact knapsack method solves both."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..core.errors import InvalidProblemError
from ..core.result import Result, Status
from ..problems.knapsack import MultipleChoiceKnapsack
from ..problems.rollouts import RolloutAllocation


def infeasible(reason: str) -> Result:
    return Result(status=Status.INFEASIBLE, message=reason)


def round_costs_up(costs, budget, scale) -> tuple[np.ndarray, int]:
    """``ceil(s·c)`` and ``floor(s·B)`` for a positive scale s: any choice within the scaled budget is within the
    true one. The one rule every DP-backed method uses for non-integer costs."""
    if not (isinstance(scale, (int, float)) and scale > 0 and np.isfinite(scale)):
        raise InvalidProblemError(f"`options.scale` must be a positive number; got {scale!r}")
    return np.ceil(np.asarray(costs) * scale).astype(np.int64), int(np.floor(budget * scale))


def integer_costs(problem: MultipleChoiceKnapsack, scale) -> tuple[np.ndarray, int, bool]:
    """Whole-number costs and budget for DP and CP-SAT.

    Non-integer costs need ``options={"scale": s}``: costs become ``ceil(s·c)`` and the budget ``floor(s·B)``, so
    any choice within the scaled budget is within the true one (the optimum may be missed; status FEASIBLE).
    """
    if problem.integer_costs:
        if scale is not None:
            raise InvalidProblemError("`options.scale` applies only to non-integer costs; these are whole numbers")
        return problem.costs, problem.budget, False
    if scale is None:
        raise InvalidProblemError(
            "`costs` are not whole numbers: use method='mip', or pass options={'scale': s} to round s·costs up")
    if problem.exact:
        raise InvalidProblemError("`exact` budgets need whole-number costs for this method; use method='mip'")
    return (*round_costs_up(problem.costs, problem.budget, scale), True)


def no_exact(problem) -> str | None:
    return "it does not support exact budgets (`exact=True`); use 'dp', 'mip' or 'cpsat'" if problem.exact else None


def via_knapsack(knapsack_adapter):
    """Turn a ``MultipleChoiceKnapsack`` adapter into a ``RolloutAllocation`` adapter."""

    def adapter(problem: RolloutAllocation, opts) -> Result:
        reason = problem.infeasibility_reason()
        if reason:
            return infeasible(reason)
        kp = problem.to_knapsack()
        if opts.warm_start is not None:
            start = problem.check_allocation(opts.warm_start) - problem.min_rollouts
            opts = dataclasses.replace(opts, warm_start=start)
        r = knapsack_adapter(kp, opts)
        if not r.ok:
            return r
        x = np.asarray(r.x)
        if x.dtype.kind == "f":  # a fractional LP solution: expected rollouts per prompt
            levels = np.arange(problem.min_rollouts, problem.max_rollouts + 1)
            n = r.duals["fractions"] @ levels
            return r.replace(x=n, stats={**r.stats, "cost": float(problem.costs_per_rollout @ n)})
        n = problem.min_rollouts + x
        return r.replace(x=n, stats={**r.stats, "cost": problem.cost_of(n)})

    adapter.__doc__ = knapsack_adapter.__doc__
    return adapter
