"""cvxpy adapter: the continuous relaxation of Knapsack RL's allocation (an upper bound on the integer optimum).

Both analytic values are concave in N: :math:`-p^N = -e^{N\\ln p}` is concave, so
:math:`\\max \\sum_i w_i (1 - e^{N_i \\ln p_i} - e^{N_i \\ln(1-p_i)})` over :math:`N_i \\in [N_{low}, N_{up}]` with the
budget is a convex program (exponential cone).
"""

from __future__ import annotations

import numpy as np

from ...core.registry import register
from ...core.result import Result, Status
from ...problems.rollouts import RolloutAllocation, info_gain
from .._reduce import infeasible


def _supports(problem: RolloutAllocation):
    if not isinstance(problem.value, str):
        return "the continuous relaxation needs an analytic value ('knapsack_rl' or 'nonzero_gradient'); use 'lp'"
    return None


@register(RolloutAllocation, "convex", backend="cvxpy", priority=50, supports=_supports, options=("solver",))
def solve_convex(problem: RolloutAllocation, opts) -> Result:
    """Continuous relaxation with cvxpy: real-valued ``x``, ``objective`` = ``bound`` >= the integer optimum."""
    import cvxpy as cp

    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    p = problem.success_rates
    weight = info_gain(p) if problem.value == "knapsack_rl" else np.ones_like(p)
    live = np.flatnonzero((p > 0) & (p < 1) & (weight > 0))
    n = cp.Variable(problem.n_prompts)
    cons = [n >= problem.min_rollouts, n <= problem.max_rollouts]
    spend = problem.costs_per_rollout @ n
    cons.append(spend == problem.total_rollouts if problem.unit_costs else spend <= problem.total_rollouts)
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
    prob.solve(solver=opts.get("solver", None), verbose=opts.verbose)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        return Result(status=Status.ERROR, message=f"cvxpy: {prob.status}")
    x = np.clip(np.asarray(n.value, float), problem.min_rollouts, problem.max_rollouts)
    value = float(np.sum(weight[live] * (1 - p[live] ** x[live] - (1 - p[live]) ** x[live]))) if live.size else 0.0
    status = Status.OPTIMAL if prob.status == "optimal" else Status.FEASIBLE
    bound = max(float(prob.value), value)  # the relaxed optimum (terms dropped above can only raise it)
    return Result(status=status, x=x, objective=value, bound=bound,
                  stats={"cost": float(problem.costs_per_rollout @ x)},
                  message=f"continuous relaxation (cvxpy: {prob.status}, {prob.solver_stats.solver_name})")
