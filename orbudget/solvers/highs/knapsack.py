"""HiGHS adapters for the knapsack family: the exact MIP (``mip``) and its LP relaxation (``lp``, exact budgets too).

Model: binary $y_{ik}$ for each available option, $\\sum_k y_{ik} = 1$ per group,
$\\sum_{ik} c_{ik} y_{ik} \\le B$ (or $= B$), maximise $\\sum_{ik} v_{ik} y_{ik}$.
"""

from __future__ import annotations

import numpy as np

from ...core.budget import INT64_MAX
from ...core.progress import Run
from ...core.registry import register
from ...core.result import Limit, Result, Status
from ...core.solve import SolveOptions, finite_or_none, limited_result
from ...problems.knapsack import MultipleChoiceKnapsack
from ...problems.rollouts import RolloutAllocation
from .._knapsack import starting_choice
from .._reduce import infeasible, repair_budget, via_knapsack
from ._common import new_highs, run_highs, status_of

FEASIBILITY_TOL = 1e-10  # HiGHS' primal and integrality tolerances here (its smallest)
WHOLE_ROW_LIMIT = 10**15  # whole-number budget rows (after the gcd) up to this stay in integers (HiGHS limit)


def _budget_row(problem: MultipleChoiceKnapsack, flat: np.ndarray):
    """Coefficients and bounds of the budget row. Whole-number costs: the problem's integer form (divided by their gcd,
    still whole numbers, so HiGHS' absolute tolerance is below one unit). Otherwise, or beyond ``WHOLE_ROW_LIMIT``,
    divided by the budget, so that its absolute tolerance becomes relative to the budget (costs around 1e-12 no
    longer slip by an absolute 1e-9); the exact check afterwards decides."""
    low, high = problem.spend_window()
    cap = problem.capped_budget()
    if problem.whole_number_costs and cap < INT64_MAX:
        form = problem.integer_form()
        if form.budget <= WHOLE_ROW_LIMIT and not form.infeasible:
            row = form.costs.ravel()[flat].astype(np.float64)
            return row, (float(form.budget) if problem.exact else None), float(form.budget)
        # larger whole numbers: HiGHS refuses matrix values above 1e15 and rounds above 2^53, so the row is scaled
        # to the budget like real costs; the exact check afterwards decides (and repairs)
    costs = problem.costs.ravel()[flat]
    scale = cap if problem.exact else min(high, cap)
    scale = scale if scale > 0 else 1
    row = costs.astype(np.float64) / float(scale)  # within 3e-16 relative of the exact ratio
    return row, (float(low / scale) if problem.exact else None), float(min(high, cap) / scale)


def _model(problem: MultipleChoiceKnapsack, integer: bool):
    """One binary per affordable option (options whose cost alone exceeds the budget are left out), one row per
    group, and the budget row of `_budget_row`."""
    import highspy

    n, k = problem.values.shape
    flat = np.flatnonzero(problem.affordable().ravel())
    groups = flat // k
    ncol = flat.size
    row, row_low, row_high = _budget_row(problem, flat)
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = n + 1
    lp.col_cost_ = problem.values.ravel()[flat].astype(np.float64)
    lp.col_lower_ = np.zeros(ncol)
    lp.col_upper_ = np.ones(ncol)
    lp.row_lower_ = np.concatenate([np.ones(n), [row_low if problem.exact else -highspy.kHighsInf]])
    lp.row_upper_ = np.concatenate([np.ones(n), [row_high]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, 2 * ncol + 1, 2, dtype=np.int32)
    index = np.empty(2 * ncol, np.int32)
    index[0::2], index[1::2] = groups, n
    value = np.empty(2 * ncol)
    value[0::2] = 1.0
    value[1::2] = row
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.sense_ = highspy.ObjSense.kMaximize
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * ncol
    return lp, flat


def _run(problem: MultipleChoiceKnapsack, opts, integer: bool) -> Result:
    import time

    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    run = Run(opts, unit="events", desc="mip" if integer else "lp").open()  # the time limit covers the build
    h = new_highs(opts)
    for key in ("primal_feasibility_tolerance", "mip_feasibility_tolerance"):
        if key not in opts.options and (integer or key.startswith("primal")):
            h.setOptionValue(key, FEASIBILITY_TOL)
    t0 = time.perf_counter()
    lp, flat = _model(problem, integer)
    h.passModel(lp)
    start = start_bound = None
    if integer:  # the caller's start and the LP's integral part: a limit or a Ctrl-C then always has an incumbent
        start, start_bound = starting_choice(problem)
        run.set_bound(start_bound)
        given = None if opts.warm_start is None else problem.check_choice(opts.warm_start)
        for x in (given, start):
            if x is not None and problem.is_feasible(x):
                run.offer(x, problem.value_of(x), cost=problem.cost_of(x))
        start = given if opts.incumbent.x is None else opts.incumbent.x  # HiGHS starts from the better one that fits
    if start is not None:
        col = np.zeros(problem.values.size)
        col[np.arange(problem.n_groups) * problem.n_options + start] = 1.0
        start = col[flat]
    t1 = time.perf_counter()

    def decode(col_value):  # a HiGHS improving solution as the family's x, kept when it fits the budget exactly
        col = np.zeros(problem.values.size)
        col[flat] = col_value
        x = col.reshape(problem.values.shape).argmax(axis=1)
        return (x, problem.value_of(x)) if problem.is_feasible(x) else None

    try:  # the run opened before the build: its clock covers it, and one display serves the whole call
        info, solve_seconds = run_highs(h, run=run, on_solution=decode if integer else None, start=start)
    finally:
        run.close()
    has_solution = info.primal_solution_status == 2
    status, limit, raw = status_of(h, has_solution, run)
    timings = {"build": t1 - t0, "solve": solve_seconds}
    if status is Status.NO_SOLUTION and limit is not None and opts.incumbent.x is not None:  # before HiGHS took the start
        r = limited_result(problem, opts.incumbent, limit, raw)
        return r.replace(timings=timings, message=f"{raw}; the starting solution")
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        msg = "no choice of one option per group meets the budget" if status is Status.INFEASIBLE else raw
        return Result(status=status, limit=limit, timings=timings, message=f"{msg} (HiGHS: {raw})")
    col = np.zeros(problem.values.size)
    col[flat] = np.asarray(h.getSolution().col_value)
    col = col.reshape(problem.values.shape)
    if not integer:
        obj = float((col * problem.values).sum())
        cost = float((col.ravel()[flat] * problem.costs.ravel()[flat].astype(np.float64)).sum())
        return Result(
            status=status,
            limit=limit,
            x=col,
            objective=obj,
            bound=obj,
            duals={"fractions": col},
            stats={"cost": cost, "iterations": int(info.simplex_iteration_count)},
            timings=timings,
            message=f"LP relaxation (HiGHS: {raw})",
        )
    x = col.argmax(axis=1)
    bound = finite_or_none(info.mip_dual_bound)
    if bound is None and limit is not None:
        bound = start_bound
    stats = {"nodes": int(info.mip_node_count)}
    message = f"HiGHS: {raw}"
    if status is Status.OPTIMAL and info.mip_gap > 1e-9:
        status, limit = Status.FEASIBLE, Limit.GAP
    if not problem.is_feasible(x):
        # HiGHS' tolerances let the budget slip (beyond 1e-10 relative, or by whole units of a budget above 1e10):
        # never return that, and never call the repaired choice optimal
        over = problem.cost_of(x)
        if problem.exact:
            return Result(
                status=Status.ERROR,
                timings=timings,
                message=f"HiGHS returned a choice costing {over}, not the exact budget {problem.budget}: "
                "its tolerances cannot resolve this budget; use method='dp' or 'cpsat'",
            )
        x, moves = repair_budget(problem, x)
        status = Status.FEASIBLE
        stats["repaired"] = moves
        message += f"; its choice cost {over} > budget {problem.budget}, repaired by {moves} move(s) to cheaper options"
    stats["cost"] = problem.cost_of(x)
    return Result(
        status=status, limit=limit, x=x, objective=problem.value_of(x), bound=bound, stats=stats, timings=timings, message=message
    )


@register(
    MultipleChoiceKnapsack,
    "mip",
    backend="highs",
    priority=20,
    options=("*",),
    honours=("time_limit", "rel_gap", "threads", "warm_start", "callback", "progress", "seed"),
    long=True,
)
def solve_mip(problem: MultipleChoiceKnapsack, opts: SolveOptions) -> Result:
    """Exact MIP with HiGHS (time limit, gap, warm start; other HiGHS options pass through ``options``)."""
    return _run(problem, opts, integer=True)


@register(
    MultipleChoiceKnapsack,
    "lp",
    backend="highs",
    priority=41,
    options=("*",),
    honours=("time_limit", "threads", "callback", "progress", "seed"),
)
def solve_lp_highs(problem: MultipleChoiceKnapsack, opts: SolveOptions) -> Result:
    """LP relaxation with HiGHS (any budget, exact included): fractional ``x`` (N, K) and the bound."""
    return _run(problem, opts, integer=False)


register(
    RolloutAllocation,
    "mip",
    backend="highs",
    priority=30,
    options=("*",),
    honours=("time_limit", "rel_gap", "threads", "warm_start", "callback", "progress", "seed"),
    long=True,
)(via_knapsack(solve_mip))
register(
    RolloutAllocation,
    "lp",
    backend="highs",
    priority=41,
    options=("*",),
    honours=("time_limit", "threads", "callback", "progress", "seed"),
)(via_knapsack(solve_lp_highs))
