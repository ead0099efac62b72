"""Fuzz: malformed input to the LLM-budget models, methods, loaders and the adaptive sampler (each in a child
interpreter, see harness.py), and budget-safety properties: no method's allocation, no online routing and no adaptive
sampler ever spends more than a budget, recomputed from ``x`` and the original arrays in integer arithmetic."""

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import orbudget as ob
from orbudget.problems.llm import AdaptiveSampler, majority_vote_table

from .conftest import examples
from .harness import Case, suite

S = "ob.SampleAllocation"
R = "ob.ModelRouting"
Q2 = "quality=[[0.2, 0.9], [0.5, 0.6]], costs=[[1, 4], [2, 3]]"

CASES = [
    # SampleAllocation fields
    Case("rate NaN", f"{S}(success_rates=[0.5, float('nan')], budget=4)", field="success_rates"),
    Case("rate above one", f"{S}(success_rates=[1.5], budget=4)", field="success_rates"),
    Case("rates and answers", f"{S}(success_rates=[0.5], answer_probabilities=[[1.0]], budget=4)", field="success_rates"),
    Case("neither rates nor answers", f"{S}(budget=4)", field="answer_probabilities"),
    Case("empty rates", f"{S}(success_rates=[], budget=4)", field="success_rates"),
    Case("rates 2-d", f"{S}(success_rates=[[0.5]], budget=4)", field="success_rates"),
    Case("answers do not sum to one", f"{S}(answer_probabilities=[[0.5, 0.2]], budget=4)", field="answer_probabilities"),
    Case("answers negative", f"{S}(answer_probabilities=[[1.5, -0.5]], budget=4)", field="answer_probabilities"),
    Case("answers 1-d", f"{S}(answer_probabilities=[0.5, 0.5], budget=4)", field="answer_probabilities"),
    Case("answers strings", f"{S}(answer_probabilities=[['a', 'b']], budget=4)", field="answer_probabilities"),
    Case("correct out of range", f"{S}(answer_probabilities=[[0.5, 0.5]], correct=[2], budget=4)", field="correct"),
    Case("correct fractional", f"{S}(answer_probabilities=[[0.5, 0.5]], correct=[0.5], budget=4)", field="correct"),
    Case("correct with pass@k", f"{S}(success_rates=[0.5], correct=[0], budget=4)", field="correct"),
    Case("budget negative", f"{S}(success_rates=[0.5], budget=-1)", field="budget"),
    Case("budget infinite", f"{S}(success_rates=[0.5], budget=float('inf'))", field="budget"),
    Case("budget string", f"{S}(success_rates=[0.5], budget='10')", field="budget"),
    Case("min above max", f"{S}(success_rates=[0.5], budget=4, min_samples=5, max_samples=2)", field="max_samples"),
    Case("max zero", f"{S}(success_rates=[0.5], budget=4, max_samples=0)", field="max_samples"),
    Case("min negative", f"{S}(success_rates=[0.5], budget=4, min_samples=-1)", field="min_samples"),
    Case("max wrong shape", f"{S}(success_rates=[0.5, 0.5], budget=4, max_samples=[3, 3, 3])", field="max_samples"),
    Case("vote max too large", f"{S}(answer_probabilities=[[1.0]], budget=4, max_samples=10_000)", field="max_samples"),
    Case("cost zero", f"{S}(success_rates=[0.5], budget=4, sample_costs=[0])", field="sample_costs"),
    Case("cost wrong shape", f"{S}(success_rates=[0.5], budget=4, sample_costs=[1, 2])", field="sample_costs"),
    Case("names wrong length", f"{S}(success_rates=[0.5], budget=4, names=['a', 'b'])", field="names"),
    Case("names a string", f"{S}(success_rates=[0.5], budget=4, names='a')", field="names"),
    Case("names repeated", f"{S}(success_rates=[0.5, 0.5], budget=4, names=['a', 'a'])", field="names"),
    Case("max samples beyond memory", f"{S}(success_rates=[0.5], budget=4, max_samples=10**12)", field="max_samples"),
    Case("model names repeated", f"{R}({Q2}, budget=5, model_names=['a', 'a'])", field="model_names"),
    Case("generator objective", f"{S}.random(3, objective='accuracy')", field="objective"),
    Case("generator difficulty", f"{S}.random(3, difficulty=(0, 1))", field="difficulty"),
    # SampleAllocation methods
    Case(
        "budget below minimums",
        f"result = ob.solve({S}(success_rates=[0.5, 0.5], budget=3, min_samples=2))",
        status=("INFEASIBLE",),
    ),
    Case(
        "budget below minimums, mckp",
        f"result = ob.solve({S}(success_rates=[0.5], budget=1, min_samples=2), method='mckp')",
        status=("INFEASIBLE",),
    ),
    Case(
        "greedy refused",
        f"ob.solve({S}(answer_probabilities=[[0.6, 0.4]], budget=6, max_samples=6), "
        "method='greedy', options={'fallback': False})",
        field="method",
    ),
    Case(
        "unknown option", f"ob.solve({S}(success_rates=[0.5], budget=4), method='uniform', options={{'x': 1}})", field="options"
    ),
    Case(
        "bad weight",
        f"ob.solve({S}(success_rates=[0.5], budget=4), method='proportional', options={{'weight': 'size'}})",
        field="options.weight",
    ),
    Case(
        "bad knapsack method",
        f"ob.solve({S}(success_rates=[0.5], budget=4, sample_costs=[2]), method='mckp', "
        "options={'knapsack_method': 'simplex'})",
        field="options.knapsack_method",
    ),
    Case("x outside bounds", f"{S}(success_rates=[0.5], budget=4, max_samples=3).accuracy_of([9])", field="x"),
    Case("x wrong shape", f"{S}(success_rates=[0.5], budget=4).cost_of([1, 2])", field="x"),
    # loaders
    Case("missing file", f"{S}.from_file(tmp + '/none.csv', budget=3)", field="path"),
    Case("unknown file format", f"{S}.from_file(tmp + '/a.txt', budget=3)", field="file_format"),
    Case(
        "bad JSON line",
        f"open(tmp + '/a.jsonl', 'w').write('{{\"p\": 0.5}}\\n{{oops\\n')\n{S}.from_file(tmp + '/a.jsonl', budget=3)",
        field="path",
    ),
    Case(
        "counts all zero",
        f"open(tmp + '/a.jsonl', 'w').write('{{\"counts\": [0, 0]}}\\n')\n{S}.from_file(tmp + '/a.jsonl', budget=3)",
        field="counts",
    ),
    Case(
        "p not a number",
        f"open(tmp + '/a.csv', 'w').write('question,p\\nq,abc\\n')\n{S}.from_file(tmp + '/a.csv', budget=3)",
        field="p",
    ),
    Case(
        "routing file missing pair",
        "open(tmp + '/r.csv', 'w').write('query,model,quality,cost\\nq1,a,0.5,1\\n"
        "q1,b,0.7,2\\nq2,a,0.4,1\\n')\n"
        f"{R}.from_file(tmp + '/r.csv', budget=3)",
        field="path",
    ),
    Case(
        "routing file unknown task budget",
        "open(tmp + '/r.csv', 'w').write('query,model,quality,cost,task\\n"
        "q1,a,0.5,1,t\\n')\n"
        f"{R}.from_file(tmp + '/r.csv', budget=3, task_budgets={{'u': 1}})",
        field="task_budgets",
    ),
    # ModelRouting fields and methods
    Case("quality inf", f"{R}(quality=[[0.5, float('inf')]], costs=[[1, 2]], budget=3)", field="quality"),
    Case("routing cost negative", f"{R}(quality=[[0.5, 0.6]], costs=[[1, -2]], budget=3)", field="costs"),
    Case("routing cost shape", f"{R}(quality=[[0.5, 0.6]], costs=[[1, 2, 3]], budget=3)", field="costs"),
    Case("routing budget NaN", f"{R}({Q2}, budget=float('nan'))", field="budget"),
    Case("tasks without budgets", f"{R}({Q2}, budget=5, tasks=[0, 0])", field="tasks"),
    Case("task index out of range", f"{R}({Q2}, budget=5, tasks=[0, 3], task_budgets=[5])", field="tasks"),
    Case("task budget negative", f"{R}({Q2}, budget=5, tasks=[0, 0], task_budgets=[-5])", field="task_budgets"),
    Case("allow_skip not a bool", f"{R}({Q2}, budget=5, allow_skip='yes')", field="allow_skip"),
    Case("routing below cheapest", f"result = ob.solve({R}({Q2}, budget=2))", status=("INFEASIBLE",)),
    Case("routing below cheapest, dmd", f"result = ob.solve({R}({Q2}, budget=2), method='dmd')", status=("INFEASIBLE",)),
    Case(
        "task budget below cheapest",
        f"result = ob.solve({R}({Q2}, budget=9, tasks=[0, 0], task_budgets=[2]), method='mip')",
        status=("INFEASIBLE",),
    ),
    Case(
        "mckp with task budgets",
        f"ob.solve({R}({Q2}, budget=9, tasks=[0, 0], task_budgets=[5]), method='mckp')",
        field="cannot solve",
    ),
    Case(
        "dmd bad benchmark",
        f"ob.solve({R}({Q2}, budget=5), method='dmd', options={{'benchmark': 'oracle'}})",
        field="options.benchmark",
    ),
    Case(
        "dmd bad reference",
        f"ob.solve({R}({Q2}, budget=5), method='dmd', options={{'reference': 'l1'}})",
        field="options.reference",
    ),
    Case("routes out of range", f"{R}({Q2}, budget=5).cost_of([0, 2])", field="x"),
    Case("skip without allow_skip", f"{R}({Q2}, budget=5).accuracy_of([-1, 0])", field="x"),
    Case("frontier negative budget", f"{R}({Q2}, budget=5).frontier([-1, 3])", field="budgets"),
    Case("min_cost_for with tasks", f"{R}({Q2}, budget=9, tasks=[0, 0], task_budgets=[9]).min_cost_for(0.5)", field="tasks"),
    Case(
        "to_online without surplus",
        f"o = {R}({Q2}, budget=3).to_online()\n"
        "assert (ob.solve(o, method='greedy', options={'benchmark': 'none'}).x == -1).all()",
    ),
    Case("to_online below cheapest", f"{R}({Q2}, budget=2).to_online()", field="budget"),
    Case("always unknown model", f"{R}({Q2}, budget=5).always(2)", field="model"),
    # AdaptiveSampler
    Case("vote sampler without answers", "ob.AdaptiveSampler(3, 10, objective='majority_vote')", field="n_answers"),
    Case("sampler batch budget zero", "ob.AdaptiveSampler(3, 10, batch_budget=0)", field="batch_budget"),
    Case("sampler bad prior", "ob.AdaptiveSampler(3, 10, prior=(1, 2, 3))", field="prior"),
    Case(
        "vote sampler prior shape",
        "ob.AdaptiveSampler(3, 10, objective='majority_vote', n_answers=3, prior=[1, 2])",
        field="prior",
    ),
    Case("vote sampler prior zero", "ob.AdaptiveSampler(3, 10, objective='majority_vote', n_answers=3, prior=0)", field="prior"),
    Case("update before act", "ob.AdaptiveSampler(3, 10).update([0, 0, 0])", field="observations"),
    Case("too many successes", "s = ob.AdaptiveSampler(2, 10)\nc = s.act()\ns.update(c + 1)", field="observations"),
    Case(
        "vote counts do not add up",
        "s = ob.AdaptiveSampler(2, 10, objective='majority_vote', n_answers=2)\ns.act()\ns.update([[5, 0], [0, 0]])",
        field="observations",
    ),
    Case("act twice", "s = ob.AdaptiveSampler(2, 10)\ns.act()\ns.act()", field="update"),
    Case("state of another kind", "ob.AdaptiveSampler(2, 10).load_state_dict({'kind': 'BwKPolicy'})", field="state"),
    Case(
        "state of another sampler",
        "a = ob.AdaptiveSampler(2, 10)\nob.AdaptiveSampler(2, 11).load_state_dict(a.state_dict())",
        field="state",
    ),
    # round trips that must simply work
    Case(
        "save and load both kinds",
        f"p = {S}.random(4, objective='majority_vote', seed=0, max_samples=6)\n"
        "ob.save(p, tmp + '/p.json'); assert ob.load(tmp + '/p.json') == p\n"
        f"q = {R}.random(5, seed=0, n_tasks=2)\n"
        "ob.save(q, tmp + '/q.json'); assert ob.load(tmp + '/q.json') == q",
    ),
    # issue 26: corrupted sampler states and sizes beyond memory
    Case(
        "sampler state with negative spend",
        "a = ob.AdaptiveSampler(3, budget=5, batch_budget=5)\ns = a.state_dict()\ns['spent'] = -100.0\na.load_state_dict(s)",
        field="spent",
    ),
    Case(
        "sampler state spending past the budget",
        "a = ob.AdaptiveSampler(3, budget=5)\ns = a.state_dict()\ns['samples'] = [3, 3, 3]\n"
        "s['spent'] = 9.0\na.load_state_dict(s)",
        field="spent",
    ),
    Case(
        "sampler state with more successes than samples",
        "a = ob.AdaptiveSampler(3, budget=5)\ns = a.state_dict()\ns['successes'] = [2, 0, 0]\na.load_state_dict(s)",
        field="successes",
    ),
    Case(
        "sampler state pending over the batch budget",
        "a = ob.AdaptiveSampler(3, budget=9, batch_budget=2)\ns = a.state_dict()\ns['pending'] = [1, 1, 1]\na.load_state_dict(s)",
        field="pending",
    ),
    Case(
        "sampler of a billion questions",
        "import time\nt = time.perf_counter()\ntry:\n    ob.AdaptiveSampler(10**9, budget=10)\n"
        "finally:\n    assert time.perf_counter() - t < 1.0",
        field="n_questions",
    ),
    Case(
        "sampler with huge max_samples acts at once",
        "c = ob.AdaptiveSampler(3, budget=10, max_samples=10**12, batch_budget=3).act()\nassert c.tolist() == [1, 1, 1]",
    ),
    Case(
        "pass@k table of max_samples 10**12",
        f"ob.solve({S}.random(3, seed=0, max_samples=10**12))",
        field="max_samples",
    ),
]


outcomes, test_malformed, test_summary = suite(CASES, "llm")


# -- budget safety ---------------------------------------------------------------------------------------------------


@st.composite
def routings(draw):
    q = draw(st.integers(1, 25))
    m = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    quality = rng.uniform(-0.2, 1.0, (q, m)) if draw(st.booleans()) else rng.integers(0, 3, (q, m)).astype(float)
    costs = rng.integers(0, draw(st.sampled_from([1, 5, 1000])) + 1, (q, m))
    skip = draw(st.booleans())
    lo = 0 if skip else int(costs.min(axis=1).sum())
    budget = lo + draw(st.integers(0, int(costs.max(axis=1).sum()) + 2))
    kw = {}
    if draw(st.booleans()):
        n_tasks = draw(st.integers(1, 3))
        tasks = rng.integers(0, n_tasks, q)
        floor = [0 if skip or not (tasks == j).any() else int(costs[tasks == j].min(axis=1).sum()) for j in range(n_tasks)]
        kw = {"tasks": tasks, "task_budgets": [max(0, f + draw(st.integers(-2, 30))) for f in floor]}
    return ob.ModelRouting(quality=quality, costs=costs, budget=budget, allow_skip=skip, **kw)


@settings(max_examples=examples(60), deadline=None)
@given(routings(), st.sampled_from(["euclidean", "entropy", "scaled_euclidean"]))
def test_online_routing_never_exceeds_either_budget(p, reference):
    r = ob.solve(p, method="dmd", options={"benchmark": "none", "reference": reference})
    if not r.ok:  # only when even the cheapest routing breaks a budget, and then it says so
        assert r.status == ob.Status.INFEASIBLE and p.infeasibility_reason() is not None
        return
    x = np.asarray(r.x)
    assert x.shape == (p.n_queries,) and ((x >= (-1 if p.allow_skip else 0)) & (x < p.n_models)).all()
    rows = np.flatnonzero(x >= 0)
    spent = [int(c) for c in np.asarray(p.costs)[rows, x[rows]].tolist()]  # exact integers, from the raw arrays
    assert sum(spent) <= p.budget
    if p.tasks is not None:
        for j, cap in enumerate(p.task_budgets.tolist()):
            assert sum(s for s, t in zip(spent, p.tasks[rows].tolist()) if t == j) <= cap


@st.composite
def sample_problems(draw):
    n = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    lo = rng.integers(0, 3, n)
    hi = lo + rng.integers(0, 5, n)
    hi = np.maximum(hi, 1)
    costs = rng.integers(1, 6, n) if draw(st.booleans()) else None
    c = np.ones(n, int) if costs is None else costs
    budget = int((c * lo).sum()) + draw(st.integers(0, 40))
    if draw(st.booleans()):
        return ob.SampleAllocation(
            success_rates=rng.uniform(0, 1, n), budget=budget, min_samples=lo, max_samples=hi, sample_costs=costs
        )
    k = draw(st.integers(1, 4))
    return ob.SampleAllocation(
        answer_probabilities=rng.dirichlet(np.ones(k), n),
        correct=rng.integers(0, k, n),
        budget=budget,
        min_samples=lo,
        max_samples=hi,
        sample_costs=costs,
    )


@settings(max_examples=examples(40), deadline=None)
@given(sample_problems())
def test_every_sample_method_keeps_the_budget(p):
    exact = ob.solve(p, method="mckp")
    for method in ("greedy", "mckp", "uniform", "proportional"):
        r = ob.solve(p, method=method)
        x = np.asarray(r.x)
        assert ((x >= p.min_samples) & (x <= p.max_samples)).all()
        assert int((np.asarray(p.costs_per_sample) * x).sum()) <= p.budget
        assert r.objective <= exact.objective + 1e-12
    assert ob.solve(p, method="greedy").objective == pytest.approx(exact.objective, abs=1e-12)
    table = majority_vote_table(p.answer_probabilities, p.correct, 8) if p.answer_probabilities is not None else None
    assert table is None or (np.isfinite(table).all() and (table >= 0).all() and (table <= 1 + 1e-12).all())


@settings(max_examples=examples(30), deadline=None)
@given(st.integers(1, 8), st.integers(0, 60), st.sampled_from(["pass_at_k", "majority_vote"]), st.integers(0, 2**31 - 1))
def test_adaptive_sampler_never_overspends(n, budget, objective, seed):
    rng = np.random.default_rng(seed)
    costs = rng.integers(1, 4, n)
    s = AdaptiveSampler(
        n,
        budget,
        objective=objective,
        n_answers=3,
        sample_costs=costs,
        max_samples=10,
        min_samples=0,
        batch_budget=float(rng.integers(1, 20)),
    )
    spent = 0
    for _ in range(200):
        c = s.act()
        if not c.any():
            break
        spent += int(costs @ c)
        assert spent <= budget and (s.samples + c <= 10).all()
        if objective == "pass_at_k":
            s.update(rng.binomial(c, 0.3))
        else:
            s.update(np.stack([rng.multinomial(k, [0.5, 0.3, 0.2]) for k in c]))
    assert s.done or spent <= budget


# -- one budget arithmetic (issue 26): every method, costs and budgets from 1e-12 to 1e18 ------------------------------
# Each spend is recomputed from ``x`` and the raw inputs in exact rational arithmetic, against the one rule: whole
# numbers exactly, otherwise within 1e-9 of the budget, relative.


def _exact_limit(costs, budget, whole):
    b = Fraction(budget)
    return b if whole else b * (1 + Fraction(1, 10**9))


def _scaled_costs(draw, shape):
    """Costs on one scale 10^e, e in [-12, 18], as floats or (for whole numbers) Python ints; sometimes 2^63 and more."""
    e = draw(st.integers(-12, 18))
    base = np.asarray(draw(st.lists(st.integers(1, 20), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))))
    base = base.reshape(shape)
    if e >= 0 and draw(st.booleans()):
        return (
            [[int(v) * 10**e for v in row] for row in np.atleast_2d(base).tolist()]
            if len(shape) == 2
            else [int(v) * 10**e for v in base.tolist()]
        )
    return (base * 10.0**e).tolist()


def _budget_for(draw, lo: Fraction, hi: Fraction, one_cost):
    pick = draw(st.sampled_from(["zero", "cost", "frac", "lo", "hi"]))
    if pick == "zero":
        return 0
    if pick == "cost":
        return one_cost
    if pick == "lo":
        return float(lo)
    if pick == "hi":
        return float(hi)
    return float(lo + (hi - lo) * Fraction(draw(st.integers(0, 8)), 8))


@st.composite
def extreme_routings(draw):
    q, m = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    costs = _scaled_costs(draw, (q, m))
    quality = draw(st.lists(st.sampled_from([0.0, 0.17, 0.5, 0.5, 0.9, 1.0]), min_size=q * m, max_size=q * m))
    quality = np.asarray(quality).reshape(q, m)
    lo = sum(Fraction(min(r)) for r in costs)
    hi = sum(Fraction(max(r)) for r in costs)
    budget = _budget_for(draw, lo, hi, costs[0][0])
    return ob.ModelRouting(quality=quality, costs=costs, budget=budget)


@st.composite
def extreme_samples(draw):
    n = draw(st.integers(1, 3))
    costs = _scaled_costs(draw, (n,))
    lo = np.asarray(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    hi = lo + np.asarray(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    hi = np.maximum(hi, 1)
    low = sum(Fraction(c) * int(k) for c, k in zip(costs, lo))
    high = sum(Fraction(c) * int(k) for c, k in zip(costs, hi))
    budget = _budget_for(draw, low, high, costs[0])
    rates = draw(st.lists(st.sampled_from([0.0, 0.05, 0.2, 0.5, 0.92, 1.0]), min_size=n, max_size=n))
    return ob.SampleAllocation(success_rates=rates, budget=budget, min_samples=lo, max_samples=hi, sample_costs=costs)


def _brute(p, options):
    best = None
    for combo in itertools.product(*options):
        if p.is_feasible(np.array(combo)):
            v = p.accuracy_of(np.array(combo))
            best = v if best is None else max(best, v)
    return best


def _check_every_method(p, spend_of, whole, best):
    limit = _exact_limit(None, p.budget, whole)
    for method, backend, available in ob.available_solvers(p):
        if not available or backend == "pyomo":  # the Pyomo bridge has its own tests (it needs an external solver)
            continue
        try:
            r = ob.solve(p, method=method, backend=backend)
        except ob.InvalidProblemError:  # refused by name (e.g. a method for whole-number costs only)
            continue
        name = f"{method}/{backend}"
        assert r.status is not ob.Status.ERROR, (name, r.message, p)
        if not r.ok:
            assert best is None or r.status is ob.Status.NO_SOLUTION, (name, r.status, r.message, best, p)
            continue
        x = np.asarray(r.x)
        if x.ndim == 2:  # a relaxation
            assert best is None or r.bound >= best - 1e-9 * max(1.0, abs(best)), (name, r.bound, best)
            continue
        assert best is not None, (name, "an answer where none is feasible", x, p)
        spent = spend_of(x)
        assert spent <= limit, (name, "over budget", float(spent), p.budget, p)
        assert p.is_feasible(x), (name, p)
        assert r.objective == pytest.approx(p.accuracy_of(x), rel=1e-9, abs=1e-12), (name, r.objective)
        assert r.objective <= best + 1e-9, (name, "beats brute force", r.objective, best)
        if r.status is ob.Status.OPTIMAL:
            assert r.objective == pytest.approx(best, rel=1e-9, abs=1e-12), (name, "OPTIMAL but not optimal", r.objective, best)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extreme_routings())
@example(ob.ModelRouting(quality=[[0.17]], costs=[[1.06e-12]], budget=5.3e-13))  # was OPTIMAL at twice the budget
@example(ob.ModelRouting(quality=[[0.5, 0.9]], costs=[[10**18, 10**19]], budget=2 * 10**19))  # 1e19 wrapped to INT64_MIN
@example(ob.ModelRouting(quality=[[0.1, 0.9]], costs=[[1, 5 * 10**18]], budget=93 * 10**17))  # was ERROR "HiGHS: Empty"
def test_every_routing_method_keeps_the_budget_at_any_scale(p):
    costs = [[Fraction(c) for c in row] for row in (p.costs.tolist())]
    best = _brute(p, [range(p.n_models)] * p.n_queries)
    _check_every_method(p, lambda x: sum(costs[i][int(j)] for i, j in enumerate(x)), p.whole_number_costs, best)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extreme_samples())
@example(ob.SampleAllocation(success_rates=[0.92], budget=0, sample_costs=[3.9e-13]))  # was OPTIMAL with x=[1]
@example(ob.SampleAllocation(success_rates=[0.5, 0.5], budget=3 * 10**19, sample_costs=[10**19, 10**19], max_samples=2))
def test_every_sample_method_keeps_the_budget_at_any_scale(p):
    c = [Fraction(v) for v in p.costs_per_sample.tolist()]
    best = _brute(p, [range(int(a), int(b) + 1) for a, b in zip(p.min_samples, p.max_samples)])
    _check_every_method(p, lambda x: sum(ci * int(n) for ci, n in zip(c, x)), p.whole_number_costs, best)


def test_tiny_costs_are_decided_relative_to_the_budget_not_absolutely():
    p = ob.SampleAllocation(success_rates=[0.9, 0.2, 0.05], budget=5e-12, sample_costs=[1e-12] * 3, max_samples=8)
    assert not p.is_feasible([8, 8, 8]) and p.is_feasible([2, 2, 1])
    q = ob.ModelRouting(quality=[[0.1, 0.9]], costs=[[1e-12, 3e-12]], budget=2e-12)
    assert not q.is_feasible([1]) and q.is_feasible([0])


def test_costs_of_2_63_and_more_stay_exact():
    p = ob.ModelRouting(quality=[[0.5, 0.9]], costs=[[1e18, 1e19]], budget=2e19)
    assert (p.costs >= 0).all() and p.cost_of([1]) == 10**19
    assert ob.solve(p, method="cheapest").x.tolist() == [0]
    s = ob.SampleAllocation(success_rates=[0.5, 0.5], budget=3e19, sample_costs=[1e19, 1e19])
    assert (s.costs_per_sample > 0).all() and s.cost_of([1, 2]) == 3 * 10**19
    with pytest.raises(ob.InvalidProblemError, match="`costs`"):  # integers beyond int64 are refused by name
        ob.ModelRouting(quality=[[0.5]], costs=[[2**64 + 1]], budget=1)


def test_rollouts_with_tiny_real_costs_solve_by_default():
    p = ob.RolloutAllocation(success_rates=[0.5] * 3, total_rollouts=5e-12, rollout_costs=[2e-12, 1e-12, 2e-12], min_rollouts=1)
    assert p.is_feasible([1, 1, 1])
    for method in (None, "greedy", "mip"):
        r = ob.solve(p, method=method)
        assert r.ok and r.x.tolist() == [1, 1, 1], (method, r.status, r.message)


def test_values_whose_total_overflows_are_refused_by_name():
    with pytest.raises(ob.InvalidProblemError, match="`values`"):
        ob.MultipleChoiceKnapsack(values=[[1e308, 1.7e308]] * 3, costs=[[0, 1]] * 3, budget=3)
