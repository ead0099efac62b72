"""Fuzz suite for what crosses a file boundary: problem files (``ob.load``), the CLI, sweep configs and sweep files.

Every malformed input runs in a child interpreter (harness.py) and must end in one clear error: ``ob.load`` raises an
``InvalidProblemError`` whose message starts with the file and names what is wrong; the CLI prints one line
``orbudget: error: <file>: <what>`` and exits with code 2, without a traceback. Hypothesis properties check that save
then load gives back every model family exactly, and that sweep keys see every entry of an array.
"""

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orbudget as ob
from orbudget.batch import point_key
from orbudget.core.validation import canonical_digest

from .conftest import examples
from .harness import Case, suite

PRELUDE = """
import contextlib, io as _io, json, subprocess, sys
from pathlib import Path
from orbudget.cli import main

def cli(*argv):
    err = _io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(_io.StringIO()):
        code = main([str(a) for a in argv])
    return code, err.getvalue()

def expect_cli_error(path, *argv, what=""):
    code, err = cli(*argv)
    lines = err.strip().splitlines()
    assert code == 2 and "Traceback" not in err, (code, err)
    assert len(lines) == 1 and lines[0].startswith(f"orbudget: error: {path}: "), err
    assert what in lines[0], (what, err)

def saved(p=None, name="p.json"):
    p = ob.MultipleChoiceKnapsack.random(4, 3, seed=0) if p is None else p
    path = ob.save(p, Path(tmp) / name)
    return path, json.loads(path.read_text())

def large():
    return saved(ob.MultipleChoiceKnapsack.random(300, 20, seed=1))  # its arrays go to a .npz

def write(payload, name="p.json"):
    path = Path(tmp) / name
    if isinstance(payload, bytes):
        path.write_bytes(payload)
    else:
        path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return path

def rollout_file():
    return saved(ob.RolloutAllocation(success_rates=[0.1, 0.5], total_rollouts=6, max_rollouts=5))

def config(**kw):
    base = {"function": "orbudget.experiments:knapsack_frontier", "grid": {"n_groups": [4]}, "executor": "serial"}
    base.update(kw)
    return write({k: v for k, v in base.items() if v is not None}, "config.json")
"""


def case(name, code, **kw):
    return Case(name, PRELUDE + code, **kw)


FILE_CASES = [
    case("null data", "p, d = saved(); d['data'] = None; ob.load(write(d))", field="data"),
    case("data is a list", "p, d = saved(); d['data'] = [1, 2]; ob.load(write(d))", field="data"),
    case("array without dtype", "p, d = saved(); del d['data']['values']['dtype']; ob.load(write(d))", field="dtype"),
    case("array without shape", "p, d = saved(); del d['data']['costs']['shape']; ob.load(write(d))", field="shape"),
    case(
        "unknown dtype", "p, d = saved(); d['data']['values']['dtype'] = 'float99'; ob.load(write(d))", field="data.values.dtype"
    ),
    case(
        "complex dtype in the file",
        "p, d = saved(); d['data']['values']['dtype'] = 'complex128'; ob.load(write(d))",
        field="data.values.dtype",
    ),
    case(
        "ragged array", "p, d = saved(); d['data']['values']['__array__'] = [[1], [2, 3]]; ob.load(write(d))", field="data.values"
    ),
    case("shape does not match", "p, d = saved(); d['data']['values']['shape'] = [5, 5]; ob.load(write(d))", field="data.values"),
    case(
        "negative shape", "p, d = saved(); d['data']['values']['shape'] = [-1, 3]; ob.load(write(d))", field="data.values.shape"
    ),
    case("bad npz key", "p, d = large(); d['data']['values'] = {'__npz__': 'a9'}; ob.load(write(d))", field="data.values"),
    case(
        "npz marker without an arrays file",
        "p, d = saved(); d['data']['values'] = {'__npz__': 'a0'}; ob.load(write(d))",
        field="data.values",
    ),
    case(
        "npz torn from its JSON",
        """
p, d = large()
other, e = saved(ob.MultipleChoiceKnapsack.random(300, 20, seed=2), name="q.json")
(Path(tmp) / d['arrays']).write_bytes((Path(tmp) / e['arrays']).read_bytes())  # the pair of two different saves
ob.load(p)
""",
        field="arrays_sha256",
    ),
    case("npz missing", "p, d = large(); (Path(tmp) / d['arrays']).unlink(); ob.load(p)", field="is missing"),
    case(
        "npz corrupt but named by its digest",
        """
import hashlib
p, d = large()
blob = b"PK not really a zip"
(Path(tmp) / d['arrays']).write_bytes(blob)
d['arrays_sha256'] = hashlib.sha256(blob).hexdigest()
ob.load(write(d))
""",
        field="not a readable .npz",
    ),
    case("npz name leaves the folder", "p, d = large(); d['arrays'] = '../x.npz'; ob.load(write(d))", field="arrays"),
    case("empty file", "ob.load(write(''))", field="the file is empty"),
    case("truncated file", "p, d = saved(); ob.load(write(p.read_text()[:60]))", field="cut short"),
    case("binary file", "p, d = large(); ob.load(Path(tmp) / d['arrays'])", field="not UTF-8"),
    case("not a JSON object", "ob.load(write('3'))", field="not an orbudget file"),
    case("deeply nested JSON", "ob.load(write('[' * 100000 + ']' * 100000))", field="nested too deeply"),
    case("newer format version", "p, d = saved(); d['version'] = 99; ob.load(write(d))", field="format version"),
    case("version is a string", "p, d = saved(); d['version'] = '1'; ob.load(write(d))", field="version"),
    case("no version", "p, d = saved(); del d['version']; ob.load(write(d))", field="version"),
    case("unknown kind", "p, d = saved(); d['kind'] = 'Knapsak'; ob.load(write(d))", field="unknown kind"),
    case("kind is not a string", "p, d = saved(); d['kind'] = 5; ob.load(write(d))", field="kind"),
    case("inner kind differs", "p, d = saved(); d['data']['kind'] = 'Result'; ob.load(write(d))", field="data.kind"),
    case("unknown top-level key", "p, d = saved(); d['bogus'] = 1; ob.load(write(d))", field="bogus"),
    case("unknown field (a typo)", "p, d = rollout_file(); d['data']['max_rollout'] = 4; ob.load(write(d))", field="max_rollout"),
    case("missing required field", "p, d = saved(); del d['data']['budget']; ob.load(write(d))", field="budget"),
    case("bad __float__", "p, d = saved(); d['data']['budget'] = {'__float__': 'lots'}; ob.load(write(d))", field="data.budget"),
    case("field the model refuses", "p, d = saved(); d['data']['budget'] = -1; ob.load(write(d))", field="budget"),
    case("values that are text", "p, d = saved(); d['data']['values'] = 'abc'; ob.load(write(d))", field="values"),
    case(
        "result with an unknown field",
        """
r = ob.solve(ob.MultipleChoiceKnapsack.random(3, 2, seed=0))
p, d = saved(r, name="r.json"); d['data']['flavour'] = 1; ob.load(write(d))
""",
        field="flavour",
    ),
    case(
        "complex model input",
        "ob.MultipleChoiceKnapsack(values=np.array([[1 + 2j, 3]]), costs=[[1, 1]], budget=1)",
        field="values",
    ),
    case(
        "complex entries in a list",
        "ob.RolloutAllocation(success_rates=[np.complex128(0.5), 0.1], total_rollouts=4, max_rollouts=4)",
        field="success_rates",
    ),
    case(
        "saving a complex result",
        "ob.save(ob.Result(status='feasible', x=np.array([1j]), objective=1.0), Path(tmp) / 'r.json')",
        field="data.x",
    ),
    case("saving a code-defined loss", "ob.save(ob.BudgetedAssignment.quadratic(4, seed=0), Path(tmp) / 'a.json')", field="loss"),
]

CLI_CASES = [
    case("cli: null data", "p, d = saved(); d['data'] = None; expect_cli_error(write(d), 'solve', write(d), what='`data`')"),
    case(
        "cli: missing dtype",
        "p, d = saved(); del d['data']['values']['dtype']; expect_cli_error(write(d), 'solve', write(d), what='`dtype`')",
    ),
    case(
        "cli: bad npz key",
        "p, d = large(); d['data']['costs'] = {'__npz__': 'zz'}; expect_cli_error(write(d), 'solve', write(d), what=\"'zz'\")",
    ),
    case("cli: empty file", "expect_cli_error(write(''), 'solve', write(''), what='empty')"),
    case(
        "cli: truncated file", "p, d = saved(); t = write(p.read_text()[:40]); expect_cli_error(t, 'solve', t, what='cut short')"
    ),
    case("cli: missing file", "m = Path(tmp) / 'missing.json'; expect_cli_error(m, 'solve', m, what='No such file')"),
    case(
        "cli: a result is not a problem",
        """
r, d = saved(ob.solve(ob.MultipleChoiceKnapsack.random(3, 2, seed=0)), name="r.json")
expect_cli_error(r, 'solve', r, what='not a problem')
""",
    ),
    case(
        "cli: unknown kind",
        "p, d = saved(); d['kind'] = 'Nope'; expect_cli_error(write(d), 'solve', write(d), what=\"unknown kind 'Nope'\")",
    ),
    case(
        "cli: unknown field",
        "p, d = rollout_file(); d['data']['max_rollout'] = 4; "
        "expect_cli_error(write(d), 'solve', write(d), what='`max_rollout`')",
    ),
    case(
        "cli: a real child process, no traceback",
        """
p, d = large(); d['data']['values'] = {'__npz__': 'a9'}; bad = write(d)
out = subprocess.run([sys.executable, "-m", "orbudget.cli", "solve", str(bad)], capture_output=True, text=True)
assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
assert out.stderr.strip().splitlines() == [out.stderr.strip()] and out.stderr.startswith(f"orbudget: error: {bad}: ")
""",
    ),
    case("sweep config: empty", "c = write('', 'config.json'); expect_cli_error(c, 'sweep', c, what='empty')"),
    case("sweep config: a list", "c = write([1], 'config.json'); expect_cli_error(c, 'sweep', c, what='JSON object')"),
    case(
        "sweep config: truncated", "c = write('{\"grid\": {', 'config.json'); expect_cli_error(c, 'sweep', c, what='cut short')"
    ),
    case("sweep config: unknown key", "c = config(bogus=1); expect_cli_error(c, 'sweep', c, what='`bogus`')"),
    case("sweep config: no grid", "c = config(grid=None); expect_cli_error(c, 'sweep', c, what='`grid`')"),
    case(
        "sweep config: grid not lists", "c = config(grid={'n_groups': 3}); expect_cli_error(c, 'sweep', c, what='must be a list')"
    ),
    case("sweep config: grid of numbers", "c = config(grid=[1, 2]); expect_cli_error(c, 'sweep', c, what='`grid[0]`')"),
    case("sweep config: seeds text", "c = config(seeds='x'); expect_cli_error(c, 'sweep', c, what='`seeds`')"),
    case(
        "sweep config: function without colon",
        "c = config(function='os.path'); expect_cli_error(c, 'sweep', c, what='`function`')",
    ),
    case(
        "sweep config: function module missing",
        "c = config(function='nope_mod:f'); expect_cli_error(c, 'sweep', c, what='cannot import nope_mod')",
    ),
    case("sweep config: executor unknown", "c = config(executor='threads'); expect_cli_error(c, 'sweep', c, what='`executor`')"),
    case(
        "sweep config: summary by unknown",
        "c = config(summary={'value': 'value', 'by': ['nope']}); expect_cli_error(c, 'sweep', c, what='`summary.by`')",
    ),
    case(
        "exercises check: syntax error",
        "f = write('def answer(:', 'a.py'); expect_cli_error(f, 'exercises', 'check', 'hedge', f, what='not valid Python')",
    ),
    case(
        "exercises check: raises",
        "f = write('raise RuntimeError(\"boom\")', 'a.py'); "
        "expect_cli_error(f, 'exercises', 'check', 'hedge', f, what='RuntimeError: boom')",
    ),
    case(
        "exercises check: no answer",
        "f = write('x = 1', 'a.py'); expect_cli_error(f, 'exercises', 'check', 'hedge', f, what='`answer`')",
    ),
    case(
        "exercises check: missing file",
        "f = Path(tmp) / 'none.py'; expect_cli_error(f, 'exercises', 'check', 'hedge', f, what='no such file')",
    ),
    case(
        "sweep file with a line that is not a record",
        """
from tests.sweep_helpers import counted
f = write('[1, 2]\\n', 's.jsonl')
ob.sweep(counted, {"x": [1]}, executor="serial", path=f, progress=False, as_frame=False)
""",
        field="is not a sweep record",
    ),
    case("sweep grid of numbers", "ob.sweep(len, [1, 2], executor='serial', progress=False)", field="grid[0]"),
    case("sweep seeds negative", "ob.sweep(len, {'x': [1]}, seeds=-1, executor='serial', progress=False)", field="seeds"),
    # issue 26: what save refuses, duplicate keys, and solve_many's arguments
    Case("save a dict", "ob.save({'a': 1}, tmp + '/a.json')", field="obj", error="TypeError"),
    Case("save a policy", "ob.save(ob.AdaptiveSampler(3, 5), tmp + '/s.json')", field="obj", error="TypeError"),
    Case(
        "duplicate key in a file",
        "p = ob.MultipleChoiceKnapsack(values=[[1]], costs=[[1]], budget=1)\nob.save(p, tmp + '/p.json')\n"
        'text = open(tmp + \'/p.json\').read().replace(\'"kind":\', \'"kind": "x", "kind":\', 1)\n'
        "open(tmp + '/d.json', 'w').write(text)\nob.load(tmp + '/d.json')",
        field="kind",
        error="InvalidFileError",
    ),
    Case(
        "solve_many seeds as a string",
        "p = ob.MultipleChoiceKnapsack(values=[[1]], costs=[[1]], budget=1)\n"
        "ob.solve_many([p] * 4, seeds='abcd', progress=False, executor='serial')",
        field="seeds",
    ),
    Case(
        "solve_many options typo",
        "p = ob.MultipleChoiceKnapsack(values=[[1]], costs=[[1]], budget=1)\n"
        "ob.solve_many([p], 'dp', options={'scael': 2}, progress=False, executor='serial')",
        field="options",
    ),
    Case(
        "solve_many keyword typo",
        "p = ob.MultipleChoiceKnapsack(values=[[1]], costs=[[1]], budget=1)\n"
        "ob.solve_many([p], time_limt=3, progress=False, executor='serial')",
        field="time_limt",
        error="TypeError",
    ),
]

CASES = FILE_CASES + CLI_CASES


outcomes, test_malformed, test_summary = suite(CASES, "files")


# -- properties -----------------------------------------------------------------------------------------------------
def _rmab(seed):
    return ob.CoupledRMAB.budget(n_arms=3, budget=1, seed=seed, horizon=4, episodes=2)


def _instance(family, seed, big):
    rng = np.random.default_rng(seed)
    if family == "MultipleChoiceKnapsack":
        n, k = (300, 20) if big else (int(rng.integers(1, 6)), int(rng.integers(1, 5)))
        return ob.MultipleChoiceKnapsack.random(n, k, seed=seed, exact=bool(rng.integers(2)))
    if family == "RolloutAllocation":
        return ob.RolloutAllocation.synthetic(int(rng.integers(2, 8)), int(rng.integers(2, 5)), seed=seed)
    if family == "OnlineAllocation":
        t, m = (2100, 2) if big else (int(rng.integers(1, 8)), int(rng.integers(1, 4)))
        if rng.integers(2):
            return ob.OnlineAllocation.matching(rng.random((t, m)), 1.0 + rng.random(m))
        return ob.OnlineAllocation(rewards=rng.random((t, m)), consumption=rng.random((t, m, 2)), budgets=1.0 + rng.random(2))
    if family == "BanditsWithKnapsacks":
        return ob.BanditsWithKnapsacks.random(
            int(rng.integers(2, 5)), int(rng.integers(1, 3)), horizon=int(rng.integers(10, 100)), seed=seed
        )
    if family == "BiddingCampaign":
        return ob.BiddingCampaign.synthetic(n_test=200, n_train=500, episode_length=20, max_bid=30, seed=seed)
    if family == "CoupledRMAB":
        return _rmab(seed)
    raise AssertionError(family)


FAMILIES = [
    "MultipleChoiceKnapsack",
    "RolloutAllocation",
    "OnlineAllocation",
    "BanditsWithKnapsacks",
    "BiddingCampaign",
    "CoupledRMAB",
]


def _same(a, b):
    """Equal by value and by array dtype, recursively (a round trip must not turn int64 into float64)."""
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b or (isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b))


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(family=st.sampled_from(FAMILIES), seed=st.integers(0, 2**16), big=st.booleans())
def test_save_then_load_gives_back_every_family_exactly(family, seed, big):
    problem = _instance(family, seed, big)
    with tempfile.TemporaryDirectory() as folder:
        path = ob.save(problem, Path(folder) / "p.json")
        again = ob.load(path)
        assert type(again) is type(problem) and again == problem
        assert _same(again.to_dict(), problem.to_dict())
        assert ob.load(ob.save(again, Path(folder) / "p.json")) == problem  # saving over a save: still whole
        assert len(list(Path(folder).glob("*.npz"))) <= 1
        manifest = json.loads(path.read_text())
        assert ("arrays" in manifest) == (Path(folder) / manifest.get("arrays", "-")).exists()


@settings(max_examples=examples(10), deadline=None)
@given(seed=st.integers(0, 2**16))
def test_budgeted_assignment_is_refused_by_save_naming_its_loss(seed):
    """Its `loss` is code, not data: save refuses it with a clear error and writes nothing (no round trip exists)."""
    problem = ob.BudgetedAssignment.quadratic(int(np.random.default_rng(seed).integers(2, 6)), seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        with pytest.raises(ob.InvalidProblemError, match="`loss`"):
            ob.save(problem, Path(folder) / "a.json")
        assert list(Path(folder).iterdir()) == []


@settings(max_examples=examples(10), deadline=None)
@given(family=st.sampled_from(FAMILIES[:4]), seed=st.integers(0, 2**16))
def test_results_round_trip(family, seed):
    problem = _instance(family, seed, False)
    result = ob.solve(problem, seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        assert ob.load(ob.save(result, Path(folder) / "r.json")) == result


@settings(max_examples=examples(200), deadline=None)
@given(size=st.integers(17, 200), data=st.data())
def test_digest_and_sweep_keys_see_every_entry(size, data):
    """Arrays that differ in one entry beyond the 16th get different digests and different sweep keys."""
    values = np.array(data.draw(st.lists(st.floats(-1e6, 1e6), min_size=size, max_size=size)))
    where = data.draw(st.integers(16, size - 1))
    other = values.copy()
    other[where] = np.nextafter(other[where], np.inf)
    assert canonical_digest(values) != canonical_digest(other)
    assert point_key({"values": values, "seed": 0}) != point_key({"values": other, "seed": 0})
    assert point_key({"values": values, "seed": 0}) == point_key({"seed": 0, "values": values.copy()})
