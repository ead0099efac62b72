"""HiGHS adapters for the knapsack family: the exact MIP (``mip``) and its LP relaxation (``lp``, exact budgets too).

Model: binary :math:`y_{ik}` for each available option, :math:`\\sum_k y_{ik} = 1` per group,
:math:`\\sum_{ik} c_{ik} y_{ik} \\le B` (or :math:`= B`), maximise :math:`\\sum_{ik} v_{ik} y_{ik}`.
"""

from __future__ import annotations

import numpy as np

from ...core.registry import register
from ...core.result import Limit, Result, Status
from ...core.solve import finite_or_none
from ...core.validation import as_int_seed
from ...problems.knapsack import MultipleChoiceKnapsack
from ...problems.rollouts import RolloutAllocation
from .._reduce import infeasible, via_knapsack

_BANNER_SHOWN = False


def new_highs(opts):
    """A ``highspy.Highs`` with the standard options applied (time limit, gap, threads, seed, log, Ctrl-C)."""
    import highspy

    global _BANNER_SHOWN
    if _BANNER_SHOWN or opts.verbose:
        h = highspy.Highs()
    else:  # HiGHS prints a banner to stdout on the first instance of a process: keep stdout clean for JSON output
        import os
        import sys

        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    _BANNER_SHOWN = True
    h.setOptionValue("output_flag", bool(opts.verbose))
    if opts.time_limit is not None:
        h.setOptionValue("time_limit", float(opts.time_limit))
    # exact by default: HiGHS' own default (1e-4) would call a 0.01% gap "optimal"
    h.setOptionValue("mip_rel_gap", float(opts.rel_gap) if opts.rel_gap is not None else 0.0)
    if opts.threads is not None:
        # HiGHS keeps one global thread pool; a different `threads` is refused unless the pool is reset first
        highspy.Highs.resetGlobalScheduler(True)
        h.setOptionValue("threads", int(opts.threads))
    if opts.seed is not None:
        h.setOptionValue("random_seed", as_int_seed(opts.seed))
    for key, value in opts.options.items():
        if h.setOptionValue(key, value) == highspy.HighsStatus.kError:
            from ...core.errors import InvalidProblemError

            raise InvalidProblemError(f"`options` key `{key}` = {value!r} is not a valid HiGHS option")
    h.HandleKeyboardInterrupt = True
    return h


def run_highs(h, what: str = "the model"):
    """``h.run()``; raise SolverError when HiGHS refuses to start. Returns ``(info, seconds)``."""
    import time

    import highspy

    t0 = time.perf_counter()
    run_status = h.run()
    elapsed = time.perf_counter() - t0
    if run_status == highspy.HighsStatus.kError and h.getModelStatus() == highspy.HighsModelStatus.kNotset:
        from ...core.errors import SolverError

        raise SolverError(f"HiGHS refused to run {what} (run() returned an error before solving)")
    return h.getInfo(), elapsed


def status_of(h, has_solution: bool):
    """Map HiGHS' model status to (Status, Limit, message) — the one status map of this adapter."""
    import highspy

    ms = h.getModelStatus()
    S = highspy.HighsModelStatus
    raw = h.modelStatusToString(ms)
    limits = {S.kTimeLimit: Limit.TIME, S.kIterationLimit: Limit.ITERATION, S.kSolutionLimit: Limit.NODE,
              S.kInterrupt: Limit.INTERRUPTED, S.kHighsInterrupt: Limit.INTERRUPTED}
    if ms == S.kOptimal:
        return Status.OPTIMAL, None, raw
    if ms == S.kInfeasible:
        return Status.INFEASIBLE, None, raw
    if ms == S.kUnbounded:
        return Status.UNBOUNDED, None, raw
    if ms in limits:
        return (Status.FEASIBLE if has_solution else Status.NO_SOLUTION), limits[ms], raw
    return Status.ERROR, None, f"HiGHS: {raw}"


def _model(problem: MultipleChoiceKnapsack, integer: bool):
    import highspy

    n, k = problem.values.shape
    flat = np.flatnonzero(problem.mask.ravel())
    groups = flat // k
    ncol = flat.size
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = n + 1
    lp.col_cost_ = problem.values.ravel()[flat].astype(np.float64)
    lp.col_lower_ = np.zeros(ncol)
    lp.col_upper_ = np.ones(ncol)
    budget = float(problem.budget)
    lp.row_lower_ = np.concatenate([np.ones(n), [budget if problem.exact else -highspy.kHighsInf]])
    lp.row_upper_ = np.concatenate([np.ones(n), [budget]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, 2 * ncol + 1, 2, dtype=np.int32)
    index = np.empty(2 * ncol, np.int32)
    index[0::2], index[1::2] = groups, n
    value = np.empty(2 * ncol)
    value[0::2], value[1::2] = 1.0, problem.costs.ravel()[flat]
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.sense_ = highspy.ObjSense.kMaximize
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * ncol
    return lp, flat


def _run(problem: MultipleChoiceKnapsack, opts, integer: bool) -> Result:
    import time

    import highspy

    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    h = new_highs(opts)
    if not problem.integer_costs:
        h.setOptionValue("primal_feasibility_tolerance", 1e-9)
        if integer:
            h.setOptionValue("mip_feasibility_tolerance", 1e-9)
    t0 = time.perf_counter()
    lp, flat = _model(problem, integer)
    h.passModel(lp)
    if integer and opts.warm_start is not None:
        start = problem.check_choice(opts.warm_start)
        col = np.zeros(problem.values.size)
        col[np.arange(problem.n_groups) * problem.n_options + start] = 1.0
        sol = highspy.HighsSolution()
        sol.col_value = list(col[flat])
        h.setSolution(sol)
    t1 = time.perf_counter()
    info, solve_seconds = run_highs(h)
    has_solution = info.primal_solution_status == 2
    status, limit, raw = status_of(h, has_solution)
    timings = {"build": t1 - t0, "solve": solve_seconds}
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        msg = "no choice of one option per group meets the budget" if status is Status.INFEASIBLE else raw
        return Result(status=status, limit=limit, timings=timings, message=f"{msg} (HiGHS: {raw})")
    col = np.zeros(problem.values.size)
    col[flat] = np.asarray(h.getSolution().col_value)
    col = col.reshape(problem.values.shape)
    if not integer:
        obj = float((col * problem.values).sum())
        return Result(status=status, limit=limit, x=col, objective=obj, bound=obj, duals={"fractions": col},
                      stats={"cost": float((col * problem.costs).sum()), "iterations": int(info.simplex_iteration_count)},
                      timings=timings, message=f"LP relaxation (HiGHS: {raw})")
    x = col.argmax(axis=1)
    objective = problem.value_of(x)
    bound = finite_or_none(info.mip_dual_bound)
    stats = {"cost": problem.cost_of(x), "nodes": int(info.mip_node_count)}
    if status is Status.OPTIMAL and info.mip_gap > 1e-9:
        status, limit = Status.FEASIBLE, Limit.GAP
    if not problem.is_feasible(x):  # HiGHS tolerances let a float budget slip: never return that
        return Result(status=Status.ERROR, timings=timings,
                      message=f"HiGHS returned a choice costing {problem.cost_of(x)} > budget {problem.budget}")
    return Result(status=status, limit=limit, x=x, objective=objective, bound=bound, stats=stats, timings=timings,
                  message=f"HiGHS: {raw}")


@register(MultipleChoiceKnapsack, "mip", backend="highs", priority=20, options=("*",))
def solve_mip(problem: MultipleChoiceKnapsack, opts) -> Result:
    """Exact MIP with HiGHS (time limit, gap, warm start; other HiGHS options pass through ``options``)."""
    return _run(problem, opts, integer=True)


@register(MultipleChoiceKnapsack, "lp", backend="highs", priority=41, options=("*",))
def solve_lp_highs(problem: MultipleChoiceKnapsack, opts) -> Result:
    """LP relaxation with HiGHS (any budget, exact included): fractional ``x`` (N, K) and the bound."""
    return _run(problem, opts, integer=False)


register(RolloutAllocation, "mip", backend="highs", priority=30, options=("*",))(via_knapsack(solve_mip))
register(RolloutAllocation, "lp", backend="highs", priority=41, options=("*",))(via_knapsack(solve_lp_highs))
