"""Pyomo model of the bandits-with-knapsacks LP benchmark ``opt_lp`` (mirroring `orbudget.solvers.highs.bwk`).

``model.x[arm]`` ∈ [0, 1]: the share of rounds arm ``arm`` is pulled, ``model.budget[resource]``:
Σ_arm consumption_means·x ≤ budgets / horizon, ``model.distribution``: Σ x ≤ 1 (the slack is the null arm),
``model.reward``: maximise horizon · Σ reward_means·x (OPT_LP).
"""

from __future__ import annotations

import numpy as np

from ...core.registry import register
from ...core.solve import SolveOptions
from ...problems.bwk import BanditsWithKnapsacks
from ._common import HONOURS, OPTIONS, Export, exporter
from ._results import solve_exported, value_array


@exporter(BanditsWithKnapsacks)
def build_opt_lp(problem: BanditsWithKnapsacks):
    import pyomo.environ as pyo

    r = np.asarray(problem.reward_means, float)
    c = np.asarray(problem.consumption_means, float)
    per_round = np.asarray(problem.budgets, float) / problem.horizon
    m = pyo.ConcreteModel(name="BwK opt_lp")
    m.arms = pyo.Set(initialize=range(problem.n_arms))
    m.resources = pyo.Set(initialize=range(problem.n_resources))
    m.x = pyo.Var(m.arms, domain=pyo.UnitInterval)
    used = [i for i in range(problem.n_resources) if (c[:, i] != 0).any()]
    m.budget = pyo.Constraint(
        used, rule=lambda m, i: sum(float(c[a, i]) * m.x[a] for a in m.arms if c[a, i] != 0) <= float(per_round[i])
    )
    m.distribution = pyo.Constraint(expr=sum(m.x[a] for a in m.arms) <= 1)
    m.reward = pyo.Objective(expr=problem.horizon * sum(float(r[a]) * m.x[a] for a in m.arms), sense=pyo.maximize)

    def read(problem, model):
        x = np.clip(value_array(model.x, list(range(problem.n_arms))), 0.0, 1.0)
        return x, {"null_arm": max(0.0, 1.0 - float(x.sum()))}

    def objective(problem, x):
        return problem.horizon * float(r @ x)

    def check(problem, x):
        tol = 1e-6
        if x.sum() > 1 + tol:
            return f"the shares sum to {x.sum()} > 1"
        over = c.T @ x - per_round
        if (over > tol * np.maximum(1.0, per_round)).any():
            return f"it uses {(c.T @ x).tolist()} per round of budgets {per_round.tolist()}"
        return None

    return m, Export(problem, read, "max", objective, check, integer=False, kind="opt_lp")


@register(BanditsWithKnapsacks, "opt_lp", backend="pyomo", priority=80, options=OPTIONS, **HONOURS)
def solve_opt_lp(problem: BanditsWithKnapsacks, opts: SolveOptions):
    """The LP benchmark OPT_LP through Pyomo: ``x`` = the best fixed distribution over arms."""
    r = solve_exported(problem, opts)
    if r.ok:
        r = r.replace(stats={**r.stats, "opt_lp": r.objective, "opt_fixed_arm": problem.opt_fixed_arm()})
    return r
