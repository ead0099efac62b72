"""Dual mirror descent step by step (orbudget/problems/dual_mirror_descent.py)."""

import math

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems import online_inputs as gen
from orbudget.problems.dual_mirror_descent import DualMirrorDescent, initial_duals, mirror_step
from orbudget.problems.regularizers import MaxMinFairness


def test_state_dict_carries_the_regulariser():
    pol = DualMirrorDescent([3.0, 2.0], 10, regularizer=MaxMinFairness(0.2))
    pol.step([1.0, 0.2])
    other = DualMirrorDescent([3.0, 2.0], 10, regularizer=MaxMinFairness(0.3))
    with pytest.raises(ob.InvalidProblemError, match="fingerprint|another"):
        other.load_state_dict(pol.state_dict())
    same = DualMirrorDescent([3.0, 2.0], 10, regularizer={"kind": "max_min_fairness", "weight": 0.2})
    same.load_state_dict(pol.state_dict())
    assert np.array_equal(same.mu, pol.mu)


def test_two_step_updates_by_hand():
    """Hand-computed μ after two requests for each reference (matching, m = 2, B = (1, 2), T = 4, η = 0.5)."""
    rate = np.array([0.25, 0.5])
    requests = [[1.0, 0.2], [0.1, 0.9]]
    # Euclidean: μ1 = 0; x̃1 = action 0 (1 > 0.2): g = ρ - e0 = (-0.75, 0.5) -> μ2 = max(0 - .5 g, 0) = (0.375, 0)
    # request 2: scores (0.1 - .375, 0.9 - 0) -> action 1: g = (0.25, -0.5) -> μ3 = (0.375 - .125, 0.25) = (.25, .25)
    expected = {"euclidean": [0.25, 0.25]}
    # scaled: μ2 = max(-.5 g/ρ², 0) = (.5*.75/.0625, 0) = (6, 0); request 2: scores (-5.9, .9) -> action 1:
    # g = (.25, -.5) -> μ3 = (6 - .5*.25/.0625, 0 + .5*.5/.25) = (4, 1)
    expected["scaled_euclidean"] = [4.0, 1.0]
    # entropy: μ1 = 1/√2 each; scores (1 - .7071, .2 - .7071) -> action 0; μ2 = μ1·exp(-.5 g) = μ1·(e^{.375}, e^{-.25});
    # request 2: scores (.1 - 1.0289, .9 - .5507) -> action 1: μ3 = μ2·(e^{-.125}, e^{.25}) = μ1·(e^{.25}, 1)
    s = 1 / math.sqrt(2)
    expected["entropy"] = [s * math.exp(0.25), s]
    # projected entropy with f̄ = 0.21: μ1 = ρ/√2; same actions (scores 1-.1768 > 0 > .2-.3536; then .1-.2572 < .9-.2754)
    # ρᵀμ2 = .2020 <= f̄ (no projection); μ3 = μ1·(e^{.25}, 1), ρᵀμ3 = .2335 > f̄ -> rescaled by .21/.2335
    mu3 = rate / math.sqrt(2) * np.array([math.exp(0.25), 1.0])
    mu2 = rate / math.sqrt(2) * np.array([math.exp(0.375), math.exp(-0.25)])
    assert rate @ mu2 < 0.21 < rate @ mu3  # projection at step 2 only
    expected["projected_entropy"] = (mu3 * 0.21 / (rate @ mu3)).tolist()
    for reference, want in expected.items():
        pol = DualMirrorDescent([1.0, 2.0], 4, reference=reference, step_size=0.5, reward_bound=0.21)
        actions = [pol.step(r) for r in requests]
        assert actions == [0, 1], reference
        np.testing.assert_allclose(pol.mu, want, rtol=1e-12, err_msg=reference)


def test_mirror_step_matches_formulas():
    mu, g, rate = np.array([0.3, 0.0]), np.array([0.5, -0.2]), np.array([0.5, 0.1])
    np.testing.assert_allclose(mirror_step(mu, g, 0.1, "euclidean", rate, 1.0), [0.25, 0.02])
    np.testing.assert_allclose(mirror_step(mu, g, 0.1, "scaled_euclidean", rate, 1.0), [0.1, 2.0])
    np.testing.assert_allclose(mirror_step(mu, g, 0.1, "entropy", rate, 1.0), [0.3 * math.exp(-0.05), 0.0])
    assert initial_duals("entropy", rate).tolist() == [1 / math.sqrt(2)] * 2


def test_policy_never_overspends_and_duals_stay_feasible():
    rng = np.random.default_rng(0)
    for reference in ("euclidean", "scaled_euclidean", "entropy", "projected_entropy"):
        pol = DualMirrorDescent([3.0, 2.5], 200, reference=reference, scale=5.0, reward_bound=2.0)
        spent = np.zeros(2)
        for _ in range(200):
            r = rng.random(4) * 2
            b = rng.random((4, 2)) * rng.choice([0.1, 1.0, 3.0])
            a = pol.step(r, b)
            if a >= 0:
                spent += b[a]
            assert (pol.mu >= 0).all()
            if reference == "projected_entropy":
                assert pol.rate @ pol.mu <= 2.0 * (1 + 1e-12)
        assert (spent <= pol.budgets + 1e-12).all() and (pol.remaining >= 0).all()


def test_policy_checkpoint_resume_is_identical():
    p = gen.network_revenue_management(400, n_resources=5, n_products=3, seed=3)
    a = DualMirrorDescent(p.budgets, p.horizon, reference="entropy")
    acts = [a.step(p.rewards[t], p.consumption[t]) for t in range(p.horizon)]
    b = DualMirrorDescent(p.budgets, p.horizon, reference="entropy")
    first = [b.step(p.rewards[t], p.consumption[t]) for t in range(150)]
    state = b.state_dict()
    c = DualMirrorDescent(p.budgets, p.horizon, reference="entropy")
    c.load_state_dict(state)
    rest = [c.step(p.rewards[t], p.consumption[t]) for t in range(150, p.horizon)]
    assert first + rest == acts
    np.testing.assert_array_equal(c.mu, a.mu)
    with pytest.raises(ob.InvalidProblemError, match="another reference"):
        DualMirrorDescent(p.budgets, p.horizon).load_state_dict(state)


def test_policy_bad_inputs():
    with pytest.raises(ob.InvalidProblemError, match="`reference` must be one of"):
        DualMirrorDescent([1.0], 5, reference="l2")
    with pytest.raises(ob.InvalidProblemError, match="`horizon`"):
        DualMirrorDescent([1.0], 0)
    with pytest.raises(ob.InvalidProblemError, match="`initial` duals must be positive"):
        DualMirrorDescent([1.0], 5, reference="entropy", initial=[0.0])
    pol = DualMirrorDescent([1.0, 1.0], 5)
    with pytest.raises(ob.InvalidProblemError, match="`consumption` must have shape"):
        pol.act([1.0], [[1.0]])


def test_pacing_bid_agrees_with_the_allocation_rule():
    p = gen.random_auctions(2000, seed=5, budget_rate=0.05)
    pol = DualMirrorDescent(p.budgets, p.horizon)
    value = p.rewards[:, 0] + p.consumption[:, 0, 0]
    for t in range(p.horizon):
        bid = pol.bid(value[t])
        a = pol.step(p.rewards[t], p.consumption[t])
        wins_by_bid = bid > p.consumption[t, 0, 0]
        if a == 0:
            assert wins_by_bid
        elif pol.remaining[0] >= p.consumption[t, 0, 0]:  # null although it would fit: the bid lost
            assert not wins_by_bid or math.isclose(bid, p.consumption[t, 0, 0])
    assert pol.remaining[0] >= 0


def test_state_from_another_budget_is_refused():
    """A state saved by a policy with a larger budget used to load and spend 5 units of a budget of 1."""
    big = DualMirrorDescent([5.0], 10)
    for _ in range(5):
        big.step([3.0])
    small = DualMirrorDescent([1.0], 10)
    with pytest.raises(ob.InvalidProblemError, match="`state` belongs to another problem"):
        small.load_state_dict(big.state_dict())
    assert small.remaining.tolist() == [1.0]  # nothing was loaded
    state = big.state_dict()
    assert state["kind"] == "DualMirrorDescent" and len(state["fingerprint"]) == 16


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: {**s, "kind": "BwKPolicy"},
        lambda s: {k: v for k, v in s.items() if k != "mu"},
        lambda s: {k: v for k, v in s.items() if k != "fingerprint"},
        lambda s: {**s, "mu": [1.0, 2.0]},
        lambda s: {**s, "remaining": [7.0]},
        lambda s: {**s, "t": "three"},
        lambda s: [s],
    ],
)
def test_wrong_kind_or_malformed_state_is_an_invalid_problem_error(mutate):
    """Wrong-kind or malformed dicts used to raise KeyError/ValueError or load silently."""
    state = DualMirrorDescent([1.0], 10).state_dict()
    with pytest.raises(ob.InvalidProblemError, match="`state`"):
        DualMirrorDescent([1.0], 10).load_state_dict(mutate(state))


def test_policy_never_overspends_by_rounding():
    """Sequential float subtraction let the exact total exceed the budget: 0.2+0.45+0.1+0.01+0.6 = 1.36 in exact
    arithmetic (math.fsum) while the budget is the float sum 1.3599999999999999."""
    c = np.array([0.2, 0.45, 0.1, 0.01, 0.6])
    budget = float(np.sum(c))
    assert math.fsum(c) > budget
    pol = DualMirrorDescent([budget], 5, step_size=0.0)
    played = [pol.step([1.0], [[x]]) for x in c]
    assert math.fsum(x for x, a in zip(c, played) if a == 0) <= budget
    p = ob.OnlineAllocation(rewards=np.ones((5, 1)), consumption=c[:, None, None], budgets=[budget])
    for method in ("greedy", "dmd"):
        r = ob.solve(p, method=method, options={"benchmark": "none"})
        assert math.fsum(c[r.x == 0]) <= budget and p.is_feasible(r.x)


# -- regularised: the paper's step at the max-min fairness boundary (issue 26 item 8) ------------------------------
def test_regularised_steps_follow_the_paper_at_the_fairness_boundary():
    # Balseiro, Lu, Mirrokni (ICML 2021), Algorithm 1 with h = ½Σρ_j²μ_j²: μ⁺ = argmin_{μ∈D} ⟨g, μ⟩ + V_h(μ, μ_t)/η,
    # D = {λ + Σ_j ρ_j min(μ_j, 0) >= 0}. In z = ρ⊙μ the step is z − ηg/ρ and the projection shifts the negative z_j
    # by a common θ (capped at 0). ρ = B/T = (0.51, 0.22, 0.46), λ = 0.24, η = 0.27, μ₁ = 0.
    rate = np.array([0.51, 0.22, 0.46])
    fair = MaxMinFairness(weight=0.24)
    pol = DualMirrorDescent(rate * 2, 2, reference="scaled_euclidean", step_size=0.27, regularizer=fair)
    # request 1: every reward negative, null action, g = ρ: z = −0.27 each; 0.24 + 3(−0.27 + θ) = 0, θ = 0.19
    assert pol.step([-1.0, -1.0, -1.0]) == -1
    np.testing.assert_allclose(pol.mu, -0.08 / rate, rtol=1e-13)
    np.testing.assert_array_equal(fair.response(pol.mu, pol.rate), rate)  # on D: ρ, though the sum rounds below 0
    # request 2: action 0 (1 + 0.08/0.51 > 0 > the others), g = ρ − e₀ = (−0.49, 0.22, 0.46):
    # z = (−0.08 + 0.27·0.49/0.51, −0.08 − 0.27, −0.08 − 0.27); z₀ > 0 stays; 0.24 − 0.70 + 2θ = 0, θ = 0.23
    assert pol.step([1.0, -1.0, -1.0]) == 0
    want = np.array([-0.08 + 0.27 * 0.49 / 0.51, -0.12, -0.12]) / rate
    np.testing.assert_allclose(want, [0.352, -0.545, -0.261], atol=1e-3)
    np.testing.assert_allclose(pol.mu, want, rtol=1e-13)


def _fairness_projection(z, lam):
    """The Euclidean projection of z onto {Σ_j min(z_j, 0) >= −λ}: the k most negative z_j move up by a common θ
    and the others reach 0; try k from all the negatives down, take the first k consistent with its θ."""
    if lam + np.minimum(z, 0.0).sum() >= 0.0:
        return z
    neg = np.sort(z[z < 0.0])
    for k in range(neg.size, 0, -1):
        theta = (-lam - neg[:k].sum()) / k
        if neg[k - 1] + theta <= 0.0 and (k == neg.size or neg[k] + theta >= 0.0):
            break
    return np.where(z < 0.0, np.minimum(z + theta, 0.0), z)


def _paper_fairness_loop(rewards, budgets, lam, eta):
    """The official AdX max-min fairness experiment (haihaolu/online_dual_mirror_descent, code/main.py, scaled
    square norm), re-derived from the paper rather than copied: returns (reward + T·r(average consumption), μ_T+1).

    Its charging fault, fixed here: it charges the advertiser with the largest r_tj − μ_j one impression and books
    its revenue whenever that advertiser has capacity left, even when r_tj − μ_j <= 0, where the tentative action
    is the null one (its dual step rightly uses x̃ = 0). Here only a positive tentative action is played. Its
    projection is a conic solve (cvxpy), only accurate to the solver's tolerance; here it is exact
    (`_fairness_projection`). On D the regulariser's response is ρ, so g = ρ − b(x̃)."""
    horizon, m = rewards.shape
    rho = budgets / horizon
    mu, left, used, reward = np.zeros(m), budgets.astype(float).copy(), np.zeros(m), 0.0
    for r in rewards:
        score = r - mu
        k = int(np.argmax(score))
        b = np.zeros(m)
        if score[k] > 0.0:
            b[k] = 1.0
            if left[k] >= 1.0:
                left[k] -= 1.0
                used[k] += 1.0
                reward += r[k]
        mu = _fairness_projection(rho * mu - eta * (rho - b) / rho, lam) / rho
    return reward + lam * horizon * float(np.min(used / budgets)), mu


@pytest.mark.parametrize("scale", [0.1, 1.0])
def test_regularised_dmd_on_adx_equals_the_official_loop_with_its_charging_fixed(data_dir, scale):
    from orbudget.problems.adx import load_adx

    base = load_adx(2, data_dir / "adx").problem(horizon=1000, seed=0)
    p = ob.OnlineAllocation.matching(rewards=base.rewards, budgets=base.budgets, regularizer=MaxMinFairness(0.1))
    eta = scale / math.sqrt(p.horizon)
    objective, mu = _paper_fairness_loop(p.rewards, p.budgets, 0.1, eta)
    assert (mu < 0).any()  # the duals reach the fairness boundary
    r = ob.solve(p, method="dmd", options={"reference": "scaled_euclidean", "scale": scale, "benchmark": "none"})
    assert r.objective == pytest.approx(objective, rel=1e-9)
    np.testing.assert_allclose(r.duals, mu, rtol=1e-9, atol=1e-9 * np.abs(mu).max())
    pol = DualMirrorDescent(p.budgets, p.horizon, reference="scaled_euclidean", step_size=eta, regularizer=p.regularizer)
    assert [pol.step(row) for row in p.rewards] == r.x.tolist()  # the numpy policy is the numba kernel
    np.testing.assert_array_equal(pol.mu, r.duals)


@pytest.mark.parametrize("entry, value", [("remaining", [1.5, 2.0]), ("reward", float("nan")), ("t", 11)])
def test_a_corrupted_entry_is_refused_by_name(entry, value):
    pol = DualMirrorDescent([1.0, 2.0], 10)
    with pytest.raises(ob.InvalidProblemError, match=f"`state` entry `{entry}`"):
        pol.load_state_dict({**pol.state_dict(), entry: value})
