"""numpy adapters of the LLM-inference budgets. ``SampleAllocation``: ``greedy`` (marginal gains; exact for concave
gains and equal per-sample costs, otherwise it falls back to the exact knapsack and says so in ``stats``),
``uniform``, ``proportional``. ``ModelRouting``: ``lp``, ``cheapest``, ``strongest``. (The exact ``mckp`` of both
and routing's ``dmd`` are in ``numba/llm.py``, routing's ``mip`` in ``highs/llm.py``.)"""

from __future__ import annotations

import math

import numpy as np

from ...core.budget import exact_dot, exact_number, fits, slack
from ...core.errors import InvalidProblemError, SolverError
from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions, solve
from ...core.validation import as_choice
from ...problems.llm import ModelRouting, SampleAllocation
from .._llm import no_tasks, route_stats, sample_result
from .._reduce import infeasible
from ..numba.llm import solve_sample_mckp  # the exact fallback of the greedy

WEIGHTS = ("uncertainty", "difficulty")


def greedy_exact(problem: SampleAllocation) -> bool:
    """The marginal greedy is exact when every gain is concave on the bounds and the per-sample costs are equal."""
    return problem.equal_costs and problem.concavity()["concave"]


def marginal_greedy(problem: SampleAllocation) -> np.ndarray:
    """Start at the minimums; take the largest positive marginal gains, one sample each, while the budget lasts
    (equal costs: the number of samples that fit is fixed, counted exactly). With concave gains the gains taken in
    a question are a prefix of its gains (ties at the threshold give the same total), so the allocation is the
    minimums plus the number of gains taken per question: one selection over the (N, L) table, no per-question loop.
    Among equal gains at the threshold, the earlier question and then the smaller count is taken first."""
    table = problem.accuracy_table()
    lo, hi, c = problem.min_samples, problem.max_samples, problem.costs_per_sample
    left = slack(problem.exact_cost(lo), problem.budget, whole=problem.whole_number_costs)
    slots = max(0, math.floor(left / exact_number(c[0])))
    gains = np.diff(table, axis=1)  # gains[i, n] = a_i(n + 1) - a_i(n), a fresh array: masked in place
    cols = np.arange(gains.shape[1])
    gains[(cols[None, :] < lo[:, None]) | (cols[None, :] >= hi[:, None])] = -np.inf  # outside the question's bounds
    take = gains > 0
    if slots < int(np.count_nonzero(take)):
        # the `slots` largest gains: those above the slots-th largest value, then the tied ones by position (earlier
        # question, then smaller count); a partition of the values, no sort and no index array
        flat = gains.ravel()
        cut = np.partition(flat, flat.size - slots)[flat.size - slots] if slots > 0 else np.inf
        take = gains > cut
        need = slots - int(np.count_nonzero(take))
        if need > 0:
            take.ravel()[np.flatnonzero(flat == cut)[:need]] = True
    counts = np.count_nonzero(take, axis=1)
    x = lo.astype(np.int64) + counts
    if not problem.is_feasible(x):  # counted exactly above: this would be a bug, never an answer
        raise SolverError(f"the marginal greedy's allocation costs {problem.cost_of(x)}, over the budget {problem.budget}")
    return x


@register(
    SampleAllocation,
    "greedy",
    backend="numpy",
    priority=10,
    preferred=greedy_exact,
    options=("fallback", "knapsack_method"),
    honours=("time_limit", "rel_gap", "threads", "seed"),
)
def solve_sample_greedy(problem: SampleAllocation, opts: SolveOptions) -> Result:
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
    return sample_result(
        problem,
        x,
        Status.OPTIMAL,
        "optimal: concave gains, equal costs (marginal greedy)",
        bound=problem.accuracy_of(x),
        exact_by="greedy",
    )


def spread_evenly(problem: SampleAllocation, start: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Add one sample at a time round-robin (in ``order``) to questions below their max while the budget allows,
    counted exactly (the one budget rule of `orbudget.core.budget`): what is left is an exact int or Fraction."""
    x = start.astype(np.int64).copy()
    c = [exact_number(v) for v in problem.costs_per_sample.tolist()]
    left = slack(problem.exact_cost(x), problem.budget, whole=problem.whole_number_costs)
    order = np.arange(problem.n_questions) if order is None else order
    top = problem.max_samples
    for i in order.tolist()[::-1]:  # a start rounded past the budget (float water-filling): give back, last first
        while left < 0 and x[i] > problem.min_samples[i]:
            x[i] -= 1
            left += c[i]
    while True:
        moved = False
        for i in order.tolist():
            if x[i] < top[i] and c[i] <= left:
                x[i] += 1
                left -= c[i]
                moved = True
        if not moved:
            break
    if not problem.is_feasible(x):  # counted exactly above: this would be a bug, never an answer
        raise SolverError(f"an even spread costs {problem.cost_of(x)}, over the budget {problem.budget}")
    return x


@register(SampleAllocation, "uniform", backend="numpy", priority=60, honours=("time_limit", "seed"))
def solve_sample_uniform(problem: SampleAllocation, opts: SolveOptions) -> Result:
    """Baseline: the same number of samples for every question (within its bounds) as the budget allows, then one
    more each to the first questions while it fits."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    lo, hi, c = problem.min_samples, problem.max_samples, problem.costs_per_sample
    n, top = int(lo.min()), int(hi.max())
    while n < top and fits(exact_dot(c, np.clip(n + 1, lo, hi)), problem.budget, whole=problem.whole_number_costs):
        n += 1
    x = spread_evenly(problem, np.clip(n, lo, hi))
    return sample_result(problem, x, Status.FEASIBLE, "uniform allocation")


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


@register(SampleAllocation, "proportional", backend="numpy", priority=70, options=("weight",), honours=("time_limit", "seed"))
def solve_sample_proportional(problem: SampleAllocation, opts: SolveOptions) -> Result:
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
    left = float(slack(problem.exact_cost(lo), problem.budget, whole=problem.whole_number_costs))
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
    return sample_result(problem, x, Status.FEASIBLE, f"proportional to {weight}", weight=weight)


# -- model routing ---------------------------------------------------------------------------------------------


@register(ModelRouting, "lp", backend="numpy", priority=30, supports=no_tasks, honours=("time_limit", "rel_gap", "seed"))
def solve_routing_lp(problem: ModelRouting, opts: SolveOptions) -> Result:
    """LP relaxation (convex-hull greedy of the knapsack): ``x`` is the (Q, M) fractional routing (a last column
    for skipping with ``allow_skip``), ``objective`` = ``bound`` = the LP value."""
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    r = solve(problem.to_knapsack(), method="lp")
    return r.replace(message="LP relaxation of the routing (an upper bound)")


@register(ModelRouting, "cheapest", backend="numpy", priority=50, honours=("time_limit", "seed"))
def solve_routing_cheapest(problem: ModelRouting, opts: SolveOptions) -> Result:
    """Baseline: every query to its cheapest model (infeasible when even that is over a budget)."""
    x = np.array(problem.cheapest)
    if not problem.is_feasible(x):
        return infeasible(problem.infeasibility_reason() or "the cheapest routing is over a budget")
    return Result(
        status=Status.FEASIBLE,
        x=x,
        objective=problem.accuracy_of(x),
        stats=route_stats(problem, x),
        message="always the cheapest model",
    )


@register(ModelRouting, "strongest", backend="numpy", priority=60, honours=("time_limit", "seed"))
def solve_routing_strongest(problem: ModelRouting, opts: SolveOptions) -> Result:
    """Baseline: every query to its best predicted model (ties: the cheaper); NO_SOLUTION when that is over a budget."""
    q = np.arange(problem.n_models)
    x = np.array([np.lexsort((q, problem.costs[i], -problem.quality[i]))[0] for i in range(problem.n_queries)], dtype=np.int64)
    if not problem.is_feasible(x):  # this baseline has no answer; the problem itself may well be feasible
        reason = problem.infeasibility_reason()
        if reason:
            return infeasible(reason)
        return Result(
            status=Status.NO_SOLUTION,
            message=f"the strongest routing costs {problem.cost_of(x)}, over the budget {problem.budget}",
        )
    return Result(
        status=Status.FEASIBLE,
        x=x,
        objective=problem.accuracy_of(x),
        stats=route_stats(problem, x),
        message="always the best predicted model",
    )
