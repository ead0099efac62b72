"""The HiGHS models of a regularised `OnlineAllocation` (the hindsight MIP and LP with a concave regulariser of the
consumption), and the helpers the unregularised models share with them (a HiGHS model of the right kind, dropping
requests until a rounded solution fits)."""

from __future__ import annotations

import time

import numpy as np

from ...core.budget import fits
from ...core.result import Limit, Result, Status
from ...core.solve import finite_or_none
from ...problems.online import OnlineAllocation
from ._common import new_highs, run_highs, status_of

FEASIBILITY_TOLERANCE = 1e-9  # relative: every budget row is scaled to B_j = 1 before HiGHS sees it


def _drop_until_feasible(problem: OnlineAllocation, x: np.ndarray) -> np.ndarray:
    """Last resort of the repair loop: drop the lowest-reward played actions on an over-spent resource."""
    dense = problem.dense()
    x = x.copy()
    while not problem.is_feasible(x):
        over = np.flatnonzero([not fits(s, b, whole=True) for s, b in zip(problem.consumption_of(x), problem.budgets)])
        played = np.flatnonzero(x >= 0)
        if dense.is_matching:
            uses = played[np.isin(x[played], over)]
        else:
            uses = played[(dense.consumption[played, x[played]][:, over] > 0).any(axis=1)]
        worst = uses[np.argmin(dense.rewards[uses, x[uses]])]
        x[worst] = -1
    return x


def _new_model_highs(opts, integer: bool):
    h = new_highs(opts)
    h.setOptionValue("primal_feasibility_tolerance", FEASIBILITY_TOLERANCE)
    h.setOptionValue("small_matrix_value", 1e-12)
    if integer:
        h.setOptionValue("mip_feasibility_tolerance", FEASIBILITY_TOLERANCE)
    return h


def _regularized_model(problem: OnlineAllocation, integer: bool):
    """The hindsight LP/MIP with a polyhedral regulariser (max-min fairness, load balancing, below-target hinge).

    Columns: x_tk for every (t, k) (with a regulariser an action of zero reward may pay), minus, in the MIP, those
    that alone exceed a budget; then the regulariser's epigraph: z <= A_j/B_j for max-min fairness (objective
    + λT z), w >= A_j/B_j for load balancing (- λT w), s_j >= τ_j − A_j/B_j for the hinge (- c_j B_j s_j), with
    A_j the total consumption. Budget rows are A_j / B_j <= 1. Returns ``(lp, t_idx, k_idx)``."""
    import highspy

    dense = problem.dense()
    reg = problem.regularizer
    T, m = dense.horizon, dense.n_resources
    budgets = np.asarray(dense.budgets, float)
    k_all = dense.rewards.shape[1]
    t_idx, k_idx = np.divmod(np.arange(T * k_all), k_all)
    b = np.eye(m)[k_idx] if dense.is_matching else dense.consumption[t_idx, k_idx, :]
    share = b / budgets  # each column's share of each budget
    over = (share > 1.0).any(axis=1)
    upper = np.ones(t_idx.size)
    if integer:
        keep = ~over
        t_idx, k_idx, share, upper = t_idx[keep], k_idx[keep], share[keep], upper[keep]
    else:
        upper = np.minimum(1.0, 1.0 / share.max(axis=1, initial=0.0).clip(min=1e-300))
    n = t_idx.size
    weight, target = reg.kernel_arrays(m)
    if reg.name == "below_target":
        extra, extra_cost = m, -weight * budgets
    else:
        extra = 1
        extra_cost = np.array([T * weight[0] if reg.name == "max_min_fairness" else -T * weight[0]])
    inf = highspy.kHighsInf
    # rows: T request rows, m budget rows, m regulariser rows
    rows, cols, vals = [t_idx], [np.arange(n)], [np.ones(n)]
    ci, cj = np.nonzero(share)
    rows += [T + cj, T + m + cj]
    cols += [ci, ci]
    vals += [share[ci, cj], share[ci, cj]]
    if reg.name == "below_target":
        rows.append(T + m + np.arange(m))
        cols.append(n + np.arange(m))
        vals.append(np.ones(m))
        reg_lower, reg_upper = target, np.full(m, inf)
    else:
        rows.append(T + m + np.arange(m))
        cols.append(np.full(m, n))
        vals.append(-np.ones(m))
        if reg.name == "max_min_fairness":  # A_j/B_j − z >= 0
            reg_lower, reg_upper = np.zeros(m), np.full(m, inf)
        else:  # load balancing: A_j/B_j − w <= 0
            reg_lower, reg_upper = np.full(m, -inf), np.zeros(m)
    import scipy.sparse as sp

    a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(T + 2 * m, n + extra))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n + extra, T + 2 * m
    lp.col_cost_ = np.concatenate([dense.rewards[t_idx, k_idx], extra_cost]).astype(np.float64)
    lp.col_lower_ = np.zeros(n + extra)
    lp.col_upper_ = np.concatenate([upper, np.full(extra, inf)])
    lp.row_lower_ = np.concatenate([np.full(T + m, -inf), reg_lower])
    lp.row_upper_ = np.concatenate([np.ones(T + m), reg_upper])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data
    lp.sense_ = highspy.ObjSense.kMaximize
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n + [highspy.HighsVarType.kContinuous] * extra
    return lp, t_idx, k_idx


def _solve_regularized(problem: OnlineAllocation, opts, integer: bool, run=None) -> Result:
    """The regularised hindsight MIP (exact optimum; its ``x`` is checked against every budget exactly and, if
    HiGHS' tolerance let one slip, actions are dropped until it holds and the status is FEASIBLE) or its LP
    relaxation (``x`` the fractional (T, K) allocation)."""
    h = _new_model_highs(opts, integer)
    t0 = time.perf_counter()
    lp, t_idx, k_idx = _regularized_model(problem, integer)
    timings = {"build": time.perf_counter() - t0, "solve": 0.0}
    h.passModel(lp)
    T = problem.horizon
    n = t_idx.size

    def actions(col):
        x = np.full(T, -1, dtype=np.int64)
        on = np.asarray(col)[:n] > 0.5
        x[t_idx[on]] = k_idx[on]
        return x

    def decode(col):
        x = actions(col)
        return (x, problem.value_of(x)) if problem.is_feasible(x) else None

    info, timings["solve"] = run_highs(h, "the regularised hindsight model", run=run, on_solution=decode if integer else None)
    status, limit, raw = status_of(h, info.primal_solution_status == 2, run)
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        return Result(status=status, limit=limit, timings=timings, message=f"HiGHS: {raw}")
    col = np.asarray(h.getSolution().col_value)
    if not integer:
        x = np.zeros((T, problem.dense().rewards.shape[1]))
        x[t_idx, k_idx] = col[:n]
        obj = float(info.objective_function_value)
        return Result(
            status=status,
            limit=limit,
            x=x,
            objective=obj,
            bound=obj,
            stats={"iterations": int(info.simplex_iteration_count), "form": "primal"},
            timings=timings,
            message=f"regularised hindsight LP (HiGHS: {raw})",
        )
    x = actions(col)
    if not problem.is_feasible(x):
        x = _drop_until_feasible(problem, x)
        status = Status.FEASIBLE
        raw += "; actions dropped until every budget held"
    objective = problem.value_of(x)
    if status is Status.OPTIMAL and info.mip_gap > 1e-9:
        status, limit = Status.FEASIBLE, Limit.GAP
    bound = finite_or_none(info.mip_dual_bound)
    bound = None if bound is None else max(bound, objective)
    spent = problem.consumption_of(x)
    return Result(
        status=status,
        limit=limit,
        x=x,
        objective=objective,
        bound=bound,
        stats={"nodes": int(info.mip_node_count), "spent": spent, "regularization": problem.regularization_of(spent)},
        timings=timings,
        message=f"regularised hindsight MIP (HiGHS: {raw})",
    )
