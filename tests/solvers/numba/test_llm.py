"""The numba LLM-inference methods (orbudget/solvers/numba/llm.py): ``mckp`` for sample allocation and routing against brute
force and HiGHS, the frontier, and online routing by ``dmd``."""

import numpy as np
import pytest

import orbudget as ob

from ...conftest import needs, tiny_routing
from ..conftest import brute_routes, brute_samples


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


def test_zero_surplus_routes_cheapest():
    p = ob.ModelRouting(quality=[[0.3, 0.9], [0.6, 0.7]], costs=[[1, 5], [2, 5]], budget=3)
    r = ob.solve(p, method="dmd")
    assert r.x.tolist() == [0, 0] and r.stats["regret"] == pytest.approx(0.0)
    online = p.to_online()  # nothing to pace: every upgrade is blocked, not an error
    assert (ob.solve(online, method="greedy", options={"benchmark": "none"}).x == -1).all()
    skip = ob.ModelRouting(quality=[[0.3, 0.9], [0.6, 0.7]], costs=[[0, 5], [2, 5]], budget=0, allow_skip=True)
    assert ob.solve(skip, method="dmd").x.tolist() == [0, -1]  # a free model is still used with a zero budget
