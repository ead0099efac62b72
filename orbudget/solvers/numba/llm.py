"""numba adapters of the LLM-inference budgets: the exact multiple-choice knapsack reductions (``mckp``: the one
knapsack path, ``core`` by default, HiGHS for real costs, any exact knapsack method by ``options['knapsack_method']``) and
online routing by dual mirror descent (``dmd``, the numba ``OnlineAllocation`` kernel)."""

from __future__ import annotations

import time

import numpy as np

from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions, solve
from ...core.validation import as_choice
from ...problems.llm import ModelRouting, SampleAllocation
from .._llm import no_tasks, route_stats, routes_from_knapsack_result, sample_result
from .._reduce import infeasible, solve_knapsack


@register(
    SampleAllocation,
    "mckp",
    backend="numba",
    priority=20,
    options=("knapsack_method",),
    honours=("time_limit", "rel_gap", "threads", "seed"),
)
def solve_sample_mckp(problem: SampleAllocation, opts: SolveOptions) -> Result:
    """Exact: each question is a group with options n = min..max costing n·c_i, solved on the one knapsack path
    (``core`` for whole-number costs, else ``mip``; ``options={'knapsack_method': ...}`` to choose any exact knapsack
    method)."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    kp = problem.to_knapsack()
    r = solve_knapsack(kp, opts, opts.get("knapsack_method"))
    if not r.ok:
        return r
    x = int(problem.min_samples.min()) + np.asarray(r.x, dtype=np.int64)
    res = sample_result(
        problem,
        x,
        r.status,
        f"multiple-choice knapsack ({r.method}): {r.message}",
        bound=r.bound,
        knapsack_method=r.method,
        exact_by="mckp",
    )
    return res.replace(limit=r.limit, timings=dict(r.timings))


@register(
    ModelRouting,
    "mckp",
    backend="numba",
    priority=10,
    supports=no_tasks,
    options=("knapsack_method",),
    honours=("time_limit", "rel_gap", "threads", "seed"),
)
def solve_routing_mckp(problem: ModelRouting, opts: SolveOptions) -> Result:
    """Exact: the multiple-choice knapsack (one group per query, one option per model) through ``ob.solve``."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    r = solve_knapsack(problem.to_knapsack(), opts, opts.get("knapsack_method"))
    if not r.ok:
        return r
    return routes_from_knapsack_result(problem, r, knapsack_method=r.method)


ROUTING_BENCHMARKS = ("exact", "none")
HINDSIGHT_SECONDS = 10.0  # time limit of the hindsight MIP with task budgets (then its bound is the benchmark)


@register(
    ModelRouting, "dmd", backend="numba", priority=40, options=("reference", "step_size", "scale", "benchmark"), honours=("seed",)
)
def solve_routing_dmd(problem: ModelRouting, opts: SolveOptions) -> Result:
    """Online: queries arrive in order; dual mirror descent (``OnlineAllocation`` method ``dmd``) paces the budget
    (and each task budget) by upgrading queries above their cheapest model. ``stats``: ``hindsight`` (the exact
    offline optimum, ``options['benchmark']='exact'``; with task budgets the MIP's bound if it is not proven optimal
    within 10 s, ``hindsight_kind`` says which), ``regret`` = hindsight − objective (both mean quality), ``spent``
    per resource (total, then tasks) in the original units."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    which = as_choice("options.benchmark", opts.get("benchmark", "exact"), ROUTING_BENCHMARKS)
    t0 = time.perf_counter()
    online = problem.to_online()
    dmd_opts = {k: opts.options[k] for k in ("reference", "step_size", "scale") if k in opts.options}
    r = solve(online, method="dmd", options={**dmd_opts, "benchmark": "none"})
    x = problem.routes_from_online(r.x)
    mu, avg = r.duals, r.stats["average_duals"]
    repaired = 0
    while not problem.is_feasible(x):  # float rounding of the scaled budgets only: undo the latest upgrade
        up = np.flatnonzero(x != (-1 if problem.allow_skip else problem.cheapest))
        x[up[-1]] = -1 if problem.allow_skip else problem.cheapest[up[-1]]
        repaired += 1
    elapsed = time.perf_counter() - t0
    objective = problem.accuracy_of(x)
    hindsight, kind = None, "none"
    if which == "exact":
        if problem.has_task_budgets:  # a multi-dimensional knapsack: exact within the time limit, else its bound
            h = solve(problem, method="mip", threads=1, time_limit=HINDSIGHT_SECONDS)
        else:
            h = solve(problem, method="mckp", threads=1)
        if h.status == Status.OPTIMAL:
            hindsight, kind = h.objective, "hindsight"
        elif h.bound is not None:
            hindsight, kind = h.bound, "bound"
    spent = [problem.cost_of(x)] + ([] if not problem.has_task_budgets else problem.task_costs_of(x).tolist())
    caps = [problem.budget] + ([] if not problem.has_task_budgets else problem.task_budgets.tolist())
    stats = route_stats(
        problem,
        x,
        reward=objective,
        spent=np.array(spent, dtype=float),
        remaining=np.array(caps, dtype=float) - np.array(spent, dtype=float),
        hindsight=hindsight,
        hindsight_kind=kind,
        regret=None if hindsight is None else hindsight - objective,
        average_duals=avg,
        repaired=repaired,
    )
    return Result(
        status=Status.FEASIBLE,
        x=x,
        objective=objective,
        bound=hindsight,
        duals=mu,
        stats=stats,
        timings={"policy": elapsed},
        message="online routing by dual mirror descent",
    )
