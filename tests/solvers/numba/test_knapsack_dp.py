"""Each knapsack DP kernel (orbudget/solvers/numba/_knapsack_dp.py) equals its pure-Python twin (``kernel.py_func``)."""

import numpy as np
import pytest

from orbudget.solvers.numba import _knapsack_dp as k

from ...conftest import twin


@pytest.mark.parametrize("exact", [False, True])
def test_mckp_dp_twin(exact):
    rng = np.random.default_rng(0)
    for _ in range(20):
        n, m = rng.integers(1, 6, size=2)
        values = rng.normal(size=(n, m))
        costs = rng.integers(0, 5, size=(n, m))
        avail = np.ones((n, m), bool)
        budget = int(rng.integers(0, 15))
        a = k.mckp_dp(values, costs, avail, budget, exact, np.empty((n, budget + 1), np.uint8))
        b = twin(k.mckp_dp)(values, costs, avail, budget, exact, np.empty((n, budget + 1), np.uint8))
        assert a[2] == b[2]
        if a[2]:
            assert a[0] == pytest.approx(b[0]) and np.array_equal(a[1], b[1])


def test_marginal_greedy_and_prune_twins():
    rng = np.random.default_rng(1)
    table = np.cumsum(rng.random((6, 9)), axis=1)
    costs = np.ones(6)
    a = k.marginal_greedy(table, 1, 8, costs, 20.0, True)
    b = twin(k.marginal_greedy)(table, 1, 8, costs, 20.0, True)
    assert np.array_equal(a[0], b[0]) and a[0].sum() == 20
    values, c = rng.random((5, 4)), rng.integers(0, 4, (5, 4)).astype(float)
    av = np.ones((5, 4), bool)
    assert np.array_equal(k.prune_dominated(values, c, av, False), twin(k.prune_dominated)(values, c, av, False))


def test_marginal_greedy_int64_costs_twin_and_exact_budget():
    """Whole-number rollout costs reach the kernel as int64 (issue 13): no float rounding near 2^62."""
    rng = np.random.default_rng(2)
    table = np.cumsum(rng.random((3, 5)), axis=1)
    big = 2**60
    costs = np.array([big, big + 1, big + 3], np.int64)
    budget = 4 * big + 4  # three prompts at 1 rollout plus one more for the first; in float64, big + 1 == big
    a = k.marginal_greedy(table, 1, 4, costs, budget, False)
    b = twin(k.marginal_greedy)(table, 1, 4, costs, budget, False)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    spend = sum(int(c) * int(n) for c, n in zip(costs, a[0]))
    assert spend <= budget and a[0].tolist() == [2, 1, 1]
