"""The agents family's shared simulator (solvers/_agents.py): it agrees with the environment and the outcome tables."""

from __future__ import annotations

import numpy as np

import orbudget as ob
from orbudget.solvers._agents import Runs, completion_stats, fixed_policy, ideals, run_wave, simulate


def test_one_wave_matches_the_outcome_table():
    w = ob.AgentWorkflow.chain(1, seed=0)
    runs = Runs.start(40000)
    run_wave(w, runs, np.full((40000, 1), 3), np.random.default_rng(0))
    p = w.success_probabilities[0, 3]
    assert abs((runs.done == 1).mean() - p) < 4 * np.sqrt(p * (1 - p) / 40000)
    assert abs(runs.spent.mean() - w.expected_costs[0, 3]) < 0.02 * w.expected_costs[0, 3]


def test_vectorised_simulator_agrees_with_the_environment():
    w = ob.AgentWorkflow.proof_like(seed=1, budget_fraction=0.4, deadline_fraction=0.5)
    plan = np.full(w.n_subtasks, 1)
    sim = completion_stats(simulate(w, fixed_policy(plan), Runs.start(4000), np.random.default_rng(0)), w)
    env, wins, policy = w.env(seed=1), 0, fixed_policy(plan)
    for _ in range(600):
        env.reset()
        done = False
        while not done:
            action = policy(w, Runs.start(1, env.done, env.spent, env.elapsed))[0]
            _, reward, done, _, info = env.step(action)
            assert info["spent"] <= w.budget
        wins += reward
    assert abs(wins / 600 - sim["completion"]) < 4 * np.sqrt(0.25 / 600 + 0.25 / 4000)


def test_ideals_are_the_reachable_done_sets():
    w = ob.AgentWorkflow.code_like(seed=0)
    got = ideals(w)
    assert got[0] == w.full_mask and got[-1] == 0 and len(got) == len(set(got))
    assert all((d & int(w.parent_masks[s])) == int(w.parent_masks[s]) for d in got for s in range(w.n_subtasks) if (d >> s) & 1)
