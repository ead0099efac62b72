"""LLM-inference budgets: accuracy numerics against brute force and Monte Carlo, model checks, round trips, loaders,
generators, the adaptive sampler, and the docs page's examples."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems.llm import (
    AdaptiveSampler,
    majority_vote_table,
    pass_at_k,
    pass_at_k_table,
    simulate_adaptive,
)

from ..conftest import needs, python_blocks, tiny_routing

DOCS = Path(__file__).resolve().parents[2] / "docs" / "families" / "llm.md"


def brute_majority(p, correct, n):
    """Enumerate all K^n answer sequences; ties split uniformly among the tied answers."""
    total = 0.0
    for seq in itertools.product(range(len(p)), repeat=n):
        h = np.bincount(seq, minlength=len(p))
        tied = np.flatnonzero(h == h.max())
        if correct in tied:
            total += float(np.prod([p[a] for a in seq])) / tied.size
    return total


# -- numerics ------------------------------------------------------------------------------------------------------


def test_pass_at_k_values_and_stability():
    assert float(pass_at_k(0.5, 3)) == 0.875
    assert float(pass_at_k(0.3, 0)) == 0.0
    assert float(pass_at_k(1.0, 4)) == 1.0 and float(pass_at_k(0.0, 4)) == 0.0
    tiny = float(pass_at_k(1e-12, 1000))  # 1 - (1 - 1e-12)^1000 cancels catastrophically in the naive form
    assert abs(tiny - 1e-9) / 1e-9 < 1e-6
    t = pass_at_k_table([0.2, 0.7], 5)
    assert t.shape == (2, 6) and np.allclose(t[:, 2], [1 - 0.8**2, 1 - 0.3**2])


@pytest.mark.parametrize("k", [2, 3, 4])
def test_majority_vote_equals_brute_force(k):
    rng = np.random.default_rng(k)
    probs = rng.dirichlet(np.ones(k), 3)
    probs[0, -1] = 0.0  # an answer that never appears
    probs[0] /= probs[0].sum()
    correct = rng.integers(0, k, 3)
    n_max = 7 if k < 4 else 6
    table = majority_vote_table(probs, correct, n_max)
    for i in range(3):
        assert table[i, 0] == 0.0
        for n in range(1, n_max + 1):
            assert table[i, n] == pytest.approx(brute_majority(probs[i], correct[i], n), abs=1e-12)


def test_majority_vote_equals_monte_carlo():
    rng = np.random.default_rng(0)
    p = np.array([0.35, 0.3, 0.2, 0.15])
    n, draws = 15, 40_000
    counts = rng.multinomial(n, p, size=draws)
    top = counts.max(axis=1, keepdims=True)
    tied = counts == top
    wins = np.where(tied[:, 0], 1.0 / tied.sum(axis=1), 0.0)
    se = wins.std() / np.sqrt(draws)
    exact = majority_vote_table([p], [0], n)[0, n]
    assert abs(wins.mean() - exact) < 4 * se


def test_majority_vote_binary_known_values_and_large_n():
    t = majority_vote_table([[0.6, 0.4]], [0], 4)[0]
    assert np.allclose(t, [0, 0.6, 0.6, 0.648, 0.648])  # ties split evenly: even n adds nothing in the binary case
    big = majority_vote_table([[0.4, 0.3, 0.3], [0.2, 0.5, 0.3]], [0, 0], 256)
    assert np.isfinite(big).all() and (big >= 0).all() and (big <= 1).all()
    assert big[1, 256] < 1e-6  # a minority answer almost never wins
    rng = np.random.default_rng(1)  # at n = 256 the binomials reach 1e75: still exact against Monte Carlo
    counts = rng.multinomial(256, [0.4, 0.3, 0.3], size=40_000)
    tied = counts == counts.max(axis=1, keepdims=True)
    wins = np.where(tied[:, 0], 1.0 / tied.sum(axis=1), 0.0)
    assert abs(wins.mean() - big[0, 256]) < 4 * wins.std() / np.sqrt(wins.size)


def test_concavity_is_checked_on_the_table():
    passk = ob.SampleAllocation(success_rates=[0.1, 0.5, 0.9], budget=10, max_samples=8)
    assert passk.concavity()["concave"]
    vote = ob.SampleAllocation(answer_probabilities=[[0.6, 0.4]], budget=10, max_samples=8)
    report = vote.concavity()
    assert not report["concave"] and report["first_nonconcave"] == 0 and report["max_gain_increase"] > 0.04
    # on [1, 2] there is only one gain: nothing to violate
    assert ob.SampleAllocation(answer_probabilities=[[0.6, 0.4]], budget=2, max_samples=2).concavity()["concave"]


# -- models ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(success_rates=[0.5, 1.2], budget=4), "success_rates"),
        (dict(success_rates=[0.5], answer_probabilities=[[1.0]], budget=4), "success_rates"),
        (dict(answer_probabilities=[[0.5, 0.4]], budget=4), "answer_probabilities"),
        (dict(answer_probabilities=[[0.5, 0.5]], correct=[2], budget=4), "correct"),
        (dict(success_rates=[0.5], correct=[0], budget=4), "correct"),
        (dict(success_rates=[0.5], budget=-1), "budget"),
        (dict(success_rates=[0.5], budget=4, min_samples=3, max_samples=2), "max_samples"),
        (dict(success_rates=[0.5, 0.5], budget=4, max_samples=[2]), "max_samples"),
        (dict(success_rates=[0.5], budget=4, sample_costs=[0]), "sample_costs"),
        (dict(answer_probabilities=[[1.0]], budget=4, max_samples=300), "max_samples"),
        (dict(success_rates=[0.5], budget=4, names=["a", "b"]), "names"),
    ],
)
def test_sample_allocation_bad_input(kwargs, field):
    with pytest.raises(ob.InvalidProblemError, match=f"`{field}`"):
        ob.SampleAllocation(**kwargs)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(quality=[[0.5, np.nan]], costs=[[1, 2]], budget=3), "quality"),
        (dict(quality=[[0.5, 0.6]], costs=[[1, -2]], budget=3), "costs"),
        (dict(quality=[[0.5, 0.6]], costs=[[1, 2, 3]], budget=3), "costs"),
        (dict(quality=[[0.5, 0.6]], costs=[[1, 2]], budget=3, tasks=[0]), "tasks"),
        (dict(quality=[[0.5, 0.6]], costs=[[1, 2]], budget=3, tasks=[1], task_budgets=[3]), "tasks"),
        (dict(quality=[[0.5, 0.6]], costs=[[1, 2]], budget=3, allow_skip=1), "allow_skip"),
        (dict(quality=[[0.5, 0.6]], costs=[[1, 2]], budget=3, model_names=["a"]), "model_names"),
    ],
)
def test_model_routing_bad_input(kwargs, field):
    with pytest.raises(ob.InvalidProblemError, match=f"`{field}`"):
        ob.ModelRouting(**kwargs)


def test_round_trips_and_reprs(tmp_path):
    problems = [
        ob.SampleAllocation.random(5, seed=0, token_costs=True),
        ob.SampleAllocation.random(5, objective="majority_vote", seed=1, max_samples=9),
        ob.ModelRouting.random(6, seed=0, n_tasks=2),
        ob.ModelRouting(
            quality=[[0.1, 0.9]],
            costs=[[1.5, 2.5]],
            budget=2.0,
            allow_skip=True,
            query_names=["q"],
            model_names=["small", "large"],
        ),
    ]
    for i, p in enumerate(problems):
        assert type(p).from_dict(p.to_dict()) == p
        ob.save(p, tmp_path / f"p{i}.json")
        assert ob.load(tmp_path / f"p{i}.json") == p
        assert len(repr(p)) < 120 and "array" not in repr(p)
    assert repr(problems[1]).startswith("SampleAllocation(5 questions, majority_vote, 4 answers")


def test_accuracy_cost_and_feasibility():
    p = ob.SampleAllocation(success_rates=[0.5, 0.1], budget=10, sample_costs=[2, 3], max_samples=4)
    assert p.cost_of([2, 2]) == 10 and p.is_feasible([2, 2]) and not p.is_feasible([3, 2])
    assert p.accuracy_of([1, 1]) == pytest.approx((0.5 + 0.1) / 2)
    with pytest.raises(ob.InvalidProblemError, match="`x`"):
        p.accuracy_of([0, 5])
    kp = p.to_knapsack()
    assert kp.values.shape == (2, 4) and kp.costs[1].tolist() == [3, 6, 9, 12]
    r = ob.ModelRouting(quality=[[0.2, 0.8]], costs=[[1, 4]], budget=4, allow_skip=True)
    assert r.cost_of([-1]) == 0 and r.accuracy_of([-1]) == 0.0 and r.accuracy_of([1]) == 0.8


def test_generators_are_reproducible_and_documented():
    a = ob.SampleAllocation.random(50, objective="majority_vote", n_answers=5, seed=3)
    b = ob.SampleAllocation.random(50, objective="majority_vote", n_answers=5, seed=3)
    assert a == b and a.n_answers == 5 and a.budget == 8 * 50
    biased = ob.SampleAllocation.random(2000, objective="majority_vote", correct_bias=10.0, seed=0)
    unbiased = ob.SampleAllocation.random(2000, objective="majority_vote", correct_bias=1.0, seed=0)
    mode_is_correct = lambda p: (p.answer_probabilities.argmax(axis=1) == 0).mean()  # noqa: E731
    assert mode_is_correct(biased) > 0.7 > 0.35 > mode_is_correct(unbiased)
    hard = ob.SampleAllocation.random(2000, difficulty=(0.5, 1.5), seed=0)
    assert abs(hard.success_rates.mean() - 0.25) < 0.02
    r = ob.ModelRouting.random(400, 4, seed=0)
    assert (np.diff(r.costs, axis=1) > 0).all()  # dearer models ...
    assert np.all(np.diff(r.quality.mean(axis=0)) > 0)  # ... are better on average, with diminishing returns
    gains = np.diff(r.quality.mean(axis=0))
    assert gains[-1] < gains[0]
    lo, hi = r.costs[:, 0].sum(), r.costs[:, -1].sum()
    assert r.budget == int(lo + 0.3 * (hi - lo))


def test_loaders_csv_and_jsonl(tmp_path):
    (tmp_path / "p.csv").write_text("question,p,cost\nq1,0.2,100\nq2,0.9,50\n")
    p = ob.SampleAllocation.from_file(tmp_path / "p.csv", budget=1000)
    assert p.names == ("q1", "q2") and p.success_rates.tolist() == [0.2, 0.9] and p.sample_costs.tolist() == [100, 50]
    (tmp_path / "v.jsonl").write_text(
        "\n".join(
            json.dumps(r)
            for r in [{"question": "a", "counts": [3, 1], "correct": 0}, {"question": "b", "counts": [1, 2, 1], "correct": 1}]
        )
    )
    v = ob.SampleAllocation.from_file(tmp_path / "v.jsonl", budget=20, smoothing=1.0)
    assert v.objective == "majority_vote" and v.correct.tolist() == [0, 1]
    assert np.allclose(v.answer_probabilities[0], [4 / 6, 2 / 6, 0])
    assert np.allclose(v.answer_probabilities[1], [2 / 7, 3 / 7, 2 / 7])
    (tmp_path / "v.csv").write_text("question,counts,correct\na,3;1,0\nb,1;2;1,1\n")
    assert ob.SampleAllocation.from_file(tmp_path / "v.csv", budget=20, smoothing=1.0) == v
    rows = [
        ("q1", "small", 0.5, 1, "t1"),
        ("q1", "large", 0.9, 10, "t1"),
        ("q2", "small", 0.3, 2, "t2"),
        ("q2", "large", 0.8, 12, "t2"),
    ]
    (tmp_path / "r.csv").write_text("query,model,quality,cost,task\n" + "\n".join(",".join(map(str, r)) for r in rows))
    r = ob.ModelRouting.from_file(tmp_path / "r.csv", budget=15, task_budgets={"t1": 11, "t2": 3})
    assert r.model_names == ("small", "large") and r.quality.tolist() == [[0.5, 0.9], [0.3, 0.8]]
    assert r.tasks.tolist() == [0, 1] and r.task_budgets.tolist() == [11, 3]
    (tmp_path / "r.jsonl").write_text(
        "\n".join(json.dumps(dict(zip(("query", "model", "quality", "cost"), r[:4]))) for r in rows[:3])
    )
    with pytest.raises(ob.InvalidProblemError, match="query 'q2' has no row for model 'large'"):
        ob.ModelRouting.from_file(tmp_path / "r.jsonl", budget=15)
    (tmp_path / "bad.csv").write_text("question,p\nq1,high\n")
    with pytest.raises(ob.InvalidProblemError, match="`p`"):
        ob.SampleAllocation.from_file(tmp_path / "bad.csv", budget=3)


# -- the adaptive sampler ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("objective", ["pass_at_k", "majority_vote"])
def test_adaptive_sampler_keeps_budget_and_bounds(objective):
    p = ob.SampleAllocation.random(30, objective=objective, seed=4, token_costs=True, min_samples=2, max_samples=12)
    out = simulate_adaptive(p, seed=0, batch_budget=p.budget / 5)
    assert out["cost"] == float(p.costs_per_sample @ out["samples"]) <= p.budget
    assert (out["samples"] >= 2).all() and (out["samples"] <= 12).all() and out["rounds"] >= 2


def test_adaptive_pass_at_k_stops_solved_questions():
    s = AdaptiveSampler(3, budget=12, batch_budget=6, max_samples=8)
    assert s.act().tolist() == [2, 2, 2]
    s.update([1, 0, 0])
    assert s.act().tolist() == [0, 3, 3]  # question 0 is solved; the rest share the batch
    s.update([0, 0, 0])
    assert s.act().tolist() == [0, 0, 0] and s.done


def test_adaptive_majority_vote_stops_when_confident():
    s = AdaptiveSampler(2, budget=100, objective="majority_vote", n_answers=3, threshold=0.9, batch_budget=10, step=3)
    assert s.act().tolist() == [4, 4]  # the minimum, then `step` more for every active question
    s.update([[4, 0, 0], [2, 2, 0]])
    assert s.confidence()[0] == pytest.approx(1 - 0.5**5) and s.confidence()[1] == pytest.approx(0.5)
    assert s.act().tolist() == [0, 3]  # question 0 is confident (0.97 >= 0.9); question 1 is split
    s.update([[0, 0, 0], [3, 0, 0]])
    while not s.done:
        c = s.act()
        if c.any():
            s.update([[0, 0, 0], [c[1], 0, 0]])
    assert (s.confidence() >= 0.9).all() and s.spent < 100 and s.answers().tolist() == [0, 0]


def test_adaptive_state_dict_resumes_and_refuses_others():
    kw = dict(objective="majority_vote", n_answers=3, batch_budget=8)
    a = AdaptiveSampler(4, 40, **kw)
    rng = np.random.default_rng(0)
    probs = np.array([0.5, 0.3, 0.2])
    c = a.act()
    a.update(np.stack([rng.multinomial(k, probs) for k in c]))
    state = a.state_dict()
    b = AdaptiveSampler(4, 40, **kw)
    b.load_state_dict(state)
    assert b.act().tolist() == a.act().tolist()
    with pytest.raises(ob.InvalidProblemError, match="`state`"):
        AdaptiveSampler(4, 41, **kw).load_state_dict(state)
    with pytest.raises(ob.InvalidProblemError, match="`state`"):
        AdaptiveSampler(4, 40, **kw).load_state_dict({"kind": "AdaptiveSampler"})
    with pytest.raises(ob.InvalidProblemError, match="`update`"):
        a.act()
    with pytest.raises(ob.InvalidProblemError, match="`observations`"):
        a.update(np.zeros((4, 3), int) + 99)


# -- the docs page ----------------------------------------------------------------------------------------------------


def test_docs_examples_run():
    blocks = python_blocks(DOCS)
    assert len(blocks) >= 3
    ns: dict = {}
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), ns)  # noqa: S102 - the docs' own examples


@needs("highs")
def test_frontier_and_min_cost():
    p = ob.ModelRouting.random(60, 3, seed=5)
    p = ob.ModelRouting(quality=p.quality, costs=p.costs // 50 + 1, budget=1)
    lo, hi = p.cost_of(p.always(0)), p.cost_of(p.always(2))
    f = p.frontier(np.linspace(lo, hi, 6).astype(int))
    assert np.all(np.diff(f["accuracy"]) >= -1e-12) and np.all(f["lp_bound"] >= f["accuracy"] - 1e-12)
    assert np.all(f["cost"] <= f["budget"])
    strong_cost, strong_acc = f["always"]["2"]
    cost, routes = p.min_cost_for(strong_acc)
    assert p.accuracy_of(routes) >= strong_acc - 1e-9 and cost <= strong_cost
    exact_at = ob.solve(p.with_budget(cost)).objective  # nothing cheaper reaches it: one unit less falls short
    assert exact_at >= strong_acc - 1e-9 and ob.solve(p.with_budget(cost - 1)).objective < strong_acc - 1e-12
    assert p.min_cost_for(1.01) == (None, None)


@needs("highs")
def test_to_online_hindsight_matches_the_routing_optimum():
    for seed in range(3):
        p = tiny_routing(seed)
        if p.budget == p.cost_of(p.cheapest):
            continue
        online = p.to_online(normalize=False)
        h = ob.solve(online, method="hindsight", threads=1)
        shift = p.quality[np.arange(p.n_queries), p.cheapest].sum()
        assert (h.objective + shift) / p.n_queries == pytest.approx(ob.solve(p).objective, abs=1e-9)
        assert p.accuracy_of(p.routes_from_online(h.x)) == pytest.approx(ob.solve(p).objective, abs=1e-9)
