"""Step routing (solvers/numpy/step_routing.py): the DP equals brute force, dominates the boundary policies and
every fixed mixing of them; the live router plays the DP's policy."""

from __future__ import annotations

import numpy as np
import pytest

import orbudget as ob
from orbudget.solvers.numpy.step_routing import evaluate_mix, frontier


def brute_force(p: ob.StepRouting) -> float:
    """Best over every deterministic history-dependent policy, by enumerating each decision tree node by node."""
    k = p.costs.shape[2]

    def value(t, b):
        if t == p.horizon:
            return 1.0
        best = 0.0
        for m in range(p.n_models):
            if p.worst_costs[t, m] <= b:
                best = max(best, p.success_rates[t, m] * sum(value(t + 1, b - c) for c in p.costs[t, m].tolist()) / k)
        return best

    return value(0, p.budget)


@pytest.mark.parametrize("seed", range(6))
def test_dp_equals_brute_force(seed):
    p = ob.StepRouting.random(4, n_costs=2, seed=seed)
    assert ob.solve(p, method="dp").objective == pytest.approx(brute_force(p), abs=1e-12)


def test_frontier_dominates_boundary_and_mixed_policies():
    p = ob.StepRouting.random(6, seed=1)
    lo, hi = int(p.worst_costs[:, 0].sum()), int(p.worst_costs[:, 1].sum())
    f = frontier(p, np.linspace(lo, hi, 6).astype(int), mixes=tuple(np.linspace(0, 1, 6)))
    assert (f["dp"][:, None] >= f["mix"] - 1e-12).all()
    assert np.all(np.diff(f["dp"]) >= -1e-12)  # more budget never hurts
    r_small, r_large = ob.solve(p, method="small"), ob.solve(p, method="large")
    assert r_small.objective == pytest.approx(evaluate_mix(p, 0.0)[0]) and r_large.objective == pytest.approx(
        evaluate_mix(p, 1.0)[0]
    )


def test_mix_evaluation_matches_simulation():
    p = ob.StepRouting.random(5, seed=2)
    value, _ = evaluate_mix(p, 0.5)
    rng = np.random.default_rng(0)
    wins = 0
    n = 8000
    for _ in range(n):
        b, ok = p.budget, True
        for t in range(p.horizon):
            first, second = (p.large, p.small) if rng.random() < 0.5 else (p.small, p.large)
            m = first if p.worst_costs[t, first] <= b else second if p.worst_costs[t, second] <= b else -1
            if m < 0 or rng.random() >= p.success_rates[t, m]:
                ok = False
                break
            b -= p.costs[t, m, rng.integers(p.costs.shape[2])]
        wins += ok
    assert abs(wins / n - value) < 4 * np.sqrt(value * (1 - value) / n) + 1e-9


def test_live_router_plays_the_dp_and_checkpoints():
    p = ob.StepRouting.random(5, seed=3)
    router = ob.StepRouter(p)
    assert router.value == pytest.approx(ob.solve(p).objective)
    m = router.act()
    router.update(int(p.costs[0, m, 0]), True)
    state = router.state_dict()
    other = ob.StepRouter(p)
    other.load_state_dict(state)
    assert other.act() == router.act()
    with pytest.raises(ob.InvalidProblemError, match="`cost`"):
        router.update(10**6, True)
