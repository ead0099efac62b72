"""The HiGHS RMAB models (orbudget/solvers/highs/rmab.py): feasible sets against the checker, the linear oracle, and the
exact Q-network argmax (``QNetworkMIP``) against brute force, OMLT and enumeration."""

import itertools

import numpy as np
import pytest

import orbudget as ob
from orbudget.core.registry import module_available
from orbudget.core.solve import SolveOptions
from orbudget.problems.rmab import CoupledRMAB, london_graph
from orbudget.solvers import _relu
from orbudget.solvers.pyomo import rmab as pyomo_rmab

from ...conftest import FAMILIES, needs, tiny
from ..conftest import ONE_THREAD, RMAB_FAMILY_NAMES, assert_close, random_layers, rmab_family


def brute_max(p, layers, states):
    acts = p.feasible_actions()
    X = np.c_[acts, np.tile(_relu.encode_states(states, p.n_states), (len(acts), 1))]
    return _relu.forward(layers, X).max()


# -- MIP / CP-SAT feasible sets equal the checker's --------------------------------------------------------------------
@needs("highs")
@needs("ortools")
@pytest.mark.parametrize("kind", FAMILIES)
def test_model_feasible_sets_equal_enumeration(kind):
    from orbudget.solvers.highs.rmab import mip_feasible
    from orbudget.solvers.ortools.rmab import cpsat_feasible

    for seed in (0, 1):
        p = tiny(kind, seed)
        feasible = {a.tobytes() for a in p.feasible_actions().astype(np.int64)}
        count = 0
        for bits in itertools.product((0, 1), repeat=p.n_decisions):
            x = np.array(bits, dtype=np.int64)
            in_c = x.tobytes() in feasible
            assert mip_feasible(p, x, ONE_THREAD) == in_c, (kind, seed, bits)
            assert cpsat_feasible(p, x) == in_c, (kind, seed, bits)
            count += in_c
        assert count == len(feasible)


@needs("highs")
def test_path_never_picks_arms_out_of_reach():
    from orbudget.solvers.highs.rmab import LinearOracle, QNetworkMIP
    from orbudget.solvers.ortools.rmab import CpSatOracle

    for n in (20, 40, 60, 80, 100):
        for budget in (1, 2, 3):
            p = CoupledRMAB.path(n, budget, seed=0, graph=london_graph(n))
            dist = p.constraint.distances
            far = dist > budget
            values = np.zeros((n, 2))
            values[far, 1] = 10.0  # only arms the walk cannot reach pay
            values[~far, 1] = -1.0
            oracles = [LinearOracle(p, ONE_THREAD)] + ([CpSatOracle(p, ONE_THREAD)] if n <= 40 else [])
            for o in oracles:
                x, _ = o.solve(values)
                assert x.sum() == 0 and p.check(x) is None
            w = np.r_[np.where(far, 10.0, -1.0), np.zeros(n * p.n_states)]
            mip = QNetworkMIP(p, [(w[None, :], np.zeros(1))], "interval", ONE_THREAD)
            x, q, _ = mip.argmax(np.zeros(n, int))
            assert x.sum() == 0 and q == pytest.approx(0.0)


# -- the Q-network MIP ---------------------------------------------------------------------------------------------
def _trained_layers(p):
    from orbudget.solvers.torch.rmab import SequoiaPolicy

    pol = SequoiaPolicy(p, hidden=(16, 32), argmax="enumerate", seed=1, device="cpu")
    pol.fit(episodes=0, warm_steps=150, warm_samples=500)
    return pol.layers()


@needs("highs")
@pytest.mark.parametrize("kind", ["budget", "path", "matching", "capacity", "multi"])
@pytest.mark.parametrize("net", ["random", pytest.param("trained", marks=needs("torch"))])
def test_mip_argmax_equals_brute_force_and_forward_pass(kind, net):
    from orbudget.solvers.highs.rmab import QNetworkMIP

    p = tiny(kind, 3)
    d = p.n_decisions + p.n_arms * p.n_states
    layers = random_layers(d, seed=4) if net == "random" else _trained_layers(p)
    mip = QNetworkMIP(p, layers, "interval", ONE_THREAD)
    rng = np.random.default_rng(5)
    for _ in range(20):
        s = rng.integers(0, p.n_states, p.n_arms)
        x, q, info = mip.argmax(s)
        assert p.check(x) is None
        assert q == pytest.approx(brute_max(p, layers, s), abs=1e-6)
        assert info["mip_value"] == pytest.approx(q, abs=1e-6)  # embedding fidelity


@needs("highs")
def test_sign_convention_linear_network_picks_the_best_set():
    from orbudget.solvers.highs.rmab import QNetworkMIP

    p = CoupledRMAB.budget(8, 3, seed=0)
    w = np.array([0.5, -1.0, 2.0, 0.1, 3.0, -0.2, 1.5, 0.0])
    layers = [(np.r_[w, np.zeros(8 * 4)][None, :], np.array([0.7]))]
    x, q, _ = QNetworkMIP(p, layers, "interval", ONE_THREAD).argmax(np.zeros(8, int))
    assert x.tolist() == [0, 0, 1, 0, 1, 0, 1, 0] and q == pytest.approx(0.7 + 6.5)
    # and through one hidden layer (ReLU of a positive signal is the identity)
    hidden = [(np.r_[w, np.zeros(32)][None, :], np.array([10.0])), (np.ones((1, 1)), np.zeros(1))]
    x, q, _ = QNetworkMIP(p, hidden, "interval", ONE_THREAD).argmax(np.zeros(8, int))
    assert x.tolist() == [0, 0, 1, 0, 1, 0, 1, 0] and q == pytest.approx(16.5)


@needs("highs")
def test_tight_bounds_and_bigm_give_the_same_optimum():
    from orbudget.solvers.highs.rmab import QNetworkMIP

    p = tiny("budget", 0, n=8, budget=3)
    layers = random_layers(p.n_arms * 5, seed=7)
    tight, loose = QNetworkMIP(p, layers, "interval", ONE_THREAD), QNetworkMIP(p, layers, "bigm", ONE_THREAD)
    rng = np.random.default_rng(1)
    for _ in range(5):
        s = rng.integers(0, 4, 8)
        assert tight.argmax(s)[1] == pytest.approx(loose.argmax(s)[1], abs=1e-6)
    # per state, the interval bounds are small and leave some neurons stable (their σ is fixed, no branching)
    _, bounds = tight._bounds_for(s)
    assert max(float(np.abs(np.r_[lo, hi]).max()) for lo, hi in bounds) < 100
    assert sum(int(((lo >= 0) | (hi <= 0)).sum()) for lo, hi in bounds) > 0


@needs("highs")
def test_mip_time_limit_still_returns_a_feasible_action():
    from orbudget.solvers.highs.rmab import QNetworkMIP

    p = CoupledRMAB.budget(30, 8, seed=0)
    layers = random_layers(30 * 5, hidden=(32, 32), seed=0)
    mip = QNetworkMIP(p, layers, "interval", SolveOptions(threads=1, time_limit=0.05))
    x, q, info = mip.argmax(np.zeros(30, int))
    assert x is None or (p.check(x) is None and np.isfinite(q))
    assert info["status"] in ("optimal", "Time limit reached")


@needs("highs")
def test_highs_oracle_after_another_model_started_highs_pool_with_other_threads():
    """HiGHS keeps one global thread pool: a model asking another thread count than the running pool got model
    status 'Not Set' (the linear oracle raised SolverError) unless the pool is reset first, as new_highs does."""
    import highspy

    from orbudget.core.solve import SolveOptions
    from orbudget.solvers.highs.rmab import LinearOracle

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    highspy.Highs.resetGlobalScheduler(True)
    h.setOptionValue("threads", 2)
    h.addVar(0, 1)
    h.changeColCost(0, 1.0)
    h.run()  # the pool now runs two threads
    q = ob.CoupledRMAB.budget(6, 2, seed=0)
    values = np.random.default_rng(0).random((q.n_arms, 2))
    x, value = LinearOracle(q, SolveOptions()).solve(values)
    assert int(x.sum()) <= 2
    assert value == pytest.approx(max(np.sort(values[:, 1] - values[:, 0])[-2:].clip(0).sum(), 0) + values[:, 0].sum())


@pytest.mark.skipif(
    not (module_available("omlt") and module_available("pyscipopt") and module_available("highspy")),
    reason="needs omlt, pyscipopt and highspy",
)
def test_qnetwork_argmax_agrees_ours_omlt_scip_enumeration():
    """50 states across the five families: our HiGHS MIP (interval bounds), OMLT's big-M encoding solved by SCIP,
    our formulation through Pyomo + SCIP, and enumeration agree on the argmax value (and each x is feasible)."""
    from orbudget.solvers.highs.rmab import QNetworkMIP

    checked = nonempty = 0
    scip = SolveOptions(threads=1, options={"solver": "scip"})
    for family in RMAB_FAMILY_NAMES:
        p = rmab_family(family, seed=3)
        net = _relu.random_network(p.n_decisions + p.n_arms * p.n_states, (8, 8), seed=11)
        ours = QNetworkMIP(p, net)
        rng = np.random.default_rng(13)
        for _ in range(10):
            s = rng.integers(0, p.n_states, p.n_arms)
            x_h, q_h, _ = ours.argmax(s)
            x_e, q_e = pyomo_rmab.enumerate_argmax(p, net, s)
            x_o, q_o, r_o = pyomo_rmab.argmax(p, net, s, formulation="omlt_bigm", opts=scip)
            assert r_o.status is ob.Status.OPTIMAL, r_o.message
            for x in (x_h, x_o):
                assert p.is_feasible(x)
            assert_close(q_h, q_e, 1e-6)
            assert_close(q_o, q_e, 1e-6)
            checked += 1
            nonempty += int(x_e.sum() > 0)
    assert checked >= 50 and nonempty >= 25  # the argmax is not the trivial empty action
