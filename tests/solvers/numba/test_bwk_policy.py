"""The step-by-step BwK policy (orbudget/solvers/numba/bwk_policy.py): replay against the environment, checkpoints and
state dicts, outcomes checked before the kernels see them."""

import numpy as np
import pytest

import orbudget as ob
from orbudget.solvers.numba.bwk import BwKPolicy

from ..conftest import BWK_POLICIES


def test_policy_option_errors():
    p = ob.BanditsWithKnapsacks.random(3, 2, horizon=100, seed=0)
    with pytest.raises(ob.InvalidProblemError, match="`method` must be one of"):
        BwKPolicy(p, "thompson")
    with pytest.raises(ob.InvalidProblemError, match="`exploration` must be <= 1"):
        BwKPolicy(p, "lagrange", exploration=2.0)
    with pytest.raises(ob.InvalidProblemError, match="unknown key `eta`"):
        ob.solve(p, method="primal_dual", options={"eta": 1})


def _outcome(step):
    """``(reward, consumption)`` of a Gymnasium five-tuple from ``BwKEnv.step``."""
    _, reward, _, _, info = step
    return reward, info["consumption"]


def test_checkpoint_resume_is_identical():
    p = ob.BanditsWithKnapsacks.random(5, 2, horizon=3000, seed=4)
    env_a, env_b = p.env(seed=1), p.env(seed=1)
    a = BwKPolicy(p, "lagrange", seed=2)
    b = BwKPolicy(p, "lagrange", seed=2)
    seq_a = []
    while not a.done:
        arm = a.act()
        seq_a.append(arm)
        a.update(arm, *_outcome(env_a.step(arm)))
    seq_b = []
    for _ in range(1000):
        arm = b.act()
        seq_b.append(arm)
        b.update(arm, *_outcome(env_b.step(arm)))
    c = BwKPolicy(p, "lagrange", seed=123)
    c.load_state_dict(b.state_dict())
    while not c.done:
        arm = c.act()
        seq_b.append(arm)
        c.update(arm, *_outcome(env_b.step(arm)))
    assert seq_a == seq_b
    with pytest.raises(ob.InvalidProblemError, match="saved by a 'lagrange' policy"):
        BwKPolicy(p, "ucb").load_state_dict(b.state_dict())


# -- step-by-step play, state dicts and options are checked before the kernels see them (issue 13) ------------------
def test_update_rejects_out_of_range_arms_in_a_child_interpreter():
    """An arm index out of range reached the numba kernel unchecked: `lagrange` segfaulted, `primal_dual` wrote out
    of bounds and then raised IndexError. Run in a child so a crash is a failure, not the end of the test run."""
    from ...fuzz.harness import Case, check, run_cases

    cases = [
        Case(
            f"{m} arm {arm}",
            f"""
from orbudget.solvers.numba.bwk import BwKPolicy
p = ob.BanditsWithKnapsacks.random(3, 2, horizon=100, seed=0)
pol = BwKPolicy(p, {m!r}, seed=1)
before = pol.state_dict()
try:
    pol.update({arm}, 0.5, [0.1, 0.1])
finally:
    after = pol.state_dict()
    assert all(np.array_equal(np.asarray(before[k]), np.asarray(after[k])) for k in ("counts", "logw", "logv", "mu")), \
        "the policy changed before the arm was refused"
""",
            field="arm",
        )
        for m in ("lagrange", "primal_dual", "best_of_both", "ucb_bwk")
        for arm in (3, 10**9, -2, -(10**9))
    ]
    outcomes = run_cases(cases)
    for case in cases:
        check(case, outcomes)


@pytest.mark.parametrize(
    "args, field",
    [
        ((0, 0.5, [1.5, 0.0]), "consumption"),
        ((0, 0.5, [-0.5, 0.0]), "consumption"),
        ((0, 0.5, [0.1]), "consumption"),
        ((0, 0.5, [np.nan, 0.0]), "consumption"),
        ((0, 0.5, None), "consumption"),
        ((0, 1.5, [0.1, 0.1]), "reward"),
        ((0, -0.1, [0.1, 0.1]), "reward"),
        ((-1, 1.0, None), "reward"),
        ((0.5, 0.5, [0.1, 0.1]), "arm"),
        ((True, 0.5, [0.1, 0.1]), "arm"),
        (("0", 0.5, [0.1, 0.1]), "arm"),
    ],
)
def test_update_rejects_bad_outcomes_and_leaves_the_budget_alone(args, field):
    p = ob.BanditsWithKnapsacks(reward_means=[0.5, 0.5], consumption_means=[[0.5, 0.5], [0.1, 0.1]], budgets=[1, 2], horizon=10)
    pol = BwKPolicy(p, "primal_dual", seed=0)
    with pytest.raises(ob.InvalidProblemError, match=f"`{field}`"):
        pol.update(*args)
    np.testing.assert_array_equal(pol.remaining, [1, 2])
    assert pol.t == 0 and pol.counts.sum() == 0


def test_update_after_play_is_over_is_refused():
    p = ob.BanditsWithKnapsacks(reward_means=[1.0], consumption_means=[[1.0]], budgets=[1], horizon=10)
    pol = BwKPolicy(p, "ucb", seed=0)
    pol.update(pol.act(), 1.0, [1.0])  # budget equal to one consumption: one round, then done
    assert pol.done and pol.remaining[0] == 0
    with pytest.raises(ob.InvalidProblemError, match="`arm` cannot be recorded: play is over"):
        pol.update(0, 1.0, [1.0])
    assert pol.remaining[0] == 0  # never negative


def _played(p, method, seed=1, rounds=30):
    pol, env = BwKPolicy(p, method, seed=seed), p.env(seed=2)
    for _ in range(rounds):
        if pol.done:
            break
        arm = pol.act()
        pol.update(arm, *_outcome(env.step(arm)))
    return pol


@pytest.mark.parametrize("method", BWK_POLICIES)
def test_state_dict_carries_kind_and_fingerprint_and_refuses_others(method):
    p = ob.BanditsWithKnapsacks.random(3, 2, horizon=200, seed=0)
    other = ob.BanditsWithKnapsacks.random(3, 2, horizon=200, seed=1)  # same shapes, other means
    state = _played(p, method).state_dict()
    assert state["kind"] == "BwKPolicy" and len(state["fingerprint"]) == 16
    fresh = BwKPolicy(p, method, seed=9)
    fresh.load_state_dict(state)  # the same problem loads
    assert fresh.t == state["t"]
    with pytest.raises(ob.InvalidProblemError, match="`state` belongs to another problem"):
        BwKPolicy(other, method).load_state_dict(state)
    bad = [
        5,
        None,
        {**state, "kind": "DualMirrorDescent"},
        {k: v for k, v in state.items() if k != "counts"},
        {k: v for k, v in state.items() if k != "fingerprint"},
        {**state, "counts": [1.0]},
        {**state, "consumption_sum": np.zeros((3, 5))},
        {**state, "remaining": [-1.0, 5.0]},
        {**state, "logw": ["a"] * 4},
        {**state, "t": 10**6},
        {**state, "rng": {"bit_generator": "PCG64"}},
        {**state, "rng": "seed"},
        {**state, "params": [np.nan] * 6},
        {**state, "counts": [0.5, 0, 0]},
    ]
    for s in bad:
        pol = BwKPolicy(p, method, seed=9)
        before = pol.state_dict()
        with pytest.raises(ob.InvalidProblemError, match="`state`"):
            pol.load_state_dict(s)
        assert pol.t == before["t"] and np.array_equal(pol.counts, before["counts"])  # nothing was loaded


def test_state_round_trip_with_another_bit_generator():
    # the loader probed with a PCG64 whatever the policy used: an MT19937-seeded policy could not load its own state
    p = ob.BanditsWithKnapsacks.random(3, 2, horizon=50, seed=0)
    pol = ob.BwKPolicy(p, seed=np.random.Generator(np.random.MT19937(1)))
    for _ in range(5):
        arm = pol.act()
        pol.update(arm, 0.5 if arm >= 0 else 0.0, [0.1, 0.2] if arm >= 0 else [0.0, 0.0])
    state = pol.state_dict()
    other = ob.BwKPolicy(p, seed=np.random.Generator(np.random.MT19937(7)))
    other.load_state_dict(state)
    assert other.act() == pol.act()


def test_env_is_gymnasium_style_and_replays_solve():
    """``p.env(seed)`` (reset/step five-tuple) makes solve's draws: a policy played against it takes solve's arms,
    its ``remaining`` is the budget left, it terminates when a budget drops below 1 and refuses a step after."""
    p = ob.BanditsWithKnapsacks.random(4, 2, horizon=400, budget_fraction=0.1, seed=3)
    r = ob.solve(p, method="lagrange", seed=5, options={"benchmark": False})
    from orbudget.problems.bwk import split_seed

    pol, env = BwKPolicy(p, "lagrange", seed=split_seed(5)[0]), p.env(seed=5)
    remaining, info = env.reset()
    assert np.array_equal(remaining, p.budgets) and info == {"t": 0}
    arms, spent, ended = [], np.zeros(2), False
    while not pol.done:
        arm = pol.act()
        remaining, reward, terminated, truncated, info = env.step(arm)
        spent += info["consumption"]
        arms.append(arm)
        pol.update(arm, reward, info["consumption"])
        ended = terminated or truncated
        np.testing.assert_allclose(remaining, p.budgets - spent)
    assert arms == r.x.tolist() and ended and (terminated == bool((remaining < 1).any()))
    with pytest.raises(ob.InvalidProblemError, match="the episode is over"):
        env.step(0)
    assert env.reset(seed=5)[0].tolist() == list(p.budgets) and env.t == 0
    with pytest.warns(DeprecationWarning, match="renamed env"):
        old = p.environment(seed=5)
    (r_old, c_old), (r_new, c_new) = old.step(arms[0]), _outcome(p.env(seed=5).step(arms[0]))
    assert r_old == r_new and np.array_equal(c_old, c_new)


def test_state_whose_remaining_budget_ignores_the_consumption_is_refused():
    p = ob.BanditsWithKnapsacks(reward_means=[0.5, 0.9], consumption_means=[[0.5, 0.2], [1.0, 0.1]], budgets=[3, 4], horizon=20)
    pol = BwKPolicy(p, "ucb", seed=0)
    pol.update(0, 0.5, [0.5, 0.5])
    state = pol.state_dict()
    state["remaining"] = state["remaining"] + 0.25  # 0.25 more left than the budget less what was consumed
    with pytest.raises(ob.InvalidProblemError, match="`remaining`"):
        pol.load_state_dict(state)
    pol.load_state_dict(pol.state_dict())
