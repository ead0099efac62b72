"""The bidding model (orbudget/problems/bidding.py): logs, budgets and what it derives from iPinYou."""

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems.bidding import parse_log


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
