"""Pyomo models of online allocation's hindsight optimum (mirroring `orbudget.solvers.highs.online`).

``model.x[request, action]``: binary (in [0, 1] with ``relax=True``) for every (request, action) with a positive
reward (the others never help; the MIP also leaves out an action that alone uses more than a whole budget),
``model.one_action[request]``: Σ_action x ≤ 1 (the slack is the null action), ``model.budget[resource]``:
Σ consumption·x ≤ budget (in the problem's own units; rows no column uses are left out), ``model.reward``:
maximise Σ rewards·x. Matching instances: action k uses one unit of resource k.
"""

from __future__ import annotations

import numpy as np

from ...core.registry import register
from ...core.solve import SolveOptions
from ...core.validation import as_bool
from ...problems.online import OnlineAllocation
from ._common import HONOURS, OPTIONS, Export, exporter
from ._results import solve_exported, value_array, whole


@exporter(OnlineAllocation)
def build_hindsight(problem: OnlineAllocation, *, relax: bool = False):
    import pyomo.environ as pyo

    from ...core.errors import InvalidProblemError

    if problem.entropy > 0:
        raise InvalidProblemError("`entropy` > 0 (proportional instances) has no linear hindsight model")
    relax = as_bool("relax", relax)
    dense = problem.dense()
    r = dense.rewards
    m_res = dense.n_resources
    budgets = np.asarray(dense.budgets, float)
    t_idx, k_idx = np.nonzero(r > 0)
    if dense.is_matching:
        use = np.zeros((t_idx.size, m_res))
        use[np.arange(t_idx.size), k_idx] = 1.0
    else:
        use = dense.consumption[t_idx, k_idx, :]
    if not relax:  # an action over a whole budget on its own can never be played
        keep = ~(use > budgets).any(axis=1)
        t_idx, k_idx, use = t_idx[keep], k_idx[keep], use[keep]
    keys = list(zip(t_idx.tolist(), k_idx.tolist()))
    m = pyo.ConcreteModel(name="OnlineAllocation hindsight" + (" LP" if relax else ""))
    m.requests = pyo.Set(initialize=range(problem.horizon))
    m.resources = pyo.Set(initialize=range(m_res))
    m.columns = pyo.Set(initialize=keys, dimen=2)
    m.x = pyo.Var(m.columns, domain=pyo.UnitInterval if relax else pyo.Binary)
    per_request: dict[int, list] = {}
    for key in keys:
        per_request.setdefault(key[0], []).append(key)
    m.one_action = pyo.Constraint(sorted(per_request), rule=lambda m, t: sum(m.x[k] for k in per_request[t]) <= 1)
    rows = {}
    for j in range(m_res):
        nz = np.flatnonzero(use[:, j] != 0)
        if nz.size:
            rows[j] = nz
    m.budget = pyo.Constraint(
        sorted(rows), rule=lambda m, j: sum(float(use[c, j]) * m.x[keys[c]] for c in rows[j]) <= float(budgets[j])
    )
    rew = r[t_idx, k_idx].astype(float)
    m.reward = pyo.Objective(expr=sum(float(rew[c]) * m.x[keys[c]] for c in range(len(keys))), sense=pyo.maximize)
    n_actions = r.shape[1]

    def read(problem, model):
        vals = value_array(model.x, keys) if keys else np.zeros(0)
        if relax:
            x = np.zeros((problem.horizon, n_actions))
            x[t_idx, k_idx] = vals
            return x, {"spent": (use * vals[:, None]).sum(axis=0) if keys else np.zeros(m_res)}
        on = whole(vals, "x") == 1 if keys else np.zeros(0, bool)
        x = np.full(problem.horizon, -1, dtype=np.int64)
        if np.bincount(t_idx[on], minlength=problem.horizon).max(initial=0) > 1:
            raise ValueError("x plays two actions on one request")
        x[t_idx[on]] = k_idx[on]
        return x, {"spent": problem.consumption_of(x)}

    def objective(problem, x):
        return float((np.asarray(x) * r).sum()) if relax else problem.reward_of(x)

    def check(problem, x):
        if relax:
            return None
        if not problem.is_feasible(x):
            return f"it spends {problem.consumption_of(x).tolist()} of budgets {problem.budgets.tolist()}"
        return None

    return m, Export(problem, read, "max", objective, check, integer=not relax, kind="hindsight")


def _no_entropy(problem: OnlineAllocation):
    if problem.regularizer is not None:
        return "regularised instances are solved by the HiGHS and cvxpy hindsight adapters (no Pyomo model yet)"
    return "proportional (entropy) instances have no linear hindsight model" if problem.entropy > 0 else None


def _nothing_to_play(problem: OnlineAllocation, relax: bool):
    """No action has a positive reward that fits (the model has no variable; some solvers refuse an empty model):
    the null action everywhere is optimal, reward 0."""
    dense = problem.dense()
    over = np.zeros(dense.rewards.shape, bool)
    if not relax and not dense.is_matching:
        over = (dense.consumption > dense.budgets).any(axis=2)
    elif not relax:
        over = np.broadcast_to(dense.budgets < 1.0, dense.rewards.shape)
    if ((dense.rewards > 0) & ~over).any():
        return None
    from ...core.result import Result, Status

    m = problem.n_resources
    x = np.zeros(dense.rewards.shape) if relax else np.full(problem.horizon, -1, dtype=np.int64)
    return Result(
        status=Status.OPTIMAL,
        x=x,
        objective=0.0,
        bound=0.0,
        stats={"spent": np.zeros(m)},
        message="no action with a positive reward fits a budget: the null action everywhere is optimal",
    )


@register(
    OnlineAllocation, "hindsight", backend="pyomo", priority=80, supports=_no_entropy, options=OPTIONS, long=True, **HONOURS
)
def solve_hindsight(problem: OnlineAllocation, opts: SolveOptions):
    """Exact hindsight optimum through Pyomo (any solver it reaches)."""
    r = _nothing_to_play(problem, False) or solve_exported(problem, opts, {"relax": False})
    if r.ok:
        r = r.replace(stats={**r.stats, "reward": r.objective, "hindsight": r.objective, "regret": 0.0})
    return r


@register(
    OnlineAllocation, "hindsight_lp", backend="pyomo", priority=80, supports=_no_entropy, options=OPTIONS, long=True, **HONOURS
)
def solve_hindsight_lp(problem: OnlineAllocation, opts: SolveOptions):
    """LP bound on the hindsight optimum through Pyomo (the primal LP; ``x`` holds the fractions)."""
    return _nothing_to_play(problem, True) or solve_exported(problem, opts, {"relax": True})
