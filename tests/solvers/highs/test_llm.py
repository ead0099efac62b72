"""The HiGHS routing MIP (orbudget/solvers/highs/llm.py): task budgets against brute force."""

import pytest

import orbudget as ob

from ...conftest import needs, tiny_routing
from ..conftest import brute_routes


@needs("highs")
@pytest.mark.parametrize("seed", range(4))
def test_routing_mip_with_task_budgets_equals_brute_force(seed):
    p = tiny_routing(seed, tasks=True)
    best = brute_routes(p)
    r = ob.solve(p, method="mip", threads=1)
    if best is None:
        assert r.status == ob.Status.INFEASIBLE
        return
    assert r.objective == pytest.approx(best, abs=1e-9) and p.is_feasible(r.x)
    with pytest.raises(ob.InvalidProblemError, match="task budgets"):
        ob.solve(p, method="mckp")
