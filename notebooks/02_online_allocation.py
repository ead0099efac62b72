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
# # Online allocation with dual mirror descent
#
# Requests arrive one by one and each must be answered at once. The budgets per resource must hold to the end
# (Balseiro, Lu, Mirrokni 2023). Dual mirror descent prices each resource with a dual variable μ. It plays the
# action with the best reward minus price, and moves μ against the gap between the target spend rate ρ and what
# it just tried to spend. This notebook:
# - runs it against greedy and fluid baselines;
# - draws the √T regret curve;
# - steps the policy inside a loop;
# - uses the AdX display-ad instances;
# - adds a fairness regulariser and draws the reward-fairness trade-off as its weight λ varies.

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import orbudget as ob
from orbudget.plot import frontier
from orbudget.problems import online_inputs as gen

# %% [markdown]
# ## One instance, every method
# Matching form: action k uses one unit of resource k. The hindsight benchmark knows the whole sequence in advance.

# %%
p = gen.iid_matching(50_000, 10, seed=0)
hindsight = ob.solve(p, method="hindsight")
print(f"hindsight optimum {hindsight.objective:.1f} ({hindsight.message})")
for method in ("dmd", "greedy", "fluid"):
    r = ob.solve(p, method=method, options={"benchmark": "none"})
    assert p.is_feasible(r.x)
    print(
        f"{method:7s} reward {r.objective:9.1f}  reward/OPT {r.objective / hindsight.objective:.4f}  "
        f"policy time {r.timings['policy']:.3f} s"
    )

# %% [markdown]
# ## Regret grows like √T
# With η = 1/√T the regret against the hindsight LP grows like √T. With a fixed step it grows linearly.

# %%
horizons = [10**3, 10**4, 10**5, 10**6]
curves = {"η = 1/√T": [], "η = 0.1 (fixed)": []}
for T in horizons:
    q = gen.iid_matching(T, 10, seed=1)
    lp = ob.solve(q, method="hindsight_lp").objective
    curves["η = 1/√T"].append(lp - ob.solve(q, method="dmd", options={"benchmark": "none"}).objective)
    curves["η = 0.1 (fixed)"].append(lp - ob.solve(q, method="dmd", options={"benchmark": "none", "step_size": 0.1}).objective)
fig, ax = plt.subplots(figsize=(5, 3.5))
for label, regret in curves.items():
    slope = np.polyfit(np.log(horizons), np.log(regret), 1)[0]
    ax.loglog(horizons, regret, "o-", label=f"{label} (slope {slope:.2f})")
ax.set_xlabel("horizon T")
ax.set_ylabel("regret vs hindsight LP")
ax.legend()
plt.show()

# %% [markdown]
# ## Four reference functions
# The choice of mirror map changes the dual geometry. Here are all four on the network revenue management
# generator (m = 100 resources, d = 10 products).

# %%
nrm = gen.network_revenue_management(5000, 100, 10, seed=2)
bench = ob.solve(nrm, method="hindsight_lp").objective
for reference in ("euclidean", "scaled_euclidean", "entropy", "projected_entropy"):
    r = ob.solve(nrm, method="dmd", options={"reference": reference, "benchmark": "none"})
    print(f"{reference:18s} reward/LP {r.objective / bench:.4f}")

# %% [markdown]
# ## Inside a loop: the step-by-step policy
# `act` answers one request, and `update` takes the dual step. `state_dict` checkpoints the policy. For
# second-price auctions, `bid` is the pacing bid v/(1+μ).

# %%
auctions = gen.random_auctions(20_000, seed=3, budget_rate=0.05)
pol = ob.DualMirrorDescent(auctions.budgets, auctions.horizon)
mu_path = []
for t in range(auctions.horizon):
    pol.act(auctions.rewards[t], auctions.consumption[t])
    pol.update()
    mu_path.append(pol.mu[0])
print(f"utility {pol.reward:.1f}, budget left {pol.remaining[0]:.3f} of {auctions.budgets[0]:.0f}")
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(mu_path)
ax.set_xlabel("auction")
ax.set_ylabel("dual price μ (bid = value / (1 + μ))")
plt.show()

# %% [markdown]
# ## AdX display ads
# Impressions are assigned to advertisers with capacities ρ_a·T. The data is read from `../shared/data/adx` when
# it is there.

# %%
folder = Path("../../shared/data/adx")
if folder.is_dir():
    from orbudget.problems.adx import load_adx, load_adx_sample, replay

    pub1 = load_adx(1, folder)
    sample = load_adx_sample(folder)
    q = pub1.problem(qualities=replay(sample, 50_000, seed=0))
    exact = ob.solve(q, method="hindsight")
    for method in ("dmd", "greedy", "fluid"):
        r = ob.solve(q, method=method, options={"benchmark": "none"})
        print(f"pub1 {method:7s} reward/OPT {r.objective / exact.objective:.4f}")
else:
    print(f"AdX data not found at {folder.resolve()}; skipping this section")

# %% [markdown]
# ## Fairness and other regularisers
# A regulariser adds a concave reward on the average consumption (Balseiro, Lu, Mirrokni, ICML 2021). Max-min
# fairness r(a) = λ·min_j a_j/ρ_j pays for the worst-served resource's share of its budget. The objective is the
# reward plus T·r(average consumption), and every method scores on it: `stats["regularization"]` is the T·r part and
# `stats["hindsight"]` the regularised benchmark (the exact MIP on small instances, else the dual bound).
#
# The sweep below runs fair DMD for several λ on one instance, against greedy and unregularised DMD, and plots the
# reward each gives up for the worst resource's share. It uses the AdX publisher 2 instance (Σρ = 1.5) when the
# data is there, else i.i.d. matching requests.

# %%
if folder.is_dir():
    base, name = load_adx(2, folder).problem(20_000, seed=0), "AdX pub2"
else:
    base, name = gen.iid_matching(20_000, 10, seed=0), "i.i.d. matching"
plain = ob.solve(base, method="dmd", options={"benchmark": "none"})
greedy = ob.solve(base, method="greedy", options={"benchmark": "none"})
records = []
for lam in (0.0, 0.003, 0.01, 0.03, 0.1, 0.3):
    fair = ob.OnlineAllocation(
        rewards=base.rewards, consumption=base.consumption, budgets=base.budgets, regularizer=ob.regularizers.MaxMinFairness(lam)
    )
    r = ob.solve(fair, method="dmd", options={"benchmark": "dual_bound"})
    assert fair.is_feasible(r.x)
    print(
        f"λ = {lam:<5}  reward {r.stats['reward']:8.1f}  T·r {r.stats['regularization']:8.1f}  "
        f"objective {r.objective:8.1f}  bound {r.stats['hindsight']:8.1f}  "
        f"(unregularised DMD scores {fair.value_of(plain.x):8.1f}, greedy {fair.value_of(greedy.x):8.1f})"
    )
    for label, x in (("fair DMD", r.x), ("DMD", plain.x), ("greedy", greedy.x)):
        records.append(
            {"method": label, "reward": fair.reward_of(x), "worst share": float((fair.consumption_of(x) / fair.budgets).min())}
        )
ax = frontier(records, "worst share", "reward", by="method")
ax.set_title(f"{name}: reward against the worst resource's share of its budget")
plt.show()

# %% [markdown]
# Other regularisers in `ob.regularizers`: `LoadBalancing` (−λ·max_j a_j/ρ_j), `BelowTargetPenalty` (a hinge
# penalty per unit of consumption below a target share) and `QuadraticPenalty` (around a target share). Your own
# concave r works too: give `CustomRegularizer(value, response, floor)` with the maximiser of r(a) + μ·a over
# 0 <= a <= ρ; orbudget checks concavity and the maximiser on random points. The step-by-step policy takes the same
# `regularizer=`.

# %%
target = ob.OnlineAllocation(
    rewards=base.rewards,
    consumption=base.consumption,
    budgets=base.budgets,
    regularizer=ob.regularizers.BelowTargetPenalty(weight=1.0, target=0.8),
)
r = ob.solve(target, method="dmd", options={"benchmark": "dual_bound"})
print(
    f"below-target penalty: shares {np.round(r.stats['spent'] / target.budgets, 2)}, "
    f"objective {r.objective:.1f} of at most {r.stats['hindsight']:.1f}"
)
pol = ob.DualMirrorDescent(base.budgets, base.horizon, regularizer=ob.regularizers.MaxMinFairness(0.1))
for t in range(2000):
    pol.step(base.rewards[t])
print(f"step by step, after 2000 requests: duals {np.round(pol.mu, 2)} (negative: resources that are behind)")
