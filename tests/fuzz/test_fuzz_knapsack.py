"""Fuzz: malformed input to the knapsack family (``MultipleChoiceKnapsack``, ``RolloutAllocation``): fields, solver
options and saved files, each in a child interpreter (see harness.py); and budget-safety properties for every
registered method of both models, with the spend recomputed from ``x`` and the ORIGINAL arrays in exact arithmetic
(Python ints and Fractions) and objectives compared with brute force.

The tolerance rule checked here is the documented one: whole-number costs and budget are decided exactly, in
integers; otherwise a choice may exceed the budget by at most ``1e-9·B`` (relative to the budget alone).
"""

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orbudget as ob
from orbudget.core.registry import specs_for

from .conftest import examples
from .harness import Case, suite, summary

K = "ob.MultipleChoiceKnapsack"
R = "ob.RolloutAllocation"
V2 = "values=[[1, 5], [1, 5]]"
C2 = "costs=[[0, 3], [0, 3]]"
P2 = "success_rates=[0.5, 0.3]"


def _file_case(kind_code: str, edit: str) -> str:
    """Code that saves a valid problem, edits its JSON (``d`` is the ``data`` dict) and loads it back."""
    return (
        f"import json\np = {kind_code}\npath = ob.save(p, tmp + '/p.json')\n"
        "doc = json.loads(open(path).read())\nd = doc['data']\n"
        f"{edit}\nopen(path, 'w').write(json.dumps(doc))\nob.load(path)\n"
    )


MCKP_FILE = f"{K}({V2}, {C2}, budget=4)"
ROLL_FILE = f"{R}({P2}, total_rollouts=8, max_rollouts=6)"

MCKP_CASES = [
    # fields
    Case("mckp values 1-d", f"{K}(values=[1, 5], costs=[1, 2], budget=3)", field="values"),
    Case("mckp values NaN", f"{K}(values=[[1, float('nan')]], costs=[[1, 2]], budget=3)", field="values"),
    Case("mckp values inf", f"{K}(values=[[1, float('inf')]], costs=[[1, 2]], budget=3)", field="values"),
    Case("mckp values strings", f"{K}(values=[['a', 'b']], costs=[[1, 2]], budget=3)", field="values"),
    Case("mckp values None", f"{K}(values=None, costs=[[1, 2]], budget=3)", field="values"),
    Case("mckp values empty", f"{K}(values=np.zeros((0, 2)), costs=np.zeros((0, 2)), budget=3)", field="values"),
    Case("mckp costs wrong shape", f"{K}({V2}, costs=[[1, 2]], budget=3)", field="costs"),
    Case("mckp costs negative", f"{K}({V2}, costs=[[0, -3], [0, 3]], budget=3)", field="costs"),
    Case("mckp costs NaN", f"{K}({V2}, costs=[[0, float('nan')], [0, 3]], budget=3)", field="costs"),
    Case("mckp costs inf", f"{K}({V2}, costs=[[0, float('inf')], [0, 3]], budget=3)", field="costs"),
    Case("mckp costs complex", f"{K}({V2}, costs=[[0, 1j], [0, 3]], budget=3)", field="costs"),
    Case("mckp costs int beyond int64", f"{K}({V2}, costs=[[0, 2**70 + 1], [0, 3]], budget=3)", field="costs"),
    Case(
        "mckp costs uint64 beyond int64",
        f"{K}({V2}, costs=np.array([[0, 2**64 - 1], [0, 3]], dtype=np.uint64), budget=3)",
        field="costs",
    ),
    Case("mckp budget negative float", f"{K}({V2}, {C2}, budget=-0.5)", field="budget"),
    Case("mckp budget negative int", f"{K}({V2}, {C2}, budget=-1)", field="budget"),
    Case("mckp budget NaN", f"{K}({V2}, {C2}, budget=float('nan'))", field="budget"),
    Case("mckp budget inf", f"{K}({V2}, {C2}, budget=float('inf'))", field="budget"),
    Case("mckp budget string", f"{K}({V2}, {C2}, budget='ten')", field="budget"),
    Case("mckp budget bool", f"{K}({V2}, {C2}, budget=True)", field="budget"),
    Case("mckp exact string", f"{K}({V2}, {C2}, budget=3, exact='yes')", field="exact"),
    Case("mckp available ints", f"{K}({V2}, {C2}, budget=3, available=[[1, 0], [1, 1]])", field="available"),
    Case("mckp available empty group", f"{K}({V2}, {C2}, budget=3, available=[[False, False], [True, True]])", field="available"),
    Case("mckp available wrong shape", f"{K}({V2}, {C2}, budget=3, available=[[True, True]])", field="available"),
    Case("mckp x fractional", f"{K}({V2}, {C2}, budget=3).cost_of([0.5, 1])", field="x"),
    Case("mckp x out of range", f"{K}({V2}, {C2}, budget=3).cost_of([2, 0])", field="x"),
    # solver options
    Case("mckp unknown method", f"ob.solve({K}({V2}, {C2}, budget=3), method='simplex')", field="method"),
    Case(
        "mckp dp scale zero",
        f"ob.solve({K}({V2}, costs=[[0, 0.5], [0, 3]], budget=3), method='dp', options={{'scale': 0}})",
        field="options.scale",
    ),
    Case(
        "mckp dp scale string",
        f"ob.solve({K}({V2}, costs=[[0, 0.5], [0, 3]], budget=3), method='dp', options={{'scale': 'x'}})",
        field="options.scale",
    ),
    Case(
        "mckp dp scale beyond int64",
        f"ob.solve({K}({V2}, costs=[[0, 0.5], [0, 3]], budget=3), method='dp', options={{'scale': 1e30}})",
        field="options.scale",
    ),
    Case(
        "mckp dp scale on whole costs",
        f"ob.solve({K}({V2}, {C2}, budget=3), method='dp', options={{'scale': 2}})",
        field="options.scale",
    ),
    Case(
        "mckp cpsat scale on whole costs",
        f"ob.solve({K}({V2}, {C2}, budget=3), method='cpsat', options={{'scale': 2}})",
        field="options.scale",
    ),
    Case("mckp dp unknown option", f"ob.solve({K}({V2}, {C2}, budget=3), method='dp', options={{'foo': 1}})", field="options"),
    Case(
        "mckp greedy unknown option",
        f"ob.solve({K}({V2}, {C2}, budget=3), method='greedy', options={{'scale': 1}})",
        field="options",
    ),
    Case(
        "mckp mip unknown HiGHS option",
        f"ob.solve({K}({V2}, {C2}, budget=3), method='mip', options={{'not_an_option': 1}})",
        field="options",
    ),
    Case(
        "mckp dp float costs without scale",
        f"ob.solve({K}({V2}, costs=[[0, 0.5], [0, 3]], budget=3), method='dp')",
        field="costs",
    ),
    Case(
        "mckp dp table too large",
        "rng = np.random.default_rng(0)\n"
        f"ob.solve({K}(values=rng.random((40, 3)), costs=rng.integers(10**15, 10**16, "
        "(40, 3)) + [0, 1, 3], budget=2 * 10**17 + 1), method='dp')",
        field="budget",
    ),
    # documented statuses (these crashed or overspent before)
    Case(
        "mckp 1e300 costs dp",
        f"result = ob.solve({K}({V2}, costs=[[0, 1e300], [0, 1e300]], budget=10), "
        "method='dp')\nassert result.x.tolist() == [0, 0]",
        status=("OPTIMAL",),
    ),
    Case(
        "mckp 1e300 costs greedy",
        f"result = ob.solve({K}({V2}, costs=[[0, 1e300], [0, 1e300]], budget=10), "
        "method='greedy')\nassert result.stats['cost'] == 0",
        status=("FEASIBLE",),
    ),
    Case(
        "mckp 1e300 costs cpsat",
        f"result = ob.solve({K}({V2}, costs=[[0, 1e300], [0, 1e300]], budget=10), "
        "method='cpsat')\nassert result.x.tolist() == [0, 0]",
        status=("OPTIMAL",),
    ),
    Case(
        "mckp budget 10**400",
        f"result = ob.solve({K}({V2}, {C2}, budget=10**400))\nassert result.objective == 10",
        status=("OPTIMAL",),
    ),
    Case("mckp budget below cheapest", f"result = ob.solve({K}({V2}, costs=[[2, 3], [2, 3]], budget=3))", status=("INFEASIBLE",)),
    Case(
        "mckp tiny costs mip",
        f"result = ob.solve({K}({V2}, costs=[[0, 3e-10], [0, 3e-10]], budget=4e-10), method='mip')\nassert result.objective == 6",
        status=("OPTIMAL", "FEASIBLE"),
    ),
    # files
    Case("mckp file budget negative", _file_case(MCKP_FILE, "d['budget'] = -1"), field="budget"),
    Case("mckp file budget string", _file_case(MCKP_FILE, "d['budget'] = 'ten'"), field="budget"),
    Case(
        "mckp file costs shape",
        _file_case(MCKP_FILE, "d['costs'] = {'__array__': [1, 2], 'dtype': 'int64', 'shape': [2]}"),
        field="costs",
    ),
    Case("mckp file costs strings", _file_case(MCKP_FILE, "d['costs'] = [['a', 'b'], ['c', 'd']]"), field="costs"),
    Case("mckp file exact string", _file_case(MCKP_FILE, "d['exact'] = 'yes'"), field="exact"),
    Case("mckp file missing budget", _file_case(MCKP_FILE, "del d['budget']"), field="budget"),
    Case("mckp file costs beyond int64", _file_case(MCKP_FILE, "d['costs'] = [[0, 2**70 + 1], [0, 3]]"), field="costs"),
    Case(
        "mckp file 1e300 costs",
        _file_case(MCKP_FILE, "d['costs'] = [[0, 1e300], [0, 1e300]]").replace(
            "ob.load(path)\n", "result = ob.solve(ob.load(path), method='dp')\n"
        ),
        status=("OPTIMAL",),
    ),
]

ROLLOUT_CASES = [
    # fields
    Case(
        "convex unknown solver",
        f"ob.solve({R}({P2}, total_rollouts=8), method='convex', options={{'solver': 'BOGUS'}})",
        field="options.solver",
    ),
    Case(
        "pyomo unknown solver option",
        f"ob.solve({R}({P2}, total_rollouts=8), backend='pyomo', method='mip', "
        "options={'solver_options': {'mip_rell_gap': 0}})",
        field="solver_options",
    ),
    Case("roll rate above one", f"{R}(success_rates=[0.5, 1.2], total_rollouts=8)", field="success_rates"),
    Case("roll rate negative", f"{R}(success_rates=[-0.1], total_rollouts=8)", field="success_rates"),
    Case("roll rate NaN", f"{R}(success_rates=[float('nan')], total_rollouts=8)", field="success_rates"),
    Case("roll rates 2-d", f"{R}(success_rates=[[0.5]], total_rollouts=8)", field="success_rates"),
    Case("roll rates empty", f"{R}(success_rates=[], total_rollouts=8)", field="success_rates"),
    Case("roll total fractional", f"{R}({P2}, total_rollouts=8.5)", field="total_rollouts"),
    Case("roll total negative", f"{R}({P2}, total_rollouts=-1)", field="total_rollouts"),
    Case("roll total beyond int64", f"{R}({P2}, total_rollouts=2**63)", field="total_rollouts"),
    Case("roll total string", f"{R}({P2}, total_rollouts='8')", field="total_rollouts"),
    Case("roll min negative", f"{R}({P2}, total_rollouts=8, min_rollouts=-1)", field="min_rollouts"),
    Case("roll min fractional", f"{R}({P2}, total_rollouts=8, min_rollouts=1.5)", field="min_rollouts"),
    Case("roll max zero", f"{R}({P2}, total_rollouts=8, max_rollouts=0)", field="max_rollouts"),
    Case("roll max below min", f"{R}({P2}, total_rollouts=8, min_rollouts=5, max_rollouts=4)", field="max_rollouts"),
    Case("roll max beyond int64", f"{R}({P2}, total_rollouts=8, max_rollouts=2**64)", field="max_rollouts"),
    Case("roll value unknown", f"{R}({P2}, total_rollouts=8, value='bogus')", field="value"),
    Case("roll value table shape", f"{R}({P2}, total_rollouts=8, max_rollouts=4, value=np.zeros((2, 3)))", field="value"),
    Case(
        "roll value table NaN",
        f"{R}({P2}, total_rollouts=2, min_rollouts=0, max_rollouts=1, value=[[0, float('nan')], [0, 1]])",
        field="value",
    ),
    Case("roll costs zero", f"{R}({P2}, total_rollouts=8, rollout_costs=[1, 0])", field="rollout_costs"),
    Case("roll costs negative", f"{R}({P2}, total_rollouts=8, rollout_costs=[1, -2])", field="rollout_costs"),
    Case("roll costs wrong shape", f"{R}({P2}, total_rollouts=8, rollout_costs=[1])", field="rollout_costs"),
    Case("roll costs NaN", f"{R}({P2}, total_rollouts=8, rollout_costs=[1, float('nan')])", field="rollout_costs"),
    Case("roll costs 1e300", f"{R}({P2}, total_rollouts=8, rollout_costs=[1, 1e300])", field="rollout_costs"),
    Case("roll costs int beyond int64", f"{R}({P2}, total_rollouts=8, rollout_costs=[1, 2**64])", field="rollout_costs"),
    Case("roll x outside bounds", f"{R}({P2}, total_rollouts=8, max_rollouts=6).cost_of([7, 1])", field="x"),
    Case("roll x huge float", f"{R}({P2}, total_rollouts=8, max_rollouts=6).cost_of([1e300, 1])", field="x"),
    # solver options
    Case(
        "roll knapsackrl alpha above one",
        f"ob.solve({R}({P2}, total_rollouts=8), method='knapsackrl', options={{'alpha': 2}})",
        field="options.alpha",
    ),
    Case(
        "roll knapsackrl alpha one",
        f"ob.solve({R}({P2}, total_rollouts=8), method='knapsackrl', options={{'alpha': 1.0}})",
        field="options.alpha",
    ),
    Case(
        "roll knapsackrl alpha string",
        f"ob.solve({R}({P2}, total_rollouts=8), method='knapsackrl', options={{'alpha': 'high'}})",
        field="options.alpha",
    ),
    Case(
        "roll knapsackrl fallback string",
        f"ob.solve({R}({P2}, total_rollouts=8), method='knapsackrl', options={{'allow_fallback': 'no'}})",
        field="options.allow_fallback",
    ),
    Case(
        "roll knapsackrl valid shape",
        f"ob.solve({R}({P2}, total_rollouts=8), method='knapsackrl', options={{'valid': [True]}})",
        field="options.valid",
    ),
    Case(
        "roll knapsackrl valid ints",
        f"ob.solve({R}({P2}, total_rollouts=8), method='knapsackrl', options={{'valid': [1, 0]}})",
        field="options.valid",
    ),
    Case(
        "roll knapsackrl default negative",
        f"ob.solve({R}({P2}, total_rollouts=8), method='knapsackrl', options={{'default_rollouts': -1}})",
        field="options.default_rollouts",
    ),
    Case(
        "roll greedy unknown option",
        f"ob.solve({R}({P2}, total_rollouts=8), method='greedy', options={{'alpha': 0.5}})",
        field="options",
    ),
    Case(
        "roll dp scale on unit costs",
        f"ob.solve({R}({P2}, total_rollouts=8), method='dp', options={{'scale': 10}})",
        field="options.scale",
    ),
    Case(
        "roll knapsackrl with costs",
        f"ob.solve({R}({P2}, total_rollouts=8, rollout_costs=[1, 2]), method='knapsackrl')",
        field="cannot solve",
    ),
    Case(
        "roll table too large",
        f"ob.solve({R}({P2}, total_rollouts=10**12, max_rollouts=10**12), method='greedy')",
        field="max_rollouts",
    ),
    Case(
        "roll knapsackrl table too large",
        f"ob.solve({R}({P2}, total_rollouts=10**12, max_rollouts=10**12), method='knapsackrl')",
        field="total_rollouts",
    ),
    # documented statuses (these were wrong or crashed before)
    Case(
        "roll knapsackrl official [8, 8]",
        f"result = ob.solve({R}(success_rates=[1, 1], total_rollouts=3, "
        "min_rollouts=1, max_rollouts=5), method='knapsackrl')\n"
        "assert result.x.sum() == 3 and result.x.max() <= 5",
        status=("FEASIBLE",),
    ),
    Case(
        "roll huge max small budget",
        f"result = ob.solve({R}({P2}, total_rollouts=16, max_rollouts=10**12))\nassert result.x.sum() == 16",
        status=("OPTIMAL",),
    ),
    Case(
        "roll big integer costs wrap",
        f"result = ob.solve({R}(success_rates=[0.5] * 3, total_rollouts=9 * 10**18, "
        "min_rollouts=1, max_rollouts=4, rollout_costs=[4 * 10**18] * 3))",
        status=("INFEASIBLE",),
    ),
    Case("roll below minimums", f"result = ob.solve({R}({P2}, total_rollouts=3))", status=("INFEASIBLE",)),
    # files
    Case("roll file min negative", _file_case(ROLL_FILE, "d['min_rollouts'] = -1"), field="min_rollouts"),
    Case("roll file rates above one", _file_case(ROLL_FILE, "d['success_rates'] = [0.5, 2.0]"), field="success_rates"),
    Case("roll file value table shape", _file_case(ROLL_FILE, "d['value'] = [[0.0, 1.0]]"), field="value"),
    Case("roll file total fractional", _file_case(ROLL_FILE, "d['total_rollouts'] = 7.5"), field="total_rollouts"),
    Case("roll file missing total", _file_case(ROLL_FILE, "del d['total_rollouts']"), field="total_rollouts"),
    Case(
        "pyomo unknown appsi solver",
        "p = ob.MultipleChoiceKnapsack(values=[[1, 2]], costs=[[1, 2]], budget=2)\n"
        "ob.solve(p, backend='pyomo', options={'solver': 'appsi_bogus'})",
        field="options.solver",
    ),
    Case(
        "to_pyomo relax as a string",
        "p = ob.MultipleChoiceKnapsack(values=[[1, 2]], costs=[[1, 2]], budget=2)\nob.to_pyomo(p, relax='no')",
        field="relax",
    ),
]

CASES = MCKP_CASES + ROLLOUT_CASES


outcomes, test_malformed, test_summary = suite(CASES, "knapsack")


def test_counts(outcomes):
    for name, cases in (("MultipleChoiceKnapsack", MCKP_CASES), ("RolloutAllocation", ROLLOUT_CASES)):
        counts = summary(cases, outcomes)
        print(name, counts)
        assert counts["tried"] >= 25 and counts["crashes"] == 0


# -- budget safety: every registered method, spend recomputed exactly from x and the original arrays ------------------

TOL = Fraction(1e-9)  # the documented relative slack when costs or budget are not whole numbers
REFUSALS = ("is too large", "not whole numbers", "int64", "need whole-number costs", "2^62")
COUNTS: dict[str, int] = {}


def _methods(problem):
    """Every registered, installed method that says it can solve this instance."""
    out = []
    for spec in specs_for(problem):
        if spec.available and spec.reason_unsupported(problem) is None:
            out.append(spec)
    return out


def _solve(problem, spec, scale):
    kwargs = {"backend": spec.backend}
    honours = getattr(spec, "honours", None) or ()
    kwargs.update({k: v for k, v in (("threads", 1), ("seed", 0)) if k in honours})
    if "scale" in spec.options and scale is not None:
        kwargs["options"] = {"scale": scale}
    try:
        return ob.solve(problem, spec.method, **kwargs), None
    except ob.InvalidProblemError as exc:  # a documented refusal (a table or an integer too large), never a crash
        assert any(s in str(exc) for s in REFUSALS), f"{spec.method}/{spec.backend}: {exc}"
        return None, str(exc)


HONEST = ("fails orbudget's own check", "cannot resolve", "the model's variable")


def _honest_miss(r, spec, scale) -> bool:
    """No decision, said plainly: rounding costs up at ``options.scale`` lost every fit (documented), or a backend's
    answer failed the model's exact check and was reported (ERROR or NO_SOLUTION with the reason) instead of
    returned. Counted and printed by test_property_case_counts, never silent."""
    scaled = scale is not None and "scale" in spec.options and "scal" in (r.message or "")
    miss = (r.status in (ob.Status.INFEASIBLE, ob.Status.NO_SOLUTION) and scaled) or (
        r.status in (ob.Status.ERROR, ob.Status.NO_SOLUTION) and any(h in (r.message or "") for h in HONEST)
    )
    if miss:
        COUNTS["honest misses"] = COUNTS.get("honest misses", 0) + 1
    return miss


def _window(costs, budget, exact):
    """(low, high) in exact arithmetic, from the original Python numbers (the documented rule)."""
    whole = all(Fraction(c).denominator == 1 for row in costs for c in row) and Fraction(budget).denominator == 1
    b = Fraction(budget)
    slack = 0 if whole else b * TOL
    return (b - slack if exact else None), b + slack


def _brute_mckp(values, costs, budget, exact):
    low, high = _window(costs, budget, exact)
    best = None
    for combo in itertools.product(*[range(len(r)) for r in costs]):
        spend = sum(Fraction(costs[i][j]) for i, j in enumerate(combo))
        if spend <= high and (low is None or spend >= low):
            v = sum(values[i][j] for i, j in enumerate(combo))
            best = v if best is None else max(best, v)
    return best


COST_REGIMES = ["small", "tiny", "huge", "sentinel", "real"]


@st.composite
def mckp_instances(draw):
    n = draw(st.integers(1, 3))
    k = draw(st.integers(1, 3))
    regime = draw(st.sampled_from(COST_REGIMES))
    small = st.integers(0, 6)
    if regime == "small":
        cost = small
    elif regime == "tiny":
        cost = small.map(lambda c: c * 1e-12)
    elif regime == "huge":
        cost = st.sampled_from([0, 10**18, 10**18 + 1, 2 * 10**18, 3 * 10**18 - 7])
    elif regime == "sentinel":
        cost = st.one_of(small, st.just(1e300), st.just(float(2**63)))
    else:
        cost = st.floats(0, 3, allow_nan=False).map(lambda c: round(c, 3))
    costs = [[draw(cost) for _ in range(k)] for _ in range(n)]
    values = [[draw(st.integers(-2, 5)) * 1.0 for _ in range(k)] for _ in range(n)]  # ties are common
    exact = draw(st.booleans()) and regime != "real"
    flat = [c for row in costs for c in row]
    how = draw(st.sampled_from(["zero", "one cost", "a sum", "between"]))
    if how == "zero":
        budget = 0
    elif how == "one cost":
        budget = draw(st.sampled_from(flat))
    elif how == "a sum":
        budget = sum(Fraction(row[draw(st.integers(0, k - 1))]) for row in costs)
        budget = int(budget) if budget.denominator == 1 else float(budget)
    else:
        lo = sum(Fraction(min(r)) for r in costs)
        hi = sum(Fraction(min(max(r), 10**19)) for r in costs)
        budget = float(lo + (hi - lo) * Fraction(draw(st.integers(0, 8)), 8))
    return values, costs, budget, exact


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(inst=mckp_instances())
def test_mckp_budget_safety(inst):
    values, costs, budget, exact = inst
    p = ob.MultipleChoiceKnapsack(values=values, costs=costs, budget=budget, exact=exact)
    best = _brute_mckp(values, costs, budget, exact)
    low, high = _window(costs, budget, exact)
    whole = all(Fraction(c).denominator == 1 for row in costs for c in row)
    scale = None if whole else 10**12 if max(max(r) for r in costs) < 1e-6 else 1000
    for spec in _methods(p):
        COUNTS["mckp"] = COUNTS.get("mckp", 0) + 1
        r, refused = _solve(p, spec, scale)
        name = f"{spec.method}/{spec.backend}"
        if refused or _honest_miss(r, spec, scale):
            continue
        assert r.status is not ob.Status.ERROR, (name, r.message, inst)
        if r.status in (ob.Status.INFEASIBLE, ob.Status.NO_SOLUTION):
            assert best is None, (name, r.status, r.message, best, inst)
            continue
        x = np.asarray(r.x)
        if x.ndim == 2:  # a relaxation: fractional x; its bound must not fall below the integer optimum
            if best is not None:
                assert r.bound >= best - 1e-6 * max(1.0, abs(best)), (name, r.bound, best, inst)
            continue
        assert best is not None, (name, "returned a choice where none is feasible", x, inst)
        spend = sum(Fraction(costs[i][int(j)]) for i, j in enumerate(x))
        assert spend <= high, (name, "over budget", float(spend), budget, inst)
        assert low is None or spend >= low, (name, "below an exact budget", float(spend), budget, inst)
        value = sum(values[i][int(j)] for i, j in enumerate(x))
        assert r.objective == pytest.approx(value, abs=1e-9), (name, r.objective, value)
        assert value <= best + 1e-9, (name, "beats brute force", value, best, inst)
        if r.status is ob.Status.OPTIMAL and not (scale and "scale" in spec.options):
            assert value == pytest.approx(best, abs=1e-9), (name, "OPTIMAL but not optimal", value, best, inst)


def _brute_rollouts(p, table, costs, total):
    lo, hi = p.min_rollouts, p.max_rollouts
    best = None
    for combo in itertools.product(range(lo, hi + 1), repeat=p.n_prompts):
        if costs is None:
            ok = sum(combo) == total
        else:
            whole = all(Fraction(c).denominator == 1 for c in costs) and Fraction(total).denominator == 1
            limit = Fraction(total) * (1 if whole else 1 + TOL)
            ok = sum(Fraction(c) * n for c, n in zip(costs, combo)) <= limit
        if ok:
            v = sum(table[i][n] for i, n in enumerate(combo))
            best = v if best is None else max(best, v)
    return best


@st.composite
def rollout_instances(draw):
    n = draw(st.integers(1, 3))
    lo = draw(st.integers(0, 2))
    hi = max(1, lo + draw(st.integers(0, 4)))
    rates = [draw(st.sampled_from([0.0, 1.0, 0.5, 1 / 3, 0.05, 0.9])) for _ in range(n)]
    kind = draw(st.sampled_from(["knapsack_rl", "nonzero_gradient", "table"]))
    value = kind
    if kind == "table":
        value = [[draw(st.integers(0, 4)) * 0.25 for _ in range(hi + 1)] for _ in range(n)]
    regime = draw(st.sampled_from(["unit", "unit", "small", "huge", "tiny"]))
    costs = None
    if regime == "small":
        costs = [draw(st.integers(1, 4)) for _ in range(n)]
    elif regime == "huge":
        costs = [draw(st.sampled_from([10**18, 10**18 + 1, 2 * 10**18])) for _ in range(n)]
    elif regime == "tiny":
        costs = [draw(st.integers(1, 4)) * 1e-12 for _ in range(n)]
    if costs is None:
        total = draw(st.integers(max(0, n * lo - 1), n * hi + 1))
    else:
        how = draw(st.sampled_from(["zero", "one cost", "a sum", "between"]))
        if how == "zero":
            total = 0
        elif how == "one cost":
            total = draw(st.sampled_from(costs))
        elif how == "a sum":
            s = sum(Fraction(c) * draw(st.integers(lo, hi)) for c in costs)
            total = int(s) if s.denominator == 1 else float(s)
        else:
            s = sum(Fraction(c) for c in costs) * draw(st.integers(0, 2 * hi + 1))
            total = int(s) if s.denominator == 1 else float(s)
        if isinstance(total, int) and total > 2**63 - 1:
            total = 2**63 - 1
    return rates, lo, hi, value, costs, total


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(inst=rollout_instances())
def test_rollout_budget_safety(inst):
    rates, lo, hi, value, costs, total = inst
    p = ob.RolloutAllocation(
        success_rates=rates, total_rollouts=total, min_rollouts=lo, max_rollouts=hi, value=value, rollout_costs=costs
    )
    if isinstance(value, str):  # the documented closed forms, recomputed here
        q = np.asarray(rates, float)[:, None]
        nn = np.arange(hi + 1, dtype=float)[None, :]
        pnz = np.where(nn > 0, 1.0 - q**nn - (1.0 - q) ** nn, 0.0)  # no rollouts: never mixed
        table = (pnz * q * (1 - q) ** 2 if value == "knapsack_rl" else pnz).tolist()
    else:
        table = value
    best = _brute_rollouts(p, table, costs, total)
    whole = costs is None or all(Fraction(c).denominator == 1 for c in costs)
    scale = None if whole else 10**12
    for spec in _methods(p):
        COUNTS["rollouts"] = COUNTS.get("rollouts", 0) + 1
        r, refused = _solve(p, spec, scale)
        name = f"{spec.method}/{spec.backend}"
        if refused or _honest_miss(r, spec, scale):
            continue
        assert r.status is not ob.Status.ERROR, (name, r.message, inst)
        if r.status in (ob.Status.INFEASIBLE, ob.Status.NO_SOLUTION):
            assert best is None, (name, r.status, r.message, best, inst)
            continue
        x = np.asarray(r.x)
        if x.dtype.kind == "f" and not np.all(x == np.round(x)) or spec.method in ("lp", "convex"):
            if best is not None and r.bound is not None:  # a relaxation bounds the integer optimum
                assert r.bound >= best - 1e-6 * max(1.0, abs(best)), (name, r.bound, best, inst)
            continue
        assert best is not None, (name, "returned an allocation where none is feasible", x, inst)
        n = [int(v) for v in x]
        assert all(lo <= v <= hi for v in n), (name, "outside [min_rollouts, max_rollouts]", n, inst)
        if costs is None:
            assert sum(n) == total, (name, "does not allocate exactly total_rollouts", n, inst)
        else:
            whole_total = whole and Fraction(total).denominator == 1
            limit = Fraction(total) * (1 if whole_total else 1 + TOL)
            spend = sum(Fraction(c) * v for c, v in zip(costs, n))
            assert spend <= limit, (name, "over budget", float(spend), total, inst)
        got = sum(table[i][v] for i, v in enumerate(n))
        assert r.objective == pytest.approx(got, abs=1e-9), (name, r.objective, got)
        assert got <= best + 1e-9, (name, "beats brute force", got, best, inst)
        if r.status is ob.Status.OPTIMAL and not (scale and "scale" in spec.options):
            assert got == pytest.approx(best, abs=1e-9), (name, "OPTIMAL but not optimal", got, best, inst)


def test_property_case_counts():
    """Runs after the properties (file order): how many (instance, method) solves they checked."""
    print("budget-safety solves checked:", COUNTS)
