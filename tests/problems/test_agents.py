"""The agents family's models (problems/agents/): validation, round trips, generators, loader, environment."""

from __future__ import annotations

import json

import numpy as np
import pytest

import orbudget as ob


def workflow(**kw):
    base = dict(
        success_rates=[[0.5, 0.8], [0.4, 0.9]],
        lengths=[[[100, 200], [100, 300]], [[200, 200], [100, 100]]],
        max_tokens=[200, 300],
        prices=[1, 3],
        token_times=[0.01, 0.02],
        budget=2000,
        deadline=20,
        edges=[(0, 1)],
    )
    return ob.AgentWorkflow(**{**base, **kw})


@pytest.mark.parametrize(
    "change,field",
    [
        ({"edges": [(0, 1), (1, 0)]}, "edges"),
        ({"edges": [(1, 1)]}, "edges"),
        ({"success_rates": [[0.5, 1.2], [0.4, 0.9]]}, "success_rates"),
        ({"success_rates": [[0.5, -0.1], [0.4, 0.9]]}, "success_rates"),
        ({"deadline": 1.0}, "deadline"),
        ({"lengths": [[[100, -5], [100, 300]], [[200, 200], [100, 100]]]}, "lengths"),
        ({"budget": -1}, "budget"),
        ({"token_times": [0.0, 0.02]}, "token_times"),
        ({"sample_counts": (1, 1)}, "sample_counts"),
        ({"edges": [(0, 2)]}, "edges"),
    ],
)
def test_bad_workflows_name_the_field(change, field):
    with pytest.raises(ob.InvalidProblemError, match=f"`{field}`"):
        workflow(**change)


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"success_rates": [1.5]}, "success_rates"),
        ({"lengths": [[-3, 4]]}, "lengths"),
        ({"rollout_counts": (2, 2)}, "rollout_counts"),
        ({"budget": -1}, "budget"),
    ],
)
def test_bad_token_allocations_name_the_field(kw, field):
    base = dict(success_rates=[0.5], lengths=[[3, 4]], rollout_counts=(2,), length_caps=(4,), budget=10)
    with pytest.raises(ob.InvalidProblemError, match=f"`{field}`"):
        ob.TokenBudgetAllocation(**{**base, **kw})


def test_bad_step_routing_names_the_field():
    with pytest.raises(ob.InvalidProblemError, match="`success_rates`"):
        ob.StepRouting(success_rates=[[0.5, 2.0]], costs=[[1, 2]], budget=3)
    with pytest.raises(ob.InvalidProblemError, match="`costs`"):
        ob.StepRouting(success_rates=[[0.5, 0.9]], costs=[[1, -2]], budget=3)


def test_round_trips(tmp_path):
    for p in (ob.AgentWorkflow.code_like(seed=0), ob.StepRouting.random(5, seed=0), ob.TokenBudgetAllocation.random(6, seed=0)):
        ob.save(p, tmp_path / "p.json")
        assert ob.load(tmp_path / "p.json") == p


def test_generators_are_seeded_and_on_the_grid():
    a, b = ob.AgentWorkflow.proof_like(seed=3), ob.AgentWorkflow.proof_like(seed=3)
    assert a == b and a != ob.AgentWorkflow.proof_like(seed=4)
    bu, tu = a.units()
    assert np.allclose(a.worst_costs / bu, np.round(a.worst_costs / bu)) and a.budget % bu == 0
    assert a.critical_path(a.worst_times.min(axis=1)) <= a.deadline
    assert ob.AgentWorkflow.code_like(seed=0).n_subtasks == 5


def test_outcome_tables_are_distributions():
    w = workflow()
    for row in w.outcomes:
        for prob, succ, _cost, _dur in row:
            assert prob.sum() == pytest.approx(1.0) and (succ <= prob + 1e-15).all()
    # one sample of model 0 on subtask 0: lengths 100 or 200, cap 200: never truncated; success 0.5
    assert w.success_probabilities[0, 0] == pytest.approx(0.5)
    # model 1 on subtask 0 with cap 300: lengths 100, 300 -> both within; two samples: 1 - 0.2^2
    assert w.success_probabilities[0, 3] == pytest.approx(1 - 0.2**2)


def test_env_five_tuple_seeds_and_safety():
    w = workflow(budget=1200)
    env = w.env(seed=0)
    traces = []
    for _ in range(2):
        obs, info = env.reset(seed=5)
        trace, done = [], False
        while not done:
            action = np.where(obs["ready"], 1, -1)
            obs, reward, done, truncated, info = env.step(action)
            assert truncated is False and info["spent"] <= w.budget and info["elapsed"] <= w.deadline + 1e-9
            trace.append((reward, info["spent"]))
        traces.append(trace)
    assert traces[0] == traces[1]
    with pytest.raises(ob.InvalidProblemError, match="`action`"):
        env.step([1, -1])
    env.reset()
    with pytest.raises(ob.InvalidProblemError, match="not ready"):
        env.step([-1, 1])


def test_loader_csv_and_jsonl(tmp_path):
    common = {"token_time": 0.01, "max_tokens": 300}
    rows = [
        {"subtask": "a", "model": "s", "success_rate": 0.5, "price": 1, **common, "lengths": "100;200"},
        {"subtask": "a", "model": "l", "success_rate": 0.9, "price": 3, **common, "lengths": "100 300"},
        {"subtask": "b", "model": "s", "success_rate": 0.4, "price": 1, **common,
         "length_mean": 150, "length_sd": 50, "parents": "a"},
        {"subtask": "b", "model": "l", "success_rate": 0.8, "price": 3, **common,
         "lengths": "100 200", "parents": "a"},
    ]  # fmt: skip
    (tmp_path / "w.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    w = ob.AgentWorkflow.from_file(tmp_path / "w.jsonl", budget=3000, deadline=30)
    assert w.subtask_names == ("a", "b") and w.edges.tolist() == [[0, 1]] and w.lengths.shape == (2, 2, 2)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    csv = ",".join(keys) + "\n" + "\n".join(",".join(str(r.get(k, "")) for k in keys) for r in rows)
    (tmp_path / "w.csv").write_text(csv)
    assert ob.AgentWorkflow.from_file(tmp_path / "w.csv", budget=3000, deadline=30) == w
    bad = [dict(r) for r in rows]
    bad[1]["price"] = 4
    (tmp_path / "bad.jsonl").write_text("\n".join(json.dumps(r) for r in bad))
    with pytest.raises(ob.InvalidProblemError, match="another price"):
        ob.AgentWorkflow.from_file(tmp_path / "bad.jsonl", budget=3000, deadline=30)


def test_token_allocator_loop_and_checkpoint():
    a = ob.TokenAllocator(rollout_counts=(2, 4), length_caps=(256, 512), prior_lengths=[100, 400])
    n, cap = a.act(["q1", "q2", "q3"], token_budget=3000)
    p = a.problem(["q1", "q2", "q3"], 3000)
    x = np.array([p.option_index(int(r), int(c)) for r, c in zip(n, cap)])
    assert p.is_feasible(x)
    a.update(["q1", "q1", "q2"], [1, 0, 0], [120, 90, 600])
    state = a.state_dict()
    b = ob.TokenAllocator(rollout_counts=(2, 4), length_caps=(256, 512), prior_lengths=[100, 400])
    b.load_state_dict(state)
    assert [v.tolist() for v in b.act(["q1", "q2"], 2000)] == [v.tolist() for v in a.act(["q1", "q2"], 2000)]
    with pytest.raises(ob.InvalidProblemError, match="`state`"):
        b.load_state_dict({"kind": "Other"})
