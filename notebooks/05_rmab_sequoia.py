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
# # Coupled restless bandits with combinatorial actions (SEQUOIA)
#
# J arms, each a 4-state Markov chain; each step we act on a *set* of arms chosen from a combinatorial set C: a
# budget, interventions that hit several arms at once, a route through the London Underground, a worker-slot
# schedule, worker capacities (Xu et al., ICLR 2025). This notebook:
# - builds an instance of each family and checks actions with the independent checkers;
# - shows the myopic trap and how SEQUOIA (Q-learning whose greedy step is an exact argmax over C) escapes it;
# - embeds a trained Q-network in a HiGHS MIP and checks the argmax against enumeration;
# - compares every method on small instances against the exact dynamic program.

# %%
import matplotlib.pyplot as plt
import numpy as np

import orbudget as ob

# %% [markdown]
# ## The five constraint families
# Each action is a 0/1 vector (arms, or interventions for the multi-intervention family). `check` returns `None`
# for a feasible action, else the reason; it never uses a solver.

# %%
route = ob.CoupledRMAB.path(20, budget=3, seed=0)  # London Underground subgraph with 20 stations
c = route.constraint
print("source", c.source, "| stations within reach of a 6-move round trip:", np.flatnonzero(c.reachable()).tolist())
x = np.zeros(20, int)
x[[c.source, *c.neighbors[c.source][:2]]] = 1
print("pull", np.flatnonzero(x).tolist(), "->", route.check(x), "| walk:", c.walk(x))
far = int(np.argmax(c.distances))
y = np.zeros(20, int)
y[far] = 1
print("pull", far, "->", route.check(y))

for name, p in [
    ("budget", ob.CoupledRMAB.budget(10, 3, seed=0)),
    ("matching", ob.CoupledRMAB.matching(10, 3, seed=0)),
    ("capacity", ob.CoupledRMAB.capacity(10, 3, seed=0)),
    ("interventions", ob.CoupledRMAB.multiple_interventions(10, 6, 3, seed=0)),
]:
    print(f"{name:14s} decisions={p.n_decisions:2d}  |C| = {p.count_actions()}")

# %% [markdown]
# ## The myopic trap
# Two deterministic 3-state arms, budget 1. Acting on arm 0 twice brings it to a state paying 10; the first step
# on the way pays *less* than resting. Myopic keeps choosing arm 1 (1.2 per step); the optimum holds arm 0 up
# (10.1 per step).

# %%
trap = ob.CoupledRMAB.myopic_trap()
curves = {}
for method in ["exact_dp", "sequoia", "index", "myopic", "random"]:
    r = ob.solve(trap, method=method, seed=0)
    curves[method] = r.objective
    print(f"{method:9s} {r.objective:6.3f} per step   normalised {r.stats['normalized']:.3f}")

# %%
sq = ob.solve(trap, method="sequoia", seed=0)
plt.plot(sq.stats["train_rewards"])
plt.axhline(curves["exact_dp"], ls="--", c="k", label="exact DP")
plt.axhline(curves["myopic"], ls=":", c="r", label="myopic")
plt.xlabel("training episode")
plt.ylabel("mean reward per step (ε-greedy, random starts)")
plt.legend()
plt.show()

# %% [markdown]
# ## The Q-network inside a MIP
# A `SequoiaPolicy` holds the network. Its argmax over C can be solved exactly by HiGHS: each ReLU becomes a
# binary with bounds from interval arithmetic (per state; stable neurons are dropped or fixed). We check it
# against enumeration and against the network's own forward pass at the chosen action.

# %%
from orbudget.solvers.highs.rmab import QNetworkMIP  # noqa: E402

p = ob.CoupledRMAB.capacity(8, 3, seed=1, horizon=10)
policy = ob.SequoiaPolicy(p, hidden=(16, 16), argmax="enumerate", seed=0)
policy.fit(episodes=30)
mip = QNetworkMIP(p, policy.layers(), "interval")
for s in np.random.default_rng(0).integers(0, 4, (4, 8)):
    x, q, info = mip.argmax(s)
    _, q_enum = policy.best(s)
    print(
        f"state {s}: MIP picks {np.flatnonzero(x).tolist()}  Q = {q:.5f}  enumeration {q_enum[0]:.5f}  "
        f"MIP's own value {info['mip_value']:.5f}  ({info['seconds'] * 1e3:.0f} ms)"
    )

# %% [markdown]
# ## Every method against the exact DP
# J = 6 arms, H = 10 steps: the joint state space has 4⁶ = 4096 states, so backward induction is exact. Rewards
# are normalised as (V − V_null)/(V_DP − V_null).

# %%
instances = {
    "budget": ob.CoupledRMAB.budget(6, 2, seed=0, horizon=10, episodes=100),
    "path": ob.CoupledRMAB.path(
        6, 2, graph=(6, [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 0], [1, 4]], 0), seed=2, horizon=10, episodes=100
    ),
    "interventions": ob.CoupledRMAB.multiple_interventions(6, 4, 2, seed=0, horizon=10, episodes=100),
}
methods = ["random", "sampling", "myopic", "index", "sequoia"]
table = {name: [ob.solve(q, method=m, seed=0).stats["normalized"] for m in methods] for name, q in instances.items()}
fig, ax = plt.subplots(figsize=(8, 3))
for i, (name, vals) in enumerate(table.items()):
    ax.bar(np.arange(len(methods)) + 0.25 * i, vals, width=0.25, label=name)
ax.set_xticks(np.arange(len(methods)) + 0.25, methods)
ax.set_ylabel("normalised reward")
ax.axhline(1.0, c="k", lw=0.5)
ax.legend()
plt.show()
for name, vals in table.items():
    print(name, " ".join(f"{m}={v:.3f}" for m, v in zip(methods, vals)))

# %% [markdown]
# ## Checkpoint and resume
# Long runs save networks, optimiser, replay buffer and random state atomically; rerunning with the same path
# continues where the last checkpoint left off.

# %%
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    ck = Path(tmp) / "sequoia.pt"
    first = ob.SequoiaPolicy(trap, seed=0)
    print(first.fit(episodes=20, checkpoint=ck)["episodes_trained"], "episodes, checkpoint", ck.stat().st_size, "bytes")
    again = ob.SequoiaPolicy(trap, seed=0)
    info = again.fit(episodes=40, checkpoint=ck)
    print("resumed:", info["resumed"], "| episodes:", info["episodes_trained"])
