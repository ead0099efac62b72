"""Fuzz suite for real-time bidding: malformed campaigns, options, rlb_nn checkpoints and files, each run in a child
interpreter (a crash is a failure); and a budget-safety property for every registered method, with each episode's
spend recomputed from the bids and the logged market prices (win iff bid >= price, the winner pays the price)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orbudget as ob

from .conftest import examples
from .harness import Case, suite

PMF = "np.full(4, 0.25)"
C = "c = ob.BiddingCampaign.synthetic(n_test=400, n_train=800, episode_length=40, budget_fraction=1/8, max_bid=30, seed=1)\n"
NN = {"horizon0": 8, "steps": 3}


def campaign(**changes):
    kw = {"market_price": PMF, "ctr_mean": "0.01", "episode_length": "10", "budget": "5", **changes}
    return "ob.BiddingCampaign(" + ", ".join(f"{k}={v}" for k, v in kw.items() if v is not None) + ")"


def solve(method, options=None, seed=None):
    return C + f"result = ob.solve(c, method={method!r}, options={options!r}, seed={seed!r})"


CASES = [
    # -- model fields ------------------------------------------------------------------------------------------------
    Case("pmf does not sum to 1", campaign(market_price="[0.5, 0.2]"), field="market_price"),
    Case("negative pmf", campaign(market_price="[1.5, -0.5]"), field="market_price"),
    Case("pmf with one price", campaign(market_price="[1.0]"), field="market_price"),
    Case("nan pmf", campaign(market_price="[float('nan'), 1.0]"), field="market_price"),
    Case("ctr mean zero", campaign(ctr_mean="0"), field="ctr_mean"),
    Case("ctr mean above 1", campaign(ctr_mean="1.5"), field="ctr_mean"),
    Case("episode length zero", campaign(episode_length="0"), field="episode_length"),
    Case("negative budget", campaign(budget="-1"), field="budget"),
    Case("fractional budget", campaign(budget="2.5"), field="budget"),
    Case("budget beyond float precision", campaign(budget="2**60"), field="budget"),
    Case("budget as text", campaign(budget="'lots'"), field="budget"),
    Case("price above the top bid", campaign(ctr="[0.1]", price="[7]"), field="price"),
    Case("nan ctr", campaign(ctr="[float('nan')]", price="[1]"), field="ctr"),
    Case("ctr without prices", campaign(ctr="[0.1]"), field="ctr"),
    Case("click of 2", campaign(ctr="[0.1]", price="[1]", click="[2]"), field="click"),
    Case("lin base bid table shape", campaign(lin_base_bids="[1, 2, 3]"), field="lin_base_bids"),
    Case("lin base bid table fraction 0", campaign(lin_base_bids="[[0, 10]]"), field="lin_base_bids"),
    Case("zero cost per impression", campaign(cost_per_impression="0"), field="cost_per_impression"),
    Case("name not a string", campaign(name="5"), field="name"),
    Case(
        "synthetic fraction negative",
        "ob.BiddingCampaign.synthetic(n_test=10, n_train=10, budget_fraction=-1)",
        field="budget_fraction",
    ),
    Case(
        "synthetic negative median price",
        "ob.BiddingCampaign.synthetic(n_test=10, n_train=10, price_median=-5)",
        field="price_median",
    ),
    Case("synthetic log too large", "ob.BiddingCampaign.synthetic(n_test=10**12, n_train=10)", field="n_test"),
    Case("with_budget budget and fraction", C + "c.with_budget(5, fraction=1/8)", field="budget"),
    Case("with_budget fraction zero", C + "c.with_budget(fraction=0)", field="budget_fraction"),
    Case("with_budget negative", C + "c.with_budget(-3)", field="budget"),
    # -- options -----------------------------------------------------------------------------------------------------
    Case("ortb bid_function 3", solve("ortb", {"bid_function": 3}), field="options.bid_function"),
    Case("ortb bid_function as text", solve("ortb", {"bid_function": "1"}), field="options.bid_function"),
    Case("ortb lam zero", solve("ortb", {"lam": 0}), field="options.lam"),
    Case("linear unknown base_bid_from", solve("linear", {"base_bid_from": "guess"}), field="options.base_bid_from"),
    Case(
        "linear base_bid_from with base bid",
        solve("linear", {"base_bid_from": "solved", "base_bid": 5}),
        field="options.base_bid_from",
    ),
    Case("lin negative base bid", solve("linear", {"base_bid": -5}), field="options.base_bid"),
    Case("const bid above the top", solve("constant", {"bid": 31}), field="options.bid"),
    Case("rand nan range", C + "ob.solve(c, method='random', options={'range': float('nan')})", field="options.range"),
    Case(
        "dual pacing infinite scale",
        C + "ob.solve(c, method='dual_pacing', options={'scale': float('inf')})",
        field="options.scale",
    ),
    Case("rlb unknown option", solve("rlb", {"speed": 2}), field="options"),
    Case("rand seed as text", solve("random", None, "abc"), field="seed"),
    Case("rlb_nn horizon0 past the episode", solve("rlb_nn", {"horizon0": 41, "steps": 1}), field="options.horizon0"),
    Case("rlb_nn negative steps", solve("rlb_nn", {"horizon0": 8, "steps": -1}), field="options.steps"),
    Case("rlb_nn unknown dp", solve("rlb_nn", {**NN, "dp": "approx"}), field="options.dp"),
    Case(
        "rlb_nn cuda without CUDA",
        C
        + """
import torch
device = 'cuda:99' if torch.cuda.is_available() else 'cuda'
ob.solve(c, method='rlb_nn', options={'horizon0': 8, 'steps': 3, 'device': device})
""",
        field="options.device",
    ),
    Case("rlb_nn device of another kind", solve("rlb_nn", {**NN, "device": "meta"}), field="options.device"),
    Case("rlb_nn negative seed", solve("rlb_nn", NN, -4), field="seed"),
    Case(
        "rlb_nn on one-auction episodes",
        "c = ob.BiddingCampaign.synthetic(n_test=50, n_train=50, episode_length=1, "
        "max_bid=5, seed=0)\nob.solve(c, method='rlb_nn')",
        field="episode_length",
    ),
    Case("rlb on a campaign without a log", "ob.solve(" + campaign() + ", method='rlb')", field="no auction log"),
    # -- huge tables -------------------------------------------------------------------------------------------------
    Case("rlb table too large", C + "ob.solve(c.with_budget(10**10), method='rlb')", field="budget"),
    Case("rlb_exact table too large", C + "ob.solve(c.with_budget(10**10), method='rlb_exact')", field="budget"),
    Case(
        "ss_mdp horizon too large",
        C + "ob.solve(c.with_budget(10, episode_length=10**10), method='ss_mdp')",
        field="episode_length",
    ),
    Case(
        "rlb_nn training table too large",
        C + "ob.solve(c.with_budget(10**13), method='rlb_nn', options={'horizon0': 40, 'steps': 1})",
        field="budget",
    ),
    Case(
        "torch value tables too large",
        "from orbudget.solvers.torch.bidding import value_tables\n"
        "value_tables(np.full(4, 0.25), 0.01, 1000, 10**10, device='cpu')",
        field="budget",
    ),
    # -- rlb_nn checkpoints ------------------------------------------------------------------------------------------
    Case(
        "checkpoint of another campaign",
        C
        + """
import os
path = os.path.join(tmp, 'nn.pt')
ob.solve(c, method='rlb_nn', seed=0, options={'horizon0': 8, 'steps': 3, 'checkpoint': path})
d = ob.BiddingCampaign.synthetic(n_test=400, n_train=800, episode_length=40, budget_fraction=1/8, max_bid=30, seed=2)
ob.solve(d, method='rlb_nn', seed=0, options={'horizon0': 8, 'steps': 3, 'checkpoint': path})
""",
        field="checkpoint",
    ),
    Case(
        "checkpoint with other options",
        C
        + """
import os
path = os.path.join(tmp, 'nn.pt')
ob.solve(c, method='rlb_nn', seed=0, options={'horizon0': 8, 'steps': 3, 'checkpoint': path})
ob.solve(c, method='rlb_nn', seed=0, options={'horizon0': 9, 'steps': 3, 'checkpoint': path})
""",
        field="checkpoint",
    ),
    Case(
        "corrupt checkpoint",
        C
        + """
import os
path = os.path.join(tmp, 'nn.pt')
open(path, 'wb').write(b'PK\\x03\\x04 truncated')
ob.solve(c, method='rlb_nn', options={'horizon0': 8, 'steps': 3, 'checkpoint': path})
""",
        field="checkpoint",
    ),
    Case(
        "empty checkpoint",
        C
        + """
import os
path = os.path.join(tmp, 'nn.pt')
open(path, 'wb').close()
ob.solve(c, method='rlb_nn', options={'horizon0': 8, 'steps': 3, 'checkpoint': path})
""",
        field="checkpoint",
    ),
    Case(
        "checkpoint of the wrong kind",
        C
        + """
import os, torch
path = os.path.join(tmp, 'nn.pt')
torch.save({'kind': 'sequoia', 'net': {}, 'step': 1}, path)
ob.solve(c, method='rlb_nn', options={'horizon0': 8, 'steps': 3, 'checkpoint': path})
""",
        field="checkpoint",
    ),
    Case(
        "pickled code as a checkpoint",
        C
        + """
import os, pickle
path = os.path.join(tmp, 'nn.pt')
pickle.dump(os.getcwd, open(path, 'wb'))
ob.solve(c, method='rlb_nn', options={'horizon0': 8, 'steps': 3, 'checkpoint': path})
""",
        field="checkpoint",
    ),
    Case(
        "saved campaign as a checkpoint",
        C
        + """
import os
path = str(ob.save(c, os.path.join(tmp, 'c.json')))
ob.solve(c, method='rlb_nn', options={'horizon0': 8, 'steps': 3, 'checkpoint': path})
""",
        field="checkpoint",
    ),
    Case("checkpoint path is a folder", solve("rlb_nn", {**NN, "checkpoint": "/tmp"}), field="checkpoint"),
    Case(
        "rlb_nn accepts a Generator seed",
        C
        + """
a = ob.solve(c, method='rlb_nn', seed=np.random.default_rng(3), options={'horizon0': 8, 'steps': 3})
b = ob.solve(c, method='rlb_nn', seed=np.random.default_rng(3), options={'horizon0': 8, 'steps': 3})
assert a.objective == b.objective
result = a
""",
        status=("FEASIBLE",),
    ),
    # -- files -------------------------------------------------------------------------------------------------------
    Case(
        "saved then tampered budget",
        C
        + """
import json, os
path = ob.save(c, os.path.join(tmp, 'c.json'))
d = json.loads(open(path).read())
d['data']['budget'] = -7
open(path, 'w').write(json.dumps(d))
ob.load(path)
""",
        field="budget",
    ),
    Case(
        "saved then tampered lin table",
        C
        + """
import json, os
path = ob.save(c.with_budget(fraction=1/8), os.path.join(tmp, 'c.json'))
d = json.loads(open(path).read())
d['data']['lin_base_bids'] = [[0.125]]
open(path, 'w').write(json.dumps(d))
ob.load(path)
""",
        field="lin_base_bids",
    ),
    Case(
        "save and load round trip",
        C
        + """
import os
c2 = c.with_budget(fraction=1/4)
assert ob.load(ob.save(c2, os.path.join(tmp, 'c.json'))) == c2
""",
    ),
    Case(
        "ipinyou info not JSON",
        """
import os
folder = os.path.join(tmp, '2997'); os.makedirs(folder)
open(os.path.join(folder, 'info.json'), 'w').write('{"imp_train": 5,')
ob.BiddingCampaign.from_ipinyou(folder)
""",
        field="folder",
    ),
    Case(
        "ipinyou info missing a field",
        """
import os, json
folder = os.path.join(tmp, '2997'); os.makedirs(folder)
open(os.path.join(folder, 'info.json'), 'w').write(json.dumps({'imp_train': 5, 'clk_train': 1, 'cost_train': 9}))
ob.BiddingCampaign.from_ipinyou(folder)
""",
        field="price_counter_train",
    ),
    Case(
        "ipinyou zero impressions",
        """
import os, json
folder = os.path.join(tmp, '2997'); os.makedirs(folder)
open(os.path.join(folder, 'info.json'), 'w').write(json.dumps({'imp_train': 0, 'clk_train': 0, 'cost_train': 0,
                                                               'price_counter_train': [0, 0, 0]}))
ob.BiddingCampaign.from_ipinyou(folder)
""",
        field="imp_train",
    ),
    Case(
        "ipinyou log line malformed",
        """
import os
from orbudget.problems.bidding import parse_log
path = os.path.join(tmp, 'test.theta.txt')
open(path, 'w').write('0 5 0.01\\n1 x 0.2\\n')
parse_log(path)
""",
        field="line 2",
    ),
    # -- documented statuses -----------------------------------------------------------------------------------------
    Case(
        "zero budget wins only free auctions",
        C
        + """
z = c.with_budget(0)
result = ob.solve(z, method='rlb')
assert result.stats['cost'] == 0 and (result.x == 0).all()
""",
        status=("FEASIBLE",),
    ),
    Case(
        "pacing bidder state not a dict",
        C + "from orbudget.solvers.numba.bidders import PacingBidder\nPacingBidder(c).load_state_dict(3)",
        field="state",
    ),
    Case(
        "pacing bidder state with a NaN dual",
        C + "from orbudget.solvers.numba.bidders import PacingBidder\nb = PacingBidder(c)\n"
        "b.load_state_dict({**b.state_dict(), 'mu': float('nan')})",
        field="mu",
    ),
]


outcomes, test_malformed, test_summary = suite(CASES, "bidding")


# -- budget safety ---------------------------------------------------------------------------------------------------
def options_for(method, c):
    """Small training for rlb_nn (the property is about spend, not the fit); the other methods take their defaults."""
    return {"horizon0": min(6, c.episode_length), "steps": 4, "device": "cpu"} if method == "rlb_nn" else None


@st.composite
def campaigns(draw):
    """Tiny synthetic markets; budgets of zero, exactly one logged price, one top price, or a drawn fraction."""
    max_bid = draw(st.integers(2, 25))
    horizon = draw(st.integers(2, 30))
    c = ob.BiddingCampaign.synthetic(
        n_test=draw(st.integers(1, 150)),
        n_train=draw(st.integers(20, 300)),
        episode_length=horizon,
        max_bid=max_bid,
        price_median=draw(st.sampled_from([1, 5, 20])),
        ctr_spread=draw(st.sampled_from([0.0, 1.0, 2.0])),
        correlation=draw(st.sampled_from([0.0, 0.5])),
        budget_fraction=draw(st.sampled_from([1 / 32, 1 / 4, 1.0])),
        seed=draw(st.integers(0, 999)),
    )
    kind = draw(st.sampled_from(["zero", "one price", "top price", "fraction"]))
    if kind == "zero":
        return c.with_budget(0)
    if kind == "one price":
        return c.with_budget(int(c.price[draw(st.integers(0, c.n_auctions - 1))]))
    if kind == "top price":
        return c.with_budget(max_bid)
    return c


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(campaigns(), st.integers(0, 2**31 - 1))
def test_every_method_keeps_every_episode_within_its_budget(c, seed):
    methods = [m for m, _backend, available in ob.available_solvers(c) if available]
    assert {"rlb", "rlb_exact", "linear", "dual_pacing"} <= set(methods)
    for method in methods:
        r = ob.solve(c, method=method, seed=seed, options=options_for(method, c))
        assert r.ok, (method, r.message)
        bids = np.asarray(r.x)
        assert bids.shape == c.price.shape and bids.dtype.kind == "i", method
        assert ((bids >= 0) & (bids <= c.max_bid)).all(), method
        won = bids >= c.price  # ties win; the winner pays the market price
        for e in range(c.n_episodes):
            s = slice(e * c.episode_length, (e + 1) * c.episode_length)
            spend = int(c.price[s][won[s]].sum())
            assert spend <= c.budget, (method, e, spend, c.budget)
        assert r.stats["impressions"] == won.sum() and r.stats["cost"] == int(c.price[won].sum()), method
