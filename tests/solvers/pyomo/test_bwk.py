"""The Pyomo ``opt_lp`` of bandits with knapsacks (orbudget/solvers/pyomo/bwk.py) against HiGHS."""

from __future__ import annotations

import numpy as np
import pytest

import orbudget as ob

from ..conftest import PYOMO_SOLVERS, assert_close, pyomo_solve

pytest.importorskip("pyomo.environ", reason="pyomo is not installed (pip install 'orbudget[pyomo]')")


@pytest.mark.parametrize("solver", PYOMO_SOLVERS)
def test_bwk_opt_lp_matches_highs(solver):
    rng = np.random.default_rng(6)
    p = ob.BanditsWithKnapsacks(
        reward_means=rng.uniform(0, 1, 5), consumption_means=rng.uniform(0, 1, (5, 2)), budgets=[40.0, 25.0], horizon=200
    )
    ref = ob.solve(p, method="opt_lp", backend="highs")
    r = pyomo_solve(p, "opt_lp", solver)
    assert_close(r.objective, ref.objective)
    assert r.x.sum() <= 1 + 1e-6 and (p.consumption_means.T @ r.x <= p.budgets / p.horizon + 1e-6).all()
