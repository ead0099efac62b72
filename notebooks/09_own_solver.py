# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Use your own solver
#
# Every exact model in orbudget can leave the package as a Pyomo model: export it, add a rule of your own, solve it
# with any solver Pyomo reaches, and read the answer back into a checked `ob.Result`. Here: a multiple-choice
# knapsack with a side constraint, solved by SCIP (pyscipopt), and the same model through HiGHS and Gurobi.

# %%
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory

import orbudget as ob

p = ob.MultipleChoiceKnapsack.random(8, 4, seed=1)
best = ob.solve(p)
print("orbudget's optimum:", best.objective, best.x)

# %% [markdown]
# ## Export, add a side constraint, solve with SCIP, read back
# The model's names follow the problem's fields: `x[group, option]`, `one_option[group]`, `budget`, `value`.
# Our rule: groups 0 and 1 may not both take option 3 (the optimum above does).

# %%
m = ob.to_pyomo(p)
m.not_both = pyo.Constraint(expr=m.x[0, 3] + m.x[1, 3] <= 1)
results = SolverFactory("scip_direct").solve(m)
r = ob.from_pyomo(p, m, results)
print(r)
print("x:", r.x, "cost", r.stats["cost"], "of", p.budget, "| feasible by orbudget's check:", p.is_feasible(r.x))
assert r.status is ob.Status.OPTIMAL and not (r.x[0] == 3 and r.x[1] == 3)

# %% [markdown]
# ## The same through `ob.solve`, with any solver
# `backend="pyomo"` and `options={"solver": ...}`; `time_limit`, `rel_gap` and `threads` reach each solver under its
# own option names.

# %%
for solver in ("highs", "scip", "gurobi_direct"):
    r = ob.solve(p, method="mip", backend="pyomo", time_limit=10, options={"solver": solver})
    print(f"{solver:14s} {r.status.value:8s} {r.objective:.6f}  solve {r.timings['solve']:.3f}s")

# %% [markdown]
# ## A Q-network's argmax: ours and OMLT's formulations
# The argmax over a coupled-bandit action set of a small ReLU network, in our interval-bound formulation and in
# OMLT's big-M encoding, both solved by SCIP, against enumeration of the action set.

# %%
from orbudget.core.solve import SolveOptions  # noqa: E402
from orbudget.solvers import _relu  # noqa: E402
from orbudget.solvers.pyomo import rmab  # noqa: E402

bandit = ob.CoupledRMAB.capacity(6, 2, seed=0)
layers = _relu.random_network(bandit.n_decisions + bandit.n_arms * bandit.n_states, (8, 8), seed=4)
states = np.array([0, 1, 0, 1, 1, 0])
scip = SolveOptions(options={"solver": "scip"})
for formulation in ("interval", "omlt_bigm"):
    x, q, _ = rmab.argmax(bandit, layers, states, formulation=formulation, opts=scip)
    print(f"{formulation:10s} x = {x}  Q = {q:.6f}")
print("enumeration", rmab.enumerate_argmax(bandit, layers, states))
