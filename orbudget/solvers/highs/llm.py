"""HiGHS adapter for model routing: the exact MIP with the total budget and every task budget.

Model: binary $y_{qm}$; $\\sum_m y_{qm} = 1$ per query ($\\le 1$ with ``allow_skip``);
$\\sum_{qm} C_{qm} y_{qm} \\le B$; $\\sum_{q \\in \\tau, m} C_{qm} y_{qm} \\le B_\\tau$ per task;
maximise $\\sum_{qm} Q_{qm} y_{qm} / |Q|$. Proven optimal means no gap at all (relative and absolute 0).
"""

from __future__ import annotations

import time

import numpy as np

from ...core.progress import Run
from ...core.registry import register
from ...core.result import Limit, Result, Status
from ...core.solve import SolveOptions, finite_or_none
from ...problems.llm import ModelRouting
from .._reduce import infeasible
from ._common import new_highs, run_highs, status_of

FEASIBILITY_TOL = 1e-10


def routing_model(problem: ModelRouting):
    """The MIP as a ``highspy.HighsLp`` (columns query-major: column q·M + m is y_qm)."""
    import highspy

    n_q, n_m = problem.quality.shape
    n_tasks = problem.task_budgets.size if problem.has_task_budgets else 0
    ncol = n_q * n_m
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = n_q + 1 + n_tasks
    lp.col_cost_ = (np.asarray(problem.quality, dtype=np.float64) / n_q).ravel()
    lp.col_lower_ = np.zeros(ncol)
    lp.col_upper_ = np.ones(ncol)
    caps = [float(problem.budget)] + ([] if not n_tasks else [float(b) for b in problem.task_budgets])
    lp.row_lower_ = np.concatenate(
        [np.zeros(n_q) if problem.allow_skip else np.ones(n_q), np.full(1 + n_tasks, -highspy.kHighsInf)]
    )
    lp.row_upper_ = np.concatenate([np.ones(n_q), caps])
    per_col = 3 if n_tasks else 2
    q = np.repeat(np.arange(n_q), n_m)
    index = np.empty(per_col * ncol, np.int32)
    value = np.empty(per_col * ncol)
    cost = np.asarray(problem.costs, dtype=np.float64).ravel()
    index[0::per_col], value[0::per_col] = q, 1.0
    index[1::per_col], value[1::per_col] = n_q, cost
    if n_tasks:
        index[2::per_col], value[2::per_col] = n_q + 1 + problem.tasks[q], cost
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, per_col * ncol + 1, per_col, dtype=np.int32)
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.integrality_ = [highspy.HighsVarType.kInteger] * ncol
    return lp


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
    with Run(opts, unit="events", desc="mip") as run:  # from the start: the time limit covers the build
        h = new_highs(opts)
        for key in ("primal_feasibility_tolerance", "mip_feasibility_tolerance"):
            if key not in opts.options:
                h.setOptionValue(key, FEASIBILITY_TOL)
        if opts.rel_gap is None and "mip_abs_gap" not in opts.options:
            h.setOptionValue("mip_abs_gap", 0.0)
        t0 = time.perf_counter()
        h.passModel(routing_model(problem))

        def decode(col):  # a HiGHS solution as routes, kept when every budget holds
            col = col.reshape(problem.quality.shape)
            x = np.where(col.max(axis=1) > 0.5, col.argmax(axis=1), -1).astype(np.int64)
            return (x, problem.accuracy_of(x)) if problem.is_feasible(x) else None

        info, seconds = run_highs(h, "the routing MIP", run=run, on_solution=decode)
    timings = {"build": time.perf_counter() - t0 - seconds, "solve": seconds}
    status, limit, raw = status_of(h, info.primal_solution_status == 2, run)
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        msg = "no routing meets every budget" if status is Status.INFEASIBLE else raw
        return Result(status=status, limit=limit, timings=timings, message=f"{msg} (HiGHS: {raw})")
    col = np.asarray(h.getSolution().col_value).reshape(problem.quality.shape)
    x = np.where(col.max(axis=1) > 0.5, col.argmax(axis=1), -1).astype(np.int64)
    if not problem.is_feasible(x):
        return Result(
            status=Status.ERROR, timings=timings, message=f"HiGHS returned routes over a budget (its tolerances; HiGHS: {raw})"
        )
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
