"""Bandits with knapsacks: LP closed forms, the budget invariant on every policy and environment, convergence to
OPT_LP with bounded normalised regret, explore-first's decoy, and kernels against step-by-step play."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orbudget as ob
from orbudget.solvers.numba.bwk import BwKPolicy

from ..conftest import needs

POLICIES = ["primal_dual", "lagrange", "best_of_both", "ucb", "ucb_bwk", "explore_first"]


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


def test_policy_option_errors():
    p = ob.BanditsWithKnapsacks.random(3, 2, horizon=100, seed=0)
    with pytest.raises(ob.InvalidProblemError, match="`method` must be one of"):
        BwKPolicy(p, "thompson")
    with pytest.raises(ob.InvalidProblemError, match="`exploration` must be <= 1"):
        BwKPolicy(p, "lagrange", exploration=2.0)
    with pytest.raises(ob.InvalidProblemError, match="unknown key `eta`"):
        ob.solve(p, method="primal_dual", options={"eta": 1})


# -- LP closed forms ------------------------------------------------------------------------------------------------
@needs("highs")
@pytest.mark.parametrize("d", [2, 3, 4])
def test_lp_gap_fixed_distribution_vs_fixed_arm(d):
    """d arms, arm a pays 1 and uses one unit of resource a, T = d·B: OPT_FA = B, OPT_FD = d·B."""
    budget = 50
    p = ob.BanditsWithKnapsacks(
        reward_means=np.ones(d), consumption_means=np.eye(d), budgets=np.full(d, budget), horizon=d * budget
    )
    r = ob.solve(p, method="opt_lp")
    assert r.objective == pytest.approx(d * budget, rel=1e-9)
    assert p.opt_fixed_arm() == pytest.approx(budget)
    np.testing.assert_allclose(r.x, np.full(d, 1 / d), atol=1e-9)


@needs("highs")
def test_lp_one_resource_two_arms_and_time_only():
    # arm A: reward 1, consumption 1; arm B: reward 0.2, free; budget B: OPT = B + 0.2 (T - B)
    horizon, budget = 1000, 300
    p = ob.BanditsWithKnapsacks(reward_means=[1.0, 0.2], consumption_means=[[1.0], [0.0]], budgets=[budget], horizon=horizon)
    assert ob.solve(p, method="opt_lp").objective == pytest.approx(budget + 0.2 * (horizon - budget))
    # time only (nothing consumed): T·max r
    q = ob.BanditsWithKnapsacks(reward_means=[0.3, 0.7, 0.5], consumption_means=np.zeros((3, 1)), budgets=[5], horizon=400)
    assert ob.solve(q, method="opt_lp").objective == pytest.approx(400 * 0.7)
    assert q.opt_fixed_arm() == pytest.approx(400 * 0.7)
    # a resource that binds: consumption 0.5 at reward 1, budget 100, T = 1000: X = 0.2, OPT = 200 (null arm the rest)
    s = ob.BanditsWithKnapsacks(reward_means=[1.0], consumption_means=[[0.5]], budgets=[100], horizon=1000)
    r = ob.solve(s, method="opt_lp")
    assert r.objective == pytest.approx(200) and r.stats["null_arm"] == pytest.approx(0.8)


# -- the budget invariant -------------------------------------------------------------------------------------------
@st.composite
def instances(draw):
    k = draw(st.integers(1, 4))
    d = draw(st.integers(1, 3))
    horizon = draw(st.integers(1, 400))
    seed = draw(st.integers(0, 2**31 - 1))
    kind = draw(st.sampled_from(["bernoulli", "bounded", "adversarial"]))
    rng = np.random.default_rng(seed)
    budgets = rng.choice([1.0, 1.5, 3.0, 40.0, 400.0], d)
    if kind == "adversarial":
        rewards = rng.random((horizon, k)) * (rng.random((horizon, 1)) < 0.5)
        cons = rng.random((horizon, k, d)) ** rng.choice([0.2, 1.0, 5.0])  # heavy, light and bursty consumption
        return ob.BanditsWithKnapsacks(budgets=budgets, horizon=horizon, distribution=kind, rewards=rewards, consumptions=cons)
    return ob.BanditsWithKnapsacks(
        reward_means=rng.random(k), consumption_means=rng.random((k, d)), budgets=budgets, horizon=horizon, distribution=kind
    )


@needs("highs")
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.sampled_from(POLICIES), st.integers(0, 1000))
def test_no_policy_spends_beyond_a_budget(p, method, seed):
    r = ob.solve(p, method=method, seed=seed, options={"benchmark": False})
    # replay the same seeds step by step and add up consumption independently of the kernel
    from orbudget.problems.bwk import Environment, split_seed

    policy_rng, env_rng = split_seed(seed)
    pol = BwKPolicy(p, method, seed=policy_rng)
    env = Environment(p, env_rng)
    spent, arms = np.zeros(p.n_resources), []
    while not pol.done:
        arm = pol.act()
        reward, c = env.step(arm)
        spent += c
        arms.append(arm)
        pol.update(arm, reward, c)
    assert arms == r.x.tolist()
    assert r.stats["rounds"] == len(arms) <= p.horizon
    assert (spent <= p.budgets + 1e-9).all()
    np.testing.assert_allclose(r.stats["spent"], spent, atol=1e-9)


def _outcome(step):
    """``(reward, consumption)`` of a Gymnasium five-tuple from ``BwKEnv.step``."""
    _, reward, _, _, info = step
    return reward, info["consumption"]


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


def test_sampler_and_dynamic_pricing():
    p = ob.BanditsWithKnapsacks.dynamic_pricing(50_000, supply=5000, n_prices=10)
    r = ob.solve(p, method="primal_dual", seed=0)  # sampler environments play step by step in Python
    assert r.stats["spent"][0] <= 5000
    best_fixed = max(0.5, 1 - 5000 / 50_000) * 5000  # V(p*) with S(p) = 1 - p: p* = 0.9 sells all 5000 units
    assert r.stats["opt_lp"] == pytest.approx(best_fixed)  # p = 0.9 is on the grid, so OPT_LP = V(p*)
    assert r.objective >= 0.9 * best_fixed  # measured 0.94
    with pytest.raises(ob.InvalidProblemError, match="cannot be saved"):
        ob.save(p, "/tmp/never.json")


def test_save_load(tmp_path):
    p = ob.BanditsWithKnapsacks.random(4, 2, horizon=50, seed=1)
    assert ob.load(ob.save(p, tmp_path / "b.json")) == p


# -- statistical behaviour ------------------------------------------------------------------------------------------
@needs("highs")
@pytest.mark.slow
def test_reward_approaches_opt_lp_with_bounded_normalised_regret():
    """K = 5, d = 3, B = T/4: median REW/OPT_LP rises to >= 0.9 at T = 1e5 for primal_dual and lagrange, and the
    normalised regret (OPT_LP - REW)/(√(K·OPT_LP) + OPT_LP·√(K/B)) stays below 2 (calibrated once: medians 0.2-0.5
    for primal_dual and 1.2-1.5 for lagrange over 20 seeds)."""
    k = 5
    for method in ("primal_dual", "lagrange"):
        ratios = []
        for horizon in (1_000, 10_000, 100_000):
            runs = []
            for s in range(8):
                p = ob.BanditsWithKnapsacks.random(k, 3, horizon=horizon, seed=100 + s)
                r = ob.solve(p, method=method, seed=s)
                opt, budget = r.stats["opt_lp"], p.budgets.min()
                runs.append((r.objective / opt, (opt - r.objective) / (math.sqrt(k * opt) + opt * math.sqrt(k / budget))))
            runs = np.array(runs)
            ratios.append(np.median(runs[:, 0]))
            assert np.median(runs[:, 1]) <= 2.0, (method, horizon, runs[:, 1])
        assert ratios[0] < ratios[1] < ratios[2] and ratios[2] >= 0.9, (method, ratios)


@needs("highs")
def test_explore_first_loses_on_the_decoy():
    for horizon in (1_000, 10_000, 100_000):
        budget = math.sqrt(horizon) / 2
        n = math.ceil((3 * horizon**2) ** (1 / 3))
        p = ob.BanditsWithKnapsacks.decoy(horizon, budget, n)
        r = ob.solve(p, method="explore_first", seed=0, options={"explore_rounds": n})
        assert r.objective / r.stats["opt_lp"] <= 0.75
        # primal_dual adapts: it stops pulling the bad arm after one try
        assert ob.solve(p, method="primal_dual", seed=0).objective > r.objective


@needs("highs")
def test_unconstrained_ucb_exhausts_the_budget_early():
    """Two phases of the adversarial kind: a costly high-reward arm and a free low-reward arm; UCB ignores the cost
    and stops early, while the budget-aware policies last the horizon and earn more."""
    horizon = 4000
    rewards = np.tile([0.9, 0.5], (horizon, 1))
    cons = np.zeros((horizon, 2, 1))
    cons[:, 0, 0] = 1.0
    p = ob.BanditsWithKnapsacks(budgets=[200], horizon=horizon, distribution="adversarial", rewards=rewards, consumptions=cons)
    ucb = ob.solve(p, method="ucb", seed=0)
    assert ucb.stats["stopped_by"] == "budget" and ucb.stats["rounds"] < horizon / 2
    for method in ("primal_dual", "lagrange", "best_of_both"):
        r = ob.solve(p, method=method, seed=0)
        assert r.objective > ucb.objective, method


# -- step-by-step play, state dicts and options are checked before the kernels see them (issue 13) ------------------
def test_update_rejects_out_of_range_arms_in_a_child_interpreter():
    """An arm index out of range reached the numba kernel unchecked: `lagrange` segfaulted, `primal_dual` wrote out
    of bounds and then raised IndexError. Run in a child so a crash is a failure, not the end of the test run."""
    from ..fuzz.harness import Case, check, run_cases

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


@pytest.mark.parametrize("method", POLICIES)
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


def test_each_method_takes_only_its_own_options():
    p = ob.BanditsWithKnapsacks.random(3, 2, horizon=50, seed=0)
    for method, option in [
        ("ucb", "hedge_step"),
        ("ucb", "confidence"),
        ("primal_dual", "exp3_step"),
        ("lagrange", "reference"),
        ("best_of_both", "hedge_step"),
        ("lagrange", "confidence"),
    ]:
        with pytest.raises(ob.InvalidProblemError, match=f"unknown key `{option}` for method '{method}'"):
            ob.solve(p, method=method, options={option: 0.1})
        with pytest.raises(ob.InvalidProblemError, match=f"`{option}` is not an option of method '{method}'"):
            BwKPolicy(p, method, **{option: 0.1})
    assert ob.solve(p, method="lagrange", seed=0, options={"hedge_step": 0.1, "exp3_step": 0.05}).ok
    with pytest.raises(ob.InvalidProblemError, match="`options.benchmark` must be True or False"):
        ob.solve(p, method="ucb", options={"benchmark": "no"})
    with pytest.raises(ob.InvalidProblemError, match="`reference` must be one of"):
        BwKPolicy(p, "best_of_both", reference="l2")


def test_a_horizon_too_long_to_record_is_refused_with_the_memory_needed():
    p = ob.BanditsWithKnapsacks(reward_means=[0.5], consumption_means=[[0.5]], budgets=[5], horizon=10**12)
    with pytest.raises(ob.InvalidProblemError, match=r"`horizon` 1000000000000 is too large .* 7450.6 GiB"):
        ob.solve(p, method="primal_dual")
    pol = BwKPolicy(p, "primal_dual", seed=0)  # step by step needs no per-round memory
    pol.update(pol.act(), 1.0, [1.0])
    assert pol.t == 1


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
