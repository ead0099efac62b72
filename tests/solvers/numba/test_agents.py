"""The exact workflow DP (solvers/numba/agents.py): equal to exhaustive expectimax over every decision and every
per-sample outcome on small workflows, and matched by simulation of its own policy."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

import orbudget as ob
from orbudget.solvers.numba.agents import WorkflowDP

SHAPES = {
    "single": (1, []),
    "chain": (3, [(0, 1), (1, 2)]),
    "fan_out": (3, [(0, 1), (0, 2)]),
    "fan_in": (3, [(0, 2), (1, 2)]),
    "diamond": (4, [(0, 1), (0, 2), (1, 3), (2, 3)]),
}


def small_workflow(shape: str, seed: int, budget: int, deadline: int) -> ob.AgentWorkflow:
    n, edges = SHAPES[shape]
    rng = np.random.default_rng(seed)
    return ob.AgentWorkflow(
        success_rates=rng.uniform(0.2, 0.9, (n, 2)).round(2),
        lengths=100 * rng.integers(1, 4, (n, 2, 2)),
        max_tokens=[200, 300],
        prices=[1, 2],
        token_times=[0.01, 0.01],
        budget=budget,
        deadline=deadline,
        edges=edges,
        sample_counts=(1, 2),
        budget_unit=100,
        time_unit=1.0,
    )


def brute_force(wf: ob.AgentWorkflow) -> float:
    """Best completion probability over all policies: every portfolio of the ready subtasks at every wave, every
    per-sample outcome (length index and success) enumerated one by one, the budget and deadline checked in real
    units; memoised on the exact state (done set, spend, elapsed), which is all a policy can condition on that matters."""
    k = wf.lengths.shape[2]

    def launch_outcomes(s, o):
        m, n = wf.option(o)
        for combo in itertools.product(range(k), repeat=n):
            for oks in itertools.product((0, 1), repeat=n):
                pr = k**-n
                tokens = []
                for c, ok in zip(combo, oks):
                    length = wf.lengths[s, m, c]
                    truncated = length > wf.max_tokens[m]
                    tokens.append(min(length, wf.max_tokens[m]))
                    p = 0.0 if truncated else wf.success_rates[s, m]
                    pr *= p if ok else 1 - p
                if pr > 0:
                    yield pr, any(oks), sum(tokens) * wf.prices[m], wf.latencies[m] + wf.token_times[m] * max(tokens)

    @functools.cache
    def value(done, spent, elapsed):
        if done == wf.full_mask:
            return 1.0
        ready = wf.ready(done)
        best = 0.0
        for choice in itertools.product(*[[-1, *range(wf.n_options)] for _ in ready]):
            launch = [(s, o) for s, o in zip(ready, choice) if o >= 0]
            wc = sum(wf.worst_costs[s, o] for s, o in launch)
            if not launch or not wf.fits(spent, elapsed, wc, max(wf.worst_times[s, o] for s, o in launch)):
                continue
            total = 0.0
            for outs in itertools.product(*[list(launch_outcomes(s, o)) for s, o in launch]):
                pr = np.prod([x[0] for x in outs])
                nd = done | sum(1 << s for (s, _), x in zip(launch, outs) if x[1])
                total += pr * value(nd, round(spent + sum(x[2] for x in outs), 6), round(elapsed + max(x[3] for x in outs), 6))
            best = max(best, total)
        return best

    return value(0, 0.0, 0.0)


@pytest.mark.parametrize(
    "shape,seed,budget,deadline",
    [("single", 0, 400, 6), ("chain", 1, 900, 9), ("fan_out", 2, 1000, 7), ("fan_in", 3, 900, 8), ("diamond", 4, 1400, 9)],
)
def test_dp_equals_brute_force(shape, seed, budget, deadline):
    wf = small_workflow(shape, seed, budget, deadline)
    dp = WorkflowDP(wf)
    assert dp.value == pytest.approx(brute_force(wf), abs=1e-9)
    assert 0.0 < dp.value < 1.0


def test_dp_reported_probability_matches_its_simulation_and_never_overspends():
    wf = ob.AgentWorkflow.code_like(seed=1, budget_fraction=0.3, deadline_fraction=0.4)
    r = ob.solve(wf, method="exact_dp", seed=0, options={"episodes": 3000})
    assert r.status is ob.Status.OPTIMAL and r.objective == r.stats["exact"]
    assert r.stats["ci_low"] <= r.objective <= r.stats["ci_high"]
    assert r.stats["max_spent"] <= wf.budget and r.stats["max_elapsed"] <= wf.deadline * (1 + 1e-9)


def test_dp_is_at_least_every_baseline_and_zero_when_nothing_fits():
    wf = small_workflow("diamond", 5, 1400, 9)
    dp = WorkflowDP(wf).value
    for m in ("static", "cheapest", "strongest", "greedy"):
        r = ob.solve(wf, method=m, seed=0, options={"episodes": 4000})
        assert r.stats["ci_low"] <= dp + 1e-9, m
    tiny = small_workflow("chain", 1, 100, 9)  # one cheap call's worst case at most: the chain cannot finish
    assert WorkflowDP(tiny).value == 0.0
    assert ob.solve(tiny, method="exact_dp", seed=0).objective == 0.0


def test_dp_refuses_a_grid_too_fine():
    wf = ob.AgentWorkflow.code_like(seed=0)
    fine = ob.AgentWorkflow.from_dict({**wf.to_dict(), "budget_unit": 1.0, "time_unit": 0.001})
    with pytest.raises(ob.InvalidProblemError, match="too large|more than"):
        ob.solve(fine, method="exact_dp")
