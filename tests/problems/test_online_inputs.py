"""Generators of online-allocation inputs (orbudget/problems/online_inputs.py)."""

import numpy as np

import orbudget as ob
from orbudget.problems import online_inputs as gen


def test_nrm_generator_shapes_and_stream():
    p = gen.network_revenue_management(300, n_resources=7, n_products=4, seed=2)
    assert p.rewards.shape == (300, 4) and p.consumption.shape == (300, 4, 7)
    assert set(np.unique(p.consumption)) <= {0.0, 1.0}
    assert p.rewards.min() >= 0 and p.rewards.max() <= 10
    s = gen.network_revenue_management(300, n_resources=7, n_products=4, seed=2, stream=True)
    assert s.dense() == p


def test_non_stationary_generators():
    """Budgets hold and DMD stays within a constant factor of the hindsight optimum (measured 0.81 on the periodic
    and 0.95 on the ergodic instance; on periodic inputs greedy can do as well, 0.83: DMD's i.i.d. rate is lost)."""
    cases = (
        (gen.periodic_matching(3000, 5, seed=0, period=500), 0.75),
        (gen.ergodic_matching(3000, 5, seed=0, correlation=0.95), 0.9),
    )
    for p, floor in cases:
        assert p.rewards.shape == (3000, 5) and (p.rewards >= 0).all()
        r = ob.solve(p, method="dmd")
        assert p.is_feasible(r.x) and r.objective <= r.stats["hindsight"] + 1e-9
        assert r.objective >= floor * r.stats["hindsight"]
    q = gen.periodic_matching(1000, 2, seed=1, period=100, amplitude=0.0)
    assert abs(q.rewards.mean() - 0.25) < 0.02  # no modulation: U(0, 1)/2
