"""Adapters for `BudgetedAssignment` that run on numba kernels, not torch: ``proxy_dp`` (the multiple-choice knapsack
DP on a measured proxy of the loss), ``uniform`` (the best single option for every group) and ``evolutionary`` (a
(1+λ) search over budget-feasible assignments). RCO and the penalty baseline are in ``solvers/torch/assignment.py``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ...core.progress import Run
from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions
from ...core.validation import as_choice, as_generator, as_scalar
from ...problems.assignment import BudgetedAssignment
from .._assignment import CostUnits, finish, stopped


def measured_proxy(problem: BudgetedAssignment, out_of_time=None) -> np.ndarray | None:
    """A separable proxy by single switches: proxy[i, k] = L(reference with group i set to k) − L(reference), the
    reference being every group's dearest option (N·K loss evaluations). ``out_of_time()`` is asked before each
    evaluation: ``None`` once it says True (a limit passes after at most one more loss evaluation)."""
    ref = problem.costs.argmax(axis=1)
    base = problem.loss_of(ref)
    proxy = np.zeros(problem.costs.shape)
    for i in range(problem.n_groups):
        for k in range(problem.n_options):
            if out_of_time is not None and out_of_time():
                return None
            if k != ref[i]:
                x = ref.copy()
                x[i] = k
                proxy[i, k] = problem.loss_of(x) - base
    return proxy


@register(BudgetedAssignment, "proxy_dp", backend="numba", priority=20, options=("scale",), honours=("seed",))
def solve_proxy_dp(problem: BudgetedAssignment, opts: SolveOptions) -> Result:
    """The separable proxy (given, or measured one switch at a time) minimised exactly by the knapsack DP; OPTIMAL
    when the loss is that proxy (and the costs are handled in exact units, see `CostUnits`). ``scale``: a
    grid of 1/s cost units instead (costs rounded up; the budget stays an upper bound, exactness is not kept)."""
    t0 = time.perf_counter()
    given = problem.proxy is not None
    proxy = problem.proxy if given else measured_proxy(problem)
    assert proxy is not None  # measured without a deadline: always whole
    return _proxy_dp(problem, opts.get("scale"), proxy, 1 if given else problem.n_groups * problem.n_options, t0)


def _proxy_dp(problem: BudgetedAssignment, scale, proxy: np.ndarray, evaluations: int, t0: float) -> Result:
    """``proxy_dp``'s answer for a proxy already at hand (``evaluations``: the loss evaluations it took)."""
    units = CostUnits(problem, scale)
    x = units.assign(-np.asarray(proxy), problem.exact)
    exact = problem.separable_loss and units.exact_units
    return finish(
        problem,
        x,
        {"loss_evaluations": evaluations, "cost_units": units.mode},
        time.perf_counter() - t0,
        "DP on the separable proxy",
        status=Status.OPTIMAL if exact else Status.FEASIBLE,
    )


@register(BudgetedAssignment, "uniform", backend="numba", priority=60, honours=("time_limit", "seed"))
def solve_uniform(problem: BudgetedAssignment, opts: SolveOptions) -> Result:
    """The same option index in every group: the best one within the budget."""
    t0 = time.perf_counter()
    best, best_loss = None, math.inf
    for k in range(problem.n_options):
        x = np.full(problem.n_groups, k, np.int64)
        if problem.is_feasible(x):
            loss = problem.loss_of(x)
            if loss < best_loss:
                best, best_loss = x, loss
    if best is None:
        return Result(
            status=Status.INFEASIBLE, message="no uniform assignment fits the budget", timings={"solve": time.perf_counter() - t0}
        )
    return finish(
        problem, best, {"loss_evaluations": problem.n_options}, time.perf_counter() - t0, f"uniform option {int(best[0])}"
    )


@register(
    BudgetedAssignment,
    "evolutionary",
    backend="numba",
    priority=30,
    options=("evaluations", "offspring", "start", "scale"),
    honours=("time_limit", "callback", "progress", "seed"),
    long=True,
)
def solve_evolutionary(problem: BudgetedAssignment, opts: SolveOptions) -> Result:
    """EvoPress-style (1+λ) elitist search with budget-preserving level switches: each offspring raises one group's
    option one cost level and lowers another's, with min(U{1..3}, U{1..3}) such pairs, kept only within budget.
    Starts from ``proxy_dp`` (default) or ``uniform``; ``evaluations`` is the loss-evaluation budget; ``scale`` is
    passed to the ``proxy_dp`` start. Children are kept only within the budget, checked in exact arithmetic (any
    costs: whole, fractional, tiny or huge); on an ``exact`` problem only children with the parent's total are kept,
    so an exact start stays exact.

    ``time_limit`` or a ``callback`` returning True end the search early with the parent (``limit`` TIME or
    INTERRUPTED); Ctrl-C returns the parent. ``callback(info)`` once per generation with the standard keys plus
    ``generation`` and ``evaluations`` (loss evaluations used); ``progress=True`` shows the generations."""
    t0 = time.perf_counter()
    rng = as_generator(opts.seed)
    evaluations = as_scalar("options.evaluations", opts.get("evaluations", 1200), integer=True, minimum=1)
    offspring = as_scalar("options.offspring", opts.get("offspring", 8), integer=True, minimum=1)
    start = as_choice("options.start", opts.get("start", "proxy_dp"), ("proxy_dp", "uniform"))
    scale = opts.get("scale")
    if scale is not None:
        scale = as_scalar("options.scale", scale, minimum=0.0, strict_minimum=True)
    # the limit counts from the call: the start's loss evaluations (N·K for the measured proxy) check it too
    run = Run(opts, unit="generations", desc="evolutionary", minimize=True).open()
    first = cheapest = None
    extra = 0  # loss evaluations of the cheapest assignment, the incumbent while the proxy is measured
    if start == "proxy_dp":
        given = problem.proxy is not None
        if not given:  # N·K evaluations to come: a Ctrl-C meanwhile returns the cheapest assignment (always fits)
            cheapest = np.argmin(problem.costs, axis=1).astype(np.int64)
            run.offer(cheapest, problem.loss_of(cheapest))
            extra = 1
        proxy = problem.proxy if given else measured_proxy(problem, run.out_of_time)
        if proxy is not None:
            first = _proxy_dp(problem, scale, proxy, 1 if given else problem.n_groups * problem.n_options, t0)
    if first is None:  # asked for, or the limit passed while the proxy was measured (K more loss evaluations)
        first = solve_uniform(problem, opts)
        if not first.ok and run.stopped and cheapest is not None:  # no uniform assignment fits: the cheapest one
            first = finish(problem, cheapest, {"loss_evaluations": 1}, time.perf_counter() - t0, "cheapest assignment")
    if not first.ok:
        run.close()
        return first
    total = problem.exact_cost  # Σ costs of an assignment, exactly
    order = np.argsort(problem.costs, axis=1, kind="stable")  # options by cost, per group
    rank = np.argsort(order, axis=1)
    parent = np.asarray(first.x, np.int64)
    parent_loss = first.objective
    parent_total = total(parent)
    budget = problem.exact_budget
    used = int(first.stats.get("loss_evaluations", 0)) + extra
    n = problem.n_groups
    generations = 0
    run.total = max(0, (evaluations - used) // offspring)
    run.offer(parent, parent_loss)
    while used + offspring <= evaluations and not run.stopped:
        generations += 1
        best_child, best_child_loss = None, math.inf
        for _ in range(offspring):
            if run.out_of_time():  # checked per loss evaluation: a limit passes after at most one more
                break
            child = parent.copy()
            for _ in range(min(rng.integers(1, 4), rng.integers(1, 4))):
                up, down = rng.integers(0, n, 2)
                if up == down:
                    continue
                ru, rd = rank[up, child[up]], rank[down, child[down]]
                if ru + 1 < problem.n_options and rd > 0:
                    child[up] = order[up, ru + 1]
                    child[down] = order[down, rd - 1]
            child_total = total(child)
            if child_total > budget or (problem.exact and child_total != parent_total):
                continue
            loss = problem.loss_of(child)
            used += 1
            if loss < best_child_loss:
                best_child, best_child_loss = child, loss
        if best_child is not None and best_child_loss <= parent_loss:
            parent, parent_loss = best_child, best_child_loss
            run.offer(parent, parent_loss)
        if best_child is None:
            used += 1  # all offspring rejected: count the generation so the loop ends
        if run.step(generation=generations, evaluations=used):
            break
    run.close()
    return stopped(
        finish(
            problem,
            parent,
            {"loss_evaluations": used, "generations": generations},
            time.perf_counter() - t0,
            f"(1+{offspring}) evolutionary search, {generations} generations",
        ),
        run,
    )
