"""numba adapters for online allocation: ``dmd`` (dual mirror descent) and ``greedy`` (μ ≡ 0); the policy loop
here also runs ``fluid`` (duals fixed from a HiGHS LP on a prefix, or given: ``highs/online_fluid.py``).

Every adapter runs the realised sequence once, batch by batch (streams never sit in memory), and reports in
``stats``: ``reward``, ``spent`` and ``remaining`` per resource, ``hindsight`` (the benchmark: exact optimum on
small instances, else the dual bound from cutting planes; ``hindsight_kind`` says which), ``regret`` = hindsight −
reward, and
``dual_bound`` = D(μ̄) at the average dual iterate (the paper's conservative regret yardstick).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions
from ...core.validation import as_array, as_choice, as_scalar
from ...problems._numerics import _NO_CONSUMPTION, dual_value
from ...problems.dual_mirror_descent import (
    REFERENCES,
    DualMirrorDescent,
    initial_duals,
    projection_radius,
    step_factor,
    step_floor,
)
from ...problems.online import OnlineAllocation

# T·K up to which the default benchmark is the exact MIP: matching instances are totally unimodular (the MIP is an
# LP), dense ones are multidimensional knapsacks, so they get the exact MIP only when small and under a time limit.
# HiGHS' simplex grows about quadratically with the columns here (a 5·10^4-request auction LP: 90 s against 0.03 s
# for the policy), so beyond these sizes the default is the dual bound min D(μ) by cutting planes, one policy-like
# pass per cut: the LP value at convergence and an upper bound on it (and on the exact optimum) at any iterate.
EXACT_HINDSIGHT_LIMIT = {True: 20_000, False: 2_000}
# the default benchmark's time: at most AUTO_BENCHMARK_MULTIPLE × the policy's own time, and at least
# AUTO_BENCHMARK_SECONDS (the MIP then falls back to the LP bound; the cutting planes stop with their best bound)
AUTO_BENCHMARK_MULTIPLE = 10.0
AUTO_BENCHMARK_SECONDS = 1.0
BENCHMARKS = ("auto", "hindsight", "hindsight_lp", "dual_bound", "none")
REGULARIZED_DUAL_TOL = 1e-7  # relative tolerance of the cutting-plane bound with a regulariser


def run_policy(problem: OnlineAllocation, mu, step_size: float, reference: str | None, record: bool = True):
    """Run one pass of the DMD loop over the problem's batches.

    ``reference=None`` keeps ``mu`` fixed. Returns ``(x, reward, remaining, final mu, average mu)``; ``x`` is the
    action per request (-1 = null), or the (T, m+1) allocation for proportional (entropy) instances.
    """
    from ._online import REFERENCE_CODES, dmd_run, proportional_run

    reg = problem.regularizer
    if reg is not None and reg.name == "custom" and reference is not None:
        return _run_python(problem, mu, step_size, reference, record)
    ref = 0 if reference is None else REFERENCE_CODES[reference]
    mu = np.array(mu, dtype=np.float64)
    remaining = np.array(problem.budgets, dtype=np.float64)
    rate = np.ascontiguousarray(problem.target_rate, dtype=np.float64)
    dual_sum = np.zeros_like(mu)
    lam = problem.entropy
    m = problem.n_resources
    radius = projection_radius(problem.reward_bound, rate, reg)
    if reg is None or reference is None:  # fixed duals take no step: the regulariser only enters the objective
        code, weight, target, floor = 0, np.zeros(m), np.zeros(m), np.zeros(m)
    else:
        code, (weight, target), floor = reg.code, reg.kernel_arrays(m), step_floor(reference, reg, rate)
    parts = []
    reward = 0.0
    for r, c in problem.batches():
        r = np.ascontiguousarray(r, dtype=np.float64)
        if lam > 0:
            out = np.empty((r.shape[0], m + 1))
            reward += proportional_run(r, lam, mu, remaining, rate, step_size, ref, problem.reward_bound, out, dual_sum)
        else:
            out = np.empty(r.shape[0], dtype=np.int64)
            cons = _NO_CONSUMPTION if c is None else np.ascontiguousarray(c, dtype=np.float64)
            reward += dmd_run(
                r, cons, c is None, mu, remaining, rate, step_size, ref, radius, out, dual_sum, code, weight, target, floor
            )
        if record:
            parts.append(out)
    x = np.concatenate(parts) if record else None
    return x, float(reward), remaining, mu, dual_sum / problem.horizon


def _run_python(problem: OnlineAllocation, mu, step_size: float, reference: str, record: bool):
    """`run_policy` for a custom regulariser (Python code, no numba twin): the step-by-step
    `DualMirrorDescent`, the same algorithm one request at a time."""
    pol = DualMirrorDescent(
        problem.budgets,
        problem.horizon,
        reference=reference,
        step_size=step_size,
        initial=mu,
        reward_bound=problem.reward_bound,
        regularizer=problem.regularizer,
    )
    parts = []
    for r, c in problem.batches():
        out = np.array([pol.step(r[i], None if c is None else c[i]) for i in range(r.shape[0])], dtype=np.int64)
        if record:
            parts.append(out)
    x = np.concatenate(parts) if record else None
    return x, float(pol.reward), pol.remaining, pol.mu, pol.average_duals


def smooth_dual_bound(problem: OnlineAllocation, tol: float = 1e-10) -> tuple[float, np.ndarray]:
    """``(min D, argmin μ)`` for proportional (entropy) instances, where D is smooth: L-BFGS-B over μ ≥ 0.

    With λ > 0 the regularised problem is concave with a strictly feasible point, so min D equals its optimum.
    """
    from scipy.optimize import minimize

    scale = max(dual_value(problem, np.zeros(problem.n_resources))[0], 1e-300)

    def f(mu):
        d, g = dual_value(problem, mu)
        return d / scale, g / scale

    res = minimize(
        f,
        np.zeros(problem.n_resources),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None)] * problem.n_resources,
        options={"ftol": tol, "gtol": 1e-12, "maxiter": 5000},
    )
    return float(res.fun * scale), np.maximum(res.x, 0.0)


def benchmark_value(problem: OnlineAllocation, which: str, opts, policy_seconds: float = 0.0) -> tuple[float | None, str]:
    """The hindsight benchmark for ``stats``: ``(value, kind)``; kind is ``hindsight`` (exact), ``hindsight_lp``
    (the LP bound), ``dual_bound`` (D(μ) at the best cutting-plane iterate: the LP bound at convergence, an upper
    bound on it and on the exact optimum always) or ``none``.

    ``auto`` takes the exact optimum up to `EXACT_HINDSIGHT_LIMIT` and the dual bound beyond, within
    ``max(AUTO_BENCHMARK_SECONDS, AUTO_BENCHMARK_MULTIPLE · policy_seconds)``; a benchmark named explicitly runs
    without that limit (``hindsight``: the exact optimum however long it takes)."""
    from ...core.registry import backend_available

    which = as_choice("options.benchmark", which, BENCHMARKS)
    if which == "none":
        return None, "none"
    n_actions = problem.n_resources if problem.is_stream else problem.rewards.shape[1]
    size = problem.horizon * n_actions
    auto = which == "auto"
    seconds = max(AUTO_BENCHMARK_SECONDS, AUTO_BENCHMARK_MULTIPLE * policy_seconds) if auto else None
    reg = problem.regularizer
    linear = reg is None or reg.polyhedral  # the exact MIP needs a polyhedral regulariser
    if auto:
        small = size <= EXACT_HINDSIGHT_LIMIT[problem.is_matching] and not problem.is_stream
        which = "hindsight" if (small and problem.entropy == 0 and linear) else "dual_bound"
    elif not linear and which in ("hindsight", "hindsight_lp"):
        which = "dual_bound"  # min D(μ) is the convex relaxation's value (strong duality)
    if problem.entropy > 0:  # smooth dual: its minimum is the regularised optimum (strong duality)
        return smooth_dual_bound(problem)[0], "hindsight"
    if not backend_available("highs"):
        return None, "none"
    from ..highs.online import hindsight_lp_value, hindsight_mip
    from ..highs.online_dual import dual_cutting_planes

    if which == "dual_bound":
        # a regulariser's kinks stall Kelley's master near 1e-9 relative; 1e-7 is far below any regret's scale
        tol = 1e-9 if reg is None else REGULARIZED_DUAL_TOL
        return dual_cutting_planes(problem, opts=_plain(opts), time_limit=seconds, tol=tol)["value"], "dual_bound"
    if which == "hindsight":
        r = hindsight_mip(problem, _plain(opts, seconds))
        if r.status == Status.OPTIMAL:
            return r.objective, "hindsight"
        which = "hindsight_lp"
    return hindsight_lp_value(problem, _plain(opts)), "hindsight_lp"


def _plain(opts, time_limit=None):
    from ...core.solve import SolveOptions

    return SolveOptions(threads=opts.threads, seed=opts.seed, time_limit=time_limit)


def benchmark_option(opts: SolveOptions) -> str:
    """``options.benchmark``, checked before the policy runs (not after a long pass)."""
    return as_choice("options.benchmark", opts.get("benchmark", "auto"), BENCHMARKS)


def finish(problem: OnlineAllocation, opts, benchmark: str, x, reward, remaining, mu, avg_mu, elapsed, extra=None) -> Result:
    t0 = time.perf_counter()
    hindsight, kind = benchmark_value(problem, benchmark, opts, elapsed)
    dual_bound = dual_value(problem, avg_mu)[0]
    spent = problem.budgets - remaining
    objective = reward
    stats = {"reward": reward, "spent": spent, "remaining": remaining}
    if problem.regularizer is not None:  # the objective adds T·r(spent / T)
        stats["regularization"] = problem.regularization_of(spent)
        objective = reward + stats["regularization"]
    stats.update(
        {
            "hindsight": hindsight,
            "hindsight_kind": kind,
            "regret": None if hindsight is None else hindsight - objective,
            "dual_bound": dual_bound,
            "average_duals": avg_mu,
            **(extra or {}),
        }
    )
    return Result(
        status=Status.FEASIBLE,
        x=x,
        objective=objective,
        bound=hindsight,
        duals=mu,
        stats=stats,
        timings={"policy": elapsed, "benchmark": time.perf_counter() - t0},
        message="online policy run over the realised sequence",
    )


def _reference_options(problem: OnlineAllocation, opts: SolveOptions):
    reference = as_choice("options.reference", opts.get("reference", "euclidean"), REFERENCES)
    defaults = {"projected_entropy": 10.0}
    reg = problem.regularizer
    floor = np.zeros(problem.n_resources) if reg is None else reg.floor(problem.target_rate)
    if opts.get("step_size") is not None:
        eta = as_scalar("options.step_size", opts.get("step_size"), minimum=0.0)
    else:
        c = as_scalar("options.scale", opts.get("scale", defaults.get(reference, 1.0)), minimum=0.0)
        eta = c * step_factor(reference, floor) / math.sqrt(problem.horizon)
    initial = opts.get("initial")
    if initial is None:
        mu = initial_duals(reference, problem.target_rate, floor)
    else:
        mu = np.array(as_array("options.initial", initial, shape=(problem.n_resources,)))
        if (mu < floor).any():
            j = int(np.argmax(mu < floor))
            raise InvalidProblemError(
                f"`options.initial` must be >= {floor[j]:.6g} (the dual box"
                f"{'' if reg is None else ' of the regulariser'}); got {mu[j]} at index {j}"
            )
    if reference.endswith("entropy") and (mu <= floor).any():
        raise InvalidProblemError(
            "`options.initial` must be positive for an entropy reference (a zero dual stays zero)"
            if reg is None
            else "`options.initial` must be above the regulariser's "
            "dual floor for an entropy reference (a dual on it stays there)"
        )
    return reference, eta, mu


@register(
    OnlineAllocation,
    "dmd",
    backend="numba",
    priority=10,
    options=("reference", "step_size", "scale", "initial", "benchmark"),
    honours=("threads", "seed"),
)
def solve_dmd(problem: OnlineAllocation, opts: SolveOptions) -> Result:
    """Dual mirror descent (Balseiro, Lu, Mirrokni 2023): η = c/√T, four reference functions."""
    reference, eta, mu = _reference_options(problem, opts)
    benchmark = benchmark_option(opts)
    t0 = time.perf_counter()
    x, reward, remaining, mu, avg = run_policy(problem, mu, eta, reference)
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
        {"reference": reference, "step_size": eta},
    )


@register(OnlineAllocation, "greedy", backend="numba", priority=20, options=("benchmark",), honours=("threads", "seed"))
def solve_greedy(problem: OnlineAllocation, opts: SolveOptions) -> Result:
    """Greedy: the highest-reward action that still fits (DMD with μ ≡ 0)."""
    benchmark = benchmark_option(opts)
    t0 = time.perf_counter()
    x, reward, remaining, mu, avg = run_policy(problem, np.zeros(problem.n_resources), 0.0, None)
    return finish(problem, opts, benchmark, x, reward, remaining, mu, avg, time.perf_counter() - t0)
