"""cvxpy adapter: the continuous relaxation of Knapsack RL's allocation (an upper bound on the integer optimum).

Both analytic values are concave in N: $-p^N = -e^{N\\ln p}$ is concave, so
$\\max \\sum_i w_i (1 - e^{N_i \\ln p_i} - e^{N_i \\ln(1-p_i)})$ over $N_i \\in [N_{low}, N_{up}]$ with the
budget is a convex program (exponential cone).
"""

from __future__ import annotations

import numpy as np

from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions
from ...core.validation import as_choice
from ...problems.rollouts import RolloutAllocation, info_gain
from .._reduce import infeasible


def _supports(problem: RolloutAllocation):
    if not isinstance(problem.value, str):
        return "the continuous relaxation needs an analytic value ('knapsack_rl' or 'nonzero_gradient'); use 'lp'"
    return None


@register(RolloutAllocation, "convex", backend="cvxpy", priority=50, supports=_supports, options=("solver",), honours=("seed",))
def solve_convex(problem: RolloutAllocation, opts: SolveOptions) -> Result:
    """Continuous relaxation with cvxpy: real-valued ``x``, ``objective`` = ``bound`` >= the integer optimum."""
    import cvxpy as cp

    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    p = problem.success_rates
    weight = info_gain(p) if problem.value == "knapsack_rl" else np.ones_like(p)
    live = np.flatnonzero((p > 0) & (p < 1) & (weight > 0))
    n = cp.Variable(problem.n_prompts)
    # counts above a prompt's cap are never integer-feasible, so bounding by the caps keeps this an upper bound and
    # spares the solver a huge max_rollouts; the budget row is divided by the budget (costs of 1e18 or 1e-12 alike)
    caps = np.maximum(problem.prompt_caps(), problem.min_rollouts).astype(float)
    cons = [n >= problem.min_rollouts, n <= caps]
    total = float(problem.total_rollouts)
    scale = total if total > 0 else 1.0
    spend = (problem.costs_per_rollout.astype(float) / scale) @ n
    cons.append(spend == total / scale if problem.unit_costs else spend <= total / scale)
    terms = 0
    if live.size:
        # A term -exp(N ln q) below 1e-18 at N = min_rollouts is dropped: the objective only grows, so the
        # optimum stays an upper bound, and the conic solver is spared exponents near -700.
        w, nl = weight[live], n[live]
        terms = cp.sum(w)
        for logq in (np.log(p[live]), np.log1p(-p[live])):
            keep = logq * max(problem.min_rollouts, 1) > -41.0
            if keep.any():
                terms = terms - w[keep] @ cp.exp(cp.multiply(logq[keep], nl[np.flatnonzero(keep)]))
    prob = cp.Problem(cp.Maximize(terms), cons)
    solver = opts.get("solver", None)
    if solver is not None:  # named, with the installed ones listed, instead of cvxpy's SolverError
        as_choice("options.solver", solver, tuple(cp.installed_solvers()))
    prob.solve(solver=solver, verbose=opts.verbose)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        return Result(status=Status.ERROR, message=f"cvxpy: {prob.status}")
    x = np.clip(np.asarray(n.value, float), problem.min_rollouts, caps)
    curve = weight[live] * (1 - p[live] ** x[live] - (1 - p[live]) ** x[live]) if live.size else np.zeros(0)
    value = float(np.maximum(curve, 0.0).sum())  # no rollouts are worth 0, where the curve gives -w
    status = Status.OPTIMAL if prob.status == "optimal" else Status.FEASIBLE
    # the relaxed optimum (terms dropped above can only raise it); the curve is below the true value only at N = 0
    # (-w instead of 0), so with min_rollouts = 0 adding each live prompt's w keeps it an upper bound
    slack = float(weight[live].sum()) if problem.min_rollouts == 0 and live.size else 0.0
    bound = max(float(prob.value) + slack, value)
    return Result(
        status=status,
        x=x,
        objective=value,
        bound=bound,
        stats={"cost": float(problem.costs_per_rollout @ x)},
        message=f"continuous relaxation (cvxpy: {prob.status}, {prob.solver_stats.solver_name})",
    )
