"""numpy adapters of token-budget allocation (`TokenBudgetAllocation`, DUET): ``mckp`` (exact, joint rollouts and
length caps, through ``ob.solve``'s default knapsack engine), ``rollouts_only`` (Knapsack RL: one common cap, the
best) and ``length_only`` (one common rollout count, the best), all at the same token budget."""

from __future__ import annotations

import numpy as np

from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions, solve
from ...problems.agents import TokenBudgetAllocation
from .._reduce import infeasible


def allocate(problem: TokenBudgetAllocation, available=None) -> Result:
    """The exact knapsack of the allocation (restricted to ``available``), by the default engine."""
    return solve(problem.to_knapsack(available))


def _result(problem, r: Result, message: str, **extra) -> Result:
    x = np.asarray(r.x, np.int64)
    pairs = np.array([problem.option(o) for o in x.tolist()], np.int64).reshape(-1, 2)
    stats = {
        "cost": problem.cost_of(x),
        "rollouts": pairs[:, 0],
        "caps": pairs[:, 1],
        "prompts_used": int((pairs[:, 0] > 0).sum()),
        **extra,
    }
    status = r.status if r.status in (Status.OPTIMAL, Status.FEASIBLE) else Status.FEASIBLE
    return Result(status=status, x=x, objective=problem.value_of(x), bound=r.bound, stats=stats, message=message)


@register(TokenBudgetAllocation, "mckp", backend="numpy", priority=10, honours=("seed",))
def solve_tokens_mckp(problem: TokenBudgetAllocation, opts: SolveOptions):
    """Exact: rollouts and length cap per prompt jointly, a multiple-choice knapsack (default engine)."""
    r = allocate(problem)
    if not r.ok:
        return infeasible(r.message)
    return _result(problem, r, f"exact joint allocation ({r.method} knapsack engine)")


def _best_restricted(problem, restrictions, what):
    best = None
    for label, kw in restrictions:
        r = allocate(problem, problem.mask(**kw))
        if r.ok and (best is None or r.objective > best[1].objective + 1e-15):
            best = (label, r)
    if best is None:
        return infeasible(f"no {what} allocation fits the budget")
    label, r = best
    out = _result(problem, r, f"best {what} allocation ({label})", restriction=label)
    return out.replace(status=Status.FEASIBLE, bound=None)


@register(TokenBudgetAllocation, "rollouts_only", backend="numpy", priority=50, honours=("seed",))
def solve_tokens_rollouts_only(problem: TokenBudgetAllocation, opts: SolveOptions):
    """Knapsack RL: rollouts per prompt chosen exactly, every prompt at one common length cap (the best one)."""
    return _best_restricted(problem, [(f"cap {c}", {"caps": (c,)}) for c in problem.length_caps], "rollouts-only")


@register(TokenBudgetAllocation, "length_only", backend="numpy", priority=51, honours=("seed",))
def solve_tokens_length_only(problem: TokenBudgetAllocation, opts: SolveOptions):
    """Length caps per prompt chosen exactly, every prompt given at the same rollout count (the best one) or none."""
    return _best_restricted(problem, [(f"{n} rollouts", {"rollouts": (n,)}) for n in problem.rollout_counts], "length-only")
