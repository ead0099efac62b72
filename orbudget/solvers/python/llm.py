"""Adapters for the LLM-inference budgets: sample allocation and model routing, on the knapsack and online engines.

``SampleAllocation``: ``greedy`` (marginal gains; exact for concave gains and equal per-sample costs, otherwise it
falls back to ``mckp`` and says so in ``stats``), ``mckp`` (the multiple-choice knapsack through ``ob.solve``),
``uniform``, ``proportional``. ``ModelRouting``: ``mckp``, ``lp``, ``cheapest``, ``strongest``, ``dmd`` (its
``mip`` is in ``solvers/highs/llm.py``).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.registry import backend_available, methods, pick, register
from ...core.result import Result, Status
from ...core.solve import solve
from ...core.validation import as_choice
from ...problems.knapsack import MultipleChoiceKnapsack
from ...problems.llm import ModelRouting, SampleAllocation
from .._reduce import infeasible

DP_CELLS_LIMIT = 50_000_000  # groups × (budget + 1) up to which the knapsack DP is the fallback default
INEXACT = ("lp", "greedy")  # knapsack methods that are not exact, refused as `knapsack_method`
WEIGHTS = ("uncertainty", "difficulty")


def knapsack_method(kp: MultipleChoiceKnapsack, chosen=None) -> str:
    """The exact knapsack method: ``chosen`` if given (any exact MCKP method, ``core`` and ``cpsat`` included);
    else ``dp`` for whole-number costs when its table fits, and ``mip`` (HiGHS) otherwise. (``core`` is not the
    default: on routing instances with many near-equal upgrade ratios it took 30x longer than ``dp``.)"""
    exact = [m for m in methods(kp) if m not in INEXACT]
    if chosen is not None:
        return as_choice("options.knapsack_method", chosen, exact)
    if kp.integer_costs and kp.n_groups * (kp.budget + 1) <= DP_CELLS_LIMIT:
        return "dp"
    return "mip" if backend_available("highs") else "dp"


def exact_highs_options(opts) -> dict:
    """HiGHS options for a proof of optimality: no absolute gap either (its default 1e-6 stops early on values
    that are accuracies divided by the number of questions), unless a ``rel_gap`` was given."""
    return {"mip_abs_gap": 0.0} if opts.rel_gap is None else {}


def _solve_knapsack(kp: MultipleChoiceKnapsack, opts) -> Result:
    """The exact knapsack through ``ob.solve``. A ``time_limit`` moves the default from ``dp`` (which does not check
    one) to HiGHS; ``threads`` reaches the knapsack method only where it takes a thread count (``dp`` runs on one)."""
    chosen = opts.get("knapsack_method")
    method = knapsack_method(kp, chosen)
    if opts.time_limit is not None and chosen is None and method == "dp" and backend_available("highs"):
        method = "mip"
    inner = pick(kp, method, None).honours or ()
    threads = opts.threads if "threads" in inner else None
    return solve(
        kp,
        method=method,
        time_limit=opts.time_limit,
        rel_gap=opts.rel_gap,
        threads=threads,
        seed=opts.seed,
        options=exact_highs_options(opts) if method == "mip" else None,
    )


# -- sample allocation ---------------------------------------------------------------------------------------------


def _sample_stats(problem: SampleAllocation, x, **extra) -> dict:
    conc = problem.concavity()
    return {
        "cost": problem.cost_of(x),
        "expected_correct": problem.accuracy_of(x) * problem.n_questions,
        "concave": conc["concave"],
        "nonconcave_questions": conc["nonconcave_questions"],
        "equal_costs": problem.equal_costs,
        **extra,
    }


def _sample_result(problem, x, status, message, bound=None, **extra) -> Result:
    objective = problem.accuracy_of(x)
    return Result(status=status, x=x, objective=objective, bound=bound, stats=_sample_stats(problem, x, **extra), message=message)


def greedy_exact(problem: SampleAllocation) -> bool:
    """The marginal greedy is exact when every gain is concave on the bounds and the per-sample costs are equal."""
    return problem.equal_costs and problem.concavity()["concave"]


def marginal_greedy(problem: SampleAllocation) -> np.ndarray:
    """Start at the minimums; take the largest positive marginal gains, one sample each, while the budget lasts
    (equal costs: the number of samples that fit is fixed). Gains are taken as a prefix per question."""
    table = problem.accuracy_table()
    lo, hi, c = problem.min_samples, problem.max_samples, problem.costs_per_sample
    left = problem.budget - (c * lo).sum()
    slots = int(math.floor(left / c[0] + 1e-12)) if left > 0 else 0
    rows, cols = [], []
    for i in range(problem.n_questions):
        n = np.arange(lo[i], hi[i])
        rows.append(np.full(n.size, i))
        cols.append(n)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    gains = table[rows, cols + 1] - table[rows, cols]
    order = np.lexsort((cols, rows, -gains))
    order = order[gains[order] > 0][:slots]
    x = lo.astype(np.int64) + np.bincount(rows[order], minlength=problem.n_questions)
    while not problem.is_feasible(x):  # float budgets: drop the last sample taken until it fits
        order = order[:-1]
        x = lo.astype(np.int64) + np.bincount(rows[order], minlength=problem.n_questions)
    return x


@register(
    SampleAllocation,
    "mckp",
    backend="numba",
    priority=20,
    options=("knapsack_method",),
    honours=("time_limit", "rel_gap", "threads", "seed"),
)
def solve_sample_mckp(problem: SampleAllocation, opts) -> Result:
    """Exact: each question is a group with options n = min..max costing n·c_i (``ob.solve`` on the knapsack:
    ``dp`` for whole-number costs when the table fits, else ``mip``; ``options={'knapsack_method': ...}`` to
    choose any exact knapsack method)."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    kp = problem.to_knapsack()
    r = _solve_knapsack(kp, opts)
    if not r.ok:
        return r
    x = int(problem.min_samples.min()) + np.asarray(r.x, dtype=np.int64)
    res = _sample_result(
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
    SampleAllocation,
    "greedy",
    backend="python",
    priority=10,
    preferred=greedy_exact,
    options=("fallback", "knapsack_method"),
    honours=("time_limit", "rel_gap", "threads", "seed"),
)
def solve_sample_greedy(problem: SampleAllocation, opts) -> Result:
    """Marginal-gain greedy: exact when gains are concave (checked on the computed table) and costs equal; otherwise
    the exact ``mckp`` runs instead (``stats['exact_by']`` says which), or with ``options={'fallback': False}`` the
    greedy is refused."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    conc = problem.concavity()
    if not (conc["concave"] and problem.equal_costs):
        why = (
            f"the gains of {conc['nonconcave_questions']} questions are not concave (question {conc['first_nonconcave']} first)"
            if not conc["concave"]
            else "the per-sample costs differ"
        )
        if not opts.get("fallback", True):
            raise InvalidProblemError(
                f"`method` 'greedy' is not exact for this instance: {why}; use method='mckp' or leave options['fallback'] at True"
            )
        r = solve_sample_mckp(problem, opts)
        if not r.ok:
            return r
        return r.replace(
            stats={**r.stats, "greedy_refused": why}, message=f"greedy not exact ({why}); solved as an MCKP instead. {r.message}"
        )
    if "knapsack_method" in opts.options:
        raise InvalidProblemError(
            "`options.knapsack_method` applies only when the greedy falls back to the MCKP; these gains are concave"
        )
    x = marginal_greedy(problem)
    return _sample_result(
        problem,
        x,
        Status.OPTIMAL,
        "optimal: concave gains, equal costs (marginal greedy)",
        bound=problem.accuracy_of(x),
        exact_by="greedy",
    )


def spread_evenly(problem: SampleAllocation, start: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Add one sample at a time round-robin (in ``order``) to questions below their max while the budget allows."""
    x = start.astype(np.int64).copy()
    c = problem.costs_per_sample
    left = problem.budget - (c * x).sum()
    order = np.arange(problem.n_questions) if order is None else order
    while True:
        moved = False
        for i in order:
            if x[i] < problem.max_samples[i] and c[i] <= left + 1e-12 * max(1.0, abs(problem.budget)):
                x[i] += 1
                left -= c[i]
                moved = True
        if not moved:
            break
    while not problem.is_feasible(x):  # float rounding only
        i = int(np.flatnonzero(x > problem.min_samples)[-1])
        x[i] -= 1
    return x


@register(SampleAllocation, "uniform", backend="python", priority=60, honours=("time_limit", "seed"))
def solve_sample_uniform(problem: SampleAllocation, opts) -> Result:
    """Baseline: the same number of samples for every question (within its bounds) as the budget allows, then one
    more each to the first questions while it fits."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    lo, hi, c = problem.min_samples, problem.max_samples, problem.costs_per_sample
    n, top = int(lo.min()), int(hi.max())
    while n < top and (c * np.clip(n + 1, lo, hi)).sum() <= problem.budget:
        n += 1
    x = spread_evenly(problem, np.clip(n, lo, hi))
    return _sample_result(problem, x, Status.FEASIBLE, "uniform allocation")


def proportional_weights(problem: SampleAllocation, weight: str) -> np.ndarray:
    """``uncertainty``: p(1-p) (pass@k) or the Gini impurity 1 - Σ π² (majority vote); ``difficulty``: 1 - p, or
    1 - π_correct."""
    weight = as_choice("options.weight", weight, WEIGHTS)
    if problem.objective == "pass_at_k":
        p = problem.success_rates
        return p * (1 - p) if weight == "uncertainty" else 1 - p
    pi = problem.answer_probabilities
    if weight == "uncertainty":
        return 1 - (pi**2).sum(axis=1)
    return 1 - pi[np.arange(problem.n_questions), problem.correct]


@register(SampleAllocation, "proportional", backend="python", priority=70, options=("weight",), honours=("time_limit", "seed"))
def solve_sample_proportional(problem: SampleAllocation, opts) -> Result:
    """Baseline: the budget above the minimums split in proportion to a per-question weight (``options.weight``:
    ``uncertainty`` (default) or ``difficulty``), capped at the maximums (water-filling), rounded down, and the rest
    handed out by largest remainder."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    weight = opts.get("weight", "uncertainty")
    w = proportional_weights(problem, weight)
    lo, hi, c = problem.min_samples.astype(float), problem.max_samples.astype(float), problem.costs_per_sample
    if w.sum() <= 0:
        w = np.ones_like(w)
    left = float(problem.budget - (c * lo).sum())
    n = lo.copy()
    free = np.ones(problem.n_questions, bool)
    while left > 1e-12 and free.any():
        share = np.where(free, w, 0.0)
        if share.sum() <= 0:
            share = free.astype(float)
        extra = left * share / share.sum() / c  # samples
        room = hi - n
        capped = free & (extra >= room)
        if capped.any():
            left -= float((room[capped] * c[capped]).sum())
            n[capped] = hi[capped]
            free &= ~capped
            continue
        n = n + np.where(free, extra, 0.0)
        break
    x = np.floor(n + 1e-9).astype(np.int64)
    x = np.clip(x, problem.min_samples, problem.max_samples)
    order = np.argsort(-(n - x), kind="stable")
    x = spread_evenly(problem, x, order)
    return _sample_result(problem, x, Status.FEASIBLE, f"proportional to {weight}", weight=weight)


# -- model routing -------------------------------------------------------------------------------------------------


def _no_tasks(problem: ModelRouting):
    return (
        "task budgets make routing a multi-dimensional knapsack: use method 'mip' (offline) or 'dmd'"
        if problem.has_task_budgets
        else None
    )


def _route_stats(problem: ModelRouting, x, **extra) -> dict:
    stats = {
        "cost": problem.cost_of(x),
        "total_quality": problem.accuracy_of(x) * problem.n_queries,
        "models_used": np.bincount(x[x >= 0], minlength=problem.n_models),
    }
    if problem.has_task_budgets:
        stats["task_costs"] = problem.task_costs_of(x)
    stats.update(extra)
    return stats


@register(
    ModelRouting,
    "mckp",
    backend="numba",
    priority=10,
    supports=_no_tasks,
    options=("knapsack_method",),
    honours=("time_limit", "rel_gap", "threads", "seed"),
)
def solve_routing_mckp(problem: ModelRouting, opts) -> Result:
    """Exact: the multiple-choice knapsack (one group per query, one option per model) through ``ob.solve``."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    r = _solve_knapsack(problem.to_knapsack(), opts)
    if not r.ok:
        return r
    x = problem.routes_from_knapsack(r.x)
    return Result(
        status=r.status,
        limit=r.limit,
        x=x,
        objective=problem.accuracy_of(x),
        bound=r.bound,
        stats=_route_stats(problem, x, knapsack_method=r.method),
        timings=dict(r.timings),
        message=f"multiple-choice knapsack ({r.method}): {r.message}",
    )


@register(ModelRouting, "lp", backend="python", priority=30, supports=_no_tasks, honours=("time_limit", "rel_gap", "seed"))
def solve_routing_lp(problem: ModelRouting, opts) -> Result:
    """LP relaxation (convex-hull greedy of the knapsack): ``x`` is the (Q, M) fractional routing (a last column
    for skipping with ``allow_skip``), ``objective`` = ``bound`` = the LP value."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    r = solve(problem.to_knapsack(), method="lp")
    return r.replace(message="LP relaxation of the routing (an upper bound)")


@register(ModelRouting, "cheapest", backend="python", priority=50, honours=("time_limit", "seed"))
def solve_routing_cheapest(problem: ModelRouting, opts) -> Result:
    """Baseline: every query to its cheapest model (infeasible when even that is over a budget)."""
    x = np.array(problem.cheapest)
    if not problem.is_feasible(x):
        return infeasible(problem.infeasibility_reason() or "the cheapest routing is over a budget")
    return Result(
        status=Status.FEASIBLE,
        x=x,
        objective=problem.accuracy_of(x),
        stats=_route_stats(problem, x),
        message="always the cheapest model",
    )


@register(ModelRouting, "strongest", backend="python", priority=60, honours=("time_limit", "seed"))
def solve_routing_strongest(problem: ModelRouting, opts) -> Result:
    """Baseline: every query to its best predicted model (ties: the cheaper); infeasible when over a budget."""
    q = np.arange(problem.n_models)
    x = np.array([np.lexsort((q, problem.costs[i], -problem.quality[i]))[0] for i in range(problem.n_queries)], dtype=np.int64)
    if not problem.is_feasible(x):
        return infeasible(f"the strongest routing costs {problem.cost_of(x)}, over the budget {problem.budget}")
    return Result(
        status=Status.FEASIBLE,
        x=x,
        objective=problem.accuracy_of(x),
        stats=_route_stats(problem, x),
        message="always the best predicted model",
    )


ROUTING_BENCHMARKS = ("exact", "none")
HINDSIGHT_SECONDS = 10.0  # time limit of the hindsight MIP with task budgets (then its bound is the benchmark)


@register(
    ModelRouting, "dmd", backend="numba", priority=40, options=("reference", "step_size", "scale", "benchmark"), honours=("seed",)
)
def solve_routing_dmd(problem: ModelRouting, opts) -> Result:
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
    stats = _route_stats(
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
