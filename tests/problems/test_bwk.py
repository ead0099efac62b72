"""The bandits-with-knapsacks model (orbudget/problems/bwk.py): validation naming the field, files, and its
Gymnasium-style environment."""

import pytest

import orbudget as ob

# -- bad inputs ---------------------------------------------------------------------------------------------------
ONE = dict(reward_means=[0.5], consumption_means=[[0.5]], budgets=[5], horizon=10)


BAD = [
    (dict(reward_means=[1.5], consumption_means=[[0.5]], budgets=[5], horizon=10), "`reward_means` must be <= 1"),
    (dict(reward_means=[0.5], consumption_means=[[-0.1]], budgets=[5], horizon=10), "`consumption_means` must be >= 0"),
    ({**ONE, "consumption_means": [[0.5, 0.5]]}, "`consumption_means` must be of shape (1, 1)"),
    (dict(reward_means=[0.5], consumption_means=[[0.5]], budgets=[0.5], horizon=10), "`budgets` must be >= 1"),
    (dict(reward_means=[0.5], consumption_means=[[0.5]], budgets=[5], horizon=0), "`horizon` must be >= 1"),
    ({**ONE, "distribution": "gauss"}, "`distribution` must be one of"),
    ({**ONE, "distribution": "sampler"}, "`sampler` must be a callable"),
    (dict(budgets=[5], horizon=2, distribution="adversarial"), "`rewards` (T, K) and `consumptions` (T, K, d) are required"),
    (
        dict(budgets=[5], horizon=2, distribution="adversarial", rewards=[[0.5]], consumptions=[[[0.5]]]),
        "`rewards` must be of shape (2, any)",
    ),
    (dict(reward_means=[0.5], budgets=[5], horizon=10), "`reward_means` (K,) and `consumption_means` (K, d) are required"),
]


@pytest.mark.parametrize("kwargs, fragment", BAD)
def test_bad_inputs_name_the_field(kwargs, fragment):
    with pytest.raises(ob.InvalidProblemError) as info:
        ob.BanditsWithKnapsacks(**kwargs)
    assert fragment in str(info.value)


def test_save_load(tmp_path):
    p = ob.BanditsWithKnapsacks.random(4, 2, horizon=50, seed=1)
    assert ob.load(ob.save(p, tmp_path / "b.json")) == p
