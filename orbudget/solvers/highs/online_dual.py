"""The Lagrangian dual bound of an `OnlineAllocation` by cutting planes (Kelley's method) with HiGHS LPs: the
tightest ``min_μ D(μ)``, used as the hindsight bound of the online methods when the primal LP is too large."""

from __future__ import annotations

import time

import numpy as np

from ...problems.online import OnlineAllocation
from ._common import new_highs, run_highs

PRIMAL_LIMIT = 200_000  # columns up to which hindsight_lp solves the primal LP by default
FEASIBILITY_TOLERANCE = 1e-9  # relative: every budget row is scaled to B_j = 1 before HiGHS sees it
REPAIR_ROUNDS = 4


def dual_cutting_planes(
    problem: OnlineAllocation, *, tol: float = 1e-9, max_iter: int = 5000, opts=None, time_limit: float | None = None, run=None
) -> dict:
    """Kelley's cutting planes for $\\min_{\\mu\\ge0} D(\\mu)$ = the hindsight LP value.

    Each iteration solves a master LP over (ν, θ) with one cut θ ≥ D(μ_i) + g_iᵀ(μ − μ_i) per evaluation and
    evaluates D (one pass over the requests, numba). The master works in budget-scaled duals ν_j = μ_j B_j (the
    cut's coefficients g_j / B_j = 1 − used_j / B_j do not depend on the units of consumption) and in units of
    D(0) (nor on those of the rewards), boxed by ν_j ≤ D(0), which holds at the optimum since D(μ) ≥ μᵀB. Stops
    when the best D and the master's bound agree to ``tol`` (relative).

    Returns ``{"value", "lower", "mu", "iterations", "converged", "interrupted"}``; ``value`` is an upper bound on
    the LP optimum (exact at convergence), ``lower`` a lower bound. With a `Run`,
    each cut is one ``run.step`` (``objective`` = best D so far, ``bound`` = the master's lower bound, extra keys
    ``cuts``) and the loop ends when it says stop (callback or time limit). A Ctrl-C ends the loop with the best
    so far (``interrupted``: True); the master LPs run through ``run_highs`` so HiGHS never swallows it. A master LP
    HiGHS cannot solve also ends it with the best so far (``converged``: False).
    """
    import highspy

    from ...core.solve import SolveOptions
    from ...problems._numerics import dual_value

    h = new_highs(opts or SolveOptions())
    for name in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):  # cuts are in units of D(0)
        h.setOptionValue(name, 1e-10)
    m = problem.n_resources
    budgets = np.asarray(problem.budgets, float)
    reg = problem.regularizer
    floor = np.zeros(m) if reg is None else reg.floor(problem.target_rate)
    start_mu = np.maximum(floor, 0.0)
    d0, g0 = dual_value(problem, start_mu)
    unit = d0 if d0 > 0 else 1.0  # D is measured in units of D(0), so rewards of 1e-12 or 1e18 give the same LP
    if reg is not None:  # and of the regulariser's reach: its floor's price of a whole budget, T·r(ρ)
        at_rate = problem.horizon * reg.value(problem.target_rate, problem.target_rate)  # T·r(ρ)
        unit = max(unit, float(np.abs(floor * budgets).max()), abs(at_rate))
    lower_box = floor * budgets / unit
    # an optimal μ has μᵀB <= D(0) − T r(ρ) (as T(r(ρ) + ρᵀμ) <= D(μ)); each μ_j B_j also gains what the other
    # duals may be below 0
    if reg is None:  # D(μ) >= μᵀB: ν_j <= 1
        upper_box = np.ones(m)
    else:
        upper_box = np.full(m, max(d0 - at_rate + float(np.maximum(-floor * budgets, 0.0).sum()), 0.0) / unit)
        upper_box = np.maximum(upper_box, lower_box)
    inf = highspy.kHighsInf
    # columns: nu_0..nu_{m-1} (nu = mu * B / D(0)), theta (= D / D(0)) ; minimise theta
    h.addVars(m + 1, np.concatenate([lower_box, [-inf]]), np.concatenate([upper_box, [inf]]))
    h.changeColsCost(m + 1, np.arange(m + 1, dtype=np.int32), np.concatenate([np.zeros(m), [1.0]]))
    best, best_mu = d0, start_mu
    lower = -np.inf
    mu, d, g = start_mu, d0, g0
    start = time.perf_counter()
    it = 0
    converged = interrupted = False
    S = highspy.HighsModelStatus
    try:
        for it in range(1, max_iter + 1):  # noqa: B007
            # cut: theta - (g/B)·nu >= (d - g·mu_i) / D(0)
            h.addRow((d - g @ mu) / unit, inf, m + 1, np.arange(m + 1, dtype=np.int32), np.concatenate([-g / budgets, [1.0]]))
            run_highs(h, "the Kelley master LP")
            if h.getModelStatus() in (S.kInterrupt, S.kHighsInterrupt):
                interrupted = True
                break
            if h.getModelStatus() != S.kOptimal:  # keep the best bound so far (every D(μ) is one), unconverged
                break
            sol = np.asarray(h.getSolution().col_value)
            new_lower = max(lower, float(sol[m]) * unit)
            new_mu = np.maximum(sol[:m] * unit / budgets, floor)
            d, g = dual_value(problem, new_mu)
            mu, lower = new_mu, new_lower
            if d < best:
                best, best_mu = d, mu
            if best - lower <= tol * max(1.0, abs(best)):
                converged = True
                break
            if run is not None and run.step(objective=best, bound=lower, cuts=it):
                break
            if time_limit is not None and time.perf_counter() - start > time_limit:
                break
    except KeyboardInterrupt:
        interrupted = True
    return {
        "value": float(best),
        "lower": float(lower),
        "mu": best_mu,
        "iterations": it,
        "converged": converged,
        "interrupted": interrupted,
    }
