"""The numba knapsack DP adapters (orbudget/solvers/numba/knapsack.py): scaling, the gcd reduction, table limits, and
rollout allocation's DP and greedy."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orbudget as ob

from ...conftest import brute_force_mckp, brute_force_rollouts, small_mckp


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), exact=st.booleans())
def test_dp_property_against_brute_force(seed, exact):
    p = small_mckp(np.random.default_rng(seed), exact)
    best, _ = brute_force_mckp(p)
    r = ob.solve(p, method="dp")
    assert (r.status is ob.Status.INFEASIBLE) if best is None else r.objective == pytest.approx(best)


def test_non_integer_costs_need_scale_for_dp_and_scaling_never_exceeds_budget():
    rng = np.random.default_rng(2)
    costs = rng.uniform(0, 3, (8, 4))
    p = ob.MultipleChoiceKnapsack(values=rng.random((8, 4)), costs=costs, budget=7.3)
    with pytest.raises(ob.InvalidProblemError, match="not whole numbers"):
        ob.solve(p, method="dp")
    for scale in (1, 10, 1000):  # coarse scales may round the only fits away: NO_SOLUTION, never over budget
        r = ob.solve(p, method="dp", options={"scale": scale})
        assert r.status in ((ob.Status.FEASIBLE, ob.Status.NO_SOLUTION) if scale == 1 else (ob.Status.FEASIBLE,))
        if r.ok:
            assert p.cost_of(r.x) <= p.budget
    best, _ = brute_force_mckp(p)
    assert ob.solve(p, method="dp", options={"scale": 1000}).objective <= best + 1e-12


def test_dp_optimum_is_nondecreasing_in_budget():
    p = ob.MultipleChoiceKnapsack.random(20, 4, seed=8)
    prev = -np.inf
    for b in range(p.cheapest_cost(), p.dearest_cost() + 2, 7):
        q = ob.MultipleChoiceKnapsack(values=p.values, costs=p.costs, budget=b)
        v = ob.solve(q, method="dp").objective
        assert v >= prev - 1e-12
        prev = v


def test_dp_reduces_by_the_gcd_and_caps_the_budget():
    p = ob.MultipleChoiceKnapsack(
        values=[[0, 1, 3], [0, 2, 2.5]], costs=[[0, 10**17, 3 * 10**17], [0, 10**17, 2 * 10**17]], budget=3 * 10**17
    )
    r = ob.solve(p, method="dp")
    assert r.status is ob.Status.OPTIMAL and r.objective == brute_force_mckp(p)[0] and r.stats["divisor"] == 10**17
    q = ob.MultipleChoiceKnapsack(values=[[0, 1], [0, 2]], costs=[[0, 3], [0, 4]], budget=10**30)
    r = ob.solve(q, method="dp")
    assert r.objective == 3.0 and r.stats["table_bytes"] < 1000


def test_dp_refuses_a_table_that_cannot_fit_naming_the_budget():
    rng = np.random.default_rng(0)
    p = ob.MultipleChoiceKnapsack(
        values=rng.random((50, 3)), costs=rng.integers(10**15, 10**16, (50, 3)) + [0, 1, 3], budget=2 * 10**17 + 1
    )
    with pytest.raises(ob.InvalidProblemError, match=r"`budget` is too large.*(GiB|TiB)"):
        ob.solve(p, method="dp")


def test_greedy_equals_dp_on_the_referencesmall_mckp():
    prob = ob.RolloutAllocation.synthetic(256, 8, seed=0)
    g, d = ob.solve(prob, method="greedy"), ob.solve(prob, method="dp")
    assert g.objective == pytest.approx(d.objective, abs=1e-12)
    u = ob.solve(prob, method="uniform")
    assert g.objective > u.objective
    assert int(g.x.sum()) == 2048


def test_greedy_can_lose_on_non_concave_values_while_dp_stays_exact():
    # prompt 0 only pays off at 4 rollouts; greedy takes the small sure gains of prompt 1 first
    table = np.array([[0, 0, 0, 0, 1.0], [0, 0.3, 0.5, 0.6, 0.65]])
    prob = ob.RolloutAllocation(success_rates=[0.5, 0.5], total_rollouts=5, min_rollouts=1, max_rollouts=4, value=table)
    assert not prob.is_concave()
    assert ob.available_solvers(prob)[0][0] == "greedy"
    default = ob.solve(prob)
    assert default.method != "greedy" and default.status is ob.Status.OPTIMAL  # greedy is not the default here
    g, d = ob.solve(prob, method="greedy"), ob.solve(prob, method="dp")
    assert d.objective == pytest.approx(brute_force_rollouts(prob)) == pytest.approx(1.3)
    assert g.objective < d.objective and g.status is ob.Status.FEASIBLE
