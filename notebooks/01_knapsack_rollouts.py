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
# # Knapsack rollout allocation and the multiple-choice knapsack
#
# Knapsack RL (Li et al., 2025) spends a GRPO step's rollout budget where it buys the most
# non-zero gradients. Underneath sits the multiple-choice knapsack: one option per group, a shared budget.
# This notebook builds both models, solves them with every method, checks that the exact methods agree,
# and runs the toy GRPO loop.

# %%
import matplotlib.pyplot as plt
import numpy as np

import orbudget as ob
from orbudget.problems.rollouts import knapsack_rl_value, nonzero_gradient_probability

# %% [markdown]
# ## A multiple-choice knapsack
# Each of N groups offers K options with a value and a whole-number cost; choose one per group, total
# cost at most the budget. `dp` is exact in O(N·K·B); `mip` (HiGHS) and `cpsat` (OR-Tools) are exact too;
# `lp` gives the LP bound and `greedy` a fast feasible answer.

# %%
p = ob.MultipleChoiceKnapsack.random(200, 8, seed=0)
# `threads` and `time_limit` go only to the methods that honour them (ob.available_solvers(p, details=True))
limits = {"threads": 1, "time_limit": 20}
results = {m: ob.solve(p, method=m, **(limits if m in ("mip", "cpsat") else {})) for m in ("dp", "mip", "cpsat", "lp", "greedy")}
for m, r in results.items():
    print(f"{m:7s} {r.status.value:9s} objective {r.objective:10.3f}  time {r.timings['total']:.3f} s")
assert abs(results["dp"].objective - results["mip"].objective) < 1e-6
assert all(p.is_feasible(results[m].x) for m in ("dp", "mip", "greedy"))
assert results["lp"].objective >= results["dp"].objective - 1e-9

# %% [markdown]
# ## The value of a rollout
# A group of N rollouts gives a non-zero GRPO gradient iff it is mixed: $P_{nz}(N,p) = 1 - p^N - (1-p)^N$.
# Knapsack RL weights this by $p(1-p)^2$, which peaks at $p = 1/3$.

# %%
n = np.arange(1, 65)
fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
for q in (0.02, 0.1, 1 / 3, 0.7):
    ax[0].plot(n, nonzero_gradient_probability(n, q), label=f"p = {q:.2f}")
    ax[1].plot(n, knapsack_rl_value(n, q), label=f"p = {q:.2f}")
ax[0].set(xlabel="rollouts N", ylabel="P(non-zero gradient)")
ax[1].set(xlabel="rollouts N", ylabel="Value(N, p)")
ax[0].legend()
plt.tight_layout()

# %% [markdown]
# ## Allocating 2,048 rollouts over 256 prompts
# The reference's static instance: 40% of prompts always solved, 20% never, the rest $p \sim$ Beta(0.5, 0.5).
# The greedy marginal allocation is exact here (concave values), and the DP agrees.

# %%
prob = ob.RolloutAllocation.synthetic(256, 8, seed=0)
alloc = {m: ob.solve(prob, method=m) for m in ("greedy", "dp", "uniform", "knapsackrl", "convex")}
for m, r in alloc.items():
    print(f"{m:10s} total value {r.objective:.4f}  max rollouts {np.max(r.x):.0f}")
assert abs(alloc["greedy"].objective - alloc["dp"].objective) < 1e-12
print(f"gain over uniform: {alloc['greedy'].objective / alloc['uniform'].objective - 1:+.1%}")

# %%
order = np.argsort(prob.success_rates)
plt.figure(figsize=(8, 3.5))
plt.scatter(prob.success_rates[order], alloc["greedy"].x[order], s=8, label="knapsack (greedy)")
plt.axhline(8, color="gray", ls="--", label="uniform")
plt.xlabel("success rate p")
plt.ylabel("rollouts")
plt.legend()
plt.tight_layout()

# %% [markdown]
# ## In a training loop
# `RolloutAllocator` estimates each prompt's rate from the rewards it is fed (latest epoch, else the last 16
# rewards; uniform 8 until a prompt has 8 samples) and returns the next batch's allocation.
# `simulate_grpo` runs a toy loop where prompts improve when their group is mixed.

# %%
sims = {
    a: ob.simulate_grpo(a, n_prompts=1000, batch_prompts=128, steps=60, seed=0) for a in ("knapsack", "knapsackrl", "uniform")
}
plt.figure(figsize=(8, 3.5))
for a, s in sims.items():
    plt.plot(s.effective_gradient_ratio, label=a)
plt.xlabel("step")
plt.ylabel("effective-gradient ratio")
plt.legend()
plt.tight_layout()
for a, s in sims.items():
    print(a, s.summary(skip=20))

# %% [markdown]
# ## Exercise
# Show that greedy is not exact when values are not concave: build a 2-prompt table where one prompt pays
# only at 4 rollouts, and compare `greedy` with `dp`.

# %%
table = np.array([[0, 0, 0, 0, 1.0], [0, 0.3, 0.5, 0.6, 0.65]])
toy = ob.RolloutAllocation(success_rates=[0.5, 0.5], total_rollouts=5, min_rollouts=1, max_rollouts=4, value=table)
print("greedy", ob.solve(toy, method="greedy").x, "dp", ob.solve(toy, method="dp").x)
