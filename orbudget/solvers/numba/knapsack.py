"""numba adapters for the knapsack family: ``dp`` (exact) and the marginal ``greedy`` for rollouts."""

from __future__ import annotations

import numpy as np

from ...core.budget import float_at_most, spend_limit
from ...core.errors import SolverError
from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions
from ...core.validation import memory_limit
from ...problems.knapsack import MultipleChoiceKnapsack, check_table_size
from ...problems.rollouts import RolloutAllocation
from .._reduce import infeasible, no_solution_after_scaling, via_knapsack


def _dp_supports(problem: MultipleChoiceKnapsack):
    if not problem.whole_number_costs and problem.exact:
        return "exact budgets with non-integer costs need 'mip'"
    return None


def _dp_preferred(problem: MultipleChoiceKnapsack) -> bool:
    """A default only for whole-number costs whose table (before the gcd reduction) fits in memory."""
    if not problem.integer_costs:
        return False
    return dp_table_bytes(problem.n_groups, problem.n_options, int(problem.capped_budget())) <= memory_limit()


def dp_table_bytes(n_groups: int, n_options: int, budget: int) -> int:
    """Bytes the DP allocates: the (N, B+1) choice table (1 or 2 bytes a cell) and two float64 rows of B+1."""
    return n_groups * (budget + 1) * (1 if n_options <= 256 else 2) + 2 * 8 * (budget + 1)


BATCH_LIMIT_CELLS = 50_000_000  # N·(B+1) summed over a batch, beyond which the batched DP is not used


def solve_dp_batch(problems) -> list[Result] | None:
    """Many multiple-choice knapsacks of one shape with whole-number costs in one numba call (``prange``), equal
    to ``dp`` one by one; ``None`` when they do not qualify (another shape, real costs, mixed exact budgets, more
    than 256 options, or over ``BATCH_LIMIT_CELLS`` table cells in all)."""
    import time

    from ._knapsack_dp import mckp_dp_batch

    if not all(type(p) is MultipleChoiceKnapsack and p.integer_costs for p in problems):
        return None
    if len({p.values.shape for p in problems}) != 1 or len({p.exact for p in problems}) != 1 or problems[0].n_options > 256:
        return None
    if sum(p.n_groups * (p.budget + 1) for p in problems) > BATCH_LIMIT_CELLS:
        return None
    t0 = time.perf_counter()
    forms = [p.integer_form() for p in problems]  # the one integer form, as `dp` uses it one by one
    if any(f.infeasible for f in forms):  # an exact budget off the costs' divisor: one by one, each says why
        return None
    values = np.ascontiguousarray(np.stack([p.values for p in problems]), dtype=np.float64)
    costs = np.ascontiguousarray(np.stack([f.costs for f in forms]), dtype=np.int64)
    avail = np.ascontiguousarray(np.stack([f.usable for f in forms]))
    budgets = np.array([f.budget for f in forms], dtype=np.int64)
    best, xs, ok = mckp_dp_batch(values, costs, avail, budgets, bool(problems[0].exact))
    share = (time.perf_counter() - t0) / len(problems)
    out = []
    for p, b, x, feasible in zip(problems, best, xs, ok):
        if feasible and not p.is_feasible(x):  # the reductions are exact: this would be a bug, never an answer
            raise SolverError(f"batched 'dp' returned a choice costing {p.cost_of(x)}, outside budget {p.budget}")
        if not feasible:
            out.append(
                Result(
                    status=Status.INFEASIBLE,
                    message=p.infeasibility_reason() or "no feasible choice",
                    method="dp",
                    backend="numba",
                    timings={"total": share},
                )
            )
            continue
        out.append(
            Result(
                status=Status.OPTIMAL,
                x=x.copy(),
                objective=p.value_of(x),
                bound=float(b),
                stats={"cost": p.cost_of(x), "batched": True},
                method="dp",
                backend="numba",
                timings={"total": share},
                message="optimal (batched DP)",
            )
        )
    return out


@register(
    MultipleChoiceKnapsack,
    "dp",
    backend="numba",
    priority=10,
    supports=_dp_supports,
    preferred=_dp_preferred,
    options=("scale",),
    honours=("rel_gap", "seed"),
    batch=solve_dp_batch,
)
def solve_dp(problem: MultipleChoiceKnapsack, opts: SolveOptions) -> Result:
    """Exact DP over the budget (numba): O(N·K·B) time, one byte per (group, budget) for the choice table.

    Costs and budget are first divided by their greatest common divisor (options costing more than the budget are
    left out of it), and a budget above the dearest total is lowered to it; the table size is checked before it is
    allocated."""
    import time

    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    from ._knapsack_dp import mckp_dp, prune_dominated

    scale = opts.get("scale")
    form = problem.integer_form(scale)  # costs and budget divided by the costs' gcd, the budget lowered to a multiple
    costs, budget, scaled, usable, divisor = form.costs, form.budget, form.scaled, form.usable, form.divisor
    n, k = problem.values.shape
    if form.infeasible:  # an exact budget that no total (a multiple of the divisor) can meet
        return infeasible(f"no choice of one option per group costs exactly {problem.budget}")
    need = dp_table_bytes(n, k, budget)
    check_table_size(
        "budget",
        need,
        f"'dp' with {n} groups and budget {budget} (after reduction)",
        "use method='mip', or non-integer costs with options={'scale': s}"
        if not scaled
        else "use a smaller `options.scale`, or method='mip'",
    )
    t0 = time.perf_counter()
    values = np.ascontiguousarray(problem.values, dtype=np.float64)
    costs = np.ascontiguousarray(costs, dtype=np.int64)
    keep = prune_dominated(values, costs, usable, problem.exact)
    choice = np.empty((n, budget + 1), dtype=np.uint8 if k <= 256 else np.uint16)
    best, x, ok = mckp_dp(values, costs, keep, int(budget), bool(problem.exact), choice)
    elapsed = time.perf_counter() - t0
    if not ok:
        if scaled:
            return no_solution_after_scaling(scale)
        what = f"costs exactly {problem.budget}" if problem.exact else f"fits within {problem.budget}"
        return infeasible(f"no choice of one option per group {what}")
    objective = problem.value_of(x)
    if not problem.is_feasible(x):  # the reductions are exact: this would be a bug, never an answer
        raise SolverError(f"'dp' returned a choice costing {problem.cost_of(x)}, outside budget {problem.budget}")
    status = Status.FEASIBLE if scaled else Status.OPTIMAL
    msg = "optimal" if not scaled else f"optimal for costs rounded up at scale {scale}"
    return Result(
        status=status,
        x=x,
        objective=objective,
        bound=None if scaled else objective,
        stats={"cost": problem.cost_of(x), "table_bytes": int(need), "divisor": int(max(divisor, 1))},
        timings={"solve": elapsed},
        message=msg,
    )


register(
    RolloutAllocation,
    "dp",
    backend="numba",
    priority=20,
    preferred=lambda p: p.whole_number_costs,
    options=("scale",),
    honours=("rel_gap", "seed"),
)(via_knapsack(solve_dp))


def _rollout_greedy_exact(problem: RolloutAllocation) -> bool:
    return problem.unit_costs and problem.is_concave()


@register(
    RolloutAllocation, "greedy", backend="numba", priority=10, preferred=_rollout_greedy_exact, honours=("time_limit", "seed")
)
def solve_rollout_greedy(problem: RolloutAllocation, opts: SolveOptions) -> Result:
    """Marginal (heap) greedy: exact for concave values with unit costs, a heuristic otherwise."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    from ._knapsack_dp import marginal_greedy

    top = problem.useful_max()  # counts above it never fit: the table stops there (built once per solve)
    table = np.ascontiguousarray(problem.table(top), dtype=np.float64)
    costs = problem.costs_per_rollout
    if costs.dtype.kind == "i":  # whole-number costs and budget stay int64 in the kernel (exact, no rounding)
        costs, budget = np.ascontiguousarray(costs, dtype=np.int64), int(problem.total_rollouts)
    else:  # real costs: the budget the one rule allows (1e-9·B above B), as the largest float within it
        costs, budget = costs.astype(np.float64), float_at_most(spend_limit(problem.total_rollouts, whole=False))
    x, ok = marginal_greedy(table, problem.min_rollouts, top, costs, budget, problem.unit_costs)
    if not ok:
        return infeasible("the rollouts cannot all be placed within max_rollouts")
    if not problem.is_feasible(x):  # the kernel spends within the budget: this would be a bug, never an answer
        raise SolverError(f"'greedy' returned an allocation costing {problem.cost_of(x)}, over {problem.total_rollouts}")
    exact = _rollout_greedy_exact(problem)
    rows = np.arange(problem.n_prompts)
    objective = float(table[rows, x].sum())
    return Result(
        status=Status.OPTIMAL if exact else Status.FEASIBLE,
        x=x,
        objective=objective,
        bound=objective if exact else None,
        stats={"cost": problem.cost_of(x)},
        message="optimal (concave values, unit costs)" if exact else "greedy heuristic",
    )
