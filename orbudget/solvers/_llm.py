"""What the LLM-inference budget methods share (sample allocation and model routing): their results' statistics.
(The exact multiple-choice knapsack under both is the one knapsack path, `orbudget.solvers._reduce.solve_knapsack`.)
The methods are in ``numpy/llm.py`` (greedy, baselines, the routing LP), ``numba/llm.py`` (the exact knapsack reductions
and online routing by dual mirror descent) and ``highs/llm.py`` (routing with task budgets)."""

from __future__ import annotations

import numpy as np

from ..core.result import Result
from ..problems.llm import ModelRouting, SampleAllocation

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


def routes_from_knapsack_result(problem: ModelRouting, r: Result, **extra) -> Result:
    """A routing result from the result of its knapsack (``problem.to_knapsack()``): the routes, their mean quality,
    the knapsack's status, limit, bound and timings, and ``stats`` (`route_stats` plus ``extra``)."""
    x = problem.routes_from_knapsack(r.x)
    return Result(
        status=r.status,
        limit=r.limit,
        x=x,
        objective=problem.accuracy_of(x),
        bound=r.bound,
        stats=route_stats(problem, x, **extra),
        timings=dict(r.timings),
        message=f"multiple-choice knapsack ({r.method}): {r.message}",
    )
