"""The numpy RMAB methods (orbudget/solvers/numpy/rmab.py): the baselines play feasible actions, the exact DP, options,
sizes, and the ``RMABPolicy`` object."""

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems.rmab import CoupledRMAB

from ...conftest import FAMILIES, needs, tiny


# -- baselines -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", FAMILIES)
def test_every_method_plays_feasible_actions(kind):
    """Property test over random instances: every action every baseline plays passes the family's checker."""
    methods = ["random", "sampling", "myopic", "index"]
    for seed in range(35):
        p = tiny(kind, seed, horizon=4, episodes=2)
        for m in methods:
            opts = {"samples": 5} if m == "sampling" else None
            r = ob.solve(p, method=m, seed=seed, options=opts)
            assert r.x.shape == (2, 4, p.n_decisions)
            for x in r.x.reshape(-1, p.n_decisions):
                assert p.check(x) is None, (kind, seed, m, x)


def test_exact_dp_is_optimal_against_every_stationary_baseline():
    for kind in ("budget", "path", "multi"):
        p = tiny(kind, 0, episodes=100)
        dp = ob.solve(p, method="exact_dp", seed=0)
        assert dp.status == ob.Status.OPTIMAL
        for m in ("myopic", "index", "random"):
            assert ob.solve(p, method=m, seed=0).objective <= dp.stats["expected"] + 4 * dp.stats["stderr"] + 1e-9


def test_time_limit_returns_the_episodes_played():
    p = tiny("budget", 0, episodes=50)
    r = ob.solve(p, method="sampling", seed=0, time_limit=1e-4)
    assert r.limit == ob.Limit.TIME and 1 <= r.stats["episodes"] < 50 and r.x.shape[0] == r.stats["episodes"]


@pytest.mark.parametrize(
    "method,options,field",
    [
        ("sampling", {"samples": 0}, "options.samples"),
        ("sampling", {"samples": 10**15}, "options.samples"),
        ("myopic", {"oracle": "gurobi"}, "options.oracle"),
        ("index", {"oracle": 3}, "options.oracle"),
        ("index", {"index": "gittins"}, "options.index"),
        ("myopic", {"kind": "lagrange"}, "options"),
        ("random", {"samples": 3}, "options"),
        ("exact_dp", {"oracle": "highs"}, "options"),
    ],
)
def test_baseline_bad_options_name_the_option(method, options, field):
    with pytest.raises(ob.InvalidProblemError, match=f"`{field}`"):
        ob.solve(tiny("capacity", 0, horizon=3, episodes=1), method=method, options=options)


def test_whittle_on_multi_level_arms_names_the_option():
    with pytest.raises(ob.InvalidProblemError, match="`options.index`"):
        ob.solve(tiny("multi", 0, horizon=3, episodes=1), method="index", options={"index": "whittle"})


@needs("highs")
@needs("ortools")
@pytest.mark.parametrize("method", ["myopic", "index"])
def test_documented_oracle_options_are_accepted(method):
    """`options={'oracle': 'highs'}` reached HiGHS as a HiGHS option and was refused; every documented oracle gives
    the same decisions as enumeration."""
    p = tiny("capacity", 1, budget=1, horizon=3, episodes=2)  # one worker: 'knapsack' applies too
    got = {
        o: ob.solve(p, method=method, seed=0, options={"oracle": o}) for o in ("auto", "highs", "cpsat", "enumerate", "knapsack")
    }
    assert got["highs"].stats["oracle"] == "highs"
    for o, r in got.items():
        assert r.objective == pytest.approx(got["enumerate"].objective, abs=1e-9), o


@pytest.mark.parametrize("method", ["random", "sampling", "myopic", "index", "exact_dp"])
def test_fixed_policies_refuse_a_warm_start(method):
    with pytest.raises(ob.InvalidProblemError, match="`warm_start`"):
        ob.solve(tiny("budget", 0, horizon=3, episodes=1), method=method, warm_start={"net": {}})


@pytest.mark.parametrize("method", ["random", "myopic", "index", "sampling", "exact_dp"])
def test_huge_horizon_is_a_clear_error_with_the_memory_needed(method):
    p = CoupledRMAB.budget(3, 1, seed=0, horizon=10**15, episodes=2)
    with pytest.raises(ob.InvalidProblemError, match=r"`horizon`.*GiB"):
        ob.solve(p, method=method)


def test_exact_dp_stops_during_the_dp_with_no_policy():
    # issue 15: backward induction took every stage before any limit was read
    p = ob.CoupledRMAB.budget(7, 3, seed=0, horizon=30, episodes=5)
    seen = []

    def stop(info):
        seen.append(info)
        return info.get("phase") == "dp" and info["stage"] == 3

    r = ob.solve(p, method="exact_dp", callback=stop)
    assert r.status is ob.Status.NO_SOLUTION and r.limit is ob.Limit.INTERRUPTED
    assert [i["stage"] for i in seen] == [1, 2, 3]
    full = ob.solve(p, method="exact_dp", seed=0)
    assert full.status is ob.Status.OPTIMAL and full.limit is None


@pytest.mark.parametrize("method,kind", [("index", "lagrange"), ("index", "whittle"), ("myopic", "lagrange")])
def test_rmab_policy_object_decides_as_solve_does(method, kind):
    # the environment is driven by the seed alone, so the policy object replays solve's episodes step for step
    from orbudget.core.validation import split_seed
    from orbudget.solvers.numpy.rmab import RMABPolicy

    p = CoupledRMAB.budget(6, 2, seed=0, horizon=8, episodes=5)
    options = {"index": kind} if method == "index" else {}
    r = ob.solve(p, method=method, seed=3, options=options)
    pol = RMABPolicy(p, method, index=kind)
    env = p.env(split_seed(3)[1])
    rewards, actions = [], []
    for _ in range(p.episodes):
        states, _ = env.reset()
        for t in range(p.horizon):
            x = pol.act(states, t)
            assert p.check(x) is None
            actions.append(x)
            states, reward, *_ = env.step(x)
            rewards.append(reward)
    np.testing.assert_array_equal(np.array(actions).reshape(r.x.shape), r.x)
    assert np.mean(rewards) == pytest.approx(r.objective, rel=1e-12)
    again = RMABPolicy(p, "myopic")
    again.load_state_dict(pol.state_dict())  # the same policy again, from its state
    assert again.state_dict() == pol.state_dict()
    s0 = np.zeros(6, dtype=np.int64)
    assert np.array_equal(again.act(s0, 2), pol.act(s0, 2))
    pol.update(states, reward)  # nothing to learn; the decisions stay the same
    assert np.array_equal(pol.act(s0, 2), again.act(s0, 2))
    with pytest.raises(ob.InvalidProblemError, match="`state`"):
        again.load_state_dict({"method": "index"})
    with pytest.raises(ob.InvalidProblemError, match="`states`"):
        pol.act(np.full(6, p.n_states))
    with pytest.raises(ob.InvalidProblemError, match="`t`"):
        pol.act(np.zeros(6, dtype=np.int64), p.horizon)


def test_index_policy_refuses_a_state_with_an_unknown_method():
    from orbudget.solvers.numpy.rmab import RMABPolicy

    pol = RMABPolicy(ob.CoupledRMAB.budget(6, 2, seed=0, horizon=10))
    with pytest.raises(ob.InvalidProblemError, match="`state` holds a setting.*`method`"):
        pol.load_state_dict({**pol.state_dict(), "method": "bogus"})
    assert pol.method == "index"  # nothing changed
