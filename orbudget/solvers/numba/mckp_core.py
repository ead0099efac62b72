"""numba adapters for the core solver of the multiple-choice knapsack: ``core`` (exact, the default for whole-number
costs) and ``lp`` (the LP relaxation from the same upper-hull code). The kernels are in ``_mckp_lp.py`` (reduction,
LP, cardinality bound), ``_mckp_states.py`` (state lists) and ``_mckp_core.py`` (the search)."""

from __future__ import annotations

import math
import time

import numpy as np

from ...core.budget import exact_dot, exact_number, exact_total
from ...core.errors import SolverError
from ...core.registry import register
from ...core.result import Limit, Result, Status
from ...core.solve import SolveOptions
from ...problems.knapsack import MultipleChoiceKnapsack
from ...problems.rollouts import RolloutAllocation
from .._reduce import infeasible, no_exact, via_knapsack

HONOURS = dict(honours=("time_limit", "rel_gap", "seed"), long=True)  # exact, deterministic, can run long
TOTAL_COST_LIMIT = 2**62  # every partial sum of costs must fit int64 with room for one more cost
STATE_LIMIT = 10_000_000  # states held at once (about 1 GB of lists); beyond it the best so far is returned


def total_cost(costs: np.ndarray, mask: np.ndarray) -> int:
    """Sum over groups of the dearest option in ``mask``, as an exact Python int (never overflows)."""
    return exact_total(np.where(mask, costs, 0).max(axis=1))


def _usable(costs: np.ndarray, mask: np.ndarray, budget: int) -> np.ndarray:
    """``mask`` without the options that cost more than the budget on their own (never chosen)."""
    return mask & (costs <= min(int(budget), 2**63 - 1))


def _too_large(total: int) -> str:
    return (
        f"`costs` add up to {total} (the dearest affordable option of every group), above 2**62; the core "
        "solver keeps every sum in int64: use method='mip'"
    )


def _core_supports(problem: MultipleChoiceKnapsack):
    if not problem.integer_costs:
        if problem.exact:
            return "exact budgets with non-integer costs need 'mip'"
        return None  # with options={'scale': s}
    total = total_cost(problem.costs, problem.affordable())
    return _too_large(total) if total > TOTAL_COST_LIMIT else None


def _none_fits(problem, budget, scaled, stats, timings) -> Result:
    """Nothing fits: INFEASIBLE when proven on the true costs; after scaling costs up (``scale``) only NO_SOLUTION,
    since rounding up can lose choices that fit the true budget (the same rule as ``dp`` and ``cpsat``)."""
    budget = problem.budget  # the message names the budget as given (the search's is divided by the costs' gcd)
    what = f"costs exactly {budget}" if problem.exact else f"fits within {budget}"
    if scaled:
        return Result(
            status=Status.NO_SOLUTION,
            stats=stats,
            timings=timings,
            message=f"no choice of one option per group {what} after scaling costs up; "
            "a finer `scale` or an exact method may still find one",
        )
    return Result(status=Status.INFEASIBLE, stats=stats, timings=timings, message=f"no choice of one option per group {what}")


def _reduce(values, costs, mask, exact: bool, deadline: float | None, block_options: int = 2**20):
    """`reduce_groups` in blocks of about ``block_options`` options, or in one block without a ``deadline`` (a
    `time.perf_counter` time): None when the deadline passes between blocks. The arrays are those of one call.
    (One path with or without a deadline: the kernels a timed solve calls are those its warm-up compiled.)"""
    from ._mckp_lp import reduce_rows, reduction_arrays, trimmed

    n, k = values.shape
    block = n if deadline is None else max(1, block_options // max(k, 1))
    out = reduction_arrays(n, k)
    m = h = 0
    for i in range(0, n, block):
        if deadline is not None and time.perf_counter() > deadline:
            return None
        m, h = reduce_rows(values, costs, mask, exact, i, min(n, i + block), out, m, h)
    return trimmed(out, m, h)


def _prepare(problem: MultipleChoiceKnapsack, scale, divisibility: bool = False, deadline: float | None = None):
    """Kernel inputs: reduced classes, LP relaxation, budget lowered to the dearest total, from the problem's one
    integer form (`MultipleChoiceKnapsack.integer_form`). Raises InvalidProblemError naming `costs` when the totals do
    not fit int64.

    With ``divisibility`` (combo's rudimentary divisibility) the integer form is divided by the costs' greatest common
    divisor d: every total cost is a multiple of d, so the budget is lowered to a multiple of d (an exact budget that
    is not one is infeasible). Without it the LP is the relaxation of the problem as given. With a ``deadline`` (a
    `time.perf_counter` time) the reduction and the LP stop soon after it passes: the classes and the LP are then
    None."""
    from ...core.errors import InvalidProblemError

    form = problem.integer_form(scale, divide=divisibility)
    costs, mask, budget = form.costs, form.usable, form.budget
    total = total_cost(costs, mask)
    if total > TOTAL_COST_LIMIT:
        raise InvalidProblemError(_too_large(total * form.divisor))
    if form.infeasible or (problem.exact and budget > total) or not mask.any(axis=1).all():  # nothing can fit
        n = problem.n_groups
        return None, (np.zeros(n, np.int64), -1, 0, -np.inf, False), budget, form.scaled
    values = np.ascontiguousarray(problem.values, dtype=np.float64)
    return (*_kernel_inputs(values, costs, mask, budget, total, bool(problem.exact), False, deadline), form.scaled)


def _kernel_inputs(values, costs, mask, budget: int, total: int, exact: bool, divisibility: bool, deadline: float | None):
    """`_prepare` on arrays: int64 ``costs`` whose dearest ``mask``-ed total is ``total`` (at most 2**62), every
    group with an option in ``mask``. Returns ``(groups, lp, budget)``."""
    from ._mckp_lp import lp_relaxation

    budget = min(budget, total)
    if divisibility:
        d = int(np.gcd.reduce(costs[mask]))
        if d > 1:
            if exact and budget % d:
                return None, (np.zeros(values.shape[0], np.int64), -1, 0, -np.inf, False), budget
            budget -= budget % d
    groups = _reduce(values, costs, mask, exact, deadline)
    if groups is None:
        return None, None, budget
    left = 0.0 if deadline is None else deadline - time.perf_counter()
    if deadline is not None and left <= 0:
        return None, None, budget
    *lp, stopped = lp_relaxation(groups[2], groups[3], groups[4], groups[5], budget, exact, left)
    if stopped:
        return None, None, budget
    return groups, tuple(lp), budget


def core_choice(values: np.ndarray, costs: np.ndarray, mask: np.ndarray, budget: int, exact: bool):
    """The core search on arrays, for solvers that call it in a loop (no model is built): ``values`` (N, K)
    floats, ``costs`` (N, K) int64 with every option in ``mask`` at most ``budget`` and the dearest total at most
    2**62. Returns the best choice (option indices) and whether it is proven optimal, or None when none fits."""
    from . import _mckp_core

    values = np.ascontiguousarray(values, dtype=np.float64)
    costs = np.ascontiguousarray(costs, dtype=np.int64)
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    total = total_cost(costs, mask)
    if total > TOTAL_COST_LIMIT:
        raise SolverError(_too_large(total))
    if not mask.any(axis=1).all() or (exact and budget > total):
        return None
    groups, lp, budget = _kernel_inputs(values, costs, mask, int(budget), total, exact, True, None)
    if groups is None or not lp[4]:
        return None
    stop, found, x, *_ = _mckp_core.core_search(
        *groups, lp[0], lp[1], budget, exact, value_step(values, mask), 0.0, STATE_LIMIT, _mckp_core.CARD_AFTER
    )
    return (x, stop == _mckp_core.STOP_OPTIMAL) if found else None


def value_step(values: np.ndarray, mask: np.ndarray) -> float:
    """The least improvement a better solution can bring: the greatest common divisor of the values when they are
    whole numbers (every total is a multiple of it), else 0 (real values)."""
    head = values[:64][mask[:64]]  # real values show at once: no pass over a large table
    if not np.all(head == np.round(head)):
        return 0.0
    v = values[mask]
    if not (np.all(v == np.round(v)) and np.all(np.abs(v) < 2.0**52)):
        return 0.0
    return float(max(1, int(np.gcd.reduce(np.abs(v).astype(np.int64)))))


def _equal_items(problem: MultipleChoiceKnapsack):
    """A 0/1 knapsack that repeats items, or multiples of items, solved as a smaller one: ``(smaller, expand)``, or
    None when it does not pay (fewer than half the items would go).

    The core search sees every item once, so a class like Pisinger's spanner (every item a multiple of one of two
    base items) fills the core with copies. An item here is a group of two usable options: its cost and value
    differences ``(c, v)``. Items on one ray ``(c, v) = g·(c0, v0)`` (``g = gcd(c, v)``, whole-number values) are
    ``g`` copies of ``(c0, v0)``; with ``d`` the gcd of their ``g``, they are ``u = g/d`` copies of ``d·(c0, v0)``.
    When every count of copies from 0 to ``M = Σu`` is a sum of some items' ``u`` (sorted ascending, each ``u`` is
    at most 1 + the sum of the smaller ones), the ray is one item taken 0 to ``M`` times; otherwise its equal
    items are (``M`` their number). An item taken 0 to ``M`` times becomes the items of 1, 2, 4, ... copies and
    a remainder (binary splitting: every count is a sum of some of them), so the optimum is unchanged. What the
    groups cost and are worth at their cheaper option, and the groups with one usable option, are one fixed group.
    ``expand(x)`` gives the choice in the original groups (for a ray, the items by ``u``, largest first, while
    they fit the count)."""
    if problem.n_options != 2 or problem.n_groups < 64 or not problem.whole_number_costs:
        return None
    head = np.abs(np.diff(np.asarray(problem.costs[:256]), axis=1))  # a quick look: distinct items show at once
    if np.unique(head).size > 0.75 * head.size:
        return None
    form = problem.integer_form(divide=False)  # costs as given (the small problem keeps the budget), unusable out
    costs, mask = form.costs, form.usable
    both = np.flatnonzero(mask.all(axis=1))
    if both.size < 64:
        return None
    values = np.asarray(problem.values, np.float64)
    c, v = costs[both], values[both]
    # the cheaper option is the base (equal costs: the better value, then the first)
    hi = ((c[:, 1] > c[:, 0]) | ((c[:, 1] == c[:, 0]) & (v[:, 1] > v[:, 0]))).astype(np.int64)
    rows = np.arange(both.size)
    dc = c[rows, hi] - c[rows, 1 - hi]
    dv = v[rows, hi] - v[rows, 1 - hi] + 0.0  # -0 is 0
    if np.all(dv == np.round(dv)) and np.all(np.abs(dv) < 2.0**53):
        dvi = dv.astype(np.int64)
        g = np.gcd(dc, np.abs(dvi))
        g[g == 0] = 1  # a free item worth nothing: its own ray
        ray_c, ray_v = dc // g, dvi // g
    else:  # real values: equal items only
        g = np.ones_like(dc)
        ray_c, ray_v = dc, dv.view(np.int64)
    order = np.lexsort((g, ray_v, ray_c))  # by ray, then by multiple
    ray_c, ray_v, g = ray_c[order], ray_v[order], g[order]
    new_ray = np.empty(order.size, bool)
    new_ray[0] = True
    new_ray[1:] = (ray_c[1:] != ray_c[:-1]) | (ray_v[1:] != ray_v[:-1])
    if 2 * int(new_ray.sum()) > both.size:
        return None
    starts = np.flatnonzero(new_ray)
    ray = np.cumsum(new_ray) - 1
    u = g // np.gcd.reduceat(g, starts)[ray]
    total = np.cumsum(u)
    smaller = total - u - (total[starts] - u[starts])[ray]  # the sum of the ray's smaller multiples
    whole_ray = np.logical_and.reduceat(u <= smaller + 1, starts)[ray]
    unit = np.where(whole_ray, u, 1)  # copies of the kind's base item in each item
    new_kind = new_ray.copy()
    new_kind[1:] |= ~whole_ray[1:] & (g[1:] != g[:-1])  # a ray split into its equal items
    kind_start = np.flatnonzero(new_kind)
    copies = np.add.reduceat(unit, kind_start)
    item = order[kind_start]  # an item of each kind, for its base
    base_c, base_v = dc[item] // unit[kind_start], dv[item] / unit[kind_start]
    n_parts_of = np.array([int(m + 1).bit_length() - 1 for m in copies], np.int64)
    rest = copies - ((1 << n_parts_of) - 1)
    n_parts_of += rest > 0
    n_parts = int(n_parts_of.sum())
    if 2 * (n_parts + 1) > both.size:
        return None
    base = np.where(mask[:, 0] & ~mask[:, 1], 0, 1)  # the option of a group with one usable option
    base[both] = 1 - hi
    fixed_cost = exact_total(costs[np.arange(problem.n_groups), base])
    fixed_value = math.fsum(values[np.arange(problem.n_groups), base])
    if fixed_cost > TOTAL_COST_LIMIT:
        return None  # the search refuses it, naming `costs`
    part_kind = np.repeat(np.arange(kind_start.size), n_parts_of)
    first_part = np.cumsum(n_parts_of) - n_parts_of
    part_size = np.left_shift(1, np.arange(n_parts) - first_part[part_kind])
    last = first_part + n_parts_of - 1
    part_size[last[rest > 0]] = rest[rest > 0]
    small_costs = np.zeros((n_parts + 1, 2), np.int64)
    small_values = np.zeros((n_parts + 1, 2))
    small_costs[0, 0], small_values[0, 0] = fixed_cost, fixed_value
    small_costs[1:, 1] = part_size * base_c[part_kind]
    small_values[1:, 1] = part_size * base_v[part_kind]
    available = np.ones((n_parts + 1, 2), bool)
    available[0, 1] = False
    small = MultipleChoiceKnapsack(
        values=small_values, costs=small_costs, budget=problem.budget, available=available, exact=problem.exact
    )
    kind_end = np.append(kind_start[1:], order.size)

    def expand(x_small):
        from ._mckp_states import take_copies

        taken = np.bincount(part_kind, weights=part_size * (np.asarray(x_small[1:]) == 1), minlength=kind_start.size)
        pick = take_copies(unit, kind_start, kind_end, np.round(taken).astype(np.int64))
        x = base.copy()
        x[both[order[pick]]] = hi[order[pick]]
        return x

    return small, expand


@register(
    MultipleChoiceKnapsack,
    "core",
    backend="numba",
    priority=5,
    supports=_core_supports,
    preferred=lambda p: p.integer_costs,
    options=("scale", "state_limit"),
    **HONOURS,
)
def solve_core(problem: MultipleChoiceKnapsack, opts: SolveOptions) -> Result:
    """Exact core search (Pisinger's mcknap/minknap): hull reduction, LP break class, dominance DP over states."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    from . import _mckp_core
    from ._mckp_core import STOP_OPTIMAL, STOP_TIME, core_search

    equal = _equal_items(problem)
    if equal is not None:
        small, expand = equal
        r = solve_core(small, opts)
        if r.status not in (Status.OPTIMAL, Status.FEASIBLE):
            return r
        x = expand(r.x)
        if not problem.is_feasible(x):
            raise SolverError(f"core search returned a choice costing {problem.cost_of(x)}, outside budget {problem.budget}")
        objective = problem.value_of(x)
        stats = {**r.stats, "cost": problem.cost_of(x), "items_after_merging_equal": small.n_groups - 1}
        return r.replace(x=x, objective=objective, bound=objective if r.status is Status.OPTIMAL else r.bound, stats=stats)
    state_limit = opts.get("state_limit", STATE_LIMIT)
    if not (isinstance(state_limit, (int, np.integer)) and state_limit >= 1):
        from ...core.errors import InvalidProblemError

        raise InvalidProblemError(f"`options.state_limit` must be a positive integer; got {state_limit!r}")
    t0 = time.perf_counter()
    # the reduction and the LP may run 50 ms past the limit: what they give, the LP's integral part, is a solution
    # (a small instance's LP takes far less); the search keeps the limit
    deadline = None if opts.time_limit is None else t0 + float(opts.time_limit) + 0.05
    groups, lp, budget, scaled = _prepare(problem, opts.get("scale"), divisibility=True, deadline=deadline)
    step = value_step(problem.values, problem.mask) if lp is not None else 0.0
    t1 = time.perf_counter()
    if lp is None:
        return Result(
            status=Status.NO_SOLUTION,
            limit=Limit.TIME,
            timings={"reduce": t1 - t0, "solve": 0.0},
            message="time limit reached before the LP relaxation was found",
        )
    vertex, brk, _residual, lp_bound, feasible = lp
    if not feasible:
        return _none_fits(problem, budget, scaled, {}, {})
    opt_ptr, opt_idx, opt_cost, opt_val, hull_ptr, hull_pos = groups
    time_limit = float(opts.time_limit) - (t1 - t0) if opts.time_limit is not None else 0.0
    if opts.time_limit is not None and time_limit <= 0:  # out of time before the search: the LP's integral part
        return _lp_vertex_result(problem, groups, lp, budget, scaled, {"reduce": t1 - t0, "solve": 0.0})
    stop, found, x, value, cost, upper, core_size, max_states, made = core_search(
        opt_ptr,
        opt_idx,
        opt_cost,
        opt_val,
        hull_ptr,
        hull_pos,
        vertex,
        brk,
        budget,
        bool(problem.exact),
        step,
        time_limit,
        int(state_limit),
        _mckp_core.CARD_AFTER,
    )
    t2 = time.perf_counter()
    timings = {"reduce": t1 - t0, "solve": t2 - t1}
    stats = {
        "lp_bound": float(lp_bound),
        "core_size": int(core_size),
        "max_states": int(max_states),
        "states": int(made),
        "break_class": int(brk),
    }
    if stop == STOP_OPTIMAL and not found:
        return _none_fits(problem, budget, scaled, stats, timings)
    limit = None if stop == STOP_OPTIMAL else (Limit.TIME if stop == STOP_TIME else Limit.NODE)
    bound = None if scaled else float(min(upper, lp_bound) if limit else value)
    if not found:
        return Result(
            status=Status.NO_SOLUTION,
            limit=limit,
            bound=bound,
            stats=stats,
            timings=timings,
            message="stopped before any solution within the budget was found",
        )
    if not problem.is_feasible(x):
        raise SolverError(f"core search returned a choice costing {problem.cost_of(x)}, outside budget {problem.budget}")
    objective = problem.value_of(x)
    stats["cost"] = problem.cost_of(x)
    if limit is None and not scaled:
        bound = objective  # the kernel's sum and value_of's may differ in the last bit
    if limit is None:
        status = Status.FEASIBLE if scaled else Status.OPTIMAL
        msg = f"optimal for costs rounded up at scale {opts.get('scale')}" if scaled else "optimal"
    else:
        status = Status.FEASIBLE
        msg = (
            "time limit: best solution so far"
            if limit is Limit.TIME
            else f"state limit ({state_limit} states): best solution so far"
        )
    return Result(status=status, limit=limit, x=x, objective=objective, bound=bound, stats=stats, timings=timings, message=msg)


def _lp_vertex_result(problem, groups, lp, budget, scaled, timings) -> Result:
    """What the core solver returns when the time limit passes before its search starts: every class at its LP
    vertex (the LP's integral part, which fits the budget) with the LP bound, or NO_SOLUTION when that choice does
    not meet an exact budget."""
    opt_ptr, opt_idx, opt_cost, _opt_val, hull_ptr, hull_pos = groups
    vertex, _brk, _residual, lp_bound, _feasible = lp
    pos = hull_pos[hull_ptr[:-1] + vertex]
    x = opt_idx[pos].astype(np.int64)
    stats = {"lp_bound": float(lp_bound), "core_size": 0, "max_states": 0, "states": 0, "break_class": int(lp[1])}
    bound = None if scaled else float(lp_bound)
    if not problem.is_feasible(x):
        return Result(
            status=Status.NO_SOLUTION,
            limit=Limit.TIME,
            bound=bound,
            stats=stats,
            timings=timings,
            message="time limit reached before the search; the LP's integral part misses the exact budget",
        )
    stats["cost"] = problem.cost_of(x)
    return Result(
        status=Status.FEASIBLE,
        limit=Limit.TIME,
        x=x,
        objective=problem.value_of(x),
        bound=bound,
        stats=stats,
        timings=timings,
        message="time limit reached before the search: the LP's integral part",
    )


def _core_rollout_supports(problem: RolloutAllocation):
    """As `_core_supports` on the equivalent knapsack, from the costs alone: a prompt's dearest usable option
    is its cap times its cost, so the total is one exact dot product (no knapsack, no value table built here)."""
    c = problem.costs_per_rollout
    if problem.unit_costs or c.dtype.kind != "i" or not isinstance(exact_number(problem.total_rollouts), int):
        return None  # unit costs never come near the limit; real costs go through `scale` as for the knapsack
    total = exact_dot(c, np.maximum(problem.prompt_caps(), problem.min_rollouts))
    return _too_large(total) if total > TOTAL_COST_LIMIT else None


register(
    RolloutAllocation,
    "core",
    backend="numba",
    priority=15,
    supports=_core_rollout_supports,
    preferred=lambda p: p.whole_number_costs,  # real costs need options={'scale': s}: the default goes on to an exact method
    options=("scale", "state_limit"),
    **HONOURS,
)(via_knapsack(solve_core))


def _lp_supports(problem: MultipleChoiceKnapsack):
    if problem.exact:
        return no_exact(problem)
    if not problem.integer_costs:
        return "it needs whole-number costs (backend 'numpy' takes real costs)"
    return _core_supports(problem)


@register(
    MultipleChoiceKnapsack, "lp", backend="numba", priority=39, supports=_lp_supports, honours=("time_limit", "rel_gap", "seed")
)
def solve_lp_hull(problem: MultipleChoiceKnapsack, opts: SolveOptions) -> Result:
    """LP relaxation by the upper-hull greedy (numba): fractional ``x`` (N, K), ``objective`` = ``bound``."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    from ._mckp_lp import lp_fractions

    t0 = time.perf_counter()
    groups, lp, _budget, _ = _prepare(problem, None)
    opt_ptr, opt_idx, opt_cost, _opt_val, hull_ptr, hull_pos = groups
    vertex, brk, residual, bound, _feasible = lp
    frac = lp_fractions(opt_ptr, opt_idx, opt_cost, hull_ptr, hull_pos, vertex, brk, residual, problem.n_options)
    cost = float((frac * problem.costs).sum())
    return Result(
        status=Status.OPTIMAL,
        x=frac,
        objective=float(bound),
        bound=float(bound),
        duals={"fractions": frac},
        stats={"cost": cost},
        timings={"solve": time.perf_counter() - t0},
        message="LP relaxation (an upper bound)",
    )
