"""HiGHS adapters for online allocation: the hindsight optimum of the realised sequence (``hindsight``, MIP) and
its LP bound (``hindsight_lp``), by the primal LP on moderate T or by Kelley's cutting planes on the dual
$\\min_{\\mu \\ge 0} D(\\mu)$ (m + 1 master variables) for T up to 10^6 and beyond, streams included.

Primal model: $x_{tk} \\in [0, 1]$ (integer for the MIP) for every (t, k) with positive reward (the others
never help), $\\sum_k x_{tk} \\le 1$ per request, $\\sum_{tk} b_{tkj} x_{tk} \\le B_j$ per resource.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.progress import Run
from ...core.registry import register
from ...core.result import Limit, Result, Status
from ...core.solve import SolveOptions, finite_or_none, limited_result
from ...core.validation import as_choice, as_scalar
from ...problems.online import OnlineAllocation
from ._common import run_highs, status_of
from .online_dual import dual_cutting_planes
from .online_regularized import FEASIBILITY_TOLERANCE, _drop_until_feasible, _new_model_highs, _solve_regularized

PRIMAL_LIMIT = 200_000  # columns up to which hindsight_lp solves the primal LP by default
REPAIR_ROUNDS = 4


def _no_entropy(problem: OnlineAllocation):
    return "proportional (entropy) instances are solved by the cvxpy adapter" if problem.entropy > 0 else None


def _exact_model(problem: OnlineAllocation):
    """The exact MIP needs a linear objective: no entropy, and a polyhedral regulariser if any."""
    if problem.regularizer is not None and not problem.regularizer.polyhedral:
        return (
            f"a {problem.regularizer.name} regulariser has no exact MIP here (it is not polyhedral); use "
            "hindsight_lp (its convex relaxation) or the dual bound"
        )
    return _no_entropy(problem)


def _binding_rows(dense: OnlineAllocation, t_idx, k_idx, budgets) -> np.ndarray:
    """Resources whose budget some choice of the columns could exceed (the others can never bind: omitted)."""
    m = dense.n_resources
    if t_idx.size == 0:
        return np.zeros(m, bool)
    if dense.is_matching:  # one unit per column, at most one column per (request, resource)
        return np.bincount(k_idx, minlength=m) > budgets
    b = dense.consumption[t_idx, k_idx, :]
    worst = np.zeros((dense.horizon, m))  # the most any request can use of each resource
    np.maximum.at(worst, t_idx, b)
    return np.array([math.fsum(worst[:, j]) > budgets[j] for j in range(m)])


def _primal_model(problem: OnlineAllocation, integer: bool, budgets=None, upper=None):
    """The hindsight LP/MIP with every budget row divided by its budget (so HiGHS' feasibility tolerance is
    relative to the budget, and consumptions of 1e-12 or 1e18 become coefficients in [0, 1]).

    Columns: (t, k) with a positive reward. A column that uses more than a whole budget on its own is dropped from
    the MIP (it can never be played) and rescaled in the LP (x = y / s with s = max_j b_j / B_j, so every coefficient
    stays <= 1). Rows that can never bind are left out. ``upper`` tightens the scaled budget rows (the repair loop).
    Returns ``(lp, columns)``: ``lp`` is ``None`` when no column is left; ``columns`` holds ``t_idx``, ``k_idx``,
    ``scale`` and ``binding`` (the resources that have a row).
    """
    import highspy

    dense = problem.dense()
    r = dense.rewards
    horizon, m = dense.horizon, dense.n_resources
    budgets = np.asarray(dense.budgets if budgets is None else budgets, float)
    t_idx, k_idx = np.nonzero(r > 0)
    if dense.is_matching:
        ratio = np.zeros((t_idx.size, 0))
        need = 1.0 / np.where(budgets > 0, budgets, np.inf)[k_idx] if t_idx.size else np.zeros(0)
        over = budgets[k_idx] < 1.0
    else:
        b = dense.consumption[t_idx, k_idx, :]
        over = (b > budgets).any(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(b > 0, b / np.where(budgets > 0, budgets, 1.0), 0.0)
        need = ratio.max(axis=1) if ratio.size else np.zeros(t_idx.size)
    if dense.is_matching:
        dead = budgets[k_idx] <= 0
    else:
        dead = ((b > 0) & (budgets <= 0)).any(axis=1)
    # a column over a whole budget can never be played; one on a zero budget cannot be used even fractionally
    keep = ~(over if integer else dead)
    if not keep.all():
        t_idx, k_idx, ratio, need = t_idx[keep], k_idx[keep], ratio[keep], need[keep]
    scale = np.maximum(need, 1.0)
    reward_scale = float(r[t_idx, k_idx].max()) if t_idx.size else 1.0  # the objective is divided by it
    ncol = t_idx.size
    if ncol == 0:
        return None, {
            "t_idx": t_idx,
            "k_idx": k_idx,
            "scale": scale,
            "binding": np.zeros(m, bool),
            "reward_scale": 1.0,
            "row_unit": np.ones(m),
        }
    binding = _binding_rows(dense, t_idx, k_idx, budgets)
    row_of = np.full(m, -1)
    row_of[binding] = horizon + np.arange(int(binding.sum()))
    # the unit of each budget row: the budget itself (a 1e-9 tolerance relative to it); in matching form a count
    # row keeps unit coefficients (counts are exact) unless its budget is below one unit
    row_unit = np.where(budgets >= 1.0, 1.0, np.maximum(budgets, 1e-300)) if dense.is_matching else budgets
    if dense.is_matching:
        uses = binding[k_idx]
        counts = 1 + uses.astype(int)
        rows = np.empty(int(counts.sum()), np.int32)
        vals = np.empty(rows.size)
        starts = np.cumsum(counts) - counts
        rows[starts], vals[starts] = t_idx, 1.0 / scale
        second = starts[uses] + 1
        rows[second] = row_of[k_idx[uses]]
        vals[second] = 1.0 / (row_unit[k_idx[uses]] * scale[uses])
    else:
        nz = (ratio != 0) & binding[None, :]
        counts = 1 + nz.sum(axis=1)
        rows = np.empty(int(counts.sum()), np.int32)
        vals = np.empty(rows.size)
        starts = np.cumsum(counts) - counts
        rows[starts], vals[starts] = t_idx, 1.0 / scale
        pos = np.ones(rows.size, bool)
        pos[starts] = False
        ci, cj = np.nonzero(nz)  # row-major: grouped by column, in resource order
        rows[pos] = row_of[cj]
        vals[pos] = np.minimum(ratio[ci, cj] / scale[ci], 1.0)
    n_budget_rows = int(binding.sum())
    row_upper = ((np.ones(m) if upper is None else np.asarray(upper, float)) * budgets / row_unit)[binding]
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = horizon + n_budget_rows
    lp.col_cost_ = (r[t_idx, k_idx] / reward_scale / scale).astype(np.float64)
    lp.col_lower_ = np.zeros(ncol)
    lp.col_upper_ = np.ones(ncol)
    lp.row_lower_ = np.full(horizon + n_budget_rows, -highspy.kHighsInf)
    lp.row_upper_ = np.concatenate([np.ones(horizon), row_upper])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    lp.a_matrix_.index_ = rows
    lp.a_matrix_.value_ = vals
    lp.sense_ = highspy.ObjSense.kMaximize
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * ncol
    return lp, {
        "t_idx": t_idx,
        "k_idx": k_idx,
        "scale": scale,
        "binding": binding,
        "reward_scale": reward_scale,
        "row_unit": row_unit,
    }


def _no_columns(problem: OnlineAllocation, integer: bool, timings: dict) -> Result:
    """No action with a positive reward fits: the null action everywhere is optimal (reward 0)."""
    m = problem.n_resources
    if integer:
        x = np.full(problem.horizon, -1, dtype=np.int64)
        return Result(
            status=Status.OPTIMAL,
            x=x,
            objective=0.0,
            bound=0.0,
            stats={"nodes": 0, "spent": np.zeros(m)},
            timings=timings,
            message="no action with a positive reward fits a budget: the null action everywhere is optimal",
        )
    k = m if problem.is_matching else problem.dense().rewards.shape[1]
    return Result(
        status=Status.OPTIMAL,
        x=np.zeros((problem.horizon, k)),
        objective=0.0,
        bound=0.0,
        duals=np.zeros(m),
        stats={"iterations": 0, "form": "primal"},
        timings=timings,
        message="hindsight LP: no action has a positive reward, the optimum is 0",
    )


def starting_actions(problem: OnlineAllocation) -> np.ndarray:
    """A cheap feasible start for the hindsight MIP: the greedy policy's actions (the highest-reward action that
    still fits, request by request) when they keep every budget exactly, else the null action everywhere."""
    from ..numba.online import run_policy

    x = np.asarray(run_policy(problem, np.zeros(problem.n_resources), 0.0, None)[0], dtype=np.int64)
    return x if x.ndim == 1 and problem.is_feasible(x) else np.full(problem.horizon, -1, dtype=np.int64)


def _start_columns(x: np.ndarray, cols: dict) -> np.ndarray:
    """The actions ``x`` as column values of the MIP (columns not played are 0; an action without a column, which
    has no positive reward, becomes the null action: the start still fits)."""
    return (x[cols["t_idx"]] == cols["k_idx"]) * cols["scale"]  # x = y / scale: y = x·scale


def _solve_primal(problem: OnlineAllocation, opts, integer: bool, budgets=None, run=None, start=None) -> Result:
    """The hindsight LP (``integer=False``) or MIP. The MIP's actions are checked against the model's exact budget
    check (`OnlineAllocation.is_feasible`, no tolerance); if HiGHS' relative tolerance let a budget slip, the
    over-spent rows are tightened by the overshoot and the MIP solved again (a few rounds), so the returned ``x``
    always keeps every budget and ``objective`` is its true reward (never above the true optimum).

    With a `Run`, HiGHS' improving solutions that keep every budget are offered as
    incumbents and reported (see ``run_highs``); after a time limit, a callback's stop or Ctrl-C no budget row is
    re-solved: a slipped incumbent has actions dropped until it fits."""
    h = _new_model_highs(opts, integer)
    t0 = time.perf_counter()
    lp, cols = _primal_model(problem, integer, budgets)
    t1 = time.perf_counter()
    timings = {"build": t1 - t0, "solve": 0.0}
    if lp is None:
        return _no_columns(problem, integer, timings)
    if not integer and np.unique(cols["t_idx"]).size == cols["t_idx"].size:
        # one column per request: a knapsack over the budget rows, where HiGHS' presolve spends minutes on the
        # dense budget rows without looking at the clock (100,000 auctions: > 38 s against a 2 s limit; 1.6 s
        # without it)
        h.setOptionValue("presolve", "off")
    h.passModel(lp)

    def decode(col):  # a HiGHS solution as actions, kept when every budget holds exactly
        x = np.full(problem.horizon, -1, dtype=np.int64)
        on = col > 0.5
        x[cols["t_idx"][on]] = cols["k_idx"][on]
        return (x, problem.reward_of(x)) if problem.is_feasible(x) else None

    info, solve_seconds = run_highs(
        h,
        "the hindsight model",
        run=run,
        on_solution=decode if integer else None,
        scale=cols["reward_scale"],
        start=_start_columns(start, cols) if integer and start is not None else None,
    )
    timings["solve"] = solve_seconds
    status, limit, raw = status_of(h, info.primal_solution_status == 2, run)
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        return Result(status=status, limit=limit, timings=timings, message=f"HiGHS: {raw}")
    horizon = problem.horizon
    t_idx, k_idx, scale = cols["t_idx"], cols["k_idx"], cols["scale"]
    if not integer:
        x = np.zeros((horizon, problem.n_resources if problem.is_matching else problem.dense().rewards.shape[1]))
        x[t_idx, k_idx] = np.asarray(h.getSolution().col_value) / scale
        obj = float(info.objective_function_value) * cols["reward_scale"]
        mu = np.zeros(problem.n_resources)  # budget-row duals; a row left out never binds (μ = 0)
        unit = cols["row_unit"][cols["binding"]]
        mu[cols["binding"]] = np.abs(np.asarray(h.getSolution().row_dual)[horizon:]) * cols["reward_scale"] / unit
        return Result(
            status=status,
            limit=limit,
            x=x,
            objective=obj,
            bound=obj,
            duals=mu,
            stats={"iterations": int(info.simplex_iteration_count), "form": "primal"},
            timings=timings,
            message=f"hindsight LP (HiGHS: {raw})",
        )
    first = float(info.objective_function_value) * cols["reward_scale"]
    bound = finite_or_none(info.mip_dual_bound)
    bound = None if bound is None else bound * cols["reward_scale"]
    upper = np.ones(problem.n_resources)
    rounds = 0
    while True:
        col = np.asarray(h.getSolution().col_value)
        x = np.full(horizon, -1, dtype=np.int64)
        on = col > 0.5
        x[t_idx[on]] = k_idx[on]
        spent = problem.consumption_of(x)
        over = spent > problem.budgets
        if not over.any():
            break
        if rounds == REPAIR_ROUNDS or limit is not None:  # no re-solve after a limit or an interrupt
            x = _drop_until_feasible(problem, x)
            status = Status.FEASIBLE
            raw += "; actions dropped until every budget held"
            break
        rounds += 1
        excess = (spent - problem.budgets) / problem.budgets
        upper = np.where(over, np.maximum(upper - excess - FEASIBILITY_TOLERANCE * 2.0**rounds, 0.0), upper)
        lp, cols = _primal_model(problem, integer, budgets, upper=upper)
        t_idx, k_idx = cols["t_idx"], cols["k_idx"]
        h.passModel(lp)
        info, seconds = run_highs(h, "the hindsight model", run=run, on_solution=decode, scale=cols["reward_scale"])
        timings["solve"] += seconds
        status, limit, raw = status_of(h, info.primal_solution_status == 2, run)
        if status not in (Status.OPTIMAL, Status.FEASIBLE):  # x = 0 fits the tightened rows: should not happen
            x = _drop_until_feasible(problem, x)
            status, limit = Status.FEASIBLE, None
            break
    objective = problem.reward_of(x)
    if rounds and status is Status.OPTIMAL and objective < first - FEASIBILITY_TOLERANCE * max(1.0, abs(first)):
        status = Status.FEASIBLE  # the tightened model's optimum: within tolerance of, not provably, the optimum
    if status is Status.OPTIMAL and info.mip_gap > 1e-9:
        status, limit = Status.FEASIBLE, Limit.GAP
    if bound is not None:
        bound = max(bound, objective)
    note = f"; {rounds} budget row(s) tightened after HiGHS' tolerance let a budget slip" if rounds else ""
    return Result(
        status=status,
        limit=limit,
        x=x,
        objective=objective,
        bound=bound,
        stats={"nodes": int(info.mip_node_count), "spent": problem.consumption_of(x), "repairs": rounds},
        timings=timings,
        message=f"HiGHS: {raw}{note}",
    )


def hindsight_mip(problem: OnlineAllocation, opts, run=None, start=None) -> Result:
    """Exact hindsight optimum. Matching instances use one unit per action, so only ⌊B_j⌋ units can ever be used;
    with those integer capacities the constraint matrix (a bipartite b-matching) is totally unimodular and the
    simplex vertex of the LP is integral: it is solved as an LP, checked integral, and the MIP is the fallback.
    With a polyhedral regulariser it is the regularised MIP (no longer totally unimodular)."""
    if problem.regularizer is not None:
        return _solve_regularized(problem, opts, integer=True, run=run)
    if problem.is_matching:
        r = _solve_primal(problem, opts, integer=False, budgets=np.floor(problem.budgets), run=run)
        if r.status == Status.OPTIMAL:
            frac = np.asarray(r.x)
            if np.all(np.minimum(np.abs(frac), np.abs(frac - 1)) <= 1e-9):
                x = np.where(frac.max(axis=1) > 0.5, frac.argmax(axis=1), -1).astype(np.int64)
                if problem.is_feasible(x, rel_tol=0.0):
                    return Result(
                        status=Status.OPTIMAL,
                        x=x,
                        objective=problem.reward_of(x),
                        bound=r.objective,
                        stats={"spent": problem.consumption_of(x), "form": "totally unimodular LP"},
                        timings=r.timings,
                        message="integral LP vertex (bipartite b-matching is TU)",
                    )
    return _solve_primal(problem, opts, integer=True, run=run, start=start)


def _primal_fits(problem: OnlineAllocation) -> bool:
    """Dense enough in memory and small enough for the primal LP (else cutting planes on the dual)."""
    return not problem.is_stream and problem.horizon * problem.rewards.shape[1] <= PRIMAL_LIMIT


def hindsight_lp_value(problem: OnlineAllocation, opts: SolveOptions) -> float:
    if _primal_fits(problem) and _exact_model(problem) is None:
        r = (
            _solve_primal(problem, opts, integer=False)
            if problem.regularizer is None
            else _solve_regularized(problem, opts, integer=False)
        )
        if r.status == Status.OPTIMAL:
            return float(r.objective)
    return dual_cutting_planes(problem, opts=opts)["value"]


@register(
    OnlineAllocation,
    "hindsight",
    backend="highs",
    priority=40,
    supports=_exact_model,
    options=(),
    honours=("time_limit", "rel_gap", "threads", "seed", "callback", "progress"),
    long=True,
)
def solve_hindsight(problem: OnlineAllocation, opts: SolveOptions) -> Result:
    """Exact optimum of the realised sequence (HiGHS MIP), knowing every request in advance."""
    with Run(opts, unit="events", desc="hindsight") as run:
        # a start that keeps every budget, offered first: a limit or a Ctrl-C before HiGHS finds one returns it
        start = starting_actions(problem)
        run.offer(start, problem.value_of(start), spent=problem.consumption_of(start))
        r = hindsight_mip(problem, opts, run=run, start=start)
    if r.status is Status.NO_SOLUTION and r.limit is not None:
        r = limited_result(problem, opts.incumbent, r.limit, r.message).replace(
            timings=r.timings, message=f"{r.message}; the starting solution"
        )
    if r.ok:
        reward = r.objective if problem.regularizer is None else problem.reward_of(r.x)
        r = r.replace(stats={**r.stats, "reward": reward, "hindsight": r.objective, "regret": 0.0})
    return r


@register(
    OnlineAllocation,
    "hindsight_lp",
    backend="highs",
    priority=50,
    supports=_no_entropy,
    options=("formulation", "tol", "max_iter"),
    honours=("time_limit", "threads", "seed", "callback", "progress"),
    long=True,
    renamed_options={"form": "formulation"},
)
def solve_hindsight_lp(problem: OnlineAllocation, opts: SolveOptions) -> Result:
    """LP bound on the hindsight optimum: primal LP (``formulation='primal'``) or dual cutting planes (``'dual'``)."""
    form = as_choice("options.formulation", opts.get("formulation", "auto"), ("auto", "primal", "dual"))
    tol = as_scalar("options.tol", opts.get("tol", 1e-9), minimum=0.0, maximum=1.0, strict_minimum=True)
    max_iter = as_scalar("options.max_iter", opts.get("max_iter", 5000), integer=True, minimum=1)
    opts = dataclasses.replace(opts, options={})  # the rest are this adapter's own, not HiGHS options
    if form == "auto":
        form = "primal" if _primal_fits(problem) and _exact_model(problem) is None else "dual"
    if form == "primal":
        if _exact_model(problem) is not None:
            raise InvalidProblemError(f"`options.formulation` = 'primal': {_exact_model(problem)}; use formulation='dual'")
        with Run(opts, unit="events", desc="hindsight_lp") as run:
            if problem.regularizer is not None:
                return _solve_regularized(problem, opts, integer=False, run=run)
            return _solve_primal(problem, opts, integer=False, run=run)
    t0 = time.perf_counter()
    with Run(opts, total=max_iter, unit="cuts", desc="hindsight_lp", minimize=True) as run:
        out = dual_cutting_planes(problem, tol=tol, max_iter=max_iter, opts=opts, run=run)
    status = Status.OPTIMAL if out["converged"] else Status.FEASIBLE
    if out["converged"]:
        limit, why = None, ""
    elif out["interrupted"]:
        limit, why = Limit.INTERRUPTED, "interrupted; "
    elif run.limit is not None:
        limit, why = run.limit, f"{run.message}; "
    else:
        limit, why = Limit.ITERATION, f"{max_iter} cuts without convergence; "
    return Result(
        status=status,
        limit=limit,
        objective=out["value"],
        bound=out["value"],
        duals=out["mu"],
        x=out["mu"],
        stats={"iterations": out["iterations"], "lower": out["lower"], "form": "dual"},
        timings={"solve": time.perf_counter() - t0},
        message=f"{why}dual cutting planes (Kelley); x holds the optimal duals μ",
    )
