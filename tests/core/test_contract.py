"""The solve() contract, checked for every registered method (in the spirit of cvxpy's shared solver test catalogue).

The cases are read from the registry when the module is collected, so a method is covered the day it is registered:
one case per (problem type, method, backend). Every method gets the Result invariants on a small instance (a
``limit`` only with FEASIBLE or NO_SOLUTION; ``objective`` recomputed from ``x`` where the problem has ``value_of``;
``x`` feasible where the problem has ``is_feasible``; ``bound`` on the right side of ``objective``; ``gap``
consistent with both; timings present), same seed same result, an unknown option key refused by name, and each
standard keyword it does not honour refused by name. Every method registered ``long=True`` also gets, on a large
instance, a time limit (it returns within ``limit * 1.1 + 1 s`` with ``limit=TIME`` and an incumbent, or
NO_SOLUTION) and a SIGINT sent to a subprocess mid-solve (it gives back a Result with ``limit=INTERRUPTED``).

A new problem type needs a factory in ``SMALL`` (and ``LARGE`` for its long methods); a method that needs small
options to run in about a second gets them in ``QUICK``.
"""

from __future__ import annotations

import functools
import json
import math
import os
import signal
import subprocess
import sys
import time
import types

import numpy as np
import pytest

import orbudget as ob
from orbudget.core import registry
from orbudget.core.registry import STANDARD_KEYWORDS
from orbudget.core.result import relative_gap

registry._load_adapters()
SPECS = list(registry._REGISTRY)


def _id(spec) -> str:
    return f"{spec.problem.__name__}-{spec.method}-{spec.backend}"


# -- small instances: every method runs in about a second --------------------------------------------------------
def _linear_assignment(n=4, k=3, seed=0, **kw):
    from orbudget.problems.assignment import _LinearLoss

    rng = np.random.default_rng(seed)
    costs = np.sort(rng.integers(1, 6, (n, k)), axis=1)
    table = rng.normal(size=(n, k))
    return ob.BudgetedAssignment(costs=costs, budget=int(costs[:, 0].sum() + 4), loss=_LinearLoss(table), proxy=table,
                                 separable_loss=True, **kw)


# each entry: candidate instances; a method gets the first it supports
SMALL = {
    "MultipleChoiceKnapsack": lambda: [ob.MultipleChoiceKnapsack.random(6, 3, seed=0)],
    "RolloutAllocation": lambda: [
        ob.RolloutAllocation(success_rates=[0.5, 0.05, 0.9, 0.3], total_rollouts=24, max_rollouts=12),
        ob.RolloutAllocation(success_rates=[0.5, 0.05, 0.9, 0.3], total_rollouts=30, max_rollouts=12,
                             rollout_costs=[1.0, 2.0, 1.5, 3.0]),
        ob.RolloutAllocation.synthetic(8, 4, seed=0)],
    "SampleAllocation": lambda: [ob.SampleAllocation.random(8, seed=0)],
    "ModelRouting": lambda: [ob.ModelRouting.random(20, 3, seed=0)],
    "OnlineAllocation": lambda: [
        ob.online_inputs.random_auctions(60, seed=0, budget_rate=0.2),
        ob.OnlineAllocation.matching(rewards=np.random.default_rng(0).uniform(0, 1, (30, 3)), budgets=[5.0, 4.0, 6.0],
                                     entropy=0.1)],
    "BanditsWithKnapsacks": lambda: [ob.BanditsWithKnapsacks.random(3, 2, horizon=200, seed=0)],
    "BiddingCampaign": lambda: [ob.BiddingCampaign.synthetic(n_test=400, n_train=800, episode_length=40,
                                                             budget_fraction=1 / 8, max_bid=30, seed=1)],
    "BudgetedAssignment": lambda: [_linear_assignment()],
    "CoupledRMAB": lambda: [ob.CoupledRMAB.budget(3, 1, seed=0, horizon=3, episodes=2)],
}

# options that keep a method's own work small on the small instances (never a standard keyword)
QUICK = {
    ("CoupledRMAB", "sequoia"): {"episodes": 1, "warm_steps": 2, "warm_samples": 10, "hidden": (4,), "batch_size": 2,
                                 "replay": 20, "device": "cpu"},
    ("BiddingCampaign", "rlb_nn"): {"horizon0": 8, "steps": 3, "device": "cpu"},
    ("BudgetedAssignment", "rco"): {"steps": 4, "samples": 2},
    ("BudgetedAssignment", "penalty"): {"steps": 4, "samples": 1},
    ("BudgetedAssignment", "evolutionary"): {"evaluations": 30},
}

MINIMISE = {"BudgetedAssignment"}  # families whose objective is a loss: the bound is a lower bound
# families whose objective is simulated (a sample mean) while the bound is on the expected value: the two are
# compared with the simulation's noise allowed for (see _check_bound)
SIMULATED = {"CoupledRMAB", "BanditsWithKnapsacks", "BiddingCampaign"}


@functools.cache
def _small_instances(name: str):
    return SMALL[name]()


def _small(spec):
    for p in _small_instances(spec.problem.__name__):
        if spec.reason_unsupported(p) is None:
            return p
    pytest.fail(f"no small instance in SMALL[{spec.problem.__name__!r}] is supported by {spec.method!r} "
                f"({spec.backend}): {spec.reason_unsupported(_small_instances(spec.problem.__name__)[0])}")


def _quick(spec) -> dict:
    return dict(QUICK.get((spec.problem.__name__, spec.method), {}))


def _needs_backend(spec):
    if not spec.available:
        pytest.skip(f"backend {spec.backend!r} is not installed")


def _solve(spec, p, **kw):
    kw.setdefault("options", _quick(spec))
    return ob.solve(p, method=spec.method, backend=spec.backend, **kw)


@functools.cache
def _small_result(spec):
    return _solve(spec, _small(spec), seed=0 if "seed" in (spec.honours or ()) else None)


# -- the registry itself ---------------------------------------------------------------------------------------------
def test_catalogue_covers_every_registered_method():
    assert len(SPECS) >= 60 and len({_id(s) for s in SPECS}) == len(SPECS)
    missing = sorted({s.problem.__name__ for s in SPECS} - set(SMALL))
    assert not missing, f"add a small instance factory to SMALL for {missing}"


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_every_method_declares_what_it_honours(spec):
    assert spec.honours is not None, (f"{spec.method!r} ({spec.backend}) declares no `honours=` in its @register: "
                                      "list the standard keywords it honours (docs/concepts.md, Declared support)")
    assert set(spec.honours) <= set(STANDARD_KEYWORDS)
    assert not set(spec.options) & set(STANDARD_KEYWORDS)


def test_methods_never_share_one_option_tuple_across_different_option_sets():
    # the numba BwK methods once accepted each other's options: every method lists only its own
    bwk = {s.method: set(s.options) for s in SPECS if s.problem.__name__ == "BanditsWithKnapsacks" and s.backend == "numba"}
    assert "hedge_step" not in bwk["ucb"] and "hedge_step" in bwk["primal_dual"]
    p = _small_instances("BanditsWithKnapsacks")[0]
    with pytest.raises(ob.InvalidProblemError, match="hedge_step"):
        ob.solve(p, method="ucb", options={"hedge_step": 0.1})


def test_details_view_lists_honours_options_and_long():
    p = _small_instances("MultipleChoiceKnapsack")[0]
    plain = ob.available_solvers(p)
    details = ob.available_solvers(p, details=True)
    assert [(d["method"], d["backend"], d["available"]) for d in details] == plain
    dp = next(d for d in details if d["method"] == "dp")
    assert dp["options"] == ("scale",) and "seed" in dp["honours"] and "time_limit" not in dp["honours"]


# -- invariants on a small instance ------------------------------------------------------------------------------
def _check_bound(spec, r, p):
    if r.bound is None or r.objective is None or not math.isfinite(r.bound):
        return
    scale = max(1.0, abs(r.objective), abs(r.bound))
    slack = 1e-6 * scale
    if spec.problem.__name__ in SIMULATED:
        # a simulated mean may beat a bound on the expectation by its noise: allow four standard errors
        err = r.stats.get("stderr") if isinstance(r.stats, dict) else None
        slack += 4 * float(err) if err is not None and math.isfinite(float(err)) else 0.1 * scale
    if spec.problem.__name__ in MINIMISE:
        assert r.bound <= r.objective + slack, f"lower bound {r.bound} above the loss {r.objective}"
    else:
        assert r.bound >= r.objective - slack, f"upper bound {r.bound} below the objective {r.objective}"


def _fractional(r) -> bool:
    x = np.asarray(r.x)
    return x.dtype.kind == "f" and not np.all(x == np.round(x))


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_result_invariants(spec):
    _needs_backend(spec)
    p = _small(spec)
    r = _small_result(spec)
    assert isinstance(r, ob.Result)
    assert r.method == spec.method and r.backend == spec.backend
    if r.limit is not None:
        assert r.status in (ob.Status.FEASIBLE, ob.Status.NO_SOLUTION), f"limit {r.limit} with status {r.status}"
    assert "total" in r.timings and r.timings["total"] >= 0
    assert all(isinstance(v, float) and v >= 0 for v in r.timings.values()), r.timings
    assert r.status not in (ob.Status.ERROR,), r.message
    if not r.ok:
        return
    assert r.objective is not None and math.isfinite(r.objective)
    relaxed = _fractional(r)
    value_of = getattr(p, "value_of", None)
    if value_of is not None and not relaxed:
        assert value_of(r.x) == pytest.approx(r.objective, rel=1e-9, abs=1e-9)
    is_feasible = getattr(p, "is_feasible", None)
    if is_feasible is not None and not relaxed and spec.method not in ("opt_lp",):
        # a coupled RMAB's x is every action played, (episodes, horizon, decisions): each one must be feasible
        xs = np.asarray(r.x).reshape(-1, p.n_decisions) if isinstance(p, ob.CoupledRMAB) else [r.x]
        assert all(is_feasible(x) for x in xs), f"{spec.method!r} returned an x outside the constraints"
    _check_bound(spec, r, p)
    if r.gap is not None:
        assert r.bound is not None and r.gap >= 0
        expected = relative_gap(r.objective, r.bound)
        assert expected is not None and abs(r.gap - expected) <= 1e-6 + 1e-6 * expected, (r.gap, expected)
    if r.status is ob.Status.OPTIMAL and r.gap is not None and spec.problem.__name__ not in SIMULATED:
        assert r.gap <= 1e-6, f"OPTIMAL with gap {r.gap}"


@pytest.mark.parametrize("spec", [s for s in SPECS if s.honours and "seed" in s.honours], ids=_id)
def test_same_seed_same_result(spec):
    _needs_backend(spec)
    p = _small(spec)
    a = _small_result(spec)
    b = _solve(spec, p, seed=0)
    assert a.status == b.status
    if a.ok:
        assert a.objective == b.objective
        assert np.array_equal(np.asarray(a.x), np.asarray(b.x))


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_unknown_option_is_refused_by_name(spec):
    _needs_backend(spec)
    with pytest.raises(ob.InvalidProblemError, match="no_such_option_zz"):
        _solve(spec, _small(spec), options={**_quick(spec), "no_such_option_zz": 1})


NON_DEFAULT = {"time_limit": 30.0, "rel_gap": 0.01, "threads": 1, "warm_start": object(),
               "callback": lambda info: None, "progress": True, "seed": 0}


@pytest.mark.parametrize("spec,key", [(s, k) for s in SPECS for k in STANDARD_KEYWORDS if k not in (s.honours or ())],
                         ids=lambda v: _id(v) if isinstance(v, registry.SolverSpec) else v)
def test_keyword_not_honoured_is_refused_by_name(spec, key):
    p = _small(spec)
    with pytest.raises(ob.InvalidProblemError) as err:
        _solve(spec, p, **{key: NON_DEFAULT[key]})
    assert f"`{key}`" in str(err.value) and repr(spec.method) in str(err.value)
