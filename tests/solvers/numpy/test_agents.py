"""Workflow methods (solvers/numpy/agents.py): mcpp, the static knapsack plan and the baselines keep the budget and
the deadline in every run; mcpp is at least the best static baseline within the intervals."""

from __future__ import annotations

import numpy as np
import pytest

import orbudget as ob
from orbudget.solvers.numpy.agents import MCPPPlanner, static_plan

METHODS = ("static", "cheapest", "strongest", "greedy")


@pytest.mark.parametrize("make", [ob.AgentWorkflow.code_like, ob.AgentWorkflow.proof_like])
def test_every_run_keeps_budget_and_deadline(make):
    for frac in (0.2, 0.6):
        w = make(seed=2, budget_fraction=frac, deadline_fraction=frac)
        for m in METHODS:
            r = ob.solve(w, method=m, seed=1, options={"episodes": 500})
            assert r.stats["max_spent"] <= w.budget and r.stats["max_elapsed"] <= w.deadline * (1 + 1e-9), m
            assert r.stats["ci_low"] <= r.objective <= r.stats["ci_high"]


def test_static_plan_keeps_expected_budget_and_deadline():
    w = ob.AgentWorkflow.code_like(seed=0, budget_fraction=0.3, deadline_fraction=0.4)
    x, info = static_plan(w)
    rows = np.arange(w.n_subtasks)
    assert w.expected_costs[rows, x].sum() <= w.budget and w.critical_path(w.worst_times[rows, x]) <= w.deadline
    assert info["knapsack_solves"] >= 1


def test_mcpp_at_least_the_best_static_baseline_and_near_the_dp():
    w = ob.AgentWorkflow.code_like(seed=0, budget_fraction=0.3, deadline_fraction=0.4)
    r = ob.solve(w, method="mcpp", seed=0, options={"episodes": 150, "candidates": 6, "rollouts": 48})
    assert r.stats["max_spent"] <= w.budget and r.stats["max_elapsed"] <= w.deadline * (1 + 1e-9)
    best = max((ob.solve(w, method=m, seed=0, options={"episodes": 2000}) for m in METHODS), key=lambda q: q.objective)
    assert r.stats["ci_high"] >= best.objective  # never clearly below the best static baseline
    dp = ob.solve(w, method="exact_dp", seed=0).objective
    assert r.stats["ci_low"] <= dp + 1e-9


def test_planner_is_seeded():
    w = ob.AgentWorkflow.chain(3, seed=1)
    a = [MCPPPlanner(w, seed=4, candidates=4, rollouts=16).act(0, 0.0, 0.0).tolist() for _ in range(2)]
    assert a[0] == a[1]
