"""Issue 15: every RolloutAllocation method builds the value table at most once per solve."""

import pytest

import orbudget as ob
import orbudget.problems.rollouts as rollouts

PROBLEMS = {
    "unit costs": dict(success_rates=[0.2, 0.5, 0.7, 0.1], total_rollouts=12, max_rollouts=8),
    "rollout costs": dict(success_rates=[0.2, 0.5, 0.7], total_rollouts=12, max_rollouts=8, rollout_costs=[1, 2, 3]),
}


@pytest.mark.parametrize("name", PROBLEMS)
def test_every_method_builds_the_value_table_at_most_once(name, monkeypatch):
    calls = []
    real = rollouts.value_table
    monkeypatch.setattr(rollouts, "value_table", lambda *a, **k: calls.append(a) or real(*a, **k))
    prob = ob.RolloutAllocation(**PROBLEMS[name])
    tried = []
    for method, backend, _ in ob.available_solvers(prob):
        calls.clear()
        try:
            r = ob.solve(prob, method=method, backend=backend)
        except ob.InvalidProblemError as e:  # e.g. python 'lp' on unit costs: refused by name, builds nothing
            assert "cannot solve" in str(e) and not calls, (method, backend)
            continue
        assert r.ok, (method, backend, r.message)
        assert len(calls) <= 1, (method, backend, len(calls))
        tried.append((method, backend))
    assert ("greedy", "numba") in tried and ("dp", "numba") in tried and len(tried) >= 4
