"""cvxpy adapters: the hindsight optimum of proportional matching with an entropy term (exponential cone), and the
convex relaxation of the regularised hindsight problem (``hindsight_lp``, any built-in regulariser).

$$
\\max_{X \\ge 0} \\sum_t \\Big(\\sum_j r_{tj} X_{tj} + \\lambda H(X_t)\\Big)
\\quad\\text{s.t.}\\quad \\sum_{j=0}^{m} X_{tj} = 1,\\; X_{tj} = 0 \\text{ where } r_{tj} \\le 0,\\;
\\sum_t X_{tj} \\le B_j,
$$

with column 0 the null action and $H(x) = -\\sum_j x_j \\log x_j$.
"""

from __future__ import annotations

import time

import numpy as np

from ...core.registry import register
from ...core.result import Limit, Result, Status
from ...core.solve import SolveOptions
from ...core.validation import as_choice
from ...problems.online import OnlineAllocation


def _solve(prob, opts, start: float) -> Status:
    """Solve with ``options.solver`` (checked against the installed ones): OPTIMAL, FEASIBLE (cvxpy's
    "optimal_inaccurate"), NO_SOLUTION (the solver's time limit) or ERROR.

    With ``opts.time_limit`` (counted from ``start``), Clarabel, the default conic solver, gets what is left of it
    (it checks it once per iteration); cvxpy's compilation checks no clock: `solve` runs the long methods in a
    child it ends at the limit (`orbudget.core.guard`)."""
    import cvxpy as cp

    solver = opts.get("solver", None)
    if solver is not None:
        as_choice("options.solver", solver, tuple(cp.installed_solvers()))
    kwargs = {}
    if opts.time_limit is not None and solver in (None, "CLARABEL") and "CLARABEL" in cp.installed_solvers():
        solver = "CLARABEL"
        kwargs["time_limit"] = max(1e-3, float(opts.time_limit) - (time.perf_counter() - start))
    prob.solve(solver=solver, verbose=opts.verbose, **kwargs)
    return {"optimal": Status.OPTIMAL, "optimal_inaccurate": Status.FEASIBLE, "user_limit": Status.NO_SOLUTION}.get(
        prob.status, Status.ERROR
    )


@register(
    OnlineAllocation,
    "hindsight",
    backend="cvxpy",
    priority=41,
    options=("solver",),
    honours=("time_limit", "seed"),
    long=True,
    supports=lambda p: None if p.entropy > 0 else "only proportional (entropy) instances; use the HiGHS MIP",
)
def solve_hindsight_proportional(problem: OnlineAllocation, opts: SolveOptions) -> Result:
    """Hindsight optimum of proportional matching (cvxpy, exponential cone); ``x`` is the (T, m+1) allocation."""
    import cvxpy as cp

    start = time.perf_counter()
    dense = problem.dense()
    r = np.asarray(dense.rewards)
    horizon, m = r.shape
    lam = dense.entropy
    eligible = np.concatenate([np.ones((horizon, 1), bool), r > 0], axis=1)
    rows, cols = np.nonzero(eligible)
    v = cp.Variable(rows.size, nonneg=True)
    reward = np.concatenate([np.zeros((horizon, 1)), r], axis=1)[rows, cols]
    import scipy.sparse as sp

    per_request = sp.csr_matrix((np.ones(rows.size), (rows, np.arange(rows.size))), shape=(horizon, rows.size))
    real = cols > 0
    per_resource = sp.csr_matrix((np.ones(int(real.sum())), (cols[real] - 1, np.flatnonzero(real))), shape=(m, rows.size))
    objective = reward @ v + lam * cp.sum(cp.entr(v))
    prob = cp.Problem(cp.Maximize(objective), [per_request @ v == 1, per_resource @ v <= np.asarray(dense.budgets)])
    status = _solve(prob, opts, start)
    if status is Status.NO_SOLUTION:
        return Result(
            status=status,
            limit=Limit.TIME,
            message=f"time limit of {opts.time_limit:g} s reached in the conic solve (cvxpy: {prob.status})",
        )
    if status is Status.ERROR:
        return Result(status=status, message=f"cvxpy: {prob.status}")
    x = np.zeros((horizon, m + 1))
    x[rows, cols] = np.clip(np.asarray(v.value, float), 0.0, None)
    value = float(prob.value)
    return Result(
        status=status,
        x=x,
        objective=value,
        bound=value,
        stats={"reward": value, "hindsight": value, "regret": 0.0, "spent": x[:, 1:].sum(axis=0)},
        message=f"proportional matching hindsight (cvxpy: {prob.status}, {prob.solver_stats.solver_name})",
    )


def _builtin_regularizer(problem: OnlineAllocation):
    reg = problem.regularizer
    if reg is None or reg.name == "custom" or problem.entropy > 0:
        return "only instances with a built-in regulariser (the others: HiGHS, or the dual bound for custom ones)"
    return None


def regularizer_expression(problem: OnlineAllocation, used):
    """$T\\,r(A/T)$ as a cvxpy expression of the total consumption ``used`` = A (an (m,) expression)."""
    import cvxpy as cp

    reg = problem.regularizer
    budgets = np.asarray(problem.budgets, float)
    share = cp.multiply(used, 1.0 / budgets)  # A_j / B_j = a_j / ρ_j
    weight, target = reg.kernel_arrays(problem.n_resources)
    T = problem.horizon
    if reg.name == "max_min_fairness":
        return T * weight[0] * cp.min(share)
    if reg.name == "load_balancing":
        return -T * weight[0] * cp.max(share)
    if reg.name == "below_target":
        return -cp.sum(cp.multiply(weight, cp.pos(target * budgets - used)))
    return -T * cp.sum(cp.multiply(weight, cp.square(share - target)))


@register(
    OnlineAllocation,
    "hindsight_lp",
    backend="cvxpy",
    priority=60,
    options=("solver",),
    honours=("seed",),
    supports=_builtin_regularizer,
)
def solve_regularized_relaxation(problem: OnlineAllocation, opts: SolveOptions) -> Result:
    """The convex relaxation of the regularised hindsight problem (cvxpy): fractional actions
    $x_t \\ge 0,\\ \\sum_k x_{tk} \\le 1$, budgets, and $\\sum_{tk} r_{tk} x_{tk} + T\\,r(A/T)$; ``x`` is the
    (T, K) fractional allocation. An upper bound on the regularised optimum (equal to min D(μ)). A reference for
    small and moderate T (one conic solve, no time limit); for large T the HiGHS ``hindsight_lp`` (dual cutting
    planes) gives the same value."""
    import cvxpy as cp
    import scipy.sparse as sp

    dense = problem.dense()
    r = np.asarray(dense.rewards)
    T, K = r.shape
    m = dense.n_resources
    n = T * K
    t_idx, k_idx = np.divmod(np.arange(n), K)
    if dense.is_matching:
        use = sp.csr_matrix((np.ones(n), (k_idx, np.arange(n))), shape=(m, n))
    else:
        b = dense.consumption.reshape(n, m)
        use = sp.csr_matrix(b.T)
    per_request = sp.csr_matrix((np.ones(n), (t_idx, np.arange(n))), shape=(T, n))
    x = cp.Variable(n, nonneg=True)
    used = use @ x
    objective = r.ravel() @ x + regularizer_expression(dense, used)
    prob = cp.Problem(cp.Maximize(objective), [per_request @ x <= 1, used <= np.asarray(dense.budgets, float)])
    status = _solve(prob, opts, time.perf_counter())  # no time_limit: it does not honour one
    if status is Status.ERROR:
        return Result(status=status, message=f"cvxpy: {prob.status}")
    value = float(prob.value)
    frac = np.clip(np.asarray(x.value, float), 0.0, None).reshape(T, K)
    return Result(
        status=status,
        x=frac,
        objective=value,
        bound=value,
        stats={"form": "convex relaxation"},
        message=f"regularised hindsight relaxation (cvxpy: {prob.status}, {prob.solver_stats.solver_name})",
    )
