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
# # Budgets for agents and RL token use
#
# A workflow of LLM subtasks under a budget and a deadline (exact DP, MCPP, baselines), budget-aware step
# routing, and DUET's token allocation over rollouts and length caps. Small instances: the notebook runs in seconds.

# %%
import numpy as np

import orbudget as ob
from orbudget.solvers.numpy.step_routing import frontier

w = ob.AgentWorkflow.code_like(seed=0, budget_fraction=0.3, deadline_fraction=0.4)
print(w)

# %%
rows = []
for method, options in [("exact_dp", {"episodes": 500}), ("mcpp", {"episodes": 60, "candidates": 6, "rollouts": 32})] + [
    (m, {"episodes": 500}) for m in ("static", "greedy", "cheapest", "strongest")
]:
    r = ob.solve(w, method=method, seed=0, options=options)
    rows.append((method, round(r.objective, 3), round(r.stats["ci_low"], 3), round(r.stats["ci_high"], 3), r.stats["max_spent"]))
    assert r.stats["max_spent"] <= w.budget and r.stats["max_elapsed"] <= w.deadline * (1 + 1e-9)
print(rows)

# %% [markdown]
# Step routing: the DP's completion probability over budgets against the boundary policies and fixed mixings.

# %%
p = ob.StepRouting.random(6, seed=1)
f = frontier(p, np.linspace(p.worst_costs[:, 0].sum(), p.worst_costs[:, 1].sum(), 5).astype(int))
assert (f["dp"][:, None] >= f["mix"] - 1e-12).all()
print(f["budget"], f["dp"].round(3), f["mix"].round(3))

# %% [markdown]
# Token allocation: the joint (rollouts, cap) knapsack against rollouts-only and length-only at equal tokens.

# %%
t = ob.TokenBudgetAllocation.random(200, budget_fraction=0.1, seed=0)
print({m: round(ob.solve(t, method=m).objective, 3) for m in ("mckp", "rollouts_only", "length_only")})
