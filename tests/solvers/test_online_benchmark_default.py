"""The default online benchmark (issue 15): exact on small instances, the dual bound by cutting planes beyond a
size, within a small multiple of the policy's time; ``stats['hindsight_kind']`` says which."""

import numpy as np
import pytest

import orbudget as ob
from orbudget.solvers.numba import online as numba_online

pytest.importorskip("highspy")


def _kind(p, **options):
    r = ob.solve(p, method="dmd", options=options)
    return r.stats["hindsight_kind"], r.stats["hindsight"], r


@pytest.mark.parametrize("matching", [False, True])
def test_auto_switches_to_the_dual_bound_beyond_the_size(monkeypatch, matching):
    monkeypatch.setitem(numba_online.EXACT_HINDSIGHT_LIMIT, matching, 60)
    if matching:  # 3 resources: T·3 pairs
        small, large = ob.online_inputs.iid_matching(20, 3, seed=1), ob.online_inputs.iid_matching(21, 3, seed=1)
    else:  # one action per request: T pairs
        small = ob.online_inputs.random_auctions(60, seed=1, budget_rate=0.2)
        large = ob.online_inputs.random_auctions(61, seed=1, budget_rate=0.2)
    assert small.is_matching == matching
    kind, value, r = _kind(small)
    assert kind == "hindsight" and r.stats["regret"] == pytest.approx(value - r.objective)
    kind, value, r = _kind(large)
    assert kind == "dual_bound"
    assert r.bound == value and r.stats["regret"] == pytest.approx(value - r.objective)
    assert value >= r.objective - 1e-9


@pytest.mark.parametrize("instance", ["auction", "matching", "network"])
def test_dual_bound_is_above_the_exact_and_lp_values_forced_both_ways(instance):
    p = {
        "auction": lambda: ob.online_inputs.random_auctions(300, seed=2, budget_rate=0.1),
        "matching": lambda: ob.online_inputs.iid_matching(200, 5, seed=2),
        "network": lambda: ob.online_inputs.network_revenue_management(150, 8, 4, seed=2),
    }[instance]()
    exact_kind, exact, _ = _kind(p, benchmark="hindsight")
    lp_kind, lp, _ = _kind(p, benchmark="hindsight_lp")
    dual_kind, dual, _ = _kind(p, benchmark="dual_bound")
    assert (exact_kind, lp_kind, dual_kind) == ("hindsight", "hindsight_lp", "dual_bound")
    assert exact <= lp * (1 + 1e-9) + 1e-9
    assert dual >= exact - 1e-9 and dual >= lp * (1 - 1e-9) - 1e-9
    assert dual == pytest.approx(lp, rel=1e-6)  # forced, the cutting planes run to convergence


def test_auto_dual_bound_stops_within_its_time_and_stays_a_bound(monkeypatch):
    monkeypatch.setattr(numba_online, "AUTO_BENCHMARK_SECONDS", 0.0)
    monkeypatch.setattr(numba_online, "AUTO_BENCHMARK_MULTIPLE", 0.0)  # one cut, then the time is up
    p = ob.online_inputs.network_revenue_management(400, 20, 6, seed=3)
    kind, capped, _ = _kind(p)
    assert kind == "dual_bound"
    _, lp, _ = _kind(p, benchmark="hindsight_lp")
    _, exact, _ = _kind(p, benchmark="hindsight")
    assert capped >= lp * (1 - 1e-9) and capped >= exact


def test_default_benchmark_on_a_large_auction_is_a_small_multiple_of_the_policy():
    # before: the primal LP over 30,000 columns (about 40 s on a 2-core machine; the 100,000-request one took 136 s)
    p = ob.online_inputs.random_auctions(30_000, seed=0, budget_rate=0.05)
    ob.solve(ob.online_inputs.random_auctions(50, seed=0, budget_rate=0.05))  # numba warm
    r = ob.solve(p)
    assert r.stats["hindsight_kind"] == "dual_bound"
    limit = numba_online.AUTO_BENCHMARK_SECONDS + numba_online.AUTO_BENCHMARK_MULTIPLE * r.timings["policy"]
    assert r.timings["benchmark"] <= limit + 1.0
    assert r.stats["hindsight"] >= r.objective
    assert np.isfinite(r.stats["regret"]) and r.stats["regret"] >= 0


def test_unknown_benchmark_is_refused_by_name():
    p = ob.online_inputs.random_auctions(20, seed=0)
    with pytest.raises(ob.InvalidProblemError, match="options.benchmark"):
        ob.solve(p, options={"benchmark": "lp"})
