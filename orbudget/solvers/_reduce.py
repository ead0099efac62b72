"""Shared adapter plumbing: infeasibility by bounds, repairs, and the reduction of
``RolloutAllocation`` to ``MultipleChoiceKnapsack`` so every exact knapsack method solves both."""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from fractions import Fraction

import numpy as np

from ..core.errors import SolverError
from ..core.registry import methods, pick
from ..core.result import Limit, Result, Status
from ..core.solve import Incumbent, SolveOptions, solve
from ..core.validation import as_choice
from ..problems.knapsack import MultipleChoiceKnapsack
from ..problems.rollouts import RolloutAllocation

INEXACT_KNAPSACK_METHODS = ("lp", "greedy")  # knapsack methods that are not exact, refused as `knapsack_method`


def knapsack_method(kp: MultipleChoiceKnapsack, chosen=None) -> str | None:
    """The exact knapsack method a reduction uses: ``chosen`` when given (any exact MCKP method: ``core``, ``dp``,
    ``mip``, ``cpsat``, ...), else ``None`` (the knapsack's own default: ``core`` for whole-number costs, HiGHS for
    real ones)."""
    if chosen is None:
        return None
    exact = [m for m in methods(kp) if m not in INEXACT_KNAPSACK_METHODS]
    return as_choice("options.knapsack_method", chosen, exact)


def solve_knapsack(kp: MultipleChoiceKnapsack, opts: SolveOptions, method: str | None = None, options=None) -> Result:
    """The one path from a family to the multiple-choice knapsack engine: every reduction (sample allocation, model
    routing and its frontier, ...) solves its knapsack here, through ``ob.solve``, with the knapsack's default method
    (``core`` for whole-number costs) unless ``method`` names another exact one. The call's ``time_limit``,
    ``rel_gap`` and ``seed`` pass on, and ``threads`` where the method takes a thread count; HiGHS gets no absolute
    gap (its default 1e-6 stops early on values that are accuracies divided by the number of questions). ``options``
    go to the knapsack method as they are (a family's pass-through of a backend's own options)."""
    spec = pick(kp, knapsack_method(kp, method), None)
    inner = spec.honours or ()
    return solve(
        kp,
        method=spec.method,
        backend=spec.backend,
        time_limit=opts.time_limit,
        rel_gap=opts.rel_gap,
        threads=opts.threads if "threads" in inner else None,
        seed=opts.seed,
        options={**({"mip_abs_gap": 0.0} if spec.method == "mip" and opts.rel_gap is None else {}), **(options or {})} or None,
    )


def infeasible(reason: str) -> Result:
    return Result(status=Status.INFEASIBLE, message=reason)


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
