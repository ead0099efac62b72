"""The official Knapsack RL allocation (``knapsackrl``, liziniu/KnapsackRL): its fallback rules and its DP over
extra rollouts (the numba multiple-choice knapsack DP), kept for comparison with the exact ``RolloutAllocation``
methods."""

from __future__ import annotations

import numpy as np

from ...core.errors import InvalidProblemError, SolverError
from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions
from ...core.validation import as_scalar
from ...problems.knapsack import check_table_size, exact_integer
from ...problems.rollouts import RolloutAllocation, probability_cost
from .._reduce import infeasible
from ._knapsack_dp import mckp_dp


def knapsackrl_allocation(
    success_rates,
    valid,
    total_rollouts: int,
    *,
    default_rollouts: int = 8,
    min_rollouts: int = 2,
    max_rollouts: int = 128,
    alpha: float = 0.9,
    allow_fallback: bool = True,
):
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
    # at most `remaining` extra rollouts can be placed, and every total up to n_eff·extra_max is reachable (costs
    # are 0, 1, ..., extra_max): the DP stops there, with the same result as the official one over the full range
    extra_max = min(max_rollouts - min_rollouts, remaining)
    usable = min(remaining, effective.size * extra_max)
    check_table_size(
        "total_rollouts",
        effective.size * (extra_max + 1) * 16 + effective.size * (usable + 1) * 2,
        f"the official DP over {effective.size} effective prompts and {usable} extra rollouts",
    )
    k = np.arange(extra_max + 1)
    pe = p[effective][:, None]
    values = (1 - pe ** (k + min_rollouts) - (1 - pe) ** (k + min_rollouts)) * pe * (1 - pe) ** 2
    values[:, 0] = 0.0  # the official "0 extra scores 0" quirk
    costs = np.broadcast_to(k, values.shape).astype(np.int64)
    avail = np.ones(values.shape, bool)
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


def _knapsackrl_options(problem: RolloutAllocation, opts: SolveOptions) -> dict:
    """The compat options, checked: each bad value raises InvalidProblemError naming the option."""
    alpha = as_scalar("options.alpha", opts.get("alpha", 0.9), minimum=0.0, maximum=1.0, strict_minimum=True)
    if alpha >= 1.0:
        raise InvalidProblemError(f"`options.alpha` must be < 1 (a probability target); got {alpha}")
    fallback = opts.get("allow_fallback", True)
    if not isinstance(fallback, (bool, np.bool_)):
        raise InvalidProblemError(f"`options.allow_fallback` must be True or False; got {fallback!r}")
    default = exact_integer("options.default_rollouts", opts.get("default_rollouts", 8), minimum=0)
    valid = opts.get("valid", None)
    if valid is None:
        valid = np.ones(problem.n_prompts, bool)
    else:
        raw = np.asarray(valid)
        if raw.dtype != bool or raw.shape != (problem.n_prompts,):
            raise InvalidProblemError(
                f"`options.valid` must be a boolean array of shape ({problem.n_prompts},); "
                f"got dtype {raw.dtype}, shape {raw.shape}"
            )
        valid = raw
    return {"alpha": float(alpha), "allow_fallback": bool(fallback), "default_rollouts": default, "valid": valid}


def fit_to_bounds(problem: RolloutAllocation, x, priority) -> tuple[np.ndarray, int]:
    """Clip ``x`` to [min_rollouts, max_rollouts], then move rollouts one at a time (round-robin, ``priority`` order
    first) until exactly ``total_rollouts`` are allocated (unit costs). Returns the allocation and the number of
    rollouts moved (0 when ``x`` already fits)."""
    lo, hi, total = problem.min_rollouts, problem.max_rollouts, problem.total_rollouts
    x = np.asarray(x, dtype=object)
    fitted = [min(max(int(v), lo), hi) for v in x.tolist()]
    moved = sum(abs(int(a) - b) for a, b in zip(x.tolist(), fitted))
    diff = total - sum(fitted)
    first = set(priority)
    order = list(priority) + [i for i in range(problem.n_prompts) if i not in first]
    while diff != 0:  # feasible by bounds (checked before), so every pass moves at least one rollout
        step = 1 if diff > 0 else -1
        room = [i for i in order if lo <= fitted[i] + step <= hi]
        per = max(1, abs(diff) // len(room))  # big gaps: a whole share each pass, then single rollouts
        for i in room:
            if diff == 0:
                break
            amount = min(per, abs(diff), (hi - fitted[i]) if step > 0 else (fitted[i] - lo))
            fitted[i] += step * amount
            diff -= step * amount
            moved += amount
    return np.array(fitted, np.int64), moved


@register(
    RolloutAllocation,
    "knapsackrl",
    backend="numba",
    priority=70,
    supports=lambda p: (
        None
        if (p.unit_costs and isinstance(p.value, str) and p.value == "knapsack_rl")
        else "the official allocation uses unit costs and the 'knapsack_rl' value"
    ),
    options=("alpha", "allow_fallback", "valid", "default_rollouts"),
    honours=("time_limit", "seed"),
)
def solve_knapsackrl(problem: RolloutAllocation, opts: SolveOptions) -> Result:
    """The official Knapsack RL code's allocation (fallback rules and "0 extra scores 0" quirk), for comparison.

    Where the official rules give an allocation outside ``[min_rollouts, max_rollouts]`` or not summing to
    ``total_rollouts`` (defaults outside the bounds, surplus beyond ``max_rollouts``, no prompt to take a surplus),
    it is moved into the bounds, effective prompts first (``stats['repaired']`` counts the rollouts moved), so the
    result is always feasible."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    o = _knapsackrl_options(problem, opts)
    try:
        official, info = knapsackrl_allocation(
            problem.success_rates,
            o["valid"],
            problem.total_rollouts,
            default_rollouts=o["default_rollouts"],
            min_rollouts=problem.min_rollouts,
            max_rollouts=problem.max_rollouts,
            alpha=o["alpha"],
            allow_fallback=o["allow_fallback"],
        )
    except InvalidProblemError:  # a table too large for memory: refused by name, never repaired around
        raise
    except ValueError as exc:  # the official base allocation exceeds the budget (invalid prompts' defaults)
        official, info = None, {"fallback": False, "fallback_effective_ratio": 1.0, "base_over_budget": str(exc)}
        official = np.where(o["valid"], problem.min_rollouts, o["default_rollouts"])
    p = problem.success_rates
    effective = np.flatnonzero(o["valid"] & (p > 0) & (p < 1)).tolist()
    x, moved = fit_to_bounds(problem, official, effective)
    if not problem.is_feasible(x):
        raise SolverError(f"'knapsackrl' produced an infeasible allocation {x.tolist()}")
    objective = problem.value_of(x)
    msg = "official Knapsack RL allocation (compat)"
    if moved:
        msg += f"; {moved} rollouts moved to meet the bounds and the total"
    return Result(
        status=Status.FEASIBLE,
        x=x,
        objective=objective,
        stats={"cost": problem.cost_of(x), **info, "repaired": int(moved)},
        message=msg,
    )
