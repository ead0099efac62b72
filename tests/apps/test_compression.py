"""The compression applications of `BudgetedAssignment` (orbudget/apps/compression.py)."""

import numpy as np
import pytest

import orbudget as ob


def test_compression_applications():
    from orbudget.apps.compression import mlp_quantization, moe_pruning

    moe = moe_pruning(n_experts=16, prune=4, top_k=4, n_tokens=256, seed=1)
    for method in ("rco", "proxy_dp", "evolutionary"):
        r = ob.solve(moe, method=method, seed=0, options={"steps": 40} if method == "rco" else None)
        assert int((r.x == 1).sum()) == 4 and moe.cost_of(r.x) == moe.budget  # exactly 4 experts pruned
    assert moe.loss_of(np.zeros(16, int)) == pytest.approx(0.0, abs=1e-12)  # nothing pruned: no error
    mlp, holdout = mlp_quantization(hidden=32, depth=2, n_calibration=300, n_holdout=300, seed=0, average_bits=3.0)
    r = ob.solve(mlp, method="rco", seed=0, options={"steps": 40})
    u = ob.solve(mlp, method="uniform")
    assert mlp.is_feasible(r.x) and r.stats["max_budget_error"] <= 1e-9
    assert holdout(r.x) >= 0 and r.objective <= u.objective + 1e-12  # measured: uniform bits are far worse here
