"""The RMAB family's shared code (orbudget/solvers/_rmab.py): the linear oracles against brute force, the Lagrangian bound,
Whittle indices and the exact DP's size check."""

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems.rmab import CoupledRMAB
from orbudget.solvers._rmab import Oracle, lagrange_tables, lagrangian_bound, whittle_indices

from ..conftest import FAMILIES, needs, tiny
from .conftest import ONE_THREAD


# -- linear oracle (myopic) ----------------------------------------------------------------------------------------
@needs("highs")
@needs("ortools")
@pytest.mark.parametrize("kind", FAMILIES)
def test_myopic_oracles_equal_brute_force(kind):
    p = tiny(kind, 2)
    acts = p.feasible_actions()
    oracles = [Oracle(p, k, ONE_THREAD) for k in ("highs", "cpsat", "enumerate", "auto")]
    rng = np.random.default_rng(0)
    for _ in range(10):
        s = rng.integers(0, p.n_states, p.n_arms)
        best = p.reward(np.broadcast_to(s, (len(acts), p.n_arms)), acts).max()
        for o in oracles:
            x = o.solve(p.level_values(s))
            assert p.check(x) is None
            assert p.reward(s, x) == pytest.approx(best, abs=1e-5), o.kind


def test_knapsack_oracle_for_one_worker_equals_brute_force():
    """A `RMABCapacity` constraint with one worker is a 0/1 knapsack: `auto` takes the core knapsack search, which gives
    the one-step optimum of enumeration; with several workers 'knapsack' is refused, naming the option."""
    rng = np.random.default_rng(4)
    for seed in range(6):
        p = CoupledRMAB.capacity(10, 1, seed=seed, horizon=5)
        assert p.constraint.capacities.size == 1
        knap, enum = Oracle(p, "auto", ONE_THREAD), Oracle(p, "enumerate", ONE_THREAD)
        assert knap.kind == "knapsack"
        for _ in range(10):
            values = p.level_values(rng.integers(0, p.n_states, p.n_arms))
            x = knap.solve(values)
            assert p.check(x) is None
            got = values[np.arange(p.n_arms), x].sum()
            best = values[np.arange(p.n_arms), enum.solve(values)].sum()
            assert got == pytest.approx(best, abs=1e-12)
    with pytest.raises(ob.InvalidProblemError, match="`options.oracle`"):
        Oracle(CoupledRMAB.capacity(10, 2, seed=0, horizon=5), "knapsack", ONE_THREAD)


def test_lagrangian_bound_is_an_upper_bound_and_index_uses_it():
    for kind in ("budget", "path", "capacity", "multi", "matching"):
        for seed in range(3):
            p = tiny(kind, seed)
            bound, lam = lagrangian_bound(p)
            dp = ob.solve(p, method="exact_dp", seed=0).stats["expected"]
            assert bound >= dp - 1e-9 and lam >= 0
    # with a budget that never binds, λ* = 0 and the bound is the unconstrained optimum
    p = CoupledRMAB.budget(3, 3, seed=0, horizon=5)
    bound, lam = lagrangian_bound(p)
    assert lam == pytest.approx(0.0, abs=1e-6)
    assert bound == pytest.approx(ob.solve(p, method="exact_dp").stats["expected"], rel=1e-9)
    Q, _ = lagrange_tables(p, 0.0)
    assert Q.shape == (5, 3, 2, 4)


def test_whittle_index_closed_form_when_actions_do_not_change_transitions():
    p0 = CoupledRMAB.budget(3, 1, seed=0)
    same = p0.transitions.copy()
    same[:, 1] = same[:, 0]
    rewards = np.array([[0, 1, 2, 3], [1, 1, 1, 1], [3, 0, 0, 5.0]])
    p = CoupledRMAB(transitions=same, rewards=rewards, constraint=p0.constraint)
    # the future does not depend on the action, so the index is the immediate difference: 0 here
    assert np.allclose(whittle_indices(p), 0.0, atol=1e-6)
    # an arm whose active action adds a reward bonus through a better next state: index > 0 in every state
    assert (whittle_indices(p0) > -1e-9).any()


def test_huge_state_space_is_a_clear_error():
    with pytest.raises(ob.InvalidProblemError, match=r"`n_states`.*GiB"):
        CoupledRMAB.chain(np.full((4, 2), 0.5), n_states=10**6)
    p = CoupledRMAB.budget(3, 1, seed=0, horizon=10**15, episodes=2)
    from orbudget.solvers._rmab import exact_dp

    with pytest.raises(ob.InvalidProblemError, match=r"`horizon`.*GiB"):
        exact_dp(p)
