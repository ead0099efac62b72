"""cvxpy adapter: the hindsight optimum of proportional matching with an entropy term (exponential cone).

.. math::

    \\max_{X \\ge 0} \\sum_t \\Big(\\sum_j r_{tj} X_{tj} + \\lambda H(X_t)\\Big)
    \\quad\\text{s.t.}\\quad \\sum_{j=0}^{m} X_{tj} = 1,\\; X_{tj} = 0 \\text{ where } r_{tj} \\le 0,\\;
    \\sum_t X_{tj} \\le B_j,

with column 0 the null action and :math:`H(x) = -\\sum_j x_j \\log x_j`.
"""

from __future__ import annotations

import numpy as np

from ...core.registry import register
from ...core.result import Result, Status
from ...core.validation import as_choice
from ...problems.online import OnlineAllocation


@register(OnlineAllocation, "hindsight", backend="cvxpy", priority=41, options=("solver",), honours=("seed",), long=True,
          supports=lambda p: None if p.entropy > 0 else "only proportional (entropy) instances; use the HiGHS MIP")
def solve_hindsight_proportional(problem: OnlineAllocation, opts) -> Result:
    """Hindsight optimum of proportional matching (cvxpy, exponential cone); ``x`` is the (T, m+1) allocation."""
    import cvxpy as cp

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
    per_resource = sp.csr_matrix((np.ones(int(real.sum())), (cols[real] - 1, np.flatnonzero(real))),
                                 shape=(m, rows.size))
    objective = reward @ v + lam * cp.sum(cp.entr(v))
    prob = cp.Problem(cp.Maximize(objective), [per_request @ v == 1, per_resource @ v <= np.asarray(dense.budgets)])
    solver = opts.get("solver", None)
    if solver is not None:
        as_choice("options.solver", solver, tuple(cp.installed_solvers()))
    prob.solve(solver=solver, verbose=opts.verbose)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        return Result(status=Status.ERROR, message=f"cvxpy: {prob.status}")
    x = np.zeros((horizon, m + 1))
    x[rows, cols] = np.clip(np.asarray(v.value, float), 0.0, None)
    status = Status.OPTIMAL if prob.status == "optimal" else Status.FEASIBLE
    value = float(prob.value)
    return Result(status=status, x=x, objective=value, bound=value,
                  stats={"reward": value, "hindsight": value, "regret": 0.0, "spent": x[:, 1:].sum(axis=0)},
                  message=f"proportional matching hindsight (cvxpy: {prob.status}, {prob.solver_stats.solver_name})")
