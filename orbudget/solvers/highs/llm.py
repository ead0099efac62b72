"""HiGHS adapter for model routing: the exact MIP with the total budget and every task budget.

Model: binary $y_{qm}$; $\\sum_m y_{qm} = 1$ per query ($\\le 1$ with ``allow_skip``);
$\\sum_{qm} C_{qm} y_{qm} \\le B$; $\\sum_{q \\in \\tau, m} C_{qm} y_{qm} \\le B_\\tau$ per task;
maximise $\\sum_{qm} Q_{qm} y_{qm} / |Q|$. Proven optimal means no gap at all (relative and absolute 0).
"""

from __future__ import annotations

import time

import numpy as np

from ...core.budget import at_most, spend_limit
from ...core.progress import Run
from ...core.registry import register
from ...core.result import Limit, Result, Status
from ...core.solve import SolveOptions, finite_or_none
from ...problems.llm import ModelRouting
from .._llm import routes_from_knapsack_result
from .._reduce import infeasible, solve_knapsack
from ._common import new_highs, run_highs, status_of

FEASIBILITY_TOL = 1e-10


def routing_model(problem: ModelRouting):
    """The MIP as a ``highspy.HighsLp`` (columns query-major: column q·M + m is y_qm). Each budget row is divided by its
    budget, so HiGHS' absolute tolerance is relative to it (costs around 1e-12 no longer slip by an absolute 1e-9)
    and huge costs stay within HiGHS' range; an option that alone breaks a budget is fixed at 0."""
    import highspy

    n_q, n_m = problem.quality.shape
    n_tasks = problem.task_budgets.size if problem.has_task_budgets else 0
    ncol = n_q * n_m
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = n_q + 1 + n_tasks
    lp.col_cost_ = (np.asarray(problem.quality, dtype=np.float64) / n_q).ravel()
    lp.col_lower_ = np.zeros(ncol)
    caps = np.array([float(problem.budget)] + ([] if not n_tasks else [float(b) for b in problem.task_budgets]))
    scale = np.where(caps > 0, caps, 1.0)
    cost = np.asarray(problem.costs, dtype=np.float64).ravel()
    q = np.repeat(np.arange(n_q), n_m)
    # an option that alone breaks a budget is fixed at 0, decided under the one rule (one pass, no Python loop)
    alone = at_most(problem.costs.ravel(), spend_limit(problem.budget, whole=problem.whole_number_costs))
    if n_tasks:
        whole = problem.whole_number_costs and problem.task_budgets.dtype.kind == "i"
        for t, cap in enumerate(problem.task_budgets.tolist()):
            mine = problem.tasks[q] == t
            alone[mine] &= at_most(problem.costs.ravel()[mine], spend_limit(cap, whole=whole))
    lp.col_upper_ = alone.astype(np.float64)
    lp.row_lower_ = np.concatenate(
        [np.zeros(n_q) if problem.allow_skip else np.ones(n_q), np.full(1 + n_tasks, -highspy.kHighsInf)]
    )
    lp.row_upper_ = np.concatenate([np.ones(n_q), caps / scale])
    per_col = 3 if n_tasks else 2
    index = np.empty(per_col * ncol, np.int32)
    value = np.empty(per_col * ncol)
    index[0::per_col], value[0::per_col] = q, 1.0
    index[1::per_col], value[1::per_col] = n_q, cost / scale[0]
    if n_tasks:
        index[2::per_col], value[2::per_col] = n_q + 1 + problem.tasks[q], cost / scale[1 + problem.tasks[q]]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, per_col * ncol + 1, per_col, dtype=np.int32)
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.integrality_ = [highspy.HighsVarType.kInteger] * ncol
    return lp


def greedy_routes(problem: ModelRouting) -> np.ndarray:
    """A feasible start for the MIP: the cheapest routing, then upgrades by quality gained per unit of cost while
    every budget holds (each upgrade checked exactly). The problem is not infeasible by bounds."""
    x = np.array(problem.cheapest, dtype=np.int64)
    base_q = problem.quality[np.arange(problem.n_queries), x]
    base_c = problem.costs[np.arange(problem.n_queries), x].astype(np.float64)
    gain = problem.quality - base_q[:, None]
    extra = problem.costs.astype(np.float64) - base_c[:, None]
    rows, cols = np.nonzero(gain > 0)
    ratio = gain[rows, cols] / np.maximum(extra[rows, cols], 1e-300)
    for k in np.lexsort((cols, rows, -ratio)).tolist():
        i, m = int(rows[k]), int(cols[k])
        if problem.quality[i, m] <= problem.quality[i, x[i]]:
            continue
        old, x[i] = x[i], m
        if not problem.is_feasible(x):
            x[i] = old
    return x


@register(
    ModelRouting,
    "mip",
    backend="highs",
    priority=20,
    options=("*",),
    honours=("time_limit", "rel_gap", "threads", "seed", "callback", "progress"),
    long=True,
)
def solve_routing_mip(problem: ModelRouting, opts: SolveOptions) -> Result:
    """Exact HiGHS MIP of the routing in the original cost units, task budgets included (time limit, gap, threads;
    other HiGHS options pass through ``options``)."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    if not problem.has_task_budgets:  # a multiple-choice knapsack: the one knapsack path, on its HiGHS model
        return _routing_knapsack_mip(problem, opts)
    import highspy

    start = greedy_routes(problem)  # a feasible incumbent from the start: a limit or a Ctrl-C always has one
    with Run(opts, unit="events", desc="mip") as run:  # from the start: the time limit covers the build
        h = new_highs(opts)
        for key in ("primal_feasibility_tolerance", "mip_feasibility_tolerance"):
            if key not in opts.options:
                h.setOptionValue(key, FEASIBILITY_TOL)
        if opts.rel_gap is None and "mip_abs_gap" not in opts.options:
            h.setOptionValue("mip_abs_gap", 0.0)
        t0 = time.perf_counter()
        h.passModel(routing_model(problem))
        sol = highspy.HighsSolution()
        col0 = np.zeros(problem.quality.size)
        rows0 = np.flatnonzero(start >= 0)
        col0[rows0 * problem.n_models + start[rows0]] = 1.0
        sol.col_value = list(col0)
        h.setSolution(sol)
        run.offer(start, problem.accuracy_of(start))

        def decode(col):  # a HiGHS solution as routes, kept when every budget holds
            col = col.reshape(problem.quality.shape)
            x = np.where(col.max(axis=1) > 0.5, col.argmax(axis=1), -1).astype(np.int64)
            return (x, problem.accuracy_of(x)) if problem.is_feasible(x) else None

        info, seconds = run_highs(h, "the routing MIP", run=run, on_solution=decode)
    timings = {"build": time.perf_counter() - t0 - seconds, "solve": seconds}
    status, limit, raw = status_of(h, info.primal_solution_status == 2, run)
    if status is Status.NO_SOLUTION and limit is not None:  # stopped before HiGHS took the start: the start stands
        status, x = Status.FEASIBLE, start
    elif status not in (Status.OPTIMAL, Status.FEASIBLE):
        msg = "no routing meets every budget" if status is Status.INFEASIBLE else raw
        return Result(status=status, limit=limit, timings=timings, message=f"{msg} (HiGHS: {raw})")
    else:
        col = np.asarray(h.getSolution().col_value).reshape(problem.quality.shape)
        x = np.where(col.max(axis=1) > 0.5, col.argmax(axis=1), -1).astype(np.int64)
    if not problem.is_feasible(x):  # HiGHS' tolerances let a budget slip: keep the exact incumbent instead
        x, status, limit = start, Status.FEASIBLE, limit or Limit.GAP
    if status is Status.OPTIMAL and info.mip_gap > 1e-9:
        status, limit = Status.FEASIBLE, Limit.GAP
    stats = {
        "cost": problem.cost_of(x),
        "total_quality": problem.accuracy_of(x) * problem.n_queries,
        "models_used": np.bincount(x[x >= 0], minlength=problem.n_models),
        "nodes": int(info.mip_node_count),
    }
    if problem.has_task_budgets:
        stats["task_costs"] = problem.task_costs_of(x)
    return Result(
        status=status,
        limit=limit,
        x=x,
        objective=problem.accuracy_of(x),
        bound=finite_or_none(info.mip_dual_bound),
        stats=stats,
        timings=timings,
        message=f"HiGHS: {raw}",
    )


def _routing_knapsack_mip(problem: ModelRouting, opts: SolveOptions) -> Result:
    """Routing without task budgets: the knapsack's ``mip`` on the one knapsack path (its budget row scaled, its
    answer checked exactly and repaired), mapped back to routes."""
    r = solve_knapsack(problem.to_knapsack(), opts, "mip", options=opts.options)  # HiGHS options pass through
    if not r.ok:
        return r.replace(message=f"multiple-choice knapsack (mip): {r.message}")
    return routes_from_knapsack_result(problem, r, nodes=r.stats.get("nodes"))
