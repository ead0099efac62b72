"""The live bidders (orbudget/solvers/numba/bidders.py): ``RLBBidder`` and ``PacingBidder`` bid as the replay does."""

import numpy as np
import pytest

import orbudget as ob


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


def test_a_won_auction_without_a_price_is_refused_by_name():
    from orbudget.solvers.numba.bidders import PacingBidder

    c = ob.BiddingCampaign.synthetic(n_test=120, n_train=2000, episode_length=40, budget_fraction=1 / 4, seed=3)
    for bidder in (ob.RLBBidder(c), PacingBidder(c)):
        bidder.act(0.01)
        before = bidder.state_dict()
        with pytest.raises(ob.InvalidProblemError, match="`price` is missing"):
            bidder.update(won=True)
        assert bidder.state_dict() == before  # nothing was spent or counted
        bidder.update(won=False)  # a lost auction still needs no price
        assert bidder.remaining_auctions == c.episode_length - 1


@pytest.mark.parametrize("change", [{"remaining_budget": -1}, {"remaining_auctions": 10**9}, {"mu": float("nan")}])
def test_pacing_bidder_refuses_a_corrupted_state(change):
    from orbudget.solvers.numba.bidders import PacingBidder

    c = ob.BiddingCampaign.synthetic(n_test=100, n_train=500, episode_length=20, budget_fraction=1 / 4, seed=0)
    b = PacingBidder(c)
    with pytest.raises(ob.InvalidProblemError, match=f"`state` entry `{next(iter(change))}`"):
        b.load_state_dict({**b.state_dict(), **change})
    with pytest.raises(ob.InvalidProblemError, match="`state`"):
        b.load_state_dict(3)  # used to raise AttributeError
