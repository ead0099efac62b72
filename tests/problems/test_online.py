"""OnlineAllocation model, input generators, AdX loader, and the step-by-step DualMirrorDescent policy."""

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems import online_inputs as gen

# -- bad inputs: each names the field --------------------------------------------------------------------------
BAD = [
    (dict(rewards=[[1.0]], budgets=[0.0]), "`budgets` must be positive"),
    (dict(rewards=[[1.0]], budgets=[-1.0]), "`budgets` must be positive"),
    (dict(rewards=[[1.0, 2.0]], budgets=[1.0]), "one column per resource"),
    (dict(rewards=[[np.nan]], budgets=[1.0]), "`rewards` must be finite"),
    (dict(rewards=[1.0], budgets=[1.0]), "`rewards` must be 2-dimensional"),
    (dict(rewards=[[1.0]], consumption=[[[-1.0]]], budgets=[1.0]), "`consumption` must be non-negative"),
    (dict(rewards=[[1.0]], consumption=[[1.0]], budgets=[1.0]), "`consumption` must be of shape (1, 1, 1)"),
    (dict(rewards=[[1.0]], budgets=[1.0], entropy=-1), "`entropy` must be >= 0"),
    (dict(rewards=[[1.0]], consumption=[[[1.0]]], budgets=[1.0], entropy=1.0), "`entropy` > 0"),
    (dict(rewards=[[1.0]], budgets=[1.0], horizon=3), "`horizon` must equal"),
    (dict(budgets=[1.0]), "`rewards` must be a (T, K) array"),
    (dict(budgets=[1.0], stream=lambda: iter(())), "`horizon` is required"),
    (dict(budgets=[1.0], stream=3, horizon=2), "`stream` must be a callable"),
    (dict(budgets=[1.0], stream=lambda: iter(()), horizon=2), "`reward_bound` is required"),
    (dict(rewards=[[1.0]], budgets=[1.0], stream_matching=True), "`stream_matching` applies only"),
]


@pytest.mark.parametrize("kwargs, fragment", BAD)
def test_bad_inputs_name_the_field(kwargs, fragment):
    with pytest.raises(ob.InvalidProblemError, match=None) as info:
        ob.OnlineAllocation(**kwargs)
    assert fragment in str(info.value)


def test_stream_length_and_shape_are_checked():
    def short():
        yield np.ones((2, 1)), None

    p = ob.OnlineAllocation(stream=short, horizon=3, stream_matching=True, budgets=[1.0], reward_bound=1.0)
    with pytest.raises(ob.InvalidProblemError, match="yielded 2 requests but `horizon` is 3"):
        ob.solve(p, method="greedy", options={"benchmark": "none"})

    def too_high():
        yield np.full((3, 1), 5.0), None

    p = ob.OnlineAllocation(stream=too_high, horizon=3, stream_matching=True, budgets=[1.0], reward_bound=1.0)
    with pytest.raises(ob.InvalidProblemError, match="exceeds `reward_bound`"):
        ob.solve(p, method="dmd", options={"benchmark": "none"})


def test_action_vector_checks():
    p = ob.OnlineAllocation.matching(rewards=[[1.0, 2.0], [3.0, 0.5]], budgets=[1, 1])
    assert p.reward_of([1, 0]) == 5.0
    assert p.consumption_of([1, 0]).tolist() == [1.0, 1.0]
    assert not p.is_feasible([0, 0])
    with pytest.raises(ob.InvalidProblemError, match="`x` must hold action indices in -1..1"):
        p.check_actions([2, 0])


def test_save_load_round_trip(tmp_path):
    p = gen.network_revenue_management(50, n_resources=4, n_products=3, seed=1)
    path = ob.save(p, tmp_path / "p.json")
    assert ob.load(path) == p
    with pytest.raises(ob.InvalidProblemError, match="cannot be saved"):
        ob.save(gen.iid_matching(10, 2, seed=0, stream=True), tmp_path / "s.json")


def test_stream_replays_and_equals_dense():
    s = gen.iid_matching(200_000, 3, seed=4, stream=True)
    d = gen.iid_matching(200_000, 3, seed=4)
    assert np.array_equal(s.dense().rewards, d.rewards)
    assert np.array_equal(s.budgets, d.budgets)
    a = ob.solve(s, method="dmd", options={"benchmark": "none"})
    b = ob.solve(d, method="dmd", options={"benchmark": "none"})
    assert np.array_equal(a.x, b.x) and a.objective == b.objective


# -- the step-by-step policy ------------------------------------------------------------------------------------


def test_assortment_model():
    prices, weights = np.array([1.0, 2.0]), np.array([[1.0, 1.0]])
    p = gen.assortment(prices, weights, [5.0, 5.0])
    assert gen.assortments(2) == [(0,), (1,), (0, 1)]
    np.testing.assert_allclose(p.rewards[0], [1 / 2, 2 / 2, 3 / 3])
    np.testing.assert_allclose(p.consumption[0], [[0.5, 0], [0, 0.5], [1 / 3, 1 / 3]])
    q = gen.random_assortment(500, 3, seed=0, inventory_rate=0.05)
    r = ob.solve(q, method="dmd", options={"benchmark": "none"})
    assert q.is_feasible(r.x)


# -- AdX data ---------------------------------------------------------------------------------------------------


# -- issue 13 regressions ------------------------------------------------------------------------------------------


def test_is_feasible_is_exact_by_default():
    c = np.array([0.2, 0.45, 0.1, 0.01, 0.6])
    p = ob.OnlineAllocation(rewards=np.ones((5, 1)), consumption=c[:, None, None], budgets=[float(np.sum(c))])
    assert not p.is_feasible(np.zeros(5, dtype=int))
    assert p.is_feasible(np.zeros(5, dtype=int), rel_tol=1e-12)
