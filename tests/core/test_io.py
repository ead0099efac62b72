import json

import numpy as np
import pytest

import orbudget as ob


@pytest.mark.parametrize("size", [4, 300])  # small arrays inline, large ones in the .npz beside the JSON
def test_problem_round_trip(tmp_path, size):
    p = ob.MultipleChoiceKnapsack.random(size, 20, seed=3, exact=True)
    path = ob.save(p, tmp_path / "p.json")
    payload = json.loads(path.read_text())
    assert payload["kind"] == "MultipleChoiceKnapsack" and payload["version"] == 1
    assert (tmp_path / "p.npz").exists() == (size * 20 > 4096)
    q = ob.load(path)
    assert q == p and q.exact and q.costs.dtype == p.costs.dtype


def test_rollout_problem_and_result_round_trip(tmp_path):
    p = ob.RolloutAllocation(success_rates=[0.1, 0.5, 1.0], total_rollouts=12, max_rollouts=8,
                             rollout_costs=[1, 2, 3])
    assert ob.load(ob.save(p, tmp_path / "r.json")) == p
    r = ob.solve(p, method="dp")
    r2 = ob.load(ob.save(r, tmp_path / "res.json"))
    assert r2 == r and r2.status is ob.Status.OPTIMAL


def test_table_value_round_trip(tmp_path):
    table = np.random.default_rng(0).random((2, 6))
    p = ob.RolloutAllocation(success_rates=[0.1, 0.5], total_rollouts=6, max_rollouts=5, value=table)
    assert ob.load(ob.save(p, tmp_path / "t.json")) == p


def test_atomic_write_keeps_old_file_when_encoding_fails(tmp_path):
    p = ob.MultipleChoiceKnapsack.random(3, 2, seed=0)
    path = ob.save(p, tmp_path / "p.json")
    before = path.read_text()

    class Bad:
        def to_dict(self):
            return {"kind": "MultipleChoiceKnapsack", "values": object()}

    with pytest.raises(TypeError):
        ob.save(Bad(), path)
    assert path.read_text() == before
    assert [f.name for f in tmp_path.iterdir()] == ["p.json"]  # no temporary file left behind


def test_load_rejects_foreign_files(tmp_path):
    f = tmp_path / "x.json"
    f.write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="not an orbudget file"):
        ob.load(f)
    f.write_text('{"kind": "Nope", "version": 1, "data": {}}')
    with pytest.raises(ValueError, match="unknown kind"):
        ob.load(f)
    f.write_text('{"kind": "Result", "version": 99, "data": {}}')
    with pytest.raises(ValueError, match="format version"):
        ob.load(f)
