"""Online allocation with fluid duals (orbudget/solvers/highs/online_fluid.py): known duals and a prefix."""

import numpy as np

import orbudget as ob
from orbudget.problems import online_inputs as gen

from ...conftest import needs


@needs("highs")
def test_fluid_with_known_duals_and_prefix():
    p = gen.iid_matching(20_000, 5, seed=8)
    sample = gen.iid_matching(20_000, 5, seed=9)  # same distribution, other draws (same budgets by construction)
    assert np.array_equal(sample.budgets, gen.iid_matching(20_000, 5, seed=9).budgets)
    mu = ob.solve(sample, method="hindsight_lp").duals
    known = ob.solve(p, method="fluid", options={"duals": mu})
    prefix = ob.solve(p, method="fluid")
    assert known.stats["prefix"] == 0 and prefix.stats["prefix"] == 1000
    assert (prefix.x[:1000] == -1).all()
    for r in (known, prefix):
        assert p.is_feasible(r.x) and r.objective <= r.stats["hindsight"] + 1e-9
