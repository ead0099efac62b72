"""HiGHS adapters for online allocation: the hindsight optimum of the realised sequence (``hindsight``, MIP) and
its LP bound (``hindsight_lp``), by the primal LP on moderate T or by Kelley's cutting planes on the dual
:math:`\\min_{\\mu \\ge 0} D(\\mu)` (m + 1 master variables) for T up to 10^6 and beyond, streams included.

Primal model: :math:`x_{tk} \\in [0, 1]` (integer for the MIP) for every (t, k) with positive reward (the others
never help), :math:`\\sum_k x_{tk} \\le 1` per request, :math:`\\sum_{tk} b_{tkj} x_{tk} \\le B_j` per resource.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ...core.errors import InvalidProblemError, SolverError
from ...core.registry import register
from ...core.result import Limit, Result, Status
from ...core.solve import finite_or_none
from ...problems.online import OnlineAllocation
from .knapsack import new_highs, run_highs, status_of

PRIMAL_LIMIT = 200_000  # columns up to which hindsight_lp solves the primal LP by default


def _no_entropy(problem: OnlineAllocation):
    return "proportional (entropy) instances are solved by the cvxpy adapter" if problem.entropy > 0 else None


def _primal_model(problem: OnlineAllocation, integer: bool, budgets=None):
    import highspy

    dense = problem.dense()
    r = dense.rewards
    t_idx, k_idx = np.nonzero(r > 0)
    ncol = t_idx.size
    horizon, m = dense.horizon, dense.n_resources
    if dense.is_matching:
        counts = np.full(ncol, 2)
        rows = np.empty(2 * ncol, np.int32)
        rows[0::2], rows[1::2] = t_idx, horizon + k_idx
        vals = np.ones(2 * ncol)
    else:
        b = dense.consumption[t_idx, k_idx, :]  # (ncol, m)
        nz = b != 0
        counts = 1 + nz.sum(axis=1)
        rows = np.empty(int(counts.sum()), np.int32)
        vals = np.empty(rows.size)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rows[starts], vals[starts] = t_idx, 1.0
        pos = np.ones(rows.size, bool)
        pos[starts] = False
        ci, cj = np.nonzero(nz)  # row-major: grouped by column, in resource order
        rows[pos] = horizon + cj
        vals[pos] = b[ci, cj]
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = horizon + m
    lp.col_cost_ = r[t_idx, k_idx].astype(np.float64)
    lp.col_lower_ = np.zeros(ncol)
    lp.col_upper_ = np.ones(ncol)
    lp.row_lower_ = np.full(horizon + m, -highspy.kHighsInf)
    lp.row_upper_ = np.concatenate([np.ones(horizon), np.asarray(dense.budgets if budgets is None else budgets, float)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    lp.a_matrix_.index_ = rows
    lp.a_matrix_.value_ = vals
    lp.sense_ = highspy.ObjSense.kMaximize
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * ncol
    return lp, t_idx, k_idx


def _solve_primal(problem: OnlineAllocation, opts, integer: bool, budgets=None) -> Result:

    h = new_highs(opts)
    h.setOptionValue("primal_feasibility_tolerance", 1e-9)
    if integer:
        h.setOptionValue("mip_feasibility_tolerance", 1e-9)
    t0 = time.perf_counter()
    lp, t_idx, k_idx = _primal_model(problem, integer, budgets)
    h.passModel(lp)
    t1 = time.perf_counter()
    info, solve_seconds = run_highs(h, "the hindsight model")
    status, limit, raw = status_of(h, info.primal_solution_status == 2)
    timings = {"build": t1 - t0, "solve": solve_seconds}
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        return Result(status=status, limit=limit, timings=timings, message=f"HiGHS: {raw}")
    col = np.asarray(h.getSolution().col_value)
    horizon = problem.horizon
    if not integer:
        x = np.zeros((horizon, problem.n_resources if problem.is_matching else problem.dense().rewards.shape[1]))
        x[t_idx, k_idx] = col
        obj = float(info.objective_function_value)
        mu = np.abs(np.asarray(h.getSolution().row_dual)[horizon:])  # budget-row duals (sign convention differs by sense)
        return Result(status=status, limit=limit, x=x, objective=obj, bound=obj, duals=mu,
                      stats={"iterations": int(info.simplex_iteration_count), "form": "primal"}, timings=timings,
                      message=f"hindsight LP (HiGHS: {raw})")
    x = np.full(horizon, -1, dtype=np.int64)
    on = col > 0.5
    x[t_idx[on]] = k_idx[on]
    if not problem.is_feasible(x):
        return Result(status=Status.ERROR, timings=timings, message="HiGHS returned actions over a budget")
    objective = problem.reward_of(x)
    bound = finite_or_none(info.mip_dual_bound)
    if status is Status.OPTIMAL and info.mip_gap > 1e-9:
        status, limit = Status.FEASIBLE, Limit.GAP
    return Result(status=status, limit=limit, x=x, objective=objective, bound=bound,
                  stats={"nodes": int(info.mip_node_count), "spent": problem.consumption_of(x)}, timings=timings,
                  message=f"HiGHS: {raw}")


def hindsight_mip(problem: OnlineAllocation, opts) -> Result:
    """Exact hindsight optimum. Matching instances use one unit per action, so only ⌊B_j⌋ units can ever be used;
    with those integer capacities the constraint matrix (a bipartite b-matching) is totally unimodular and the
    simplex vertex of the LP is integral: it is solved as an LP, checked integral, and the MIP is the fallback."""
    if problem.is_matching:
        r = _solve_primal(problem, opts, integer=False, budgets=np.floor(problem.budgets))
        if r.status == Status.OPTIMAL:
            frac = np.asarray(r.x)
            if np.all(np.minimum(np.abs(frac), np.abs(frac - 1)) <= 1e-9):
                x = np.where(frac.max(axis=1) > 0.5, frac.argmax(axis=1), -1).astype(np.int64)
                if problem.is_feasible(x, rel_tol=0.0):
                    return Result(status=Status.OPTIMAL, x=x, objective=problem.reward_of(x), bound=r.objective,
                                  stats={"spent": problem.consumption_of(x), "form": "totally unimodular LP"},
                                  timings=r.timings, message="integral LP vertex (bipartite b-matching is TU)")
    return _solve_primal(problem, opts, integer=True)


def dual_cutting_planes(problem: OnlineAllocation, *, tol: float = 1e-9, max_iter: int = 5000, opts=None,
                        time_limit: float | None = None) -> dict:
    """Kelley's cutting planes for :math:`\\min_{\\mu\\ge0} D(\\mu)` = the hindsight LP value.

    Each iteration solves a master LP over (μ, θ) with one cut θ ≥ D(μ_i) + g_iᵀ(μ − μ_i) per evaluation and
    evaluates D (one pass over the requests, numba). μ is boxed by μ_j ≤ D(0)/B_j, which holds at the optimum since
    D(μ) ≥ μᵀB. Stops when the best D and the master's bound agree to ``tol`` (relative).

    Returns ``{"value", "lower", "mu", "iterations", "converged"}``; ``value`` is an upper bound on the LP optimum
    (exact at convergence), ``lower`` a lower bound.
    """
    import highspy

    from ...core.solve import SolveOptions
    from ..numba.online import dual_value

    h = new_highs(opts or SolveOptions())
    m = problem.n_resources
    budgets = np.asarray(problem.budgets, float)
    d0, g0 = dual_value(problem, np.zeros(m))
    upper_box = np.maximum(d0, 1e-12) / budgets
    inf = highspy.kHighsInf
    # columns: mu_0..mu_{m-1}, theta ; minimise theta
    h.addVars(m + 1, np.concatenate([np.zeros(m), [-inf]]), np.concatenate([upper_box, [inf]]))
    h.changeColsCost(m + 1, np.arange(m + 1, dtype=np.int32), np.concatenate([np.zeros(m), [1.0]]))
    best, best_mu = d0, np.zeros(m)
    lower = -np.inf
    mu, d, g = np.zeros(m), d0, g0
    start = time.perf_counter()
    it = 0
    converged = False
    for it in range(1, max_iter + 1):  # noqa: B007
        # cut: theta - g·mu >= d - g·mu_i
        h.addRow(d - g @ mu, inf, m + 1, np.arange(m + 1, dtype=np.int32), np.concatenate([-g, [1.0]]))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"Kelley master LP: HiGHS {h.modelStatusToString(h.getModelStatus())}")
        sol = np.asarray(h.getSolution().col_value)
        mu, lower = np.maximum(sol[:m], 0.0), max(lower, float(sol[m]))
        d, g = dual_value(problem, mu)
        if d < best:
            best, best_mu = d, mu
        if best - lower <= tol * max(1.0, abs(best)):
            converged = True
            break
        if time_limit is not None and time.perf_counter() - start > time_limit:
            break
    return {"value": float(best), "lower": float(lower), "mu": best_mu, "iterations": it, "converged": converged}


def _primal_fits(problem: OnlineAllocation) -> bool:
    """Dense enough in memory and small enough for the primal LP (else cutting planes on the dual)."""
    return not problem.is_stream and problem.horizon * problem.rewards.shape[1] <= PRIMAL_LIMIT


def hindsight_lp_value(problem: OnlineAllocation, opts) -> float:
    if _primal_fits(problem):
        r = _solve_primal(problem, opts, integer=False)
        if r.status == Status.OPTIMAL:
            return float(r.objective)
    return dual_cutting_planes(problem, opts=opts)["value"]


@register(OnlineAllocation, "hindsight", backend="highs", priority=40, supports=_no_entropy, options=("*",))
def solve_hindsight(problem: OnlineAllocation, opts) -> Result:
    """Exact optimum of the realised sequence (HiGHS MIP), knowing every request in advance."""
    r = hindsight_mip(problem, opts)
    if r.ok:
        r = r.replace(stats={**r.stats, "reward": r.objective, "hindsight": r.objective, "regret": 0.0})
    return r


@register(OnlineAllocation, "hindsight_lp", backend="highs", priority=50, supports=_no_entropy,
          options=("form", "tol", "max_iter"), honours=("time_limit", "threads", "seed"), long=True)
def solve_hindsight_lp(problem: OnlineAllocation, opts) -> Result:
    """LP bound on the hindsight optimum: primal LP (``form='primal'``) or dual cutting planes (``'dual'``)."""
    form = opts.get("form", "auto")
    tol, max_iter = float(opts.get("tol", 1e-9)), int(opts.get("max_iter", 5000))
    opts = dataclasses.replace(opts, options={})  # the rest are this adapter's own, not HiGHS options
    if form not in ("auto", "primal", "dual"):
        raise InvalidProblemError(f"`options.form` must be 'auto', 'primal' or 'dual'; got {form!r}")
    if form == "auto":
        form = "primal" if _primal_fits(problem) else "dual"
    if form == "primal":
        return _solve_primal(problem, opts, integer=False)
    t0 = time.perf_counter()
    out = dual_cutting_planes(problem, tol=tol, max_iter=max_iter, opts=opts, time_limit=opts.time_limit)
    status = Status.OPTIMAL if out["converged"] else Status.FEASIBLE
    limit = None if out["converged"] else (Limit.TIME if opts.time_limit is not None else Limit.ITERATION)
    return Result(status=status, limit=limit, objective=out["value"], bound=out["value"], duals=out["mu"],
                  x=out["mu"], stats={"iterations": out["iterations"], "lower": out["lower"], "form": "dual"},
                  timings={"solve": time.perf_counter() - t0},
                  message="dual cutting planes (Kelley); x holds the optimal duals μ")
