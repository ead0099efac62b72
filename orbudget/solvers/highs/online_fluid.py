"""Online allocation with fluid duals (``fluid``): μ from the HiGHS LP on a prefix of the requests (one-shot
learning, Devanur and Hayes 2009), or given, then held fixed through the numba policy loop of ``dmd``."""

from __future__ import annotations

import math
import time

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.registry import register
from ...core.result import Result
from ...core.solve import SolveOptions
from ...core.validation import as_array, as_scalar
from ...problems.online import OnlineAllocation
from ..numba.online import benchmark_option, finish, run_policy, smooth_dual_bound
from .online_dual import dual_cutting_planes


@register(
    OnlineAllocation, "fluid", backend="highs", priority=30, options=("prefix", "duals", "benchmark"), honours=("threads", "seed")
)
def solve_fluid(problem: OnlineAllocation, opts: SolveOptions) -> Result:
    """Fluid duals, then fixed: μ from the LP on the first ``prefix`` fraction of requests (which get the null
    action, as in one-shot learning of Devanur and Hayes 2009), or ``duals`` given (from a known distribution)."""
    benchmark = benchmark_option(opts)
    t0 = time.perf_counter()
    given = opts.get("duals")
    if given is not None:
        if opts.get("prefix") is not None:
            raise InvalidProblemError(
                "`options.prefix` and `options.duals` exclude each other: the prefix only serves to learn the duals"
            )
        mu = np.array(as_array("options.duals", given, shape=(problem.n_resources,), nonnegative=True))
        skip = 0
    else:
        if problem.horizon < 2:
            raise InvalidProblemError("`options.prefix` needs a horizon of at least 2; give `options.duals` instead")
        frac = as_scalar("options.prefix", opts.get("prefix", 0.05), minimum=0.0, maximum=1.0, strict_minimum=True)
        skip = max(1, min(problem.horizon - 1, int(math.ceil(frac * problem.horizon))))
        mu = fluid_duals(problem.prefix(skip))
    x, reward, remaining, mu, avg = run_policy(_suffix(problem, skip), mu, 0.0, None)
    if skip:
        x = np.concatenate([np.full((skip, *x.shape[1:]), 0, dtype=x.dtype), x])
        if problem.entropy > 0:
            x[:skip, 0] = 1.0
        else:
            x[:skip] = -1
    return finish(
        problem,
        opts,
        benchmark,
        x,
        reward,
        remaining,
        mu,
        avg,
        time.perf_counter() - t0,
        {"prefix": skip, "fluid_duals": mu.copy()},
    )


def fluid_duals(sample: OnlineAllocation) -> np.ndarray:
    """Optimal LP duals of the budget rows on a sample whose budgets are scaled to its length."""
    if sample.entropy > 0:
        return smooth_dual_bound(sample)[1]
    return dual_cutting_planes(sample)["mu"]


def _suffix(problem: OnlineAllocation, skip: int) -> OnlineAllocation:
    """Requests ``skip..T-1`` with the full budgets (nothing was spent on the prefix)."""
    if skip == 0:
        return problem
    horizon = problem.horizon - skip

    def stream():
        seen = 0
        for r, c in problem.batches():
            lo = max(0, skip - seen)
            seen += r.shape[0]
            if lo < r.shape[0]:
                yield r[lo:], None if c is None else c[lo:]

    return OnlineAllocation(
        stream=stream,
        horizon=horizon,
        stream_matching=problem.is_matching,
        budgets=problem.budgets,
        entropy=problem.entropy,
        reward_bound=problem.reward_bound,
    )
