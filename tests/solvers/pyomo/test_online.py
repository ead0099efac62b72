"""The Pyomo hindsight models of online allocation (orbudget/solvers/pyomo/online.py) against HiGHS."""

from __future__ import annotations

import numpy as np
import pytest

import orbudget as ob

from ..conftest import PYOMO_SOLVERS, assert_close, pyomo_solve

pytest.importorskip("pyomo.environ", reason="pyomo is not installed (pip install 'orbudget[pyomo]')")


def _online(seed, matching=False):
    rng = np.random.default_rng(seed)
    if matching:
        return ob.OnlineAllocation.matching(rng.uniform(0, 1, (25, 3)), np.array([3.0, 2.0, 4.0]))
    return ob.OnlineAllocation(
        rewards=rng.uniform(0, 1, (25, 3)), consumption=rng.uniform(0, 1, (25, 3, 2)), budgets=np.array([4.0, 3.0])
    )


@pytest.mark.parametrize("solver", PYOMO_SOLVERS)
@pytest.mark.parametrize("matching", [False, True])
def test_hindsight_mip_and_lp_match_highs(solver, matching):
    p = _online(5, matching)
    ref = ob.solve(p, method="hindsight", backend="highs")
    r = pyomo_solve(p, "hindsight", solver)
    assert_close(r.objective, ref.objective)
    assert p.is_feasible(r.x) and r.stats["regret"] == 0.0
    ref_lp = ob.solve(p, method="hindsight_lp", backend="highs")
    r_lp = pyomo_solve(p, "hindsight_lp", solver, export={"relax": True})
    assert_close(r_lp.objective, ref_lp.objective)
    assert r_lp.objective >= r.objective - 1e-9


@pytest.mark.parametrize("solver", PYOMO_SOLVERS)
@pytest.mark.parametrize("rewards", [0.0, 1.0])
def test_hindsight_with_nothing_to_play(solver, rewards):
    """No positive reward, or every action over a whole budget: an empty model (HiGHS refuses those), answered as
    the null action everywhere."""
    p = ob.OnlineAllocation(rewards=np.full((5, 2), rewards), consumption=np.full((5, 2, 1), 3.0), budgets=np.array([1.0]))
    r = ob.solve(p, method="hindsight", backend="pyomo", options={"solver": solver})
    assert r.status is ob.Status.OPTIMAL and r.objective == 0.0 and (r.x == -1).all()
    lp = ob.solve(p, method="hindsight_lp", backend="pyomo", options={"solver": solver})
    assert_close(lp.objective, ob.solve(p, method="hindsight_lp", backend="highs").objective)
