"""Real-time bidding: the DPs against brute-force expectimax, structure of V and of the bids, exact policy
evaluation, torch against numba, budgets per episode, the iPinYou log, and bad input."""

import functools
import json

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems.bidding import BUDGET_FRACTIONS, parse_log
from orbudget.solvers.numba import _bidding as k
from orbudget.solvers.numba.bidding import rlb_table, stop_loss_grid

from ..conftest import needs, twin

METHODS = ["rlb", "rlb_exact", "ss_mdp", "linear", "mcpc", "constant", "random", "ortb", "dual_pacing"]


def expectimax(pmf, atoms, weights, horizon, budget, zero_at_empty):
    """Memoised expectimax over (t, b): the bidder sees θ, picks a bid, the price δ ~ m is drawn; ties win."""
    max_bid = len(pmf) - 1

    @functools.cache
    def value(t, b):
        if t == 0 or (zero_at_empty and b == 0):
            return 0.0
        total = 0.0
        for theta, w in zip(atoms, weights):
            best = -np.inf
            for a in range(min(b, max_bid) + 1):
                win = sum(pmf[d] * (theta + value(t - 1, b - d)) for d in range(a + 1))
                lose = (1 - sum(pmf[: a + 1])) * value(t - 1, b)
                best = max(best, win + lose)
            total += w * best
        return total

    return np.array([[value(t, b) for b in range(budget + 1)] for t in range(horizon)])


def test_dps_equal_brute_force_expectimax():
    rng = np.random.default_rng(0)
    for _ in range(4):
        pmf = rng.dirichlet(np.ones(4))  # δmax = 3
        theta_bar = float(rng.uniform(0.2, 0.9))
        v = twin(k.value_table)(6, 8, pmf, theta_bar, True)
        np.testing.assert_allclose(v, expectimax(pmf, [theta_bar], [1.0], 6, 8, True), atol=1e-12)
        np.testing.assert_allclose(k.value_table(6, 8, pmf, theta_bar, True), v, atol=1e-15)
        # CTR-integrated DP on two atoms that sit on the stop-loss grid nodes (so interpolation is exact)
        atoms = [0.3, 0.9]
        sample = np.array([0.3, 0.3, 0.9])
        grid, step = stop_loss_grid(sample)
        v = k.value_table_exact(6, 8, pmf, grid, step)
        np.testing.assert_allclose(v, expectimax(pmf, atoms, [2 / 3, 1 / 3], 6, 8, False), atol=1e-12)


def test_value_structure_and_bids():
    c = ob.BiddingCampaign.synthetic(n_test=2000, n_train=20_000, episode_length=60, budget_fraction=1 / 4, seed=3)
    for exact in (False, True):
        v = rlb_table(c, exact)
        assert (v[0] == 0).all()
        assert (np.diff(v, axis=0) >= -1e-12).all() and (np.diff(v, axis=1) >= -1e-12).all()
        assert v[-1].max() <= (c.episode_length - 1) * (c.ctr_sample.mean() if exact else c.ctr_mean) + 1e-9
        thetas = np.sort(np.concatenate([c.ctr_sample[:200], [0.0, 1.0]]))
        for t in (1, 7, 59):
            for b in (0, 1, 5, 40, c.budget):
                bids = [k.dp_bid(v, t, b, th, c.max_bid) for th in thetas]
                assert all(0 <= a <= min(b, c.max_bid) for a in bids)
                assert all(x <= y for x, y in zip(bids, bids[1:]))  # nondecreasing in the CTR


def test_public_rlb_bid_is_the_papers_rule_and_checks_its_range():
    from orbudget.solvers.numba.bidding import rlb_bid

    c = ob.BiddingCampaign.synthetic(n_test=2000, n_train=20_000, episode_length=60, budget_fraction=1 / 4, seed=3)
    v = rlb_table(c, True)

    def rule(t, b, theta):  # written out: the largest δ reached by scanning up while θ + V(t−1, b−δ) − V(t−1, b) >= 0
        a = 0
        while a < min(b, c.max_bid) and theta + v[t - 1, b - a - 1] - v[t - 1, b] >= 0:
            a += 1
        return a

    for t in (1, 2, 30, 59):
        for b in (0, 3, 40, c.budget):
            for theta in (0.0, float(np.median(c.ctr_sample)), 1.0):
                assert rlb_bid(v, t, b, theta, c.max_bid) == rule(t, b, theta)
    for t, b in [(0, 1), (61, 1), (5, -1), (5, c.budget + 1)]:
        with pytest.raises(ob.InvalidProblemError, match="`t` must be in 1..60"):
            rlb_bid(v, t, b, 0.5, c.max_bid)


def test_live_rlb_bidder_bids_as_the_replay_and_keeps_its_budget():
    c = ob.BiddingCampaign.synthetic(n_test=120, n_train=2000, episode_length=40, budget_fraction=1 / 4, seed=3)
    r = ob.solve(c, method="rlb_exact")
    bidder = ob.RLBBidder(c, exact=True)
    bids = []
    for start in range(0, c.n_auctions, c.episode_length):  # the replay's episodes, auction by auction
        bidder.reset()
        for i in range(start, min(start + c.episode_length, c.n_auctions)):
            a = bidder.act(c.ctr[i])
            bids.append(a)
            assert 0 <= a <= bidder.remaining_budget
            bidder.update(won=a >= c.price[i], price=c.price[i])
            assert bidder.remaining_budget >= 0
    np.testing.assert_array_equal(bids, r.x)
    saved = bidder.state_dict()
    other = ob.RLBBidder(c)
    other.load_state_dict(saved)
    assert other.state_dict() == saved
    with pytest.raises(ob.InvalidProblemError, match="no auction left"):
        bidder.act(0.001)
    bidder.reset()
    with pytest.raises(ob.InvalidProblemError, match="`price`"):
        bidder.update(won=True, price=c.budget + 1)
    with pytest.raises(ob.InvalidProblemError, match="`remaining_budget`"):
        other.load_state_dict({"remaining_budget": c.budget + 1, "remaining_auctions": 3})


def test_live_pacing_bidder_bids_as_the_replay_and_needs_no_price_when_lost():
    from orbudget.solvers.numba.bidders import PacingBidder

    c = ob.BiddingCampaign.synthetic(n_test=150, n_train=2000, episode_length=50, budget_fraction=1 / 8, seed=4)
    r = ob.solve(c, method="dual_pacing")
    bidder = PacingBidder(c)
    assert (bidder.kappa, bidder.step_size, bidder.initial_dual) == pytest.approx(
        (r.stats["kappa"], r.stats["step_size"], r.stats["initial_dual"]), rel=0, abs=0
    )
    bids, mus = [], set()
    for start in range(0, c.n_auctions, c.episode_length):
        bidder.reset()
        for i in range(start, min(start + c.episode_length, c.n_auctions)):
            a = bidder.act(c.ctr[i])
            bids.append(a)
            if a >= c.price[i]:
                bidder.update(won=True, price=c.price[i])
            else:
                bidder.update(won=False)  # no price: a lost auction's is unknown
            mus.add(bidder.mu)
            assert bidder.remaining_budget >= 0 and bidder.mu >= 0
    np.testing.assert_array_equal(bids, r.x)
    assert len(mus) > 10  # the dual moved
    state = bidder.state_dict()
    other = PacingBidder(c)
    other.load_state_dict(state)
    assert other.state_dict() == state
    with pytest.raises(ob.InvalidProblemError, match="`mu`"):
        other.load_state_dict({**state, "mu": -1.0})


def test_exact_policy_evaluation_equals_the_value():
    """Forward expectation of the CTR-integrated policy under its own model equals V(T, B)."""
    rng = np.random.default_rng(5)
    pmf = rng.dirichlet(np.ones(6))
    sample = np.array([0.8 / 3, 1.6 / 3, 1.6 / 3, 0.8])  # on the stop-loss grid nodes: interpolation is exact
    grid, step = stop_loss_grid(sample)
    horizon, budget = 12, 15
    v = k.value_table_exact(horizon + 1, budget, pmf, grid, step)
    dist = np.zeros(budget + 1)
    dist[budget] = 1.0
    expected = 0.0
    for t in range(horizon, 0, -1):
        new = np.zeros_like(dist)
        for b in np.flatnonzero(dist > 0):
            for theta in sample:
                w = dist[b] / sample.size
                a = k.dp_bid(v, t, b, theta, pmf.size - 1)
                for d in range(a + 1):
                    expected += w * pmf[d] * theta
                    new[b - d] += w * pmf[d]
                new[b] += w * (1 - pmf[: a + 1].sum())
        dist = new
    assert expected == pytest.approx(v[horizon, budget], abs=1e-9)


@needs("torch")
def test_torch_batched_dp_equals_numba():
    from orbudget.solvers.torch.bidding import value_tables

    camps = [
        ob.BiddingCampaign.synthetic(n_test=10, n_train=20_000, episode_length=40, budget_fraction=f, seed=s)
        for s, f in ((0, 1 / 8), (1, 1 / 2))
    ]
    budget = max(c.budget for c in camps)
    pmfs = np.stack([c.market_price for c in camps])
    tables = value_tables(pmfs, [c.ctr_mean for c in camps], 40, budget).cpu().numpy()
    windowed = value_tables(pmfs, [c.ctr_mean for c in camps], 40, budget, windowed=True).cpu().numpy()
    np.testing.assert_allclose(windowed, tables, atol=1e-12)  # the GPU formulation, run on the CPU here
    for i, c in enumerate(camps):
        ref = k.value_table(40, budget, c.market_price, c.ctr_mean, True)
        np.testing.assert_allclose(tables[i], ref, atol=1e-9)  # the numba kernel's saturation stop is at 1e-10
        grid, step = stop_loss_grid(c.ctr_sample)
        ref = k.value_table_exact(40, budget, c.market_price, grid, step)
        for windowed in (False, True):
            exact = value_tables(
                c.market_price, c.ctr_mean, 40, budget, stop_loss=(grid, step), zero_at_empty=False, windowed=windowed
            )
            np.testing.assert_allclose(exact.cpu().numpy()[0], ref, atol=1e-9)


@needs("torch")
def test_rlb_nn_runs_large_episodes_and_resumes(tmp_path):
    c = ob.BiddingCampaign.synthetic(n_test=60_000, n_train=50_000, episode_length=20_000, budget_fraction=1 / 16, seed=4)
    ckpt = tmp_path / "nn.pt"
    r = ob.solve(c, method="rlb_nn", options={"horizon0": 500, "steps": 600, "checkpoint": str(ckpt)}, seed=0)
    assert ckpt.exists() and r.stats["max_episode_spend"] <= c.budget and r.stats["episodes"] == 3
    again = ob.solve(c, method="rlb_nn", options={"horizon0": 500, "steps": 600, "checkpoint": str(ckpt)}, seed=0)
    assert again.objective == pytest.approx(r.objective)  # resumed at step 600: nothing left to train, same net
    lin = ob.solve(c, method="linear")
    assert r.objective >= 0.9 * lin.objective


def test_no_episode_spends_beyond_its_budget():
    c = ob.BiddingCampaign.synthetic(n_test=30_000, n_train=30_000, episode_length=500, budget_fraction=1 / 8, seed=2)
    for method in METHODS:
        r = ob.solve(c, method=method, seed=0)
        bids, price = r.x, c.price
        won = bids >= price
        for e in range(c.n_episodes):
            s = slice(e * c.episode_length, (e + 1) * c.episode_length)
            assert price[s][won[s]].sum() <= c.budget, method
            assert (bids[s] >= 0).all() and (bids[s] <= c.max_bid).all()
        assert r.stats["max_episode_spend"] <= c.budget
        assert r.stats["impressions"] == won.sum()


@pytest.mark.slow
def test_rlb_exact_beats_tuned_lin_on_synthetic_markets():
    """Expected clicks, 200 test episodes of T = 1000: the CTR-integrated RLB is >= 0.995 x tuned Lin in every cell
    and >= 1.01 x at c0 = 1/32 and 1/16; the paper's θ̄-DP falls behind Lin at σc = 1.5, c0 = 1/32 (a known
    limitation of plugging in the mean CTR)."""
    for spread in (0.5, 1.0, 1.5):
        base = ob.BiddingCampaign.synthetic(n_test=200_000, n_train=100_000, ctr_spread=spread, seed=1)
        for f in BUDGET_FRACTIONS:
            c = base.with_budget(fraction=f)
            ratio = ob.solve(c, method="rlb_exact").objective / ob.solve(c, method="linear").objective
            assert ratio >= (1.01 if f <= 1 / 16 else 0.995), (spread, f, ratio)
            if spread == 1.5 and f == 1 / 32:
                assert ob.solve(c, method="rlb").objective < ob.solve(c, method="linear").objective


def test_ipinyou_log_and_replay(data_dir):
    folder = data_dir / "ipinyou" / "2997"
    c = ob.BiddingCampaign.from_ipinyou(folder, 1000, 1 / 32)
    assert c.n_auctions == 156_063 and c.click.sum() == 530 and c.price.sum() == 8_617_148
    info = json.loads((folder / "info.json").read_text())
    assert c.n_episodes == 157 and c.budget == int(((info["cost_train"] / info["imp_train"]) * (1 / 32)) * 1000)
    assert c.lin_base_bid == 10
    results = {m: ob.solve(c, method=m, seed=0) for m in METHODS}
    for m, r in results.items():
        assert r.stats["max_episode_spend"] <= c.budget and r.stats["episodes"] == 157, m
        assert r.objective == ob.solve(c, method=m, seed=0).objective  # deterministic
    assert results["rlb"].objective > results["linear"].objective > results["mcpc"].objective


def test_bad_logs_and_budgets(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("0 70 0.002\n1 80\n")
    with pytest.raises(ob.InvalidProblemError, match="bad.txt line 2: expected 'click price pCTR'"):
        parse_log(bad)
    bad.write_text("0 700 0.002\n")
    with pytest.raises(ob.InvalidProblemError, match="price must be in 0..300"):
        parse_log(bad)
    bad.write_text("2 70 0.002\n")
    with pytest.raises(ob.InvalidProblemError, match="click must be 0 or 1"):
        parse_log(bad)
    bad.write_text("0 seventy 0.002\n")
    with pytest.raises(ob.InvalidProblemError, match="not numbers"):
        parse_log(bad)
    pmf = np.full(4, 0.25)
    with pytest.raises(ob.InvalidProblemError, match="`budget` must be >= 0"):
        ob.BiddingCampaign(market_price=pmf, ctr_mean=0.01, episode_length=10, budget=-5)
    with pytest.raises(ob.InvalidProblemError, match="`budget` must be a whole number"):
        ob.BiddingCampaign(market_price=pmf, ctr_mean=0.01, episode_length=10, budget=2.5)
    with pytest.raises(ob.InvalidProblemError, match="`market_price` must sum to 1"):
        ob.BiddingCampaign(market_price=[0.5, 0.2], ctr_mean=0.01, episode_length=10, budget=5)
    with pytest.raises(ob.InvalidProblemError, match="`price` must be <= 3"):
        ob.BiddingCampaign(market_price=pmf, ctr_mean=0.01, episode_length=10, budget=5, ctr=[0.1], price=[7])
    with pytest.raises(ob.InvalidProblemError, match="`budget_fraction` must be > 0"):
        ob.BiddingCampaign.synthetic(n_test=10, n_train=10, budget_fraction=0)
    c = ob.BiddingCampaign(market_price=pmf, ctr_mean=0.01, episode_length=10, budget=5)
    with pytest.raises(ob.InvalidProblemError, match="no auction log to replay"):
        ob.solve(c, method="rlb")


# -- issue 13: budgets per fraction, checkpoints, seeds, options and table sizes ---------------------------------------
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


def _small_campaign(seed=4, **kw):
    return ob.BiddingCampaign.synthetic(
        **{"n_test": 3000, "n_train": 5000, "episode_length": 300, "budget_fraction": 1 / 8, "seed": seed, **kw}
    )


@needs("torch")
def test_rlb_nn_checkpoints_belong_to_their_campaign_and_options(tmp_path):
    c, other = _small_campaign(), _small_campaign(seed=5)
    ckpt = tmp_path / "nn.pt"
    opts = {"horizon0": 20, "steps": 30, "checkpoint": str(ckpt), "device": "cpu"}
    r = ob.solve(c, method="rlb_nn", seed=0, options=opts)
    data = ckpt.read_bytes()
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` belongs to another problem"):
        ob.solve(other, method="rlb_nn", seed=0, options=opts)
    for change in ({"horizon0": 25}, {"dp": "mean"}):
        with pytest.raises(ob.InvalidProblemError, match="`checkpoint` .* was trained with"):
            ob.solve(c, method="rlb_nn", seed=0, options={**opts, **change})
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` .* was trained with"):
        ob.solve(c, method="rlb_nn", seed=1, options=opts)
    with pytest.raises(ob.InvalidProblemError, match="has trained 30 steps, more than `options.steps` = 10"):
        ob.solve(c, method="rlb_nn", seed=0, options={**opts, "steps": 10})
    assert ckpt.read_bytes() == data  # a refused checkpoint is left as it was
    again = ob.solve(c, method="rlb_nn", seed=0, options=opts)
    assert again.stats["resumed_at"] == 30 and again.objective == r.objective
    # files that are not checkpoints: clear errors, not unpickling tracebacks
    import torch

    bad = tmp_path / "bad.pt"
    for content in (b"", b"not a checkpoint", data[: len(data) // 2]):
        bad.write_bytes(content)
        with pytest.raises(ob.InvalidProblemError, match="`checkpoint` .* is not an rlb_nn checkpoint"):
            ob.solve(c, method="rlb_nn", seed=0, options={**opts, "checkpoint": str(bad)})
    ob.save(c, tmp_path / "campaign.json")
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` .* is not an rlb_nn checkpoint"):
        ob.solve(c, method="rlb_nn", seed=0, options={**opts, "checkpoint": str(tmp_path / "campaign.json")})
    state = torch.load(ckpt, weights_only=True)
    for broken, fragment in (
        (dict(state, kind="sequoia"), "got a state of a 'sequoia'"),
        ({key: v for key, v in state.items() if key != "fingerprint"}, "carrying the problem's"),
        ({"net": state["net"], "opt": state["opt"], "step": 30}, "missing 'options'"),
        (dict(state, step=-3), "bad step count"),
        ([1, 2], "a dict from"),
        (dict(state, net={"0.weight": torch.zeros(2)}), "does not hold this network's weights"),
    ):
        torch.save(broken, bad)
        with pytest.raises(ob.InvalidProblemError, match=f"`checkpoint`.*{fragment}"):
            ob.solve(c, method="rlb_nn", seed=0, options={**opts, "checkpoint": str(bad)})
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` must be a file path"):
        ob.solve(c, method="rlb_nn", seed=0, options={**opts, "checkpoint": str(tmp_path)})


@needs("torch")
def test_rlb_nn_seeds_and_devices():
    import torch

    c = _small_campaign()
    opts = {"horizon0": 20, "steps": 20}
    a = ob.solve(c, method="rlb_nn", seed=np.random.default_rng(7), options=opts)
    b = ob.solve(c, method="rlb_nn", seed=np.random.default_rng(7), options=opts)
    assert a.objective == b.objective and a.stats["max_episode_spend"] <= c.budget
    for device, fragment in (
        ("meta", "must be 'cpu' or a CUDA device"),
        (3, "must be a device name"),
        ("tpu", "must be a device name"),
        ("nonsense", "must be a device name"),
    ):
        with pytest.raises(ob.InvalidProblemError, match=f"`options.device` {fragment}"):
            ob.solve(c, method="rlb_nn", options={**opts, "device": device})
    if not torch.cuda.is_available():
        with pytest.raises(ob.InvalidProblemError, match="`options.device` is 'cuda' but CUDA is not available"):
            ob.solve(c, method="rlb_nn", options={**opts, "device": "cuda"})
    with pytest.raises(ob.InvalidProblemError, match="`options.dp` must be one of"):
        ob.solve(c, method="rlb_nn", options={**opts, "dp": "exactly"})
    with pytest.raises(ob.InvalidProblemError, match="`seed` must be >= 0"):
        ob.solve(c, method="rlb_nn", seed=-1, options=opts)


def test_bidding_options_are_checked():
    c = _small_campaign()
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
    c = _small_campaign()
    r = ob.solve(c, method=method, seed=0, options=options)
    assert (r.x >= 0).all() and (r.x <= c.max_bid).all()
    top = ob.solve(c, method="constant", options={"bid": c.max_bid})  # huge bids act as the top bid, capped by b
    assert r.stats["impressions"] == top.stats["impressions"] > 0 and r.stats["cost"] == top.stats["cost"]
    won = r.x >= c.price
    for e in range(c.n_episodes):
        s = slice(e * c.episode_length, (e + 1) * c.episode_length)
        assert c.price[s][won[s]].sum() <= c.budget


def test_huge_budgets_and_horizons_are_refused_with_the_memory_needed():
    c = _small_campaign()
    big = c.with_budget(10**9)
    for method in ("rlb", "rlb_exact", "ss_mdp"):
        with pytest.raises(ob.InvalidProblemError, match=r"`budget` 1000000000 with `episode_length` 300 .* 2235.2 GiB"):
            ob.solve(big, method=method)
    assert ob.solve(big, method="linear").stats["max_episode_spend"] <= big.budget  # no table: fine
    with pytest.raises(ob.InvalidProblemError, match="`budget` must be <= 9007199254740992"):
        c.with_budget(2**60)
    with pytest.raises(ob.InvalidProblemError, match="`episode_length` must be <= 9007199254740992"):
        c.with_budget(episode_length=10**17)


@needs("torch")
def test_rlb_nn_and_torch_tables_refuse_huge_sizes():
    from orbudget.solvers.torch.bidding import value_tables

    c = _small_campaign(episode_length=300_000)
    huge = c.with_budget(10**12)
    with pytest.raises(ob.InvalidProblemError, match="`budget` 1000000000000 with `options.horizon0` 1000 .* GiB"):
        ob.solve(huge, method="rlb_nn", options={"steps": 1})
    with pytest.raises(ob.InvalidProblemError, match="`budget` 1000000000 with `horizon` 1000 .* GiB"):
        value_tables(c.market_price, c.ctr_mean, 1000, 10**9)
    with pytest.raises(ob.InvalidProblemError, match="`device` is 'cuda' but CUDA|`device` must be 'cpu'"):
        value_tables(c.market_price, c.ctr_mean, 5, 5, device="cuda" if not __import__("torch").cuda.is_available() else "meta")
