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

from ..conftest import needs
from .test_kernels import twin

METHODS = ["rlb", "rlb_exact", "ss_mdp", "lin", "mcpc", "const", "rand", "ortb", "dual_pacing"]


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

    camps = [ob.BiddingCampaign.synthetic(n_test=10, n_train=20_000, episode_length=40, budget_fraction=f, seed=s)
             for s, f in ((0, 1 / 8), (1, 1 / 2))]
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
            exact = value_tables(c.market_price, c.ctr_mean, 40, budget, stop_loss=(grid, step), zero_at_empty=False,
                                 windowed=windowed)
            np.testing.assert_allclose(exact.cpu().numpy()[0], ref, atol=1e-9)


@needs("torch")
def test_rlb_nn_runs_large_episodes_and_resumes(tmp_path):
    c = ob.BiddingCampaign.synthetic(n_test=60_000, n_train=50_000, episode_length=20_000, budget_fraction=1 / 16,
                                     seed=4)
    ckpt = tmp_path / "nn.pt"
    r = ob.solve(c, method="rlb_nn", options={"horizon0": 500, "steps": 600, "checkpoint": str(ckpt)}, seed=0)
    assert ckpt.exists() and r.stats["max_episode_spend"] <= c.budget and r.stats["episodes"] == 3
    again = ob.solve(c, method="rlb_nn", options={"horizon0": 500, "steps": 600, "checkpoint": str(ckpt)}, seed=0)
    assert again.objective == pytest.approx(r.objective)  # resumed at step 600: nothing left to train, same net
    lin = ob.solve(c, method="lin")
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
            ratio = ob.solve(c, method="rlb_exact").objective / ob.solve(c, method="lin").objective
            assert ratio >= (1.01 if f <= 1 / 16 else 0.995), (spread, f, ratio)
            if spread == 1.5 and f == 1 / 32:
                assert ob.solve(c, method="rlb").objective < ob.solve(c, method="lin").objective


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
    assert results["rlb"].objective > results["lin"].objective > results["mcpc"].objective


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
