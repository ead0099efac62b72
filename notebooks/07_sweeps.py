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
# # Sweeps: a frontier, a regret curve, and resuming
#
# `orbudget.sweep` runs an experiment over a grid of parameters and seeds, on a process pool, a Dask cluster or in
# this process. It returns a tidy table. With `path=`, the finished points go to a file, so a killed sweep resumes
# where it stopped.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

import orbudget as ob
from orbudget import batch, plot
from orbudget.experiments import bwk_regret, knapsack_frontier

# %% [markdown]
# ## The value-budget frontier of a multiple-choice knapsack
# The optimal value, the LP bound and the greedy gap at eight budget fractions, averaged over three random
# instances.

# %%
frontier = ob.sweep(
    knapsack_frontier,
    {"n_groups": [200], "budget_fraction": [i / 8 for i in range(1, 9)]},
    seeds=3,
    executor="serial",
    progress=False,
)
print(frontier[["budget_fraction", "seed", "budget", "value", "lp_bound", "greedy_gap"]].head(6))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
plot.frontier(frontier, "budget_fraction", "value", ax=axes[0])
plot.frontier(frontier, "budget_fraction", "greedy_gap", ax=axes[1])
plt.show()

# %% [markdown]
# ## A regret curve: bandits with knapsacks
# The regret against OPT_LP as the horizon grows, for two policies. The legend shows the fitted log-log slopes.

# %%
folder = Path(tempfile.mkdtemp())
runs = folder / "bwk.jsonl"
grid = {"horizon": [1_000, 10_000, 100_000], "method": ["primal_dual", "lagrange"]}
table = ob.sweep(bwk_regret, grid, seeds=3, path=runs, executor="serial", progress=False)
plot.regret_curve(table, x="horizon", y="regret", by="method")
plt.show()
print(batch.summarize(table, ["method", "horizon"], "ratio"))

# %% [markdown]
# ## Resuming
# Running the same sweep again reads the file and computes nothing new. A larger grid computes only the new points.

# %%
before = len(batch.read_records(runs))
again = ob.sweep(bwk_regret, grid, seeds=3, path=runs, executor="serial", progress=False)
bigger = ob.sweep(
    bwk_regret, {**grid, "horizon": grid["horizon"] + [300_000]}, seeds=3, path=runs, executor="serial", progress=False
)
print(
    f"records in the file: {before} -> {len(batch.read_records(runs))} "
    f"(the repeat added none; the bigger grid added {len(bigger) - len(again)})"
)
