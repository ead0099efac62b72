"""The bidding baselines (orbudget/solvers/numba/bidding_baselines.py): Lin's base bid per budget fraction (with_budget
and from_ipinyou agree), option checks and huge bid scales."""

import json

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems.bidding import BUDGET_FRACTIONS

from ..conftest import small_campaign


def _tiny_ipinyou(folder):
    """A campaign folder named like an official one (2997) with a small info.json and log, so the loader's budget and
    Lin lookups can be tested without the shared data."""
    folder.mkdir(parents=True)
    counts = np.zeros(301, int)
    counts[[3, 10, 40, 90]] = [50, 30, 15, 5]
    cost = int(np.arange(301) @ counts)
    (folder / "info.json").write_text(
        json.dumps({"imp_train": int(counts.sum()), "clk_train": 3, "cost_train": cost, "price_counter_train": counts.tolist()})
    )
    rng = np.random.default_rng(0)
    lines = [f"{int(rng.random() < 0.01)} {int(rng.choice([3, 10, 40, 90]))} {rng.uniform(0.001, 0.05):.5f}" for _ in range(3000)]
    (folder / "test.theta.txt").write_text("\n".join(lines) + "\n")
    return folder


def _same_fields(a, b):
    import dataclasses

    from orbudget.core.io import values_equal

    for f in dataclasses.fields(a):
        assert values_equal(getattr(a, f.name), getattr(b, f.name)), f.name


def test_lin_clicks_on_2997_at_every_budget_fraction(data_dir):
    """Lin with the official b0 per c0 (reference §2): with_budget and results_table used to keep c0 = 1/32's b0 = 10
    (71 clicks at every c0) and a budget from the smoothed mean price."""
    from orbudget.problems.bidding import results_table

    folder = data_dir / "ipinyou" / "2997"
    base = ob.BiddingCampaign.from_ipinyou(folder, 1000, 1 / 32)
    want = [71, 77, 93, 242, 377]
    for c0, clicks in zip(BUDGET_FRACTIONS, want):
        c = base.with_budget(fraction=c0)
        _same_fields(c, ob.BiddingCampaign.from_ipinyou(folder, 1000, c0))
        assert ob.solve(c, method="linear").stats["clicks"] == clicks, c0
    rows = results_table(base, methods=("linear",))
    assert [r["score"] for r in rows] == want
    assert [r["budget"] for r in rows] == [ob.BiddingCampaign.from_ipinyou(folder, 1000, f).budget for f in BUDGET_FRACTIONS]


def test_bidding_options_are_checked():
    c = small_campaign()
    for method, options, fragment in (
        ("ortb", {"bid_function": "2"}, "`options.bid_function` must be 1 or 2"),
        ("ortb", {"bid_function": 1.5}, "`options.bid_function`"),
        ("ortb", {"bid_function": True}, "`options.bid_function`"),
        ("ortb", {"lam": 0}, "`options.lam` must be > 0"),
        ("linear", {"base_bid": 10, "base_bid_from": "tuned"}, "cannot be combined with `options.base_bid`"),
        ("linear", {"base_bid_from": "guess"}, "`options.base_bid_from` must be one of"),
        ("linear", {"base_bid": -1}, "`options.base_bid`"),
        ("constant", {"bid": c.max_bid + 1}, f"`options.bid` must be <= {c.max_bid}"),
        ("constant", {"bid": 2.5}, "`options.bid` must be a whole number"),
        ("random", {"range": np.inf}, "`options.range`"),
        ("dual_pacing", {"scale": -1}, "`options.scale` must be >= 0"),
        ("rlb", {"anything": 1}, "unknown key `anything` for method 'rlb'"),
    ):
        with pytest.raises(ob.InvalidProblemError, match=fragment):
            ob.solve(c, method=method, options=options)


@pytest.mark.parametrize(
    "method, options",
    [("linear", {"base_bid": 1e300}), ("random", {"range": 1e300}), ("ortb", {"lam": 1e-300}), ("linear", {"base_bid": 2.0**63})],
)
def test_huge_bid_scales_cap_bids_instead_of_wrapping(method, options):
    """⌊θ·b0/θ̄⌋ with b0 = 1e300 used to wrap to INT64_MIN in the int64 cast: every bid became negative and lost."""
    c = small_campaign()
    r = ob.solve(c, method=method, seed=0, options=options)
    assert (r.x >= 0).all() and (r.x <= c.max_bid).all()
    top = ob.solve(c, method="constant", options={"bid": c.max_bid})  # huge bids act as the top bid, capped by b
    assert r.stats["impressions"] == top.stats["impressions"] > 0 and r.stats["cost"] == top.stats["cost"]
    won = r.x >= c.price
    for e in range(c.n_episodes):
        s = slice(e * c.episode_length, (e + 1) * c.episode_length)
        assert c.price[s][won[s]].sum() <= c.budget


def test_with_budget_recomputes_what_from_ipinyou_derives(tmp_path):
    folder = _tiny_ipinyou(tmp_path / "2997")
    for start in (1 / 32, 1 / 2):
        base = ob.BiddingCampaign.from_ipinyou(folder, 100, start)
        for c0 in BUDGET_FRACTIONS:
            _same_fields(base.with_budget(fraction=c0), ob.BiddingCampaign.from_ipinyou(folder, 100, c0))
        _same_fields(base.with_budget(fraction=1 / 8, episode_length=50), ob.BiddingCampaign.from_ipinyou(folder, 50, 1 / 8))
    info = json.loads((folder / "info.json").read_text())
    c = ob.BiddingCampaign.from_ipinyou(folder, 100, 1 / 4)
    assert c.budget == int(((info["cost_train"] / info["imp_train"]) * (1 / 4)) * 100) != int(c.mean_price * 25)
    assert c.lin_base_bid == 85  # the official 2997 value at c0 = 1/4
    other = c.with_budget(fraction=1 / 3)  # no official b0 for this fraction: lin tunes or solves it
    assert other.lin_base_bid is None and ob.solve(other, method="linear").stats["base_bid_from"] == "solved"
    # a base bid belongs to its budget: a new budget or episode length does not carry it
    assert c.with_budget(c.budget).lin_base_bid == 85 and c.with_budget(c.budget + 1).lin_base_bid is None
    assert c.with_budget(episode_length=200).lin_base_bid is None
    with pytest.raises(ob.InvalidProblemError, match="`budget` or `fraction`, not both"):
        c.with_budget(5, fraction=1 / 8)
    # the synthetic generator's budgets follow its market's mean price, and with_budget agrees with it
    kw = dict(n_test=500, n_train=2000, episode_length=100, seed=3)
    _same_fields(
        ob.BiddingCampaign.synthetic(budget_fraction=1 / 32, **kw).with_budget(fraction=1 / 4),
        ob.BiddingCampaign.synthetic(budget_fraction=1 / 4, **kw),
    )
