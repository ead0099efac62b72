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
# # Bandits with knapsacks: regret curves and exercises
#
# Each arm has an unknown distribution of reward and resource use, and play stops when a budget runs out
# (Slivkins, ch. 10). This notebook:
# - compares the policies with the LP benchmark OPT_LP as the horizon grows;
# - shows why the unconstrained UCB is a trap;
# - works through the chapter's exercises. Each exercise has a grader; the worked answers come from the checkout's
#   `solutions/` folder, which is not shipped with the package.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import orbudget as ob
from orbudget import exercises

# %% [markdown]
# ## Reward / OPT_LP as T grows
# K = 10 arms, d = 3 resources, B = T/4, with Bernoulli outcomes. OPT_LP, the best fixed distribution over arms,
# bounds every policy's expected reward.

# %%
horizons = [1_000, 3_000, 10_000, 30_000, 100_000]
methods = ["primal_dual", "ucb_bwk", "lagrange", "best_of_both", "explore_first", "ucb"]
curves = {m: [] for m in methods}
for T in horizons:
    for m in methods:
        ratios = []
        for s in range(3):
            p = ob.BanditsWithKnapsacks.random(10, 3, horizon=T, seed=500 + s)
            r = ob.solve(p, method=m, seed=s)
            ratios.append(r.objective / r.stats["opt_lp"])
        curves[m].append(np.median(ratios))
fig, ax = plt.subplots(figsize=(6, 3.5))
for m, ys in curves.items():
    ax.semilogx(horizons, ys, "o-", label=m)
ax.set_xlabel("horizon T")
ax.set_ylabel("reward / OPT_LP")
ax.legend(fontsize=8)
plt.show()
print({m: round(v[-1], 3) for m, v in curves.items()})

# %% [markdown]
# ## Regret scaled by the theory
# PrimalDualBwK's regret is Õ(√(K·OPT) + OPT·√(K/B)). Divided by that rate, it should stay bounded as T grows.

# %%
for T in horizons:
    p = ob.BanditsWithKnapsacks.random(10, 3, horizon=T, seed=7)
    r = ob.solve(p, method="primal_dual", seed=0)
    opt = r.stats["opt_lp"]
    scale = math.sqrt(10 * opt) + opt * math.sqrt(10 / p.budgets.min())
    print(f"T={T:>7,}  regret {r.stats['regret']:8.1f}  regret / rate {r.stats['regret'] / scale:.3f}")

# %% [markdown]
# ## The same policy, step by step
# Inside a loop, `BwKPolicy` exposes `act`, `update` and `state_dict`. With the same seeds, it makes the same
# decisions as `solve`.

# %%
p = ob.BanditsWithKnapsacks.random(5, 2, horizon=2_000, seed=1)
pol, env = ob.BwKPolicy(p, "primal_dual", seed=np.random.default_rng(0)), p.env(seed=1)
while not pol.done:
    arm = pol.act()
    remaining, reward, terminated, truncated, info = env.step(arm)
    pol.update(arm, reward, info["consumption"])
print(f"rounds {pol.t}, reward {pol.reward:.0f}, budget left {np.round(pol.remaining, 1)}")

# %% [markdown]
# ## Exercises
# Each exercise prints its statement. Write your answer as a function and grade it with `check`.
#
# The cells tagged `solution` import the worked answers from `solutions/bwk_exercises.py` in the source checkout
# (the installed package holds no solution: its graders check properties, not a reference answer).
# `python scripts/student_notebook.py` writes `notebooks/03_bwk_exercises_student.py`, the same notebook with each
# of those functions reduced to its signature and a `NotImplementedError`, to hand to students (the graders then
# say "NOT YET" until they fill them in); the test command builds it as the `.ipynb` a student opens.

# %%
for ex in exercises.all_exercises():
    print(f"{ex.id:10s} {ex.title}")

# %% [markdown]
# ### Exercise 10.2: fixed distribution vs fixed arm

# %%
ex = exercises.get("bwk-10.2")
print(ex.show())

# %% [markdown]
# A first attempt: one arm per resource, but the horizon is too short for the arms to take turns.


# %%
def attempt(d, budget):
    return ob.BanditsWithKnapsacks(
        reward_means=np.ones(d), consumption_means=np.eye(d), budgets=np.full(d, budget), horizon=budget
    )


print(ex.check(attempt))

# %% [markdown]
# The grader's hint points at time. Your answer:


# %% tags=["solution"]
# the worked answers: solutions/ at the root of the checkout (not shipped with the package)
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "solutions").is_dir())))
from solutions.bwk_exercises import instance  # noqa: E402

# %%
print(ex.check(instance))

# %% [markdown]
# ### Exercise 10.1(b): how long should explore-first explore?

# %%
ex = exercises.get("bwk-10.1b")
print(ex.show())
print(ex.check(lambda T, K: int(math.sqrt(T))))  # a first guess: too little?


# %% tags=["solution"]
from solutions.bwk_exercises import explore_rounds  # noqa: E402

# %%
print(ex.check(explore_rounds))

# %% [markdown]
# ### Exercise 10.3: the best fixed price

# %%
ex = exercises.get("bwk-10.3a")
print(ex.show())


# %% tags=["solution"]
from solutions.bwk_exercises import best_price, loss_bound  # noqa: E402

# %%
print(ex.check(best_price))
print(exercises.check("bwk-10.3b", loss_bound))

# %% [markdown]
# ### Hedge, and Hedge against Hedge (the engine of LagrangeBwK)


# %% tags=["solution"]
from solutions.bwk_exercises import equilibrium, hedge  # noqa: E402

# %%
print(exercises.check("hedge", hedge))
print(exercises.check("games-9.3", equilibrium))
