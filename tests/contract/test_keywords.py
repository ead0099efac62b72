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
import threading
import time
import types

import numpy as np
import pytest

import orbudget as ob
from orbudget.core import registry
from orbudget.core.progress import INFO_KEYS
from orbudget.core.registry import STANDARD_KEYWORDS
from orbudget.core.result import relative_gap
from orbudget.core.solve import ALWAYS_ACCEPTED

SPECS = [s for s in registry.registered() if s.func.__module__.startswith("orbudget.")]  # not the tests' own toys


def _id(spec) -> str:
    return f"{spec.problem.__name__}-{spec.method}-{spec.backend}"


# -- small instances: every method runs in about a second --------------------------------------------------------
def _linear_assignment(n=4, k=3, seed=0, **kw):
    from orbudget.problems.assignment import _LinearLoss

    rng = np.random.default_rng(seed)
    costs = np.sort(rng.integers(1, 6, (n, k)), axis=1)
    table = rng.normal(size=(n, k))
    return ob.BudgetedAssignment(
        costs=costs, budget=int(costs[:, 0].sum() + 4), loss=_LinearLoss(table), proxy=table, separable_loss=True, **kw
    )


# each entry: candidate instances; a method gets the first it supports
SMALL = {
    "MultipleChoiceKnapsack": lambda: [ob.MultipleChoiceKnapsack.random(6, 3, seed=0)],
    "RolloutAllocation": lambda: [
        ob.RolloutAllocation(success_rates=[0.5, 0.05, 0.9, 0.3], total_rollouts=24, max_rollouts=12),
        ob.RolloutAllocation(
            success_rates=[0.5, 0.05, 0.9, 0.3], total_rollouts=30, max_rollouts=12, rollout_costs=[1.0, 2.0, 1.5, 3.0]
        ),
        ob.RolloutAllocation.synthetic(8, 4, seed=0),
    ],
    "SampleAllocation": lambda: [ob.SampleAllocation.random(8, seed=0)],
    "ModelRouting": lambda: [ob.ModelRouting.random(20, 3, seed=0)],
    "OnlineAllocation": lambda: [
        ob.online_inputs.random_auctions(60, seed=0, budget_rate=0.2),
        ob.OnlineAllocation.matching(
            rewards=np.random.default_rng(0).uniform(0, 1, (30, 3)), budgets=[5.0, 4.0, 6.0], entropy=0.1
        ),
        ob.OnlineAllocation.matching(
            rewards=np.random.default_rng(1).uniform(0, 1, (30, 3)),
            budgets=[5.0, 4.0, 6.0],
            regularizer=ob.regularizers.MaxMinFairness(0.2),
        ),
    ],
    "BanditsWithKnapsacks": lambda: [ob.BanditsWithKnapsacks.random(3, 2, horizon=200, seed=0)],
    "BiddingCampaign": lambda: [
        ob.BiddingCampaign.synthetic(n_test=400, n_train=800, episode_length=40, budget_fraction=1 / 8, max_bid=30, seed=1)
    ],
    "BudgetedAssignment": lambda: [_linear_assignment()],
    "CoupledRMAB": lambda: [ob.CoupledRMAB.budget(3, 1, seed=0, horizon=3, episodes=2)],
    "AgentWorkflow": lambda: [ob.AgentWorkflow.chain(2, seed=0)],
    "StepRouting": lambda: [ob.StepRouting.random(4, seed=0)],
    "TokenBudgetAllocation": lambda: [ob.TokenBudgetAllocation.random(8, seed=0)],
}

# options that keep a method's own work small on the small instances (never a standard keyword)
QUICK = {
    ("CoupledRMAB", "sequoia"): {
        "episodes": 1,
        "warm_steps": 2,
        "warm_samples": 10,
        "hidden": (4,),
        "batch_size": 2,
        "replay": 20,
        "device": "cpu",
    },
    ("BiddingCampaign", "rlb_nn"): {"horizon0": 8, "steps": 3, "device": "cpu"},
    ("BudgetedAssignment", "rco"): {"steps": 4, "samples": 2},
    ("BudgetedAssignment", "penalty"): {"steps": 4, "samples": 1},
    ("BudgetedAssignment", "evolutionary"): {"evaluations": 30},
    ("AgentWorkflow", "mcpp"): {"episodes": 20, "candidates": 2, "rollouts": 8},
}

MINIMISE = {"BudgetedAssignment"}  # families whose objective is a loss: the bound is a lower bound
# families whose objective is simulated (a sample mean) while the bound is on the expected value: the two are
# compared with the simulation's noise allowed for (see _check_bound)
SIMULATED = {"CoupledRMAB", "BanditsWithKnapsacks", "BiddingCampaign", "AgentWorkflow"}


@functools.cache
def _small_instances(name: str):
    return SMALL[name]()


def _small(spec):
    for p in _small_instances(spec.problem.__name__):
        if spec.reason_unsupported(p) is None:
            return p
    pytest.fail(
        f"no small instance in SMALL[{spec.problem.__name__!r}] is supported by {spec.method!r} "
        f"({spec.backend}): {spec.reason_unsupported(_small_instances(spec.problem.__name__)[0])}"
    )


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
    assert spec.honours is not None, (
        f"{spec.method!r} ({spec.backend}) declares no `honours=` in its @register: "
        "list the standard keywords it honours (docs/concepts.md, Declared support)"
    )
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
    """x is a relaxation's fractional answer (a relaxation whose answer happens to be whole counts too)."""
    x = np.asarray(r.x)
    return x.dtype.kind == "f" and (not np.all(x == np.round(x)) or r.method in ("lp", "hindsight_lp"))


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


NON_DEFAULT = {
    "time_limit": 30.0,
    "rel_gap": 0.01,
    "threads": 1,
    "warm_start": object(),
    "callback": lambda info: None,
    "progress": True,
    "seed": 0,
}


@pytest.mark.parametrize(
    "spec,key",
    [(s, k) for s in SPECS for k in STANDARD_KEYWORDS if k not in (s.honours or ()) and k not in ALWAYS_ACCEPTED],
    ids=lambda v: _id(v) if isinstance(v, registry.SolverSpec) else v,
)
def test_keyword_not_honoured_is_refused_by_name(spec, key):
    p = _small(spec)
    with pytest.raises(ob.InvalidProblemError) as err:
        _solve(spec, p, **{key: NON_DEFAULT[key]})
    assert f"`{key}`" in str(err.value) and repr(spec.method) in str(err.value)


@pytest.mark.parametrize("spec", SPECS, ids=_id)
def test_progress_and_callback_are_accepted_by_every_method(spec, capfd):
    """``progress=True`` set once for a long run must not break a short one: every method takes it (and a callback);
    a method that declares them reports through them, one too fast to report just finishes."""
    _needs_backend(spec)
    p = _small(spec)
    seen = []
    seed = 0 if "seed" in (spec.honours or ()) else None
    r = _solve(spec, p, progress=True, callback=seen.append, seed=seed)
    plain = _small_result(spec)
    assert r.status is plain.status
    assert all(set(INFO_KEYS) <= set(info) for info in seen)
    err = capfd.readouterr().err
    assert "\x1b[" not in err, "escape codes written to a stream that is not a terminal"
    assert len([line for line in err.splitlines() if line.endswith(" 0 events")]) == 0


# -- long methods: a time limit and Ctrl-C on a large instance ---------------------------------------------------
# code that builds ``p`` (a large instance: every long method runs well past LIMIT on it) and ``options``
LARGE = {
    "MultipleChoiceKnapsack": "p = ob.MultipleChoiceKnapsack.random(1000, 20, max_cost=10**6, seed=0)",
    ("MultipleChoiceKnapsack", "core"): "p = ob.MultipleChoiceKnapsack.random(200_000, 30, max_cost=10**6, seed=0)",
    "RolloutAllocation": (
        "rng = np.random.default_rng(0)\ncosts = rng.integers(1, 10**4, 5000)\n"
        "p = ob.RolloutAllocation(success_rates=rng.uniform(0, 1, 5000), max_rollouts=32, "
        "total_rollouts=int(6 * costs.sum()), rollout_costs=costs)"
    ),
    ("RolloutAllocation", "core"): (
        "rng = np.random.default_rng(0)\ncosts = rng.integers(1, 10**4, 400_000)\n"
        "p = ob.RolloutAllocation(success_rates=rng.uniform(0, 1, 400_000), "
        "max_rollouts=32, total_rollouts=int(6 * costs.sum()), rollout_costs=costs)"
    ),
    "ModelRouting": "p = ob.ModelRouting.random(10000, 8, n_tasks=4, seed=0)",
    "OnlineAllocation": "p = ob.online_inputs.random_auctions(100_000, seed=0, budget_rate=0.05)",
    ("OnlineAllocation", "cvxpy"): (
        "rng = np.random.default_rng(0)\np = ob.OnlineAllocation.matching("
        "rewards=rng.uniform(0, 1, (50_000, 20)), budgets=np.full(20, 1000.0), "
        "entropy=0.1)"
    ),
    "BanditsWithKnapsacks": "p = ob.BanditsWithKnapsacks.random(20, 5, horizon=10_000_000, seed=0)",
    "BiddingCampaign": (
        "p = ob.BiddingCampaign.synthetic(n_test=200_000, n_train=100_000, episode_length=5000, budget_fraction=1 / 16, seed=0)"
    ),
    "BudgetedAssignment": "p = ob.BudgetedAssignment.separable(1000, seed=0)",
    ("BudgetedAssignment", "pyomo"): "p = ob.BudgetedAssignment.separable(3000, seed=0)",
    "CoupledRMAB": "p = ob.CoupledRMAB.budget(12, 3, seed=0, horizon=40, episodes=100_000)",
    ("CoupledRMAB", "exact_dp"): "p = ob.CoupledRMAB.budget(8, 3, seed=0, horizon=40, episodes=100_000)",
}
# the small instance each child warms up on, as code (the same as SMALL's first supported candidate where it can)
SMALL_CODE = {
    "MultipleChoiceKnapsack": "ob.MultipleChoiceKnapsack.random(6, 3, seed=0)",
    "RolloutAllocation": (
        "ob.RolloutAllocation(success_rates=[0.5, 0.05, 0.9, 0.3], total_rollouts=30, max_rollouts=12, "
        "rollout_costs=[1, 2, 1, 3])"
    ),  # whole costs, as in the large instance: core warms up
    "ModelRouting": "ob.ModelRouting.random(20, 3, n_tasks=1, seed=0)",
    "OnlineAllocation": "ob.online_inputs.random_auctions(60, seed=0, budget_rate=0.2)",
    "BanditsWithKnapsacks": "ob.BanditsWithKnapsacks.random(3, 2, horizon=200, seed=0)",
    "BiddingCampaign": (
        "ob.BiddingCampaign.synthetic(n_test=400, n_train=800, episode_length=40, budget_fraction=1 / 8, max_bid=30, seed=1)"
    ),
    "BudgetedAssignment": "ob.BudgetedAssignment.separable(4, seed=0)",
    # RCO, penalty and evolutionary decode 1,000 groups with the core search (costs in units too fine for a DP table):
    # 300 groups take that path too, so its kernels are loaded before the timed solve (a cold load took 1.5 s of it)
    ("BudgetedAssignment", "rco"): "ob.BudgetedAssignment.separable(300, seed=0)",
    ("BudgetedAssignment", "penalty"): "ob.BudgetedAssignment.separable(300, seed=0)",
    ("BudgetedAssignment", "evolutionary"): "ob.BudgetedAssignment.separable(300, seed=0)",
    "CoupledRMAB": "ob.CoupledRMAB.budget(3, 1, seed=0, horizon=3, episodes=2)",
    ("OnlineAllocation", "cvxpy"): (
        "ob.OnlineAllocation.matching(rewards=np.random.default_rng(0).uniform(0, 1, (30, 3)), "
        "budgets=np.full(3, 5.0), entropy=0.1)"
    ),  # cvxpy takes entropy instances only
}
LARGE_OPTIONS = {
    ("BudgetedAssignment", "rco"): {"steps": 10**7},
    ("BudgetedAssignment", "penalty"): {"steps": 10**7},
    ("BudgetedAssignment", "evolutionary"): {"evaluations": 10**9},
    ("CoupledRMAB", "sequoia"): {"episodes": 10**6, "device": "cpu"},
    ("BiddingCampaign", "rlb_nn"): {"device": "cpu"},
}
LIMIT = 1.0  # seconds given to every long method
GRACE = 1.5  # seconds a method runs before the SIGINT
# methods whose whole solve is short even on the large instance get the SIGINT sooner, so it lands inside the solve:
# core solved 200k rollouts in 1.38 s on CI (2.1 s here), before a SIGINT at 1.5 s; 400k take 3.5-4.2 s here
# hindsight_lp's dual cutting planes on the large online instance took 1.35-1.43 s in two CI runs, inside GRACE
GRACE_FOR = {("RolloutAllocation", "core", "numba"): 0.75, ("OnlineAllocation", "hindsight_lp", "highs"): 0.75}

# Every long method keeps the contract (issue 15): the third-party solvers whose set-up phases check no clock
# (HiGHS' MIP set-up, CP-SAT's model loading, cvxpy's compilation, Pyomo's build) run in a child that solve() ends
# at 1.1 * limit + 0.5 s or on Ctrl-C (orbudget.core.guard); before, seven of them overran a 1 s limit by 1-47 s.

_CHILD = """
import json, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # a background shell leaves SIGINT ignored
import numpy as np
import orbudget as ob
{build}

def summary(r, seconds):
    return {{"status": r.status.value, "limit": r.limit.value if r.limit else None, "ok": r.ok, "seconds": seconds,
            "message": r.message}}

def run(method, backend, options, **kw):
    t0 = time.perf_counter()
    try:
        return summary(ob.solve(p, method=method, backend=backend, options=options, **kw), time.perf_counter() - t0)
    except KeyboardInterrupt:
        return {{"error": "KeyboardInterrupt escaped ob.solve", "seconds": time.perf_counter() - t0}}
    except Exception as exc:
        return {{"error": f"{{type(exc).__name__}}: {{exc}}", "seconds": time.perf_counter() - t0}}

def wait_for_go():  # a late SIGINT (the method had finished) must not reach the next method
    while True:
        try:
            return sys.stdin.readline()
        except KeyboardInterrupt:
            continue

small = {small}
for method, backend, options in {runs!r}:  # the first call's compilation and imports are not what is timed
    try:
        ob.solve(small, method=method, backend=backend, options={quick!r}.get(method, {{}}))
    except Exception:  # a method that cannot take the small instance warms up on the large one instead
        pass
print("BUILT", flush=True)
for method, backend, options in {runs!r}:
    wait_for_go()
    print("TIME " + json.dumps(run(method, backend, options, time_limit={limit!r})), flush=True)
    print("READY", flush=True)
    print("SIGINT " + json.dumps(run(method, backend, options)), flush=True)
"""


def _large_code(spec) -> str:
    name = spec.problem.__name__
    return LARGE.get((name, spec.method)) or LARGE.get((name, spec.backend)) or LARGE[name]


def _small_code(spec) -> str:
    name = spec.problem.__name__
    return SMALL_CODE.get((name, spec.method)) or SMALL_CODE.get((name, spec.backend)) or SMALL_CODE[name]


def _reader(proc):
    """A queue of the child's stdout lines, filled by a thread (select() would miss lines already buffered)."""
    import queue
    import threading

    lines: queue.Queue = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _read_line(lines, prefix: str, deadline: float):
    """The next line starting with ``prefix``, or None at the deadline or at the end of the output."""
    import queue

    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            return None
        if line is None:
            return None
        if line.startswith(prefix):
            return line[len(prefix) :].strip()


def _run_group(specs: list) -> dict:
    """One child per large instance: it builds the instance once, then for each method (in turn, when told to go)
    solves with ``time_limit=LIMIT`` and then without one, and the parent sends SIGINT GRACE s into the second
    solve. A child that stops answering is killed and a fresh one goes on with the methods after it."""
    outcomes = {_id(s): types.SimpleNamespace(time=None, sigint=None, note="", stderr="") for s in specs}
    todo = list(specs)
    while todo:
        runs = [(s.method, s.backend, LARGE_OPTIONS.get((s.problem.__name__, s.method), {})) for s in todo]
        quick = {s.method: _quick(s) for s in todo}
        code = _CHILD.format(build=_large_code(todo[0]), small=_small_code(todo[0]), runs=runs, limit=LIMIT, quick=quick)
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        lines = _reader(proc)
        try:
            if _read_line(lines, "BUILT", time.monotonic() + 180) is None:
                for s in todo:
                    outcomes[_id(s)].note = "the child did not build the large instance within 180 s"
                return outcomes
            while todo:
                spec = todo.pop(0)
                out = outcomes[_id(spec)]
                proc.stdin.write("GO\n")
                proc.stdin.flush()
                line = _read_line(lines, "TIME ", time.monotonic() + LIMIT * 1.1 + 1 + 15)
                if line is None:
                    out.note = "no answer to the time-limit run within 15 s of the limit (killed)"
                    break
                out.time = json.loads(line)
                if _read_line(lines, "READY", time.monotonic() + 10) is None:
                    break
                grace = GRACE_FOR.get((spec.problem.__name__, spec.method, spec.backend), GRACE)
                line = _read_line(lines, "SIGINT ", time.monotonic() + grace)  # a solve done before the signal
                if line is None:
                    sent = time.monotonic()
                    proc.send_signal(signal.SIGINT)
                    line = _read_line(lines, "SIGINT ", sent + 10)
                    if line is None:
                        out.note = "no answer within 10 s of the SIGINT (killed)"
                        break
                else:
                    out.note = f"the solve without a limit finished within {grace} s, before the SIGINT"
                out.sigint = json.loads(line)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    return outcomes


@functools.cache
def _long_runs() -> dict:
    groups: dict = {}
    for s in LONG:
        if s.available:
            groups.setdefault(_large_code(s), []).append(s)
    out = {}
    for specs in groups.values():
        out.update(_run_group(specs))
    return out


def _long_run(spec):
    return _long_runs()[_id(spec)]


LONG = [s for s in SPECS if s.long]


def _long_case(spec):
    return pytest.param(spec, id=_id(spec), marks=[pytest.mark.slow])


@pytest.mark.parametrize("spec", [_long_case(s) for s in LONG])
def test_long_method_returns_within_its_time_limit(spec):
    _needs_backend(spec)
    out = _long_run(spec)
    assert out.time is not None, f"{spec.method!r}: {out.note}\n{out.stderr}"
    assert "error" not in out.time, f"{spec.method!r} with time_limit={LIMIT}: {out.time['error']}"
    assert out.time["seconds"] <= LIMIT * 1.1 + 1, f"{spec.method!r} returned after {out.time['seconds']:.2f} s"
    assert out.time["limit"] == "time", f"{spec.method!r} finished before the limit on the large instance: {out.time}"
    assert out.time["ok"] or out.time["status"] == "no_solution", out.time


@pytest.mark.parametrize("spec", [_long_case(s) for s in LONG])
def test_long_method_returns_its_incumbent_on_sigint(spec):
    _needs_backend(spec)
    out = _long_run(spec)
    assert out.sigint is not None, f"{spec.method!r}: {out.note or 'the time-limit run did not finish'}\n{out.stderr}"
    assert "error" not in out.sigint, f"{spec.method!r} on SIGINT: {out.sigint['error']}"
    assert out.sigint["limit"] == "interrupted", f"{spec.method!r} on SIGINT: {out.sigint} {out.note}"
    assert out.sigint["ok"] or out.sigint["status"] == "no_solution", out.sigint


# -- call sites inside the library ask for a keyword only where the method honours it ---------------------------
def test_library_call_sites_pass_threads_only_where_honoured():
    # frontier and min_cost_for asked every method for threads=1; the default knapsack method (core) and the LP
    # take no thread count, and solve() now refuses it
    p = ob.ModelRouting.random(30, 3, seed=0)
    lo, hi = float(p.costs[np.arange(30), p.cheapest].sum()), float(p.costs.max(axis=1).sum())
    f = p.frontier([lo, (lo + hi) / 2], method="lp")
    assert np.all(np.isfinite(f["accuracy"]))
    cost, routes = p.min_cost_for(float(p.quality[np.arange(30), p.cheapest].mean()) + 0.01)
    assert cost is not None and cost >= lo - 1e-9 and routes.shape == (30,)
    assert ob.core.registry.honoured(_small_instances("MultipleChoiceKnapsack")[0], "dp", threads=1, seed=0) == {"seed": 0}


# -- a Ctrl-C that lands inside a numba function ------------------------------------------------------------------
class _Spend(ob.MultipleChoiceKnapsack):
    """A knapsack whose only method gets a real SIGINT inside what stands for a compiled kernel."""


@registry.register(_Spend, "kernel", backend="numpy", priority=0, honours=("seed",))
def _kernel(problem, opts):
    opts.incumbent.offer(np.zeros(problem.n_groups, dtype=np.int64), 0.0)
    try:
        os.kill(os.getpid(), signal.SIGINT)  # solve's handler counts it and raises KeyboardInterrupt
        time.sleep(5)
    except KeyboardInterrupt as exc:  # what numba's dispatcher makes of it
        raise SystemError("CPUDispatcher(<function mckp_dp>) returned a result with an exception set") from exc
    raise AssertionError("no SIGINT arrived")


def test_ctrl_c_inside_a_numba_function_is_an_interrupt_not_a_system_error():
    # measured: SIGINT during rco, evolutionary and core (numba kernels) escaped ob.solve as SystemError
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        p = _Spend(values=[[0, 1], [0, 2]], costs=[[0, 1], [0, 1]], budget=1)
        r = ob.solve(p, method="kernel")
    finally:
        signal.signal(signal.SIGINT, old)
    assert r.limit is ob.Limit.INTERRUPTED and r.status is ob.Status.FEASIBLE and r.x.tolist() == [0, 0]
