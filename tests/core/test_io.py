import json
import os
import re
import stat
import subprocess
import sys

import numpy as np
import pytest

import orbudget as ob
from orbudget.core.io import InvalidFileError


@pytest.mark.parametrize("size", [4, 300])  # small arrays inline, large ones in the .npz beside the JSON
def test_problem_round_trip(tmp_path, size):
    p = ob.MultipleChoiceKnapsack.random(size, 20, seed=3, exact=True)
    path = ob.save(p, tmp_path / "p.json")
    payload = json.loads(path.read_text())
    assert payload["kind"] == "MultipleChoiceKnapsack" and payload["version"] == 1
    npz = sorted(f.name for f in tmp_path.glob("*.npz"))
    assert npz == ([payload["arrays"]] if size * 20 > 4096 else [])
    q = ob.load(path)
    assert q == p and q.exact and q.costs.dtype == p.costs.dtype


def test_rollout_problem_and_result_round_trip(tmp_path):
    p = ob.RolloutAllocation(success_rates=[0.1, 0.5, 1.0], total_rollouts=12, max_rollouts=8, rollout_costs=[1, 2, 3])
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
    with pytest.raises(InvalidFileError, match="^" + re.escape(str(f))):  # every message starts with the file
        ob.load(f)
    f.write_text('{"kind": "Nope", "version": 1, "data": {}}')
    with pytest.raises(ValueError, match="unknown kind"):
        ob.load(f)
    f.write_text('{"kind": "Result", "version": 99, "data": {}}')
    with pytest.raises(ValueError, match="format version"):
        ob.load(f)


def _large(seed):
    return ob.MultipleChoiceKnapsack.random(300, 20, seed=seed)  # 6,000 entries per array: the arrays go to a .npz


def test_a_save_killed_between_its_two_files_never_loads_a_mix(tmp_path):
    """The .npz is written first under its content hash, the JSON last: killed in between, the old pair is intact;
    a JSON beside arrays from another save is refused (before: `load` returned the new arrays under the old JSON)."""
    old, new = _large(1), _large(2)
    path = ob.save(old, tmp_path / "p.json")
    before = path.read_bytes()
    code = (
        "import os, orbudget as ob, orbudget.core.io as io\n"
        "real = io.atomic_write_bytes\n"
        "def write(p, data):\n"
        "    real(p, data)\n"
        "    if str(p).endswith('.npz'): os._exit(9)  # killed after the arrays, before the JSON\n"
        "io.atomic_write_bytes = write\n"
        f"ob.save(ob.MultipleChoiceKnapsack.random(300, 20, seed=2), {str(path)!r})\n"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    assert path.read_bytes() == before and ob.load(path) == old  # the old problem, whole
    # a manifest paired with the arrays of another save (copied over, or the old scheme's fixed name) is refused
    other = ob.save(new, tmp_path / "q.json")
    payload = json.loads(path.read_text())
    payload["arrays"] = json.loads(other.read_text())["arrays"]
    path.write_text(json.dumps(payload))
    with pytest.raises(InvalidFileError, match="torn or mixed save"):
        ob.load(path)
    payload["arrays"] = "gone.npz"
    path.write_text(json.dumps(payload))
    with pytest.raises(InvalidFileError, match="gone.npz is missing"):
        ob.load(path)


def test_saving_again_replaces_the_arrays_file(tmp_path):
    path = ob.save(_large(1), tmp_path / "p.json")
    ob.save(_large(2), path)
    assert len(list(tmp_path.glob("*.npz"))) == 1 and ob.load(path) == _large(2)
    ob.save(ob.MultipleChoiceKnapsack.random(3, 2, seed=0), path)  # small: no arrays file any more
    assert list(tmp_path.glob("*.npz")) == []


def test_complex_values_are_refused_naming_the_field(tmp_path):
    with pytest.raises(ob.InvalidProblemError, match="`values` must be real numbers; got complex"):
        ob.MultipleChoiceKnapsack(values=np.array([[1 + 2j, 3]]), costs=[[1, 1]], budget=1)
    with pytest.raises(ob.InvalidProblemError, match="`costs` must be real"):
        ob.MultipleChoiceKnapsack(values=[[1, 3]], costs=[[np.complex128(1), 1]], budget=1)
    r = ob.Result(status="feasible", x=np.array([1 + 1j]), objective=1.0)
    with pytest.raises(ob.InvalidProblemError, match="`data.x` holds complex numbers"):
        ob.save(r, tmp_path / "r.json")
    assert not (tmp_path / "r.json").exists()
    p = ob.MultipleChoiceKnapsack.random(3, 2, seed=0)
    path = ob.save(p, tmp_path / "p.json")
    payload = json.loads(path.read_text())
    payload["data"]["values"]["dtype"] = "complex128"
    path.write_text(json.dumps(payload))
    with pytest.raises(InvalidFileError, match="`data.values.dtype` must name a real"):
        ob.load(path)


def test_unknown_and_missing_fields_are_named(tmp_path):
    p = ob.RolloutAllocation(success_rates=[0.1, 0.5], total_rollouts=6, max_rollouts=5)
    path = ob.save(p, tmp_path / "r.json")
    payload = json.loads(path.read_text())
    payload["data"]["max_rollout"] = 4  # a typo: before, silently dropped
    path.write_text(json.dumps(payload))
    with pytest.raises(InvalidFileError, match="`max_rollout` in `data` is not a field of RolloutAllocation"):
        ob.load(path)
    del payload["data"]["max_rollout"], payload["data"]["total_rollouts"]
    path.write_text(json.dumps(payload))
    with pytest.raises(InvalidFileError, match="`total_rollouts` is missing"):
        ob.load(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the file is empty"),
        ('{"kind": "MultipleChoiceKnapsack", "version": 1, "data": {"values": ', "cut short"),
        ("[1, 2]", "got a list"),
        ('{"kind": "MultipleChoiceKnapsack", "version": 1, "data": null}', "`data` must be an object"),
        ('{"kind": "MultipleChoiceKnapsack", "version": "1", "data": {}}', "`version` must be a whole number"),
        (
            '{"kind": "MultipleChoiceKnapsack", "version": 1, "data": {"values": {"__array__": [[1]], "shape": [1, 1]}}}',
            "without `dtype`",
        ),
        ('{"kind": "MultipleChoiceKnapsack", "version": 1, "data": {"values": {"__npz__": "a0"}}}', "names none"),
        (
            '{"kind": "MultipleChoiceKnapsack", "version": 1, "data": {"values": [[1]], "costs": [[1]], "budget": -1}}',
            "`budget` must be",
        ),
    ],
)
def test_corrupt_files_raise_one_clear_error_naming_the_file(tmp_path, text, message):
    f = tmp_path / "bad.json"
    f.write_text(text)
    with pytest.raises(InvalidFileError) as info:
        ob.load(f)
    assert str(info.value).startswith(f"{f}: ") and message in str(info.value)


def test_saved_files_follow_the_umask(tmp_path):
    """Before, every save was 0600 (the mode of mkstemp) whatever the umask."""
    old = os.umask(0o022)
    try:
        path = ob.save(_large(0), tmp_path / "p.json")
        npz = tmp_path / json.loads(path.read_text())["arrays"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o644 and stat.S_IMODE(npz.stat().st_mode) == 0o644
        os.umask(0o077)
        assert stat.S_IMODE(ob.save(_large(0), tmp_path / "q.json").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_from_dict_refuses_unknown_keys_too():
    p = ob.RolloutAllocation(success_rates=[0.1, 0.5], total_rollouts=6, max_rollouts=5)
    d = {**p.to_dict(), "max_rollout": 4}
    with pytest.raises(ob.InvalidProblemError, match="`max_rollout` in `data` is not a field of RolloutAllocation"):
        ob.RolloutAllocation.from_dict(d)
    r = ob.Result(status="optimal", x=np.zeros(2), objective=0.0)
    with pytest.raises(ob.InvalidProblemError, match="`flavour`"):
        ob.Result.from_dict({**r.to_dict(), "flavour": 1})
    assert ob.RolloutAllocation.from_dict(p.to_dict()) == p and ob.Result.from_dict(r.to_dict()) == r


def test_a_value_of_the_wrong_type_that_a_model_misses_still_names_the_file(tmp_path):
    p = ob.OnlineAllocation.matching(np.ones((3, 2)), [1.0, 1.0])
    path = ob.save(p, tmp_path / "o.json")
    payload = json.loads(path.read_text())
    payload["data"]["horizon"] = "text"
    path.write_text(json.dumps(payload))
    with pytest.raises(InvalidFileError, match="does not describe a valid OnlineAllocation"):
        ob.load(path)


def test_save_refuses_what_it_cannot_write_by_name(tmp_path):
    with pytest.raises(TypeError, match="`obj`.*got a dict"):
        ob.save({"a": 1}, tmp_path / "a.json")
    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        ob.save(ob.AdaptiveSampler(3, 5), tmp_path / "s.json")
    assert not any(tmp_path.iterdir())


def test_a_duplicate_key_is_refused_naming_it(tmp_path):
    p = ob.MultipleChoiceKnapsack(values=[[1, 2]], costs=[[1, 2]], budget=2)
    ob.save(p, tmp_path / "p.json")
    text = (tmp_path / "p.json").read_text().replace('"budget":', '"budget": 100, "budget":', 1)
    (tmp_path / "d.json").write_text(text)
    with pytest.raises(InvalidFileError, match="key `budget` appears twice"):
        ob.load(tmp_path / "d.json")
