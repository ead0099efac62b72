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
# # Real-time bidding as a budgeted MDP
#
# A campaign bids in T auctions with budget B. The value V(t, b) of having t auctions and b budget left gives the
# optimal bid for each impression's predicted click rate θ (Cai et al., WSDM 2017). This notebook:
# - draws the value function and the bid curves;
# - compares the exact CTR-integrated DP with the paper's θ̄-DP and the baselines;
# - replays iPinYou campaign 2997 when its log is available.

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import orbudget as ob
from orbudget.problems.bidding import results_table
from orbudget.solvers.numba.bidding import rlb_bid, rlb_table

# %% [markdown]
# ## A synthetic market
# Prices are log-normal with median 50. Click rates are logit-normal around 0.1% with spread σc = 1. The budget is
# 1/32 of what winning every auction would cost.

# %%
market = ob.BiddingCampaign.synthetic(n_test=100_000, n_train=100_000, ctr_spread=1.0, budget_fraction=1 / 32, seed=0)
print(market.name, "| B =", market.budget, "| θ̄ =", round(market.ctr_mean, 5), "| mean price", round(market.mean_price, 1))

# %% [markdown]
# ## The value function and the bids
# D(t, b) = V(t, b+1) − V(t, b) is the marginal value of one more unit of budget. It falls as the budget per
# remaining auction grows. The bid for a given θ rises with the budget.

# %%
v = rlb_table(market, exact=True)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
im = axes[0].imshow(np.diff(v, axis=1)[1:, :], aspect="auto", origin="lower", cmap="viridis")
axes[0].set_xlabel("budget left b")
axes[0].set_ylabel("auctions left t")
axes[0].set_title("D(t, b) = V(t, b+1) − V(t, b)")
fig.colorbar(im, ax=axes[0])
thetas = np.linspace(0, 0.01, 200)
for b in (200, 800, 2000):
    axes[1].plot(thetas, [rlb_bid(v, 500, b, th, market.max_bid) for th in thetas], label=f"t = 500, b = {b}")
axes[1].set_xlabel("predicted CTR θ")
axes[1].set_ylabel("bid")
axes[1].legend()
plt.show()

# %% [markdown]
# ## The results table: methods × budget fractions
# Scores are expected clicks over 100 test episodes. `linear`, `constant`, `random` and `ortb` are tuned on the training
# log.

# %%
rows = results_table(market, methods=("rlb_exact", "rlb", "linear", "ortb", "dual_pacing", "mcpc", "constant"))
fractions = sorted({r["budget_fraction"] for r in rows})
methods = list(dict.fromkeys(r["method"] for r in rows))
print("c0     " + "".join(f"{m:>12s}" for m in methods))
for f in fractions:
    scores = {r["method"]: r["score"] for r in rows if r["budget_fraction"] == f}
    print(f"1/{round(1 / f):<5d}" + "".join(f"{scores[m]:12.2f}" for m in methods))
lin = {r["budget_fraction"]: r["score"] for r in rows if r["method"] == "linear"}
exact = {r["budget_fraction"]: r["score"] for r in rows if r["method"] == "rlb_exact"}
print("rlb_exact / lin:", {f"1/{round(1 / f)}": round(exact[f] / lin[f], 3) for f in fractions})

# %% [markdown]
# ## iPinYou campaign 2997
# The project's log has 156,063 auctions; 157 episodes are played at T = 1000. Lin uses the official tuned base
# bid.

# %%
folder = Path("../../shared/data/ipinyou/2997")
if folder.is_dir():
    camp = ob.BiddingCampaign.from_ipinyou(folder, 1000, 1 / 32)
    for method in ("rlb", "rlb_exact", "ss_mdp", "linear", "ortb", "dual_pacing", "mcpc"):
        r = ob.solve(camp, method=method)
        s = r.stats
        print(
            f"{method:12s} clicks {s['clicks']:5.0f}  imps {s['impressions']:7.0f}  win rate {s['win_rate']:.3f}  "
            f"CPM {s['cpm']:.1f}  eCPC {s['ecpc']:.2f}"
        )
else:
    print(f"iPinYou data not found at {folder.resolve()}; skipping this section")
