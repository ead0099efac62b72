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
# # Budgets for LLM inference
#
# Two allocation problems that come up whenever language models are served under a budget:
# - **test-time sample allocation**: how many samples to draw per question, for best-of-n with a verifier
#   (pass@k) or self-consistency by majority vote;
# - **model routing**: which model answers each query, offline over a known batch or online as queries arrive.
#
# Both sit on engines orbudget already has: the multiple-choice knapsack, and online allocation with dual mirror
# descent. This notebook draws:
# - accuracy-budget curves against the uniform and proportional heuristics;
# - the check that decides whether the greedy is exact;
# - the routing frontier;
# - online pacing.

# %%
import matplotlib.pyplot as plt
import numpy as np

import orbudget as ob
from orbudget.problems.llm import simulate_adaptive

# %% [markdown]
# ## Accuracy against budget
# Here are 120 questions with success rates drawn from Beta(0.5, 1.5): many hard questions, a few easy ones. The
# exact allocation (the greedy, exact here because pass@k gains are concave) is compared with uniform sampling and
# with sampling in proportion to uncertainty p(1-p), at equal budgets.

# %%
budgets = [1, 2, 4, 8, 16]
curves = {"exact": [], "uniform": [], "proportional": []}
for spq in budgets:
    p = ob.SampleAllocation.random(120, samples_per_question=spq, max_samples=64, seed=0)
    for method in curves:
        r = ob.solve(p, method=None if method == "exact" else method)
        assert p.is_feasible(r.x)
        curves[method].append(r.objective)
fig, ax = plt.subplots(figsize=(5, 3.5))
for label, acc in curves.items():
    ax.plot(budgets, acc, "o-", label=label)
ax.set_xscale("log", base=2)
ax.set_xlabel("samples per question (budget / N)")
ax.set_ylabel("expected pass@k accuracy")
ax.legend()
plt.show()
print("gain of the exact allocation over uniform:", [f"{e - u:+.3f}" for e, u in zip(curves["exact"], curves["uniform"])])

# %% [markdown]
# ## Majority vote: when is the greedy exact?
# Without a verifier the answer is the plurality vote. Its accuracy, computed exactly, climbs in steps: an even
# count adds ties, not wins. Its marginal gains are therefore not concave, and the greedy can stop too early. The
# model checks this on the computed table. The `greedy` method then solves the multiple-choice knapsack instead
# and says so in `stats`.

# %%
q = ob.SampleAllocation.random(80, objective="majority_vote", n_answers=4, samples_per_question=6, seed=1)
table = q.accuracy_table()
fig, ax = plt.subplots(figsize=(5, 3.5))
for i in range(4):
    ax.plot(table[i], ".-", label=f"question {i}, π_correct = {q.answer_probabilities[i, 0]:.2f}")
ax.set_xlabel("samples n")
ax.set_ylabel("majority-vote accuracy")
ax.legend(fontsize=7)
plt.show()
print(q.concavity())
r = ob.solve(q, method="greedy")
print(r.stats["exact_by"], "-", r.stats["greedy_refused"])
for method in ("uniform", "proportional"):
    print(f"{method:12s} {ob.solve(q, method=method).objective:.4f}")
print(f"exact        {r.objective:.4f}")

# %% [markdown]
# ## Adaptive sampling
# With feedback between batches the allocation can react. Under pass@k a solved question stops at once. Under
# majority vote a question stops once the Beta rule of Adaptive-Consistency is confident in its leader. Here is
# the realised accuracy over 10 simulated runs, at the same budget as above. The offline optimum knows every
# question's true probabilities; the adaptive sampler only sees its samples. With a verifier that is enough to beat
# the offline optimum. Without one a confident wrong answer looks like a confident right one.

# %%
for name, prob in (("pass@k", ob.SampleAllocation.random(80, samples_per_question=6, seed=1)), ("majority vote", q)):
    runs = [simulate_adaptive(prob, seed=s, batch_budget=prob.budget / 8) for s in range(10)]
    offline = ob.solve(prob).objective
    print(
        f"{name:14s} offline exact {offline:.3f}   adaptive {np.mean([r['accuracy'] for r in runs]):.3f} "
        f"(mean spend {np.mean([r['cost'] for r in runs]):.0f} of {prob.budget})"
    )

# %% [markdown]
# ## The routing frontier
# 300 queries and 4 models, each 4× dearer than the last with diminishing returns in quality. The exact optimum at
# each budget traces the frontier; the LP bound lies just above it. The dots are the always-one-model routings.

# %%
route = ob.ModelRouting.random(300, 4, seed=0)
lo, hi = route.cost_of(route.always(0)), route.cost_of(route.always(3))
f = route.frontier(np.linspace(lo, hi, 10).astype(int))
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(f["cost"], f["accuracy"], "o-", label="exact frontier")
ax.plot(f["budget"], f["lp_bound"], ":", label="LP bound")
for name, (cost, acc) in f["always"].items():
    ax.plot(cost, acc, "s", label=f"always model {name}")
ax.set_xscale("log")
ax.set_xlabel("cost (micro-dollars)")
ax.set_ylabel("mean predicted quality")
ax.legend(fontsize=7)
plt.show()
strong_cost, strong_acc = f["always"]["3"]
cost, _ = route.min_cost_for(strong_acc)
print(
    f"always-strong accuracy {strong_acc:.3f} costs {strong_cost}; the frontier reaches it for {cost} "
    f"({1 - cost / strong_cost:.0%} saved)"
)

# %% [markdown]
# ## Online pacing
# Queries now arrive one at a time and the decision is final. Dual mirror descent prices the budget. It upgrades a
# query above its cheapest model only when the quality gained beats the price of the extra cost. Here is the spend
# over time against the even pace, and the regret against the hindsight optimum.

# %%
paced = route.with_budget(int(lo + 0.3 * (hi - lo)))
r = ob.solve(paced, method="dmd")
spent = np.cumsum(paced.costs[np.arange(paced.n_queries), r.x])
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(spent / paced.budget, label="DMD spend")
ax.plot(np.arange(1, paced.n_queries + 1) / paced.n_queries, "--", label="even pace")
ax.set_xlabel("query")
ax.set_ylabel("share of budget spent")
ax.legend()
plt.show()
print(
    f"online {r.objective:.4f}  hindsight {r.stats['hindsight']:.4f}  regret {r.stats['regret']:.4f}  "
    f"spent {r.stats['spent'][0]:.0f} of {paced.budget}"
)
