"""LLM-inference budget methods: greedy and MCKP against brute force, the greedy's refusal/fallback on non-concave
gains, routing optimum against HiGHS and brute force, the LP bound and frontier, and online routing by DMD."""

import itertools

import numpy as np
import pytest

import orbudget as ob

from ..conftest import needs


def brute_samples(p: ob.SampleAllocation) -> float:
    best = -1.0
    for combo in itertools.product(*[range(lo, hi + 1) for lo, hi in zip(p.min_samples, p.max_samples)]):
        if p.is_feasible(combo):
            best = max(best, p.accuracy_of(combo))
    return best


def brute_routes(p: ob.ModelRouting) -> float:
    best = None
    low = -1 if p.allow_skip else 0
    for combo in itertools.product(range(low, p.n_models), repeat=p.n_queries):
        if p.is_feasible(combo):
            v = p.accuracy_of(combo)
            best = v if best is None else max(best, v)
    return best


# -- sample allocation -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_greedy_equals_brute_force_when_concave(seed):
    rng = np.random.default_rng(seed)
    p = ob.SampleAllocation(
        success_rates=rng.beta(0.5, 1.0, 4), budget=int(rng.integers(4, 14)), min_samples=rng.integers(0, 2, 4), max_samples=5
    )
    assert p.concavity()["concave"]
    r = ob.solve(p)
    assert r.method == "greedy" and r.status == ob.Status.OPTIMAL and r.stats["exact_by"] == "greedy"
    assert r.objective == pytest.approx(brute_samples(p), abs=1e-12)
    assert p.is_feasible(r.x) and r.stats["cost"] <= p.budget


@pytest.mark.parametrize("seed", range(4))
def test_greedy_falls_back_to_mckp_when_not_concave(seed):
    rng = np.random.default_rng(seed)
    p = ob.SampleAllocation(
        answer_probabilities=rng.dirichlet([2.0, 1.0, 1.0], 4), budget=int(rng.integers(6, 16)), max_samples=5
    )
    assert not p.concavity()["concave"]  # majority vote: odd and even counts
    r = ob.solve(p, method="greedy")
    assert r.stats["exact_by"] == "mckp" and "not concave" in r.stats["greedy_refused"]
    assert r.status == ob.Status.OPTIMAL and r.objective == pytest.approx(brute_samples(p), abs=1e-12)
    assert ob.solve(p).method == "mckp"  # the default is the exact method
    with pytest.raises(ob.InvalidProblemError, match="`method` 'greedy' is not exact"):
        ob.solve(p, method="greedy", options={"fallback": False})


def test_plain_marginal_greedy_is_not_optimal_on_the_nonconcave_case():
    """Why the greedy is refused: taken literally on majority vote it gets stuck at the even count."""
    from orbudget.solvers.numpy.llm import marginal_greedy

    p = ob.SampleAllocation(answer_probabilities=[[0.6, 0.4], [0.55, 0.45]], budget=6, max_samples=5)
    assert marginal_greedy(p).tolist() != ob.solve(p, method="mckp").x.tolist()
    assert p.accuracy_of(marginal_greedy(p)) < ob.solve(p, method="mckp").objective - 1e-3


@pytest.mark.parametrize("seed", range(4))
def test_mckp_with_token_costs_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    costs = rng.integers(1, 5, 4)
    p = ob.SampleAllocation(
        success_rates=rng.uniform(0, 1, 4), budget=int(costs.sum() + rng.integers(0, 20)), sample_costs=costs, max_samples=5
    )
    best = brute_samples(p)
    r = ob.solve(p)
    assert r.method == "mckp" and r.objective == pytest.approx(best, abs=1e-12)
    g = ob.solve(p, method="greedy")  # unequal costs: the greedy is not exact either, and says so
    assert g.stats["exact_by"] == "mckp" and "costs differ" in g.stats["greedy_refused"]
    for method in ("uniform", "proportional"):
        h = ob.solve(p, method=method)
        assert p.is_feasible(h.x) and h.objective <= best + 1e-12


@needs("highs")
def test_mckp_with_real_costs_uses_mip():
    p = ob.SampleAllocation(success_rates=[0.2, 0.4, 0.05], budget=10.5, sample_costs=[1.5, 2.25, 1.0], max_samples=5)
    r = ob.solve(p)
    assert r.stats["knapsack_method"] == "mip" and r.objective == pytest.approx(brute_samples(p), abs=1e-9)


def test_baselines_spend_the_budget_and_respect_bounds():
    p = ob.SampleAllocation.random(40, seed=2, min_samples=2, max_samples=16)
    exact = ob.solve(p).objective
    for method, kw in (("uniform", {}), ("proportional", {}), ("proportional", {"weight": "difficulty"})):
        r = ob.solve(p, method=method, options=kw or None)
        x = r.x
        assert (x >= 2).all() and (x <= 16).all() and r.stats["cost"] == x.sum() <= p.budget
        assert p.budget - x.sum() < 1 or (x == 16).all()  # every sample that fits is used
        assert r.objective <= exact + 1e-12
    u = ob.solve(p, method="uniform").x
    assert u.max() - u.min() <= 1


def test_infeasible_budget_is_a_status():
    p = ob.SampleAllocation(success_rates=[0.5, 0.5], budget=3, min_samples=2)
    for method in ("greedy", "mckp", "uniform", "proportional"):
        r = ob.solve(p, method=method)
        assert r.status == ob.Status.INFEASIBLE and "below the cost of min_samples" in r.message


# -- model routing ---------------------------------------------------------------------------------------------------


def tiny_routing(seed, skip=False, tasks=False):
    rng = np.random.default_rng(seed)
    q, m = 5, 3
    quality = np.round(rng.uniform(0, 1, (q, m)), 3)
    costs = rng.integers(1, 9, (q, m))
    lo, hi = costs.min(axis=1).sum(), costs.max(axis=1).sum()
    kw = {}
    if tasks:
        t = rng.integers(0, 2, q)
        kw = {
            "tasks": t,
            "task_budgets": [int(costs[t == j].min(axis=1, initial=0).sum() + rng.integers(0, 8)) for j in range(2)],
        }
    return ob.ModelRouting(quality=quality, costs=costs, budget=int(rng.integers(lo, hi + 1)), allow_skip=skip, **kw)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("skip", [False, True])
def test_routing_mckp_equals_brute_force(seed, skip):
    p = tiny_routing(seed, skip)
    r = ob.solve(p)
    assert r.method == "mckp" and r.status == ob.Status.OPTIMAL
    assert r.objective == pytest.approx(brute_routes(p), abs=1e-12) and p.is_feasible(r.x)
    lp = ob.solve(p, method="lp")
    assert lp.objective >= r.objective - 1e-12


@needs("highs")
@pytest.mark.parametrize("seed", range(3))
def test_routing_optimum_equals_highs(seed):
    p = ob.ModelRouting.random(120, 4, seed=seed, budget_fraction=0.2)
    p = ob.ModelRouting(quality=p.quality, costs=p.costs // 100 + 1, budget=int(p.budget // 100 + 120))
    dp = ob.solve(p, method="mckp", options={"knapsack_method": "dp"})
    mip = ob.solve(p, method="mip", threads=1)  # the routing's own HiGHS model
    assert dp.stats["knapsack_method"] == "dp" and mip.status == ob.Status.OPTIMAL
    assert dp.objective == pytest.approx(mip.objective, abs=1e-9)
    r = ob.solve(p, method="mckp", threads=1, options={"knapsack_method": "mip"})  # the knapsack's HiGHS model
    assert r.status == ob.Status.OPTIMAL and r.objective == pytest.approx(mip.objective, abs=1e-9)


@needs("highs")
@pytest.mark.parametrize("seed", range(4))
def test_routing_mip_with_task_budgets_equals_brute_force(seed):
    p = tiny_routing(seed, tasks=True)
    best = brute_routes(p)
    r = ob.solve(p, method="mip", threads=1)
    if best is None:
        assert r.status == ob.Status.INFEASIBLE
        return
    assert r.objective == pytest.approx(best, abs=1e-9) and p.is_feasible(r.x)
    with pytest.raises(ob.InvalidProblemError, match="task budgets"):
        ob.solve(p, method="mckp")


def test_routing_baselines():
    p = ob.ModelRouting(quality=[[0.3, 0.9], [0.6, 0.7]], costs=[[1, 5], [2, 5]], budget=7)
    assert ob.solve(p, method="cheapest").x.tolist() == [0, 0]
    strong = ob.solve(p, method="strongest")
    assert strong.status == ob.Status.INFEASIBLE and "over the budget" in strong.message
    assert ob.solve(p.with_budget(10), method="strongest").x.tolist() == [1, 1]
    assert ob.solve(p).x.tolist() == [1, 0]


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


def test_online_routing_keeps_both_budgets_and_reports_regret():
    p = ob.ModelRouting.random(400, 4, seed=1, n_tasks=2)
    r = ob.solve(p, method="dmd", options={"benchmark": "none"})
    x = r.x
    spent = p.costs[np.arange(p.n_queries), x]
    assert int(spent.sum()) <= p.budget
    for j in range(2):
        assert int(spent[p.tasks == j].sum()) <= p.task_budgets[j]
    q = ob.ModelRouting.random(400, 4, seed=1)
    r = ob.solve(q, method="dmd")
    assert r.stats["hindsight_kind"] == "hindsight"
    assert r.stats["hindsight"] == pytest.approx(ob.solve(q).objective)
    assert r.stats["regret"] == pytest.approx(r.stats["hindsight"] - r.objective) and r.stats["regret"] >= 0
    assert r.objective > ob.solve(q, method="cheapest").objective  # it does spend the budget on upgrades
    assert r.stats["spent"][0] <= q.budget


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


def test_zero_surplus_routes_cheapest():
    p = ob.ModelRouting(quality=[[0.3, 0.9], [0.6, 0.7]], costs=[[1, 5], [2, 5]], budget=3)
    r = ob.solve(p, method="dmd")
    assert r.x.tolist() == [0, 0] and r.stats["regret"] == pytest.approx(0.0)
    online = p.to_online()  # nothing to pace: every upgrade is blocked, not an error
    assert (ob.solve(online, method="greedy", options={"benchmark": "none"}).x == -1).all()
    skip = ob.ModelRouting(quality=[[0.3, 0.9], [0.6, 0.7]], costs=[[0, 5], [2, 5]], budget=0, allow_skip=True)
    assert ob.solve(skip, method="dmd").x.tolist() == [0, -1]  # a free model is still used with a zero budget
