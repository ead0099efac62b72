"""What the LLM-inference budget methods share (sample allocation and model routing): the exact multiple-choice
knapsack under both (`solve_knapsack`, through ``ob.solve``), and their results' statistics. The methods are in
``numpy/llm.py`` (greedy, baselines, the routing LP), ``numba/llm.py`` (the exact knapsack reductions and online
routing by dual mirror descent) and ``highs/llm.py`` (routing with task budgets)."""

from __future__ import annotations

import numpy as np

from ..core.registry import backend_available, methods, pick
from ..core.result import Result
from ..core.solve import SolveOptions, solve
from ..core.validation import as_choice
from ..problems.knapsack import MultipleChoiceKnapsack
from ..problems.llm import ModelRouting, SampleAllocation

DP_CELLS_LIMIT = 50_000_000  # groups × (budget + 1) up to which the knapsack DP is the fallback default
INEXACT = ("lp", "greedy")  # knapsack methods that are not exact, refused as `knapsack_method`


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


def exact_highs_options(opts: SolveOptions) -> dict:
    """HiGHS options for a proof of optimality: no absolute gap either (its default 1e-6 stops early on values
    that are accuracies divided by the number of questions), unless a ``rel_gap`` was given."""
    return {"mip_abs_gap": 0.0} if opts.rel_gap is None else {}


def solve_knapsack(kp: MultipleChoiceKnapsack, opts: SolveOptions) -> Result:
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


# -- sample allocation -----------------------------------------------------------------------------------------


def sample_stats(problem: SampleAllocation, x, **extra) -> dict:
    conc = problem.concavity()
    return {
        "cost": problem.cost_of(x),
        "expected_correct": problem.accuracy_of(x) * problem.n_questions,
        "concave": conc["concave"],
        "nonconcave_questions": conc["nonconcave_questions"],
        "equal_costs": problem.equal_costs,
        **extra,
    }


def sample_result(problem, x, status, message, bound=None, **extra) -> Result:
    objective = problem.accuracy_of(x)
    return Result(status=status, x=x, objective=objective, bound=bound, stats=sample_stats(problem, x, **extra), message=message)


# -- model routing ---------------------------------------------------------------------------------------------


def no_tasks(problem: ModelRouting):
    return (
        "task budgets make routing a multi-dimensional knapsack: use method 'mip' (offline) or 'dmd'"
        if problem.has_task_budgets
        else None
    )


def route_stats(problem: ModelRouting, x, **extra) -> dict:
    stats = {
        "cost": problem.cost_of(x),
        "total_quality": problem.accuracy_of(x) * problem.n_queries,
        "models_used": np.bincount(x[x >= 0], minlength=problem.n_models),
    }
    if problem.has_task_budgets:
        stats["task_costs"] = problem.task_costs_of(x)
    stats.update(extra)
    return stats
