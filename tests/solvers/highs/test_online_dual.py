"""The dual bound by cutting planes (orbudget/solvers/highs/online_dual.py) equals the primal LP."""

import pytest

import orbudget as ob
from orbudget.problems import online_inputs as gen

from ...conftest import needs


@needs("highs")
@pytest.mark.parametrize("kind", ["dense", "matching"])
def test_cutting_planes_equal_the_primal_lp(kind):
    p = gen.network_revenue_management(2000, 8, 4, seed=5) if kind == "dense" else gen.iid_matching(10_000, 10, seed=6)
    primal = ob.solve(p, method="hindsight_lp", options={"formulation": "primal"})
    dual = ob.solve(p, method="hindsight_lp", options={"formulation": "dual"})
    assert primal.status == dual.status == ob.Status.OPTIMAL
    assert dual.objective == pytest.approx(primal.objective, rel=1e-6)
    assert p.dual_value(primal.duals)[0] == pytest.approx(primal.objective, rel=1e-6)  # LP duals are optimal μ
    assert dual.stats["lower"] <= dual.objective
