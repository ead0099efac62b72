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
# # Budgeted compression with exact budgets (RCO)
#
# We pick a bit width for every group of weights, or keep or prune every expert, so that the total cost meets a
# budget and a non-separable loss is as small as possible. RCO keeps the relaxed logits on the manifold
# {expected cost = B}, and its hard samples come from the knapsack DP, so the budget is never broken. This
# notebook:
# - looks at the geometry;
# - compares RCO with the baselines on a separable instance with a known optimum;
# - quantises a small MLP;
# - prunes a toy mixture-of-experts layer.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

import orbudget as ob
from orbudget.apps.compression import mlp_quantization, moe_pruning
from orbudget.solvers.torch.rco import expected_cost

# %% [markdown]
# ## The optimizer stays on the budget
# Here is a toy loss on 200 groups with 5 options. After each step, the expected cost equals B to about 1e-12.

# %%
gen = torch.Generator().manual_seed(0)
costs = torch.randint(1, 9, (200, 5), generator=gen).double()
budget = float(costs.min(1).values.sum() + 0.3 * (costs.max(1).values.sum() - costs.min(1).values.sum()))
alpha = torch.zeros(200, 5, dtype=torch.float64, requires_grad=True)
opt = ob.RCO([alpha], costs=costs, budget=budget, lr=0.1)
target = torch.randn(200, 5, dtype=torch.float64, generator=gen)
errors, losses = [], []
for _ in range(100):
    opt.zero_grad()
    loss = ((torch.softmax(alpha, -1) - torch.softmax(target, -1)) ** 2).sum()
    loss.backward()
    opt.step()
    errors.append(abs(float(expected_cost(opt.master(), costs)) - budget) / budget)
    losses.append(loss.item())
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].plot(losses)
axes[0].set_title("loss")
axes[1].semilogy(np.maximum(errors, 1e-17))
axes[1].set_title("|C − B| / B per iterate")
plt.show()
print("largest relative budget error:", max(errors))

# %% [markdown]
# ## A separable instance with a known optimum
# Bit widths {2, 3, 4, 8} at 3.5 average bits. The DP on the (separable) loss gives the optimum. The penalty method
# ends over budget, and the returned RCO assignment is always within budget.

# %%
p = ob.BudgetedAssignment.separable(50, seed=1)
optimum = ob.solve(p, method="proxy_dp").objective
for method in ("rco", "evolutionary", "penalty", "uniform"):
    r = ob.solve(p, method=method, seed=0)
    if r.ok:
        print(f"{method:13s} gap {100 * (r.objective / optimum - 1):6.2f}%   cost {r.stats['cost']} <= {p.budget:.0f}")
    else:
        print(f"{method:13s} {r.status.value}: {r.message}")

# %% [markdown]
# ## Mixed-precision quantisation of a small MLP
# The groups are blocks of 16 output channels, the options are per-channel round-to-nearest at 2, 3, 4 and 8 bits,
# and the budget is 2.5 average bits. The loss is the KL to the full-precision MLP on calibration inputs; the score
# is the KL on held-out inputs.

# %%
mlp, holdout = mlp_quantization(seed=0, average_bits=2.5)
for method in ("rco", "proxy_dp", "evolutionary", "uniform"):
    r = ob.solve(mlp, method=method, seed=0)
    bits = np.array([2, 3, 4, 8])[r.x]
    print(f"{method:13s} held-out KL {holdout(r.x):.3e}   bits per group {bits.tolist()}")

# %% [markdown]
# ## Expert pruning of a mixture-of-experts layer
# Prune exactly 16 of 64 experts (top-8 routing). The loss is the relative error of the layer's output.

# %%
moe = moe_pruning(seed=0)
for method in ("rco", "proxy_dp", "evolutionary"):
    r = ob.solve(moe, method=method, seed=0)
    print(f"{method:13s} relative MSE {r.objective:.4f}   experts pruned {int((r.x == 1).sum())}")
