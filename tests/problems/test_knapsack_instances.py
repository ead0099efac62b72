"""The knapsack instance generators (orbudget/problems/knapsack_instances.py)."""

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems import knapsack_instances as ki


def test_generators_are_seeded_and_check_their_arguments():
    a = ki.zero_one("spanner", 30, R=1000, seed=5)
    b = ki.zero_one("spanner", 30, R=1000, seed=5)
    assert np.array_equal(a.costs, b.costs) and np.array_equal(a.values, b.values)
    assert a.values.shape == (30, 2) and (a.costs[:, 0] == 0).all() and (a.costs[:, 1] >= 1).all()
    m = ki.multiple_choice("strongly_correlated", 7, 6, R=100, seed=1)
    assert m.values.shape == (7, 6) and (np.diff(m.costs, axis=1) >= 0).all()
    assert m.budget == (m.costs.min(axis=1) + m.costs.max(axis=1)).sum() // 2
    assert ob.knapsack_instances is ki
    with pytest.raises(ob.InvalidProblemError, match="`kind` must be one of"):
        ki.zero_one("hard", 10)
    with pytest.raises(ob.InvalidProblemError, match="`N`"):
        ki.multiple_choice("monotone", 0, 3)
