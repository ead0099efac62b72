"""Iterative and torch methods (issue 15): time_limit, callback(info) with early stop, progress, Ctrl-C (SIGINT sent to
a child process mid-solve) for rco, penalty, evolutionary, rlb_nn and sequoia; solve_many/sweep progress and
on_result; torch's CPU threads inside a solve (1 for these tiny tensors) restored after.

Every long instance here runs far longer than the limits used unless stopped, so a passing test shows the method
stopped."""

import textwrap
import time

import numpy as np
import pytest

import orbudget as ob
from orbudget.core.progress import CALLBACK_STOP_MESSAGE, INFO_KEYS

from ..conftest import interrupt_child, needs


def assignment():
    return ob.BudgetedAssignment.separable(30, seed=1)


def campaign():
    return ob.BiddingCampaign.synthetic(n_test=3000, n_train=5000, episode_length=300, budget_fraction=1 / 8, seed=1)


def bandit():
    from orbudget.problems.rmab import CoupledRMAB

    return CoupledRMAB.budget(6, 2, seed=0, horizon=10)


def assignment_fits(p, r):
    return p.is_feasible(r.x)


def bids_fit(p, r):
    return r.stats["max_episode_spend"] <= p.budget


def actions_fit(p, r):
    return all(p.check(x) is None for x in r.x.reshape(-1, p.n_decisions))


# method: (problem, long options, short options for a warm-up, extra callback keys, check of the answer)
CASES = {
    "rco": (assignment, {"steps": 10**6}, {"steps": 2}, {"step", "loss", "tau"}, assignment_fits),
    "penalty": (assignment, {"steps": 10**6}, {"steps": 2}, {"step", "loss", "penalty", "cost"}, assignment_fits),
    "evolutionary": (assignment, {"evaluations": 10**9}, {"evaluations": 40}, {"generation", "evaluations"}, assignment_fits),
    "rlb_nn": (
        campaign,
        {"horizon0": 100, "steps": 10**7, "device": "cpu"},
        {"horizon0": 100, "steps": 2, "device": "cpu"},
        {"step", "loss"},
        bids_fit,
    ),
    "sequoia": (
        bandit,
        {"episodes": 10**6, "device": "cpu"},
        {"episodes": 1, "warm_steps": 2, "warm_samples": 10, "device": "cpu"},
        {"episode", "reward", "epsilon"},
        actions_fit,
    ),
}
TORCH = {"rco", "penalty", "rlb_nn", "sequoia"}


def _warm(method):
    """Compile the numba kernels and import torch before a timed call (first calls in a process are not timed)."""
    make, _, short, _, _ = CASES[method]
    ob.solve(make(), method=method, seed=0, options=short)


def _skip_without_torch(method):
    if method in TORCH:
        pytest.importorskip("torch")


@pytest.mark.parametrize("method", list(CASES))
def test_time_limit_returns_in_time_with_a_fitting_incumbent(method):
    _skip_without_torch(method)
    make, long, _, _, fits = CASES[method]
    _warm(method)
    p = make()
    limit = 1.0
    t0 = time.perf_counter()
    r = ob.solve(p, method=method, seed=0, time_limit=limit, options=long)
    took = time.perf_counter() - t0
    assert took <= limit * 1.1 + 1.0, (method, took)
    assert r.status is ob.Status.FEASIBLE and r.limit is ob.Limit.TIME, (r.status, r.limit, r.message)
    assert fits(p, r)
    assert "time limit" in r.message


@pytest.mark.parametrize("method", list(CASES))
def test_callback_gets_the_documented_keys_and_stops_early(method):
    _skip_without_torch(method)
    make, long, _, extra, fits = CASES[method]
    p = make()
    seen = []
    r = ob.solve(p, method=method, seed=0, options=long, callback=lambda info: (seen.append(info), len(seen) >= 3)[1])
    assert len(seen) == 3
    for k, info in enumerate(seen, start=1):
        assert set(INFO_KEYS) | extra <= set(info), (method, sorted(info))
        assert info["method"] == method and info["iteration"] == k and info["elapsed"] >= 0
    assert r.status is ob.Status.FEASIBLE and r.limit is ob.Limit.INTERRUPTED
    assert CALLBACK_STOP_MESSAGE in r.message
    assert fits(p, r)
    # a callback returning None (or False) does not stop anything
    _, _, short, _, _ = CASES[method]
    calls = []
    done = ob.solve(p, method=method, seed=0, options=short, callback=calls.append)
    assert done.limit is None and calls


@pytest.mark.parametrize("method", ["rco", "evolutionary"])
def test_progress_goes_to_stderr(method, capsys):
    _skip_without_torch(method)
    make, _, short, _, _ = CASES[method]
    ob.solve(make(), method=method, seed=0, options=short, progress=True)
    out, err = capsys.readouterr()
    assert method in err and out == ""


@needs("torch")
def test_torch_runs_on_one_thread_inside_small_solves_and_restores_the_setting():
    """torch's default threads on a busy 2-core machine made RCO 10-200x slower on tiny tensors; a solve sets one
    thread (or ``threads``) while it runs and restores the caller's count."""
    import torch

    from orbudget.solvers.torch.rco import RCO

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        p = assignment()
        for method, opts in (("rco", {"steps": 3}), ("penalty", {"steps": 3})):
            inside = []
            record = lambda i, inside=inside: inside.append(torch.get_num_threads())  # noqa: E731
            ob.solve(p, method=method, seed=0, options=opts, callback=record)
            assert set(inside) == {1}, method
            assert torch.get_num_threads() == 2
            inside.clear()
            ob.solve(p, method=method, seed=0, threads=2, options=opts, callback=record)
            assert set(inside) == {2}
        seen = []
        ob.solve(
            campaign(),
            method="rlb_nn",
            seed=0,
            options={"horizon0": 50, "steps": 2, "device": "cpu"},
            callback=lambda i: seen.append(torch.get_num_threads()),
        )
        assert set(seen) == {1} and torch.get_num_threads() == 2
        # the optimizer step itself: one thread for the retraction's tiny operations, the closure with the caller's
        costs = torch.rand(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) + 0.1
        alpha = torch.zeros(5, 4, dtype=torch.float64, requires_grad=True)
        opt = RCO([alpha], costs=costs, budget=float(costs.sum(1).mean() * 5 / 4), lr=0.1)
        in_closure = []

        def closure():
            in_closure.append(torch.get_num_threads())
            opt.zero_grad()
            loss = (alpha**2).sum()
            loss.backward()
            return loss

        calls = []
        import orbudget.solvers.torch.rco as rco_module

        real = rco_module.retract

        def spy(*a, **k):
            calls.append(torch.get_num_threads())
            return real(*a, **k)

        rco_module.retract = spy
        try:
            opt.step(closure)
        finally:
            rco_module.retract = real
        assert in_closure == [2] and calls == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@needs("torch")
def test_rlb_nn_checkpoint_keeps_the_step_a_time_limit_reached(tmp_path):
    c = campaign()
    ckpt = tmp_path / "nn.pt"
    opts = {"horizon0": 100, "steps": 10**6, "device": "cpu", "checkpoint": str(ckpt)}
    _warm("rlb_nn")
    r = ob.solve(c, method="rlb_nn", seed=0, time_limit=1.0, options=opts)
    assert r.limit is ob.Limit.TIME and 0 < r.stats["steps"] < 10**6
    again = ob.solve(c, method="rlb_nn", seed=0, time_limit=0.5, options=opts)
    assert again.stats["resumed_at"] == r.stats["steps"]


@needs("torch")
def test_rlb_nn_stopped_before_its_table_has_no_policy_and_training_leaves_time_to_tabulate():
    # T0 = 150 over a 2727-unit budget: the DP at T0 takes about 0.3 s, so a 0.02 s limit stops it there
    c = ob.BiddingCampaign.synthetic(n_test=4000, n_train=4000, episode_length=600, budget_fraction=1 / 16, seed=0)
    _warm("rlb_nn")
    opts = {"horizon0": 150, "steps": 10**6, "device": "cpu"}
    r = ob.solve(c, method="rlb_nn", seed=0, time_limit=0.02, options=opts)
    assert r.status is ob.Status.NO_SOLUTION and r.limit is ob.Limit.TIME and not r.ok, r.message
    assert r.stats["steps"] == 0 and "no policy" in r.message
    # a limit well past the DP: training stops on time and the trained network is tabulated and replayed
    full = ob.solve(c, method="rlb_nn", seed=0, options={**opts, "steps": 1})
    limit = 3 * full.timings["train"] + 1.0
    r = ob.solve(c, method="rlb_nn", seed=0, time_limit=limit, options=opts)
    assert r.status is ob.Status.FEASIBLE and r.limit is ob.Limit.TIME, r.message
    assert 0 < r.stats["steps"] < 10**6 and bids_fit(c, r)


@needs("torch")
def test_sequoia_fit_callback_keeps_its_keys_and_can_stop():
    from orbudget.solvers.torch.rmab import SequoiaPolicy

    pol = SequoiaPolicy(bandit(), seed=0, device="cpu")
    seen = []
    info = pol.fit(episodes=5, warm_steps=5, warm_samples=50, callback=lambda i: (seen.append(i), True)[1])
    assert len(seen) == 1 and {"episode", "reward", "epsilon"} | set(INFO_KEYS) <= set(seen[0])
    assert info["stopped"] is ob.Limit.INTERRUPTED and info["episodes_trained"] == 1


# -- Ctrl-C ------------------------------------------------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import json, time
    import orbudget as ob
    from tests.contract.test_iterative_methods import CASES, _warm
    method = sys.argv[1]
    make, long, _, _, fits = CASES[method]
    _warm(method)
    p = make()
    started = []

    def ready(info):
        if not started:
            started.append(1)
            print("ready", flush=True)

    t0 = time.perf_counter()
    r = ob.solve(p, method=method, seed=0, options=long, callback=ready)
    ok = r.ok and bool(fits(p, r))
    print(json.dumps({"status": r.status.value, "limit": r.limit and r.limit.value, "fits": ok,
                      "seconds": time.perf_counter() - t0, "message": r.message}), flush=True)
""")


@pytest.mark.slow
@pytest.mark.parametrize("method", ["rco", "penalty", "evolutionary", "rlb_nn", "sequoia"])
def test_sigint_returns_the_incumbent(method):
    _skip_without_torch(method)
    res = interrupt_child(CHILD, method)
    assert res["limit"] == "interrupted", res
    assert res["status"] == "feasible" and res["fits"], res
    assert res["seconds"] < 30, res


# -- batches -----------------------------------------------------------------------------------------------------------
def test_solve_many_on_result_per_problem_and_early_stop(capsys):
    ps = [ob.MultipleChoiceKnapsack.random(6, 3, seed=s) for s in range(5)]
    seen = []
    rs = ob.solve_many(
        ps, method="dp", executor="serial", progress=True, on_result=lambda i: (seen.append(i), i["iteration"] >= 2)[1]
    )
    assert len(rs) == 5 and len(seen) == 2
    assert {"index", "result"} | set(INFO_KEYS) <= set(seen[0]) and seen[0]["unit"] == "problems"
    assert seen[0]["total"] == 5 and seen[0]["result"].objective == rs[seen[0]["index"]].objective
    assert sum(r.ok for r in rs) == 2
    assert all(r.status is ob.Status.NO_SOLUTION and r.limit is ob.Limit.INTERRUPTED for r in rs if not r.ok)
    assert "solve_many" in capsys.readouterr().err
    # without on_result every problem is solved, and the default batched path still qualifies
    seen.clear()
    assert all(r.ok for r in ob.solve_many(ps, method="dp", progress=False, on_result=seen.append))
    assert len(seen) == 5
    with pytest.raises(ob.InvalidProblemError, match="`on_result`"):
        ob.solve_many(ps, executor="serial", progress=False, on_result=3)


def _point(a, seed):
    return {"v": a * 10 + seed}


def test_sweep_on_result_per_point_and_early_stop(tmp_path, capsys):
    path = tmp_path / "sweep.jsonl"
    seen = []
    t = ob.sweep(
        _point,
        {"a": [1, 2, 3]},
        seeds=2,
        executor="serial",
        path=path,
        as_frame=False,
        on_result=lambda i: (seen.append(i), i["iteration"] >= 4)[1],
    )
    assert len(t) == 4 and len(seen) == 4 and seen[0]["unit"] == "points"
    assert {"point", "record"} | set(INFO_KEYS) <= set(seen[0]) and seen[0]["total"] == 6
    assert "sweep" in capsys.readouterr().err
    rest = ob.sweep(
        _point, {"a": [1, 2, 3]}, seeds=2, executor="serial", path=path, as_frame=False, progress=False, on_result=seen.append
    )
    assert len(rest) == 6 and len(seen) == 6  # resumed: only the two points left ran
    assert sorted(r["v"] for r in rest) == [10, 11, 20, 21, 30, 31]


def test_numbers_agree_with_before_on_a_short_rco_run():
    """The thread setting changes nothing in the arithmetic: a fixed-seed run gives the same answer twice, and
    threads=2 gives the same answer as the default."""
    pytest.importorskip("torch")
    p = ob.BudgetedAssignment.quadratic(6, 4, seed=3)
    a = ob.solve(p, method="rco", seed=0, options={"steps": 20})
    b = ob.solve(p, method="rco", seed=0, threads=2, options={"steps": 20})
    assert np.array_equal(a.x, b.x) and a.objective == pytest.approx(b.objective)
