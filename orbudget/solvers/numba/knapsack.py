"""numba adapters for the knapsack family: ``dp`` (exact) and the marginal ``greedy`` for rollouts."""

from __future__ import annotations

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.registry import register
from ...core.result import Result, Status
from ...problems.knapsack import MultipleChoiceKnapsack
from ...problems.rollouts import RolloutAllocation
from .._reduce import infeasible, integer_costs, via_knapsack

CHOICE_TABLE_LIMIT = 8 * 2**30  # bytes; beyond this the DP refuses and points to mip or scaling


def _dp_supports(problem: MultipleChoiceKnapsack):
    if not problem.integer_costs and problem.exact:
        return "exact budgets with non-integer costs need 'mip'"
    return None


@register(MultipleChoiceKnapsack, "dp", backend="numba", priority=10, supports=_dp_supports,
          preferred=lambda p: p.integer_costs, options=("scale",))
def solve_dp(problem: MultipleChoiceKnapsack, opts) -> Result:
    """Exact DP over the budget (numba): O(N·K·B) time, one byte per (group, budget) for the choice table."""
    import time

    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    from ._kernels import mckp_dp, prune_dominated

    costs, budget, scaled = integer_costs(problem, opts.get("scale"))
    n, k = problem.values.shape
    dtype = np.uint8 if k <= 256 else np.uint16
    need = n * (budget + 1) * np.dtype(dtype).itemsize
    if need > CHOICE_TABLE_LIMIT:
        raise InvalidProblemError(
            f"`budget` {budget} is too large for 'dp' with {n} groups (the choice table needs {need / 2**30:.1f} GiB); "
            "use method='mip', or non-integer costs with options={'scale': s}")
    t0 = time.perf_counter()
    values = np.ascontiguousarray(problem.values, dtype=np.float64)
    costs = np.ascontiguousarray(costs, dtype=np.int64)
    keep = prune_dominated(values, costs, np.ascontiguousarray(problem.mask), problem.exact)
    choice = np.empty((n, budget + 1), dtype=dtype)
    best, x, ok = mckp_dp(values, costs, keep, int(budget), bool(problem.exact), choice)
    elapsed = time.perf_counter() - t0
    if not ok:
        what = f"costs exactly {budget}" if problem.exact else f"fits within {budget}"
        note = " after scaling costs up" if scaled else ""
        return infeasible(f"no choice of one option per group {what}{note}")
    objective = problem.value_of(x)
    status = Status.FEASIBLE if scaled else Status.OPTIMAL
    msg = "optimal" if not scaled else f"optimal for costs rounded up at scale {opts.get('scale')}"
    return Result(status=status, x=x, objective=objective, bound=None if scaled else objective,
                  stats={"cost": problem.cost_of(x), "table_bytes": int(need)}, timings={"solve": elapsed},
                  message=msg)


register(RolloutAllocation, "dp", backend="numba", priority=20,
         supports=lambda p: _dp_supports(p.to_knapsack()) if not p.unit_costs else None,
         options=("scale",))(via_knapsack(solve_dp))


def _rollout_greedy_exact(problem: RolloutAllocation) -> bool:
    return problem.unit_costs and problem.is_concave()


@register(RolloutAllocation, "greedy", backend="numba", priority=10, preferred=_rollout_greedy_exact)
def solve_rollout_greedy(problem: RolloutAllocation, opts) -> Result:
    """Marginal (heap) greedy: exact for concave values with unit costs, a heuristic otherwise."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    from ._kernels import marginal_greedy

    table = np.ascontiguousarray(problem.table(), dtype=np.float64)
    costs = problem.costs_per_rollout.astype(np.float64)
    x, ok = marginal_greedy(table, problem.min_rollouts, problem.max_rollouts, costs,
                            float(problem.total_rollouts), problem.unit_costs)
    if not ok:
        return infeasible("the rollouts cannot all be placed within max_rollouts")
    exact = _rollout_greedy_exact(problem)
    objective = problem.value_of(x)
    return Result(status=Status.OPTIMAL if exact else Status.FEASIBLE, x=x, objective=objective,
                  bound=objective if exact else None, stats={"cost": problem.cost_of(x)},
                  message="optimal (concave values, unit costs)" if exact else "greedy heuristic")
