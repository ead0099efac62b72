"""Fuzz suite for online allocation (issue 13): malformed inputs in a child interpreter, and budget-safety properties.

Malformed inputs: model fields, solver options, policy state dicts and files (``ob.save`` / ``ob.load``), each expecting
an ``InvalidProblemError`` naming the field (or a documented status). Properties: for every registered online method
(``ob.available_solvers``), the spend recomputed here from ``x`` and the original arrays (``math.fsum``, not the
model's own helpers) never exceeds any budget, on instances with consumptions of 1e-12 and 1e18, all-nonpositive
rewards, ties and budgets equal to one consumption; ``hindsight`` equals a brute force on tiny instances and no
policy beats it; the step-by-step ``DualMirrorDescent`` (act/update) never overspends, zero budgets included.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orbudget as ob
from orbudget.core.registry import backend_available
from orbudget.problems.dual_mirror_descent import REFERENCES, DualMirrorDescent

from .conftest import examples
from .harness import Case, suite

P = "ob.OnlineAllocation(rewards=[[1.0, 2.0], [3.0, 0.5]], consumption=[[[1.0], [2.0]], [[1.0], [0.5]]], budgets=[2.0])"
M = "ob.OnlineAllocation.matching(rewards=[[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]], budgets=[1, 1])"
POL = "DualMirrorDescent = __import__('orbudget.problems.dual_mirror_descent', fromlist=['x']).DualMirrorDescent\n"

CASES = [
    # -- model fields ------------------------------------------------------------------------------------------
    Case("quadratic weight 2-d", "ob.regularizers.QuadraticPenalty(weight=[[1.0, 2.0]])", field="regularizer.weight"),
    Case("negative budget", "ob.OnlineAllocation(rewards=[[1.0]], budgets=[-1.0])", field="budgets"),
    Case("zero budget", "ob.OnlineAllocation(rewards=[[1.0]], budgets=[0.0])", field="budgets"),
    Case("nan budget", "ob.OnlineAllocation(rewards=[[1.0]], budgets=[float('nan')])", field="budgets"),
    Case("2-d budgets", "ob.OnlineAllocation(rewards=[[1.0]], budgets=[[1.0]])", field="budgets"),
    Case("nan reward", "ob.OnlineAllocation(rewards=[[float('nan')]], budgets=[1.0])", field="rewards"),
    Case("inf reward", "ob.OnlineAllocation(rewards=[[float('inf')]], consumption=[[[1.0]]], budgets=[1.0])", field="rewards"),
    Case("1-d rewards", "ob.OnlineAllocation(rewards=[1.0], budgets=[1.0])", field="rewards"),
    Case("string rewards", "ob.OnlineAllocation(rewards=[['a']], budgets=[1.0])", field="rewards"),
    Case("empty rewards", "ob.OnlineAllocation(rewards=np.zeros((0, 1)), budgets=[1.0])", field="rewards"),
    Case("matching column count", "ob.OnlineAllocation(rewards=[[1.0, 2.0]], budgets=[1.0])", field="rewards"),
    Case(
        "negative consumption",
        "ob.OnlineAllocation(rewards=[[1.0]], consumption=[[[-1e-12]]], budgets=[1.0])",
        field="consumption",
    ),
    Case(
        "inf consumption",
        "ob.OnlineAllocation(rewards=[[1.0]], consumption=[[[float('inf')]]], budgets=[1.0])",
        field="consumption",
    ),
    Case("consumption shape", "ob.OnlineAllocation(rewards=[[1.0]], consumption=[[1.0]], budgets=[1.0])", field="consumption"),
    Case("negative entropy", "ob.OnlineAllocation(rewards=[[1.0]], budgets=[1.0], entropy=-1)", field="entropy"),
    Case(
        "entropy with dense consumption",
        "ob.OnlineAllocation(rewards=[[1.0]], consumption=[[[1.0]]], budgets=[1.0], entropy=1.0)",
        field="entropy",
    ),
    Case("horizon mismatch", "ob.OnlineAllocation(rewards=[[1.0]], budgets=[1.0], horizon=3)", field="horizon"),
    Case("stream not callable", "ob.OnlineAllocation(budgets=[1.0], stream=3, horizon=2, reward_bound=1.0)", field="stream"),
    Case(
        "stream too long",
        """
p = ob.OnlineAllocation(budgets=[1.0], stream=lambda: iter([(np.ones((3, 1)), None)]), horizon=2,
                        stream_matching=True, reward_bound=1.0)
ob.solve(p, method="greedy", options={"benchmark": "none"})
""",
        field="stream",
    ),
    Case(
        "stream reward above bound",
        """
p = ob.OnlineAllocation(budgets=[1.0], stream=lambda: iter([(np.full((2, 1), 5.0), None)]), horizon=2,
                        stream_matching=True, reward_bound=1.0)
ob.solve(p, method="dmd", options={"benchmark": "none"})
""",
        field="reward_bound",
    ),
    Case("negative reward bound", "ob.OnlineAllocation(rewards=[[1.0]], budgets=[1.0], reward_bound=-1.0)", field="reward_bound"),
    Case("action out of range", f"{M}.consumption_of([0, 2, 5])", field="x"),
    # -- options -----------------------------------------------------------------------------------------------
    Case("dmd unknown option", f"ob.solve({P}, method='dmd', options={{'eta': 0.1}})", field="options"),
    Case("dmd bad reference", f"ob.solve({P}, method='dmd', options={{'reference': 'l2'}})", field="options.reference"),
    Case("dmd negative step", f"ob.solve({P}, method='dmd', options={{'step_size': -1.0}})", field="options.step_size"),
    Case("dmd nan step", f"ob.solve({P}, method='dmd', options={{'step_size': float('nan')}})", field="options.step_size"),
    Case("dmd string scale", f"ob.solve({P}, method='dmd', options={{'scale': 'big'}})", field="options.scale"),
    Case("dmd initial shape", f"ob.solve({P}, method='dmd', options={{'initial': [1.0, 2.0]}})", field="options.initial"),
    Case(
        "dmd zero initial entropy",
        f"ob.solve({P}, method='dmd', options={{'reference': 'entropy', 'initial': [0.0]}})",
        field="options.initial",
    ),
    Case("dmd bad benchmark", f"ob.solve({P}, method='dmd', options={{'benchmark': 'exact'}})", field="options.benchmark"),
    Case("greedy unknown option", f"ob.solve({P}, method='greedy', options={{'reference': 'entropy'}})", field="options"),
    Case("greedy bad benchmark", f"ob.solve({P}, method='greedy', options={{'benchmark': 3}})", field="options.benchmark"),
    Case("fluid zero prefix", f"ob.solve({P}, method='fluid', options={{'prefix': 0.0}})", field="options.prefix"),
    Case("fluid negative duals", f"ob.solve({P}, method='fluid', options={{'duals': [-1.0]}})", field="options.duals"),
    Case(
        "fluid prefix and duals",
        f"ob.solve({P}, method='fluid', options={{'duals': [1.0], 'prefix': 0.5}})",
        field="options.prefix",
    ),
    Case("hindsight unknown option", f"ob.solve({P}, method='hindsight', options={{'gap': 0.1}})", field="options"),
    Case(
        "hindsight_lp bad form",
        f"ob.solve({P}, method='hindsight_lp', options={{'formulation': 'both'}})",
        field="options.formulation",
    ),
    Case("hindsight_lp string tol", f"ob.solve({P}, method='hindsight_lp', options={{'tol': 'tight'}})", field="options.tol"),
    Case(
        "hindsight_lp zero max_iter", f"ob.solve({P}, method='hindsight_lp', options={{'max_iter': 0}})", field="options.max_iter"
    ),
    Case(
        "hindsight_lp fractional max_iter",
        f"ob.solve({P}, method='hindsight_lp', options={{'max_iter': 2.5}})",
        field="options.max_iter",
    ),
    Case(
        "cvxpy unknown solver",
        """
p = ob.OnlineAllocation.matching(rewards=[[1.0, 0.5]], budgets=[1.0, 1.0], entropy=0.5)
ob.solve(p, method="hindsight", backend="cvxpy", options={"solver": "NO_SUCH_SOLVER"})
""",
        field="options.solver",
    ),
    Case("negative time limit", f"ob.solve({P}, method='hindsight', time_limit=-1)", field="time_limit"),
    # -- policy inputs and state dicts -------------------------------------------------------------------------
    Case("policy nan reward", POL + "DualMirrorDescent([1.0], 3).act([float('nan')])", field="rewards"),
    Case("policy consumption shape", POL + "DualMirrorDescent([1.0, 1.0], 3).act([1.0], [[1.0]])", field="consumption"),
    Case(
        "policy negative consumption", POL + "DualMirrorDescent([1.0], 3).act([1.0, 2.0], [[1.0], [-1.0]])", field="consumption"
    ),
    Case(
        "state from a larger budget",
        POL
        + """
big = DualMirrorDescent([5.0], 10)
small = DualMirrorDescent([1.0], 10)
small.load_state_dict(big.state_dict())
""",
        field="state",
    ),
    Case(
        "state from another reward bound",
        POL
        + """
a = DualMirrorDescent([1.0], 10, reference="projected_entropy", reward_bound=5.0)
DualMirrorDescent([1.0], 10, reference="projected_entropy", reward_bound=1.0).load_state_dict(a.state_dict())
""",
        field="state",
    ),
    Case(
        "state of another kind",
        POL
        + """
s = DualMirrorDescent([1.0], 10).state_dict()
s["kind"] = "BwKPolicy"
DualMirrorDescent([1.0], 10).load_state_dict(s)
""",
        field="state",
    ),
    Case("state not a dict", POL + "DualMirrorDescent([1.0], 10).load_state_dict([1, 2, 3])", field="state"),
    Case("state empty dict", POL + "DualMirrorDescent([1.0], 10).load_state_dict({})", field="state"),
    Case(
        "state without fingerprint",
        POL
        + """
s = DualMirrorDescent([1.0], 10).state_dict()
del s["fingerprint"]
DualMirrorDescent([1.0], 10).load_state_dict(s)
""",
        field="state",
    ),
    Case(
        "state mu wrong shape",
        POL
        + """
s = DualMirrorDescent([1.0], 10).state_dict()
s["mu"] = [0.0, 0.0]
DualMirrorDescent([1.0], 10).load_state_dict(s)
""",
        field="state",
    ),
    Case(
        "state nan mu",
        POL
        + """
s = DualMirrorDescent([1.0], 10).state_dict()
s["mu"] = [float("nan")]
DualMirrorDescent([1.0], 10).load_state_dict(s)
""",
        field="state",
    ),
    Case(
        "state remaining above budget",
        POL
        + """
s = DualMirrorDescent([1.0], 10).state_dict()
s["remaining"] = [5.0]
DualMirrorDescent([1.0], 10).load_state_dict(s)
""",
        field="state",
    ),
    Case(
        "state t past horizon",
        POL
        + """
s = DualMirrorDescent([1.0], 10).state_dict()
s["t"] = 11
DualMirrorDescent([1.0], 10).load_state_dict(s)
""",
        field="state",
    ),
    Case(
        "state string reward",
        POL
        + """
s = DualMirrorDescent([1.0], 10).state_dict()
s["reward"] = "lots"
DualMirrorDescent([1.0], 10).load_state_dict(s)
""",
        field="state",
    ),
    Case(
        "refused state changes nothing",
        POL
        + """
small = DualMirrorDescent([1.0], 10)
before = small.state_dict()
try:
    small.load_state_dict(DualMirrorDescent([5.0], 10).state_dict())
except ob.InvalidProblemError:
    pass
after = small.state_dict()
assert all(np.array_equal(np.asarray(before[k]), np.asarray(after[k])) for k in before)
assert [small.step([3.0]) for _ in range(10)].count(0) <= 1 and small.remaining[0] >= 0
""",
    ),
    # -- regularisers (issue 19) ------------------------------------------------------------------------------
    Case(
        "regularizer unknown kind",
        "ob.OnlineAllocation.matching(rewards=[[1.0]], budgets=[1.0], regularizer={'kind': 'fairness'})",
        field="regularizer.kind",
    ),
    Case(
        "regularizer negative weight",
        "ob.OnlineAllocation.matching(rewards=[[1.0]], budgets=[1.0], regularizer=ob.regularizers.MaxMinFairness(-0.1))",
        field="regularizer.weight",
    ),
    Case(
        "regularizer nan weight",
        "ob.OnlineAllocation.matching(rewards=[[1.0]], budgets=[1.0], "
        "regularizer={'kind': 'load_balancing', 'weight': float('nan')})",
        field="regularizer.weight",
    ),
    Case(
        "regularizer target above 1",
        "ob.OnlineAllocation.matching(rewards=[[1.0]], budgets=[1.0], regularizer=ob.regularizers.BelowTargetPenalty(1.0, 1.5))",
        field="regularizer.target",
    ),
    Case(
        "regularizer weights per resource",
        "ob.OnlineAllocation.matching(rewards=[[1.0, 2.0]], budgets=[1.0, 1.0], "
        "regularizer=ob.regularizers.QuadraticPenalty([1.0, 2.0, 3.0]))",
        field="regularizer.weight",
    ),
    Case(
        "regularizer a string",
        "ob.OnlineAllocation.matching(rewards=[[1.0]], budgets=[1.0], regularizer='fair')",
        field="regularizer",
    ),
    Case(
        "regularizer with entropy",
        "ob.OnlineAllocation.matching(rewards=[[1.0]], budgets=[1.0], entropy=0.1, "
        "regularizer=ob.regularizers.MaxMinFairness(0.1))",
        field="regularizer",
    ),
    Case(
        "regularizer not concave",
        "ob.OnlineAllocation.matching(rewards=[[1.0]], budgets=[1.0], "
        "regularizer=ob.regularizers.CustomRegularizer(lambda a: float(a @ a), lambda mu: np.ones(1)))",
        field="regularizer",
    ),
    Case(
        "regularizer raising",
        "ob.OnlineAllocation.matching(rewards=[[1.0]], budgets=[1.0], "
        "regularizer=ob.regularizers.CustomRegularizer(lambda a: {}[0], lambda mu: np.ones(1)))",
        field="regularizer.value",
    ),
    Case(
        "regularizer initial duals below the floor",
        "ob.solve(ob.OnlineAllocation.matching(rewards=[[1.0]], "
        "budgets=[1.0], regularizer=ob.regularizers.MaxMinFairness(0.1)), method='dmd', "
        "options={'initial': [-5.0]})",
        field="options.initial",
    ),
    Case(
        "regularizer quadratic exact MIP",
        "ob.solve(ob.OnlineAllocation.matching(rewards=[[1.0]], budgets=[1.0], "
        "regularizer=ob.regularizers.QuadraticPenalty(1.0)), method='hindsight')",
        field="no exact MIP",
    ),
    Case(
        "file with a misspelt regularizer key",
        """
import json
path = ob.save(ob.OnlineAllocation.matching(rewards=[[1.0]], budgets=[1.0],
                                            regularizer=ob.regularizers.MaxMinFairness(0.1)), tmp + "/p.json")
d = json.loads(open(path).read())
d["data"]["regularizer"]["wieght"] = d["data"]["regularizer"].pop("weight")
open(path, "w").write(json.dumps(d))
ob.load(path)
""",
        field="wieght",
    ),
    # -- files -------------------------------------------------------------------------------------------------
    Case(
        "save a stream",
        """
p = ob.OnlineAllocation(budgets=[1.0], stream=lambda: iter([(np.ones((2, 1)), None)]), horizon=2,
                        stream_matching=True, reward_bound=1.0)
ob.save(p, tmp + "/p.json")
""",
        field="stream",
    ),
    Case(
        "file with negative budgets",
        f"""
import json
path = ob.save({P}, tmp + "/p.json")
d = json.loads(open(path).read())
d["data"]["budgets"] = [-2.0]
open(path, "w").write(json.dumps(d))
ob.load(path)
""",
        field="budgets",
    ),
    Case(
        "file with a nan consumption",
        f"""
import json
path = ob.save({P}, tmp + "/p.json")
d = json.loads(open(path).read())
d["data"]["consumption"] = [[[float("nan")], [1.0]], [[1.0], [1.0]]]
open(path, "w").write(json.dumps(d))
ob.load(path)
""",
        field="consumption",
    ),
    Case(
        "file missing budgets",
        f"""
import json
path = ob.save({P}, tmp + "/p.json")
d = json.loads(open(path).read())
del d["data"]["budgets"]
open(path, "w").write(json.dumps(d))
ob.load(path)
""",
        field="budgets",
    ),
    Case(
        "file with an unknown field",
        f"""
import json
path = ob.save({P}, tmp + "/p.json")
d = json.loads(open(path).read())
d["data"]["budget"] = [2.0]
open(path, "w").write(json.dumps(d))
ob.load(path)
""",
        field="budget",
    ),
    Case(
        "truncated file",
        f"""
path = ob.save({P}, tmp + "/p.json")
text = open(path).read()
open(path, "w").write(text[: len(text) // 2])
ob.load(path)
""",
        field="not valid JSON",
    ),
    Case(
        "empty file",
        """
open(tmp + "/p.json", "w").close()
ob.load(tmp + "/p.json")
""",
        field="the file is empty",
    ),
    Case(
        "file round trip",
        f"""
p = {P}
q = ob.load(ob.save(p, tmp + "/p.json"))
assert np.array_equal(q.rewards, p.rewards) and np.array_equal(q.consumption, p.consumption)
assert np.array_equal(q.budgets, p.budgets)
""",
    ),
    # -- valid extremes: a documented status, never a crash ----------------------------------------------------
    Case(
        "all nonpositive rewards hindsight",
        """
result = ob.solve(ob.OnlineAllocation(rewards=-np.ones((4, 3)), consumption=np.ones((4, 3, 2)), budgets=[1.0, 1.0]),
                  method="hindsight")
assert result.objective == 0.0 and (result.x == -1).all()
""",
        status=("OPTIMAL",),
    ),
    Case(
        "all nonpositive rewards dmd",
        """
result = ob.solve(ob.OnlineAllocation(rewards=np.zeros((4, 3)), consumption=np.ones((4, 3, 2)), budgets=[1.0, 1.0]),
                  method="dmd")
assert result.objective == 0.0 and result.stats["hindsight"] == 0.0
""",
        status=("FEASIBLE",),
    ),
    Case(
        "all nonpositive rewards greedy",
        """
result = ob.solve(ob.OnlineAllocation(rewards=-np.ones((4, 3)), consumption=np.ones((4, 3, 2)), budgets=[1.0, 1.0]),
                  method="greedy")
""",
        status=("FEASIBLE",),
    ),
    Case(
        "consumption of 1e18",
        """
p = ob.OnlineAllocation(rewards=[[1.0, 2.0], [0.5, 0.1]], consumption=[[[1e18], [3e17]], [[7e17], [1e18]]],
                        budgets=[1e18])
result = ob.solve(p, method="hindsight")
assert result.objective == 2.5 and p.is_feasible(result.x)  # 3e17 + 7e17 = 1e18 exactly
""",
        status=("OPTIMAL",),
    ),
    Case(
        "consumption of 1e-12",
        """
import itertools, math
c = np.full((6, 1, 1), 1e-12)
c[::2] *= 1.5
p = ob.OnlineAllocation(rewards=np.arange(1.0, 7.0)[:, None], consumption=c, budgets=[3.5e-12])
result = ob.solve(p, method="hindsight")
best = max(sum(1.0 + t for t in s) for n in range(7) for s in itertools.combinations(range(6), n)
           if math.fsum(c[t, 0, 0] for t in s) <= 3.5e-12)
assert math.fsum(c[t, 0, 0] for t in range(6) if result.x[t] == 0) <= 3.5e-12
assert result.objective == best, (result.objective, best)
""",
        status=("OPTIMAL",),
    ),
    Case(
        "state with more left than the budget",
        POL + "pol = DualMirrorDescent([1.0, 2.0], 10)\ns = pol.state_dict()\n"
        "s['remaining'] = [1.5, 2.0]\npol.load_state_dict(s)",
        field="remaining",
    ),
]


outcomes, test_malformed, test_summary = suite(CASES, "online")


# -- budget-safety properties --------------------------------------------------------------------------------------
SCALES = [1e-12, 1e-6, 1.0, 3.0, 1e6, 1e18]


@st.composite
def instances(draw, max_t=5, max_k=3, max_m=2):
    """Dense instances at the extremes: consumptions of 1e-12..1e18, all-nonpositive rewards, ties (repeated
    rewards and consumptions), budgets equal to one consumption, zero consumption."""
    t = draw(st.integers(1, max_t))
    k = draw(st.integers(1, max_k))
    m = draw(st.integers(1, max_m))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    scale = draw(st.sampled_from(SCALES))
    sign = draw(st.sampled_from(["mixed", "nonpositive", "ties", "positive"]))
    if sign == "ties":
        rewards = rng.choice([0.0, 1.0, 2.0], (t, k))
    else:
        rewards = rng.normal(0.5, 1.0, (t, k))
        if sign == "nonpositive":
            rewards = -np.abs(rewards) * rng.choice([0.0, 1.0], (t, k))
        elif sign == "positive":
            rewards = np.abs(rewards)
    levels = rng.choice([0.0, 1.0, 1.0 / 3.0, 0.1, 0.7], (t, k, m)) if sign == "ties" else rng.random((t, k, m))
    consumption = levels * scale
    budget_rule = draw(st.sampled_from(["one consumption", "fraction", "sum"]))
    positive = consumption[consumption > 0]
    if budget_rule == "one consumption" and positive.size:
        budgets = rng.choice(positive, m)
    elif budget_rule == "sum":
        budgets = consumption.reshape(-1, m).sum(axis=0) * rng.uniform(0.3, 0.9, m)
    else:
        budgets = scale * rng.uniform(0.05, 2.0, m)
    budgets = np.where(budgets > 0, budgets, scale)
    return ob.OnlineAllocation(rewards=rewards, consumption=consumption, budgets=budgets)


def spend(rewards, consumption, x, m):
    """Total consumption per resource of actions ``x`` (-1 = null), from the original arrays (math.fsum)."""
    x = np.asarray(x)
    assert x.shape == (rewards.shape[0],) and x.dtype.kind in "iu"
    assert ((x >= -1) & (x < rewards.shape[1])).all()
    return [math.fsum(float(consumption[t, x[t], j]) for t in range(x.size) if x[t] >= 0) for j in range(m)]


def total_reward(rewards, x):
    return math.fsum(float(rewards[t, a]) for t, a in enumerate(np.asarray(x)) if a >= 0)


def brute_force(rewards, consumption, budgets):
    best = 0.0
    t, k = rewards.shape
    for x in itertools.product(range(-1, k), repeat=t):
        if all(s <= b for s, b in zip(spend(rewards, consumption, np.array(x), budgets.size), budgets)):
            best = max(best, total_reward(rewards, x))
    return best


def online_methods():
    probe = ob.OnlineAllocation(rewards=[[1.0]], consumption=[[[1.0]]], budgets=[1.0])
    return sorted({method for method, backend, available in ob.available_solvers(probe) if available})


METHODS = online_methods()
POLICY_OPTIONS = {
    "dmd": [{"reference": ref, "scale": s} for ref in REFERENCES for s in (0.1, 10.0)],
    "fluid": [{"prefix": 0.5}, {"duals": [0.0, 0.0]}],
}


def options_for(method, p, i):
    choices = POLICY_OPTIONS.get(method, [{}])
    opts = dict(choices[i % len(choices)])
    if method == "fluid" and ("duals" in opts or p.horizon < 2):
        opts = {"duals": np.full(p.n_resources, float(i % 3))}
    return opts


def test_every_registered_online_method_is_covered():
    assert {"dmd", "greedy", "fluid", "hindsight", "hindsight_lp"} <= set(METHODS)


@pytest.mark.skipif(not backend_available("highs"), reason="the hindsight benchmark needs HiGHS")
@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.integers(0, 100))
def test_no_method_overspends_and_hindsight_is_the_optimum(p, i):
    rewards, consumption, budgets = np.array(p.rewards), np.array(p.consumption), np.array(p.budgets)
    opt = brute_force(rewards, consumption, budgets)
    hind = ob.solve(p, method="hindsight", threads=1)
    assert hind.status == ob.Status.OPTIMAL, hind.message
    assert math.isclose(hind.objective, opt, rel_tol=1e-9, abs_tol=1e-12), (hind.objective, opt)
    assert hind.objective <= opt  # never above the true optimum
    for method in METHODS:
        opts = options_for(method, p, i)
        if method not in ("hindsight", "hindsight_lp"):
            opts["benchmark"] = "none"
        r = ob.solve(p, method=method, threads=1, options=opts)
        assert r.ok, (method, r.message)
        if method == "hindsight_lp":
            assert r.objective >= opt - 1e-9 * max(1.0, abs(opt)), (r.objective, opt)  # an upper bound
            continue
        spent = spend(rewards, consumption, r.x, budgets.size)
        assert all(s <= b for s, b in zip(spent, budgets)), (method, opts, spent, budgets)
        reward = total_reward(rewards, r.x)
        assert math.isclose(r.objective, reward, rel_tol=1e-9, abs_tol=1e-12), (method, r.objective, reward)
        assert reward <= opt, (method, reward, opt)


@st.composite
def matching_instances(draw):
    t = draw(st.integers(1, 6))
    m = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    rewards = rng.choice([-1.0, 0.0, 0.5, 1.0, 2.0], (t, m)) * draw(st.sampled_from([1e-12, 1.0, 1e18]))
    budgets = rng.choice([1e-12, 0.5, 1.0, 1.5, 2.0, 3.0], m)
    return ob.OnlineAllocation.matching(rewards=rewards, budgets=budgets)


@pytest.mark.skipif(not backend_available("highs"), reason="the hindsight benchmark needs HiGHS")
@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matching_instances(), st.integers(0, 100))
def test_matching_methods_never_overspend(p, i):
    rewards, budgets = np.array(p.rewards), np.array(p.budgets)
    m = budgets.size
    eye = np.broadcast_to(np.eye(m), (p.horizon, m, m))
    opt = brute_force(rewards, eye, budgets)
    for method in METHODS:
        opts = options_for(method, p, i)
        if method not in ("hindsight", "hindsight_lp"):
            opts["benchmark"] = "none"
        r = ob.solve(p, method=method, threads=1, options=opts)
        assert r.ok, (method, r.message)
        if method == "hindsight_lp":
            assert r.objective >= opt - 1e-9 * max(1.0, abs(opt))
            continue
        counts = np.bincount(np.asarray(r.x)[np.asarray(r.x) >= 0], minlength=m)
        assert (counts <= budgets).all(), (method, counts, budgets)
        assert total_reward(rewards, r.x) <= opt
        if method == "hindsight":
            assert math.isclose(r.objective, opt, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=examples(150), deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 3),
    st.integers(1, 3),
    st.sampled_from(REFERENCES),
    st.sampled_from(SCALES),
    st.sampled_from(["zero", "one consumption", "random"]),
    st.floats(0.0, 50.0),
    st.integers(0, 2**31 - 1),
)
def test_step_by_step_policy_never_overspends(horizon, k, m, reference, scale, budget_rule, step, seed):
    """act/update over a horizon (zero budgets allowed except for the scaled-Euclidean reference, which divides by ρ):
    the spend recomputed from the played actions never exceeds a budget."""
    rng = np.random.default_rng(seed)
    rewards = rng.normal(0.5, 1.0, (horizon, k))
    consumption = rng.choice([0.0, 1.0 / 3.0, 0.1, 0.7, 1.0], (horizon, k, m)) * scale
    if budget_rule == "zero" and reference in ("euclidean", "entropy"):  # the others divide by or start at ρ
        budgets = np.zeros(m)
        budgets[: m // 2] = scale
    elif budget_rule == "one consumption":
        budgets = consumption[rng.integers(0, horizon), rng.integers(0, k)].copy()
        budgets[budgets <= 0] = scale
    else:
        budgets = rng.uniform(0.05, 3.0, m) * scale
    pol = DualMirrorDescent(
        budgets, horizon, reference=reference, step_size=step / math.sqrt(horizon), reward_bound=max(1.0, float(rewards.max()))
    )
    played = np.full(horizon, -1)
    for t in range(horizon):
        played[t] = pol.act(rewards[t], consumption[t])
        pol.update()
        if t % 7 == 3:  # checkpoint and resume mid-horizon
            state = pol.state_dict()
            pol = DualMirrorDescent(budgets, horizon, reference=reference, reward_bound=max(1.0, float(rewards.max())))
            pol.load_state_dict(state)
    spent = spend(rewards, consumption, played, m)
    assert all(s <= b for s, b in zip(spent, budgets)), (spent, budgets)
    assert (pol.remaining >= 0).all() and (pol.mu >= 0).all()
    assert math.isclose(pol.reward, total_reward(rewards, played), rel_tol=1e-9, abs_tol=1e-9)


# -- regularised instances (issue 19): every method keeps every budget, hindsight is the brute-force optimum ------
REGULARIZERS = [
    ob.regularizers.MaxMinFairness,
    ob.regularizers.LoadBalancing,
    ob.regularizers.BelowTargetPenalty,
    ob.regularizers.QuadraticPenalty,
]


@st.composite
def regularized_instances(draw):
    base = draw(instances())
    cls = draw(st.sampled_from(REGULARIZERS))
    weight = draw(st.sampled_from([0.0, 1e-9, 0.3, 5.0])) * max(1.0, float(np.abs(base.rewards).max()))
    return ob.OnlineAllocation(rewards=base.rewards, consumption=base.consumption, budgets=base.budgets, regularizer=cls(weight))


@pytest.mark.skipif(not backend_available("highs"), reason="the hindsight benchmark needs HiGHS")
@settings(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(regularized_instances(), st.integers(0, 100))
def test_regularized_methods_never_overspend_and_hindsight_is_the_optimum(p, i):
    rewards, consumption, budgets = np.array(p.rewards), np.array(p.consumption), np.array(p.budgets)
    m = budgets.size
    best = -math.inf
    for x in itertools.product(range(-1, rewards.shape[1]), repeat=p.horizon):
        if all(s <= b for s, b in zip(spend(rewards, consumption, np.array(x), m), budgets)):
            best = max(best, p.value_of(np.array(x)))
    tol = 1e-7 * max(1.0, abs(best), float(np.abs(rewards).max()))
    if p.regularizer.polyhedral:
        hind = ob.solve(p, method="hindsight", threads=1)
        assert hind.ok, hind.message
        assert all(s <= b for s, b in zip(spend(rewards, consumption, hind.x, m), budgets))
        assert hind.objective <= best + tol and (hind.status is not ob.Status.OPTIMAL or hind.objective >= best - tol)
    for method in ("dmd", "greedy", "fluid"):
        opts = {**options_for(method, p, i), "benchmark": "dual_bound"}
        if method == "fluid" and "duals" in opts:
            opts["duals"] = np.maximum(opts["duals"], 0.0)
        r = ob.solve(p, method=method, threads=1, options=opts)
        assert r.ok, (method, r.message)
        assert all(s <= b for s, b in zip(spend(rewards, consumption, r.x, m), budgets)), (method, opts)
        assert math.isclose(r.objective, p.value_of(r.x), rel_tol=1e-9, abs_tol=tol)
        assert r.objective <= best + tol, (method, r.objective, best)
        assert r.stats["hindsight"] >= best - tol  # the dual bound is an upper bound


def test_regularised_step_at_the_fairness_boundary_follows_the_paper():
    """Issue 26 item 8: on the max-min fairness boundary the response is ρ, and the step is the exact projection of
    the unclipped mirror step (the paper's and the official code's μ), not a clip at -λ/ρ_j."""
    fair = ob.regularizers.MaxMinFairness(weight=0.24)
    pol = ob.DualMirrorDescent([1.02, 0.44, 0.92], 2, reference="scaled_euclidean", step_size=0.27, regularizer=fair)
    pol.step([-1.0, -1.0, -1.0])
    np.testing.assert_allclose(fair.response(pol.mu, pol.rate), [0.51, 0.22, 0.46])
    pol.step([1.0, -1.0, -1.0])
    np.testing.assert_allclose(pol.mu, [0.352, -0.545, -0.261], atol=1e-3)
