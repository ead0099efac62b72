"""Regularisers of online allocation: responses against brute force, the numba twin, floors, validation, files."""

import itertools

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems._numerics import regularizer_response
from orbudget.problems.regularizers import (
    BelowTargetPenalty,
    CustomRegularizer,
    LoadBalancing,
    MaxMinFairness,
    QuadraticPenalty,
)

RATE = np.array([0.2, 0.5])
BUILT_IN = [
    MaxMinFairness(0.3),
    LoadBalancing(0.4),
    BelowTargetPenalty([1.5, 0.5], [0.8, 0.4]),
    QuadraticPenalty([0.2, 1.0], [0.5, 0.9]),
]


def _grid(rate, n=101):
    axes = [np.linspace(0.0, r, n) for r in rate]
    return np.array(list(itertools.product(*axes)))


def _duals(reg, rng, k=40):
    ell = reg.floor(RATE)
    return [ell - 1.0 + rng.random(RATE.size) * (np.abs(ell) + 3.0) for _ in range(k)]


@pytest.mark.parametrize("reg", BUILT_IN, ids=lambda r: r.name)
def test_response_maximises_r_plus_mu_a_over_the_box(reg):
    # brute force over a 101 x 101 grid of [0, ρ]: the response is at least as good as every grid point
    grid = _grid(RATE)
    values = np.array([reg.value(a, RATE) for a in grid])
    for mu in _duals(reg, np.random.default_rng(0)):
        a = reg.response(mu, RATE)
        assert np.all(a >= 0) and np.all(a <= RATE + 1e-15)
        best = (values + grid @ mu).max()
        assert reg.value(a, RATE) + mu @ a >= best - 1e-12
        assert reg.conjugate(mu, RATE)[0] == pytest.approx(reg.value(a, RATE) + mu @ a)


@pytest.mark.parametrize("reg", BUILT_IN, ids=lambda r: r.name)
def test_numba_twin_equals_the_numpy_response(reg):
    # the response is the kernel's; its pure-Python twin (what numba compiles) gives the same bits
    weight, target = reg.kernel_arrays(RATE.size)
    out, twin = np.empty(RATE.size), np.empty(RATE.size)
    for mu in _duals(reg, np.random.default_rng(1)):
        regularizer_response(reg.code, weight, target, mu, RATE, out)
        np.testing.assert_array_equal(out, reg.response(mu, RATE))
        regularizer_response.py_func(reg.code, weight, target, mu, RATE, twin)
        np.testing.assert_array_equal(out, twin)


@pytest.mark.parametrize("reg", BUILT_IN, ids=lambda r: r.name)
def test_below_the_floor_the_response_uses_nothing_of_that_resource(reg):
    ell = reg.floor(RATE)
    for j in range(RATE.size):
        mu = np.zeros(RATE.size)
        mu[j] = ell[j] - 0.01
        assert reg.response(mu, RATE)[j] == 0.0


@pytest.mark.parametrize("cls", [MaxMinFairness, LoadBalancing, BelowTargetPenalty, QuadraticPenalty])
def test_zero_weight_responds_with_the_rate_on_nonnegative_duals(cls):
    reg = cls(0.0)
    assert np.all(reg.floor(RATE) == 0.0)
    for mu in np.random.default_rng(2).random((20, 2)):
        np.testing.assert_array_equal(reg.response(mu, RATE), RATE)
    assert reg.value(RATE / 3, RATE) == 0.0


def test_closed_forms():
    a = np.array([0.1, 0.5])
    assert MaxMinFairness(0.1).value(a, RATE) == pytest.approx(0.05)
    assert LoadBalancing(0.1).value(a, RATE) == pytest.approx(-0.1)
    assert BelowTargetPenalty(2.0, 1.0).value(a, RATE) == pytest.approx(-2.0 * 0.1)
    assert QuadraticPenalty(1.0, 0.5).value(a, RATE) == pytest.approx(-0.25)
    # the paper's max-min response: ρ on its domain Σ_{μ<0} ρ_j μ_j >= -λ, and the duals' floor -λ/ρ
    np.testing.assert_allclose(MaxMinFairness(0.1).floor(RATE), [-0.5, -0.2])
    assert MaxMinFairness(0.1).response(np.array([-0.4, 0.0]), RATE).tolist() == [0.2, 0.5]
    assert MaxMinFairness(0.1).response(np.array([-0.6, 0.0]), RATE).tolist() == [0.0, 0.5]


# -- a user's own regulariser ---------------------------------------------------------------------------------
def _sqrt_utility(lam=0.5):
    """r(a) = λ Σ sqrt(a_j/ρ_j); its response solves λ/(2 sqrt(a ρ)) = -μ, clipped to [0, ρ]."""

    def value(a):
        return float(lam * np.sqrt(np.maximum(a, 0.0) / RATE).sum())

    def response(mu):
        with np.errstate(divide="ignore", over="ignore"):
            a = np.where(mu < 0, (lam / (2.0 * np.maximum(-mu, 1e-300))) ** 2 / RATE, RATE)
        return np.clip(a, 0.0, RATE)

    return value, response


def test_a_concave_custom_regulariser_is_accepted_and_runs():
    value, response = _sqrt_utility()
    reg = CustomRegularizer(value, response, floor=-1e6)
    rng = np.random.default_rng(3)
    p = ob.OnlineAllocation.matching(rewards=rng.random((200, 2)), budgets=RATE * 200, regularizer=reg)
    r = ob.solve(p, method="dmd", options={"benchmark": "dual_bound"})
    assert p.is_feasible(r.x)
    assert r.objective == pytest.approx(p.value_of(r.x))
    assert r.stats["hindsight"] >= r.objective - 1e-9


def test_a_convex_user_regulariser_is_refused_by_name():
    with pytest.raises(ob.InvalidProblemError, match="`regularizer` is not concave"):
        ob.OnlineAllocation.matching(
            rewards=[[1.0, 0.5]],
            budgets=[1.0, 1.0],
            regularizer=CustomRegularizer(lambda a: float((a**2).sum()), lambda mu: np.ones(2)),
        )


def test_a_wrong_response_or_floor_is_refused():
    value, response = _sqrt_utility()
    with pytest.raises(ob.InvalidProblemError, match="not the maximiser"):
        ob.OnlineAllocation.matching(
            rewards=np.ones((5, 2)), budgets=RATE * 5, regularizer=CustomRegularizer(value, lambda mu: RATE / 2, floor=-1e6)
        )
    with pytest.raises(ob.InvalidProblemError, match="must return 0 <= a <= ρ"):
        ob.OnlineAllocation.matching(
            rewards=np.ones((5, 2)), budgets=RATE * 5, regularizer=CustomRegularizer(value, lambda mu: RATE * 2, floor=-1e6)
        )
    with pytest.raises(ob.InvalidProblemError, match="`regularizer.floor` is not a floor"):
        ob.OnlineAllocation.matching(
            rewards=np.ones((5, 2)), budgets=RATE * 5, regularizer=CustomRegularizer(value, response, floor=0.0)
        )
    with pytest.raises(ob.InvalidProblemError, match="`regularizer.value` failed"):
        ob.OnlineAllocation.matching(
            rewards=np.ones((5, 2)), budgets=RATE * 5, regularizer=CustomRegularizer(lambda a: 1 / 0, response)
        )


# -- validation and files ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec, field",
    [
        ({"kind": "max_min_fairness", "weight": -1}, "regularizer.weight"),
        ({"kind": "below_target", "weight": 1, "target": 1.5}, "regularizer.target"),
        ({"kind": "quadratic", "weight": [1, 2, 3]}, "regularizer.weight"),
        ({"kind": "fairness"}, "regularizer.kind"),
        ({"kind": "max_min_fairness", "wieght": 0.1}, "unknown key `wieght`"),
        ("max_min_fairness", "`regularizer` must be"),
    ],
)
def test_bad_regularizers_name_the_field(spec, field):
    with pytest.raises(ob.InvalidProblemError, match=field.replace(".", r"\.")):
        ob.OnlineAllocation.matching(rewards=[[1.0, 0.5]], budgets=[1.0, 1.0], regularizer=spec)


def test_entropy_and_a_regularizer_exclude_each_other():
    with pytest.raises(ob.InvalidProblemError, match="`regularizer` needs integer actions"):
        ob.OnlineAllocation.matching(rewards=[[1.0, 0.5]], budgets=[1.0, 1.0], entropy=0.1, regularizer=MaxMinFairness(0.1))


@pytest.mark.parametrize("reg", BUILT_IN, ids=lambda r: r.name)
def test_file_round_trip(tmp_path, reg):
    p = ob.OnlineAllocation.matching(rewards=np.random.default_rng(4).random((6, 2)), budgets=[1.0, 2.0], regularizer=reg)
    ob.save(p, tmp_path / "p.json")
    q = ob.load(tmp_path / "p.json")
    assert q == p and q.regularizer == reg
    assert ob.OnlineAllocation.from_dict({**p.to_dict(), "regularizer": reg.to_dict()}) == p


def test_a_custom_regularizer_cannot_be_saved(tmp_path):
    value, response = _sqrt_utility()
    p = ob.OnlineAllocation.matching(
        rewards=np.ones((3, 2)), budgets=RATE * 3, regularizer=CustomRegularizer(value, response, floor=-1e6)
    )
    with pytest.raises(ob.InvalidProblemError, match="custom regulariser cannot be saved"):
        ob.save(p, tmp_path / "p.json")
    assert not (tmp_path / "p.json").exists()


# -- the projection onto the paper's dual domains -----------------------------------------------------------------
@pytest.mark.parametrize("scaled", [False, True], ids=["euclidean", "scaled"])
@pytest.mark.parametrize("reg", [MaxMinFairness(0.3), LoadBalancing(0.4)], ids=lambda r: r.name)
def test_euclidean_projection_onto_the_dual_domain_equals_cvxpy(reg, scaled):
    cp = pytest.importorskip("cvxpy")
    from orbudget.problems._numerics import regularizer_project

    rate = np.array([0.2, 0.5, 0.1])
    ell = reg.floor(rate)
    weight, _ = reg.kernel_arrays(3)
    w = rate**2 if scaled else np.ones(3)
    rng = np.random.default_rng(5)
    for _ in range(15):
        mu = ell + rng.random(3) * (np.abs(ell) + 1.0)
        got = mu.copy()
        regularizer_project(reg.code, weight, got, rate, ell, False, scaled)
        v = cp.Variable(3)
        cons = [v >= ell]
        cons += [cp.sum(cp.multiply(rate, cp.pos(-v))) <= reg.weight] if reg.code == 1 else [rate @ v >= reg.weight]
        prob = cp.Problem(cp.Minimize(cp.sum(cp.multiply(w, cp.square(v - mu)))), cons)
        prob.solve(solver="CLARABEL")
        # feasible, and no farther than the conic solver's answer (which is only accurate to its tolerance)
        assert np.all(got >= ell - 1e-12)
        assert (
            (rate @ np.maximum(-got, 0.0) <= reg.weight * (1 + 1e-9))
            if reg.code == 1
            else (rate @ got >= reg.weight * (1 - 1e-9))
        )
        assert w @ (got - mu) ** 2 <= prob.value + 1e-8
        np.testing.assert_allclose(got, v.value, atol=1e-4)


@pytest.mark.parametrize("entropic", [False, True])
@pytest.mark.parametrize("reg", [MaxMinFairness(0.3), LoadBalancing(0.4)], ids=lambda r: r.name)
def test_projection_lands_in_the_domain_and_equals_its_python_twin(reg, entropic):
    from orbudget.problems._numerics import regularizer_project

    rate = np.array([0.2, 0.5, 0.1, 0.05])
    ell = reg.floor(rate)
    weight, _ = reg.kernel_arrays(4)
    rng = np.random.default_rng(6)
    for _ in range(50):
        mu = ell + 1e-9 + rng.random(4) * (np.abs(ell) + 1.0)
        a, b = mu.copy(), mu.copy()
        regularizer_project(reg.code, weight, a, rate, ell, entropic, False)
        regularizer_project.py_func(reg.code, weight, b, rate, ell, entropic, False)
        np.testing.assert_allclose(a, b, rtol=1e-12)
        assert np.all(a >= ell)
        if reg.code == 1:
            assert rate @ np.maximum(-a, 0.0) <= reg.weight * (1 + 1e-9)
            assert np.all(a[mu >= 0] == mu[mu >= 0])  # only the negative duals move
        else:
            assert rate @ a >= reg.weight * (1 - 1e-9)
        if (reg.code == 1 and rate @ np.maximum(-mu, 0.0) <= reg.weight) or (reg.code == 2 and rate @ mu >= reg.weight):
            np.testing.assert_array_equal(a, mu)  # inside already: untouched


# -- the paper's step at the domain's boundary (issue 26 item 8) ---------------------------------------------------
def test_a_projected_dual_on_the_fairness_boundary_responds_with_the_rate():
    # ρ = (0.51, 0.22, 0.46), λ = 0.24: μ_j = −0.08/ρ_j has λ + Σ ρ_j μ_j = 0.24 − 3·0.08 = 0 exactly, but the
    # rounded sum lands a hair below 0; the paper's response on D is ρ
    rate, fair = np.array([0.51, 0.22, 0.46]), MaxMinFairness(0.24)
    mu = -0.08 / rate
    np.testing.assert_array_equal(fair.response(mu, rate), rate)
    # the tolerance is relative to the rounding, not a loose constant: 1e-9 outside D is outside
    np.testing.assert_array_equal(fair.response(mu * (1 + 1e-9), rate), np.zeros(3))
    balance = LoadBalancing(0.24)  # its boundary: Σ ρ_j μ_j = λ with μ >= 0
    np.testing.assert_array_equal(balance.response(0.08 / rate, rate), rate)
    np.testing.assert_array_equal(balance.response(0.08 / rate * (1 - 1e-9), rate), np.zeros(3))


@pytest.mark.parametrize("scaled", [False, True], ids=["euclidean", "scaled"])
def test_the_projection_of_an_unclipped_step_is_not_clip_then_project(scaled):
    from orbudget.problems._numerics import regularizer_project

    # ρ = (0.5, 0.5), λ = 0.1, step y = (−1.1, −0.9): the weights are equal, so the projection shifts both by the same
    # θ/2 until λ + Σ ρ_j min(μ_j, 0) = 0: 0.1 + 0.5(−1.1 + t) + 0.5(−0.9 + t) = 0 gives t = 0.9, μ = (−0.2, 0)
    # (μ_2 reaches 0 exactly there). Clipping at the floor −λ/ρ = −0.2 first would give (−0.1, −0.1).
    rate, ell = np.array([0.5, 0.5]), np.array([-0.2, -0.2])
    y = np.array([-1.1, -0.9])
    regularizer_project(1, np.full(2, 0.1), y, rate, ell, False, scaled)
    np.testing.assert_allclose(y, [-0.2, 0.0], atol=1e-15)


def _scipy_projection(code, lam, y, rate, w, entropic, ell):
    """argmin over D of Σ w_j (μ_j − y_j)² (or the KL divergence of μ − ℓ from y − ℓ), by SLSQP on the domain
    written as linear constraints: max-min fairness Σ_{j∈S} ρ_j μ_j >= −λ for every subset S, load balancing
    μ >= 0 and ρᵀμ >= λ."""
    from scipy.optimize import minimize

    m = y.size
    if entropic:
        z = y - ell

        def f(mu):
            nu = np.maximum(mu - ell, 1e-300)
            return float(np.sum(nu * np.log(nu / z) - nu + z))

        jac = lambda mu: np.log(np.maximum(mu - ell, 1e-300) / z)  # noqa: E731
        bounds = [(e + 1e-14, None) for e in ell]
    else:
        f = lambda mu: float(w @ (mu - y) ** 2)  # noqa: E731
        jac = lambda mu: 2 * w * (mu - y)  # noqa: E731
        bounds = [(0.0, None)] * m if code == 2 else [(None, None)] * m
    if code == 1:
        subsets = [s for k in range(1, m + 1) for s in itertools.combinations(range(m), k)]
        cons = [{"type": "ineq", "fun": lambda mu, s=s: lam + rate[list(s)] @ mu[list(s)], "jac": None} for s in subsets]
        for c, s in zip(cons, subsets):
            c["jac"] = lambda mu, s=s: np.where(np.isin(np.arange(m), s), rate, 0.0)
    else:
        cons = [{"type": "ineq", "fun": lambda mu: rate @ mu - lam, "jac": lambda mu: rate}]
    start = np.maximum(y, ell + 1e-3) + (lam / rate.sum() if code == 2 else 0.0)
    res = minimize(f, start, jac=jac, bounds=bounds, constraints=cons, method="SLSQP", options={"ftol": 1e-15, "maxiter": 500})
    return res.x, f


@pytest.mark.parametrize("reference", ["euclidean", "scaled", "entropic"])
@pytest.mark.parametrize("code", [1, 2], ids=["max_min_fairness", "load_balancing"])
def test_the_projection_is_the_minimiser_over_the_domain(code, reference):
    # random small cases, the step anywhere (below the floor too for the Euclidean references): the projection
    # is in D and no farther from the step than scipy's minimiser (SLSQP is only accurate to its tolerance)
    from orbudget.problems._numerics import domain_slack, regularizer_project

    rng = np.random.default_rng(11)
    entropic, scaled = reference == "entropic", reference == "scaled"
    for _ in range(25):
        m = int(rng.integers(2, 5))
        rate, lam = rng.uniform(0.05, 0.6, m), float(rng.uniform(0.05, 0.5))
        reg = MaxMinFairness(lam) if code == 1 else LoadBalancing(lam)
        ell = reg.floor(rate)
        if entropic:  # the entropy step stays above the floor
            y = ell + rng.uniform(1e-3, 1.0, m) * (np.abs(ell) + 0.5)
        else:
            y = rng.uniform(-3.0, 1.5, m) * (np.abs(ell) + 0.3)
        w = rate**2 if scaled else np.ones(m)
        got = y.copy()
        regularizer_project(code, np.full(m, lam), got, rate, ell, entropic, scaled)
        assert domain_slack(code, lam, got, rate)[0] >= 0.0
        assert np.all(got >= ell)
        want, f = _scipy_projection(code, lam, y, rate, w, entropic, ell)
        assert f(got) <= f(want) + 1e-10
        np.testing.assert_allclose(got, want, atol=2e-5)
