"""The guard (orbudget.core.guard): third-party solvers run in a forked child that a time limit or Ctrl-C can end."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import orbudget as ob
from orbudget.core import guard
from orbudget.core.result import Result, Status
from orbudget.core.solve import SolveOptions

needs_fork = pytest.mark.skipif(not guard.available(), reason="the guard forks, on Linux only")
P = ob.MultipleChoiceKnapsack.random(40, 4, max_cost=100, seed=1)


def _offers_then_hangs(problem, opts):
    """Offers three improving choices, then hangs in a phase that checks no clock."""
    rng = np.random.default_rng(0)
    best = None
    for x in [np.zeros(problem.n_groups, np.int64)] + [rng.integers(0, 4, problem.n_groups) for _ in range(40)]:
        if problem.is_feasible(x) and (best is None or problem.value_of(x) > best):
            best = problem.value_of(x)
            opts.incumbent.offer(x, best)
    opts.incumbent.bound = 1e9
    time.sleep(120)
    raise AssertionError("not reached")


@needs_fork
def test_a_solver_that_misses_its_time_limit_is_ended_with_the_incumbent_it_streamed():
    start = time.perf_counter()
    r = guard.run_guarded(_offers_then_hangs, P, SolveOptions(time_limit=0.5), "hangs")
    took = time.perf_counter() - start
    assert 1.0 <= took < 2.0  # ended at 1.1 * limit + 0.5 s
    assert r.status is Status.FEASIBLE and r.limit is ob.Limit.TIME and "did not stop" in r.message
    assert P.is_feasible(r.x) and r.objective == pytest.approx(P.value_of(r.x)) and r.bound == 1e9
    # the best of the offers came through: no feasible candidate the adapter saw is better
    rng = np.random.default_rng(0)
    seen = [np.zeros(P.n_groups, np.int64)] + [rng.integers(0, 4, P.n_groups) for _ in range(40)]
    assert r.objective == max(P.value_of(x) for x in seen if P.is_feasible(x))


@needs_fork
def test_with_nothing_offered_the_answer_is_no_solution_with_the_time_limit():
    def hangs(problem, opts):
        time.sleep(120)

    r = guard.run_guarded(hangs, P, SolveOptions(time_limit=0.2), "hangs")
    assert r.status is Status.NO_SOLUTION and r.limit is ob.Limit.TIME and "before any solution" in r.message


@needs_fork
def test_the_callback_runs_in_the_caller_and_its_answer_reaches_the_child():
    seen = []

    def adapter(problem, opts):
        answers = [opts.callback({"iteration": k}) for k in range(1, 4)]
        return Result(status=Status.NO_SOLUTION, message=repr(answers))

    r = guard.run_guarded(adapter, P, SolveOptions(callback=lambda info: seen.append(info) or len(seen) == 2))
    assert [i["iteration"] for i in seen] == [1, 2, 3]  # appended here, in the caller's process
    assert r.message == "[False, True, False]"


@needs_fork
def test_errors_in_the_child_are_raised_in_the_caller_and_a_dead_child_is_an_error():
    def bad(problem, opts):
        raise ob.InvalidProblemError("`budget` is wrong")

    with pytest.raises(ob.InvalidProblemError, match="`budget` is wrong"):
        guard.run_guarded(bad, P, SolveOptions())

    def dies(problem, opts):
        os._exit(3)

    with pytest.raises(ob.SolverError, match="died"):
        guard.run_guarded(dies, P, SolveOptions(), "dies")


@needs_fork
def test_guarded_methods_give_what_they_give_in_process(monkeypatch):
    # the same exact answer from the HiGHS MIP in a child and in this process; a solve inside a child runs in place
    spec = ob.core.registry.pick(P, "mip", "highs")
    if not spec.available:
        pytest.skip("highspy is not installed")
    assert spec.guarded
    forked = ob.solve(P, method="mip", backend="highs")
    monkeypatch.setenv("ORBUDGET_NO_FORK", "1")
    assert not guard.available()
    here = ob.solve(P, method="mip", backend="highs")
    assert forked.status is here.status is Status.OPTIMAL and forked.objective == here.objective
    assert np.array_equal(forked.x, here.x)
    monkeypatch.delenv("ORBUDGET_NO_FORK")

    def nested(problem, opts):
        return Result(status=Status.NO_SOLUTION, message=str(guard.available()))

    assert guard.run_guarded(nested, P, SolveOptions()).message == "False"


@needs_fork
def test_ctrl_c_ends_the_child_and_solve_returns_the_streamed_incumbent():
    # a method registered in a fresh process offers one choice and hangs; SIGINT to the process ends the child
    code = textwrap.dedent("""
        import signal, time
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import numpy as np
        import orbudget as ob
        from orbudget.core.registry import register

        P = ob.MultipleChoiceKnapsack(values=[[0, 1], [0, 2]], costs=[[0, 1], [0, 1]], budget=1)

        @register(ob.MultipleChoiceKnapsack, "hangs", backend="highs", priority=99, honours=(), long=True)
        def hangs(problem, opts):
            opts.incumbent.offer(np.array([0, 1]), 2.0)
            time.sleep(120)

        print("GO", flush=True)
        t = time.perf_counter()
        r = ob.solve(P, method="hangs")
        print(r.status.value, r.limit.value, r.x.tolist() == [0, 1], round(time.perf_counter() - t, 1), flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "GO"
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert out.split()[:3] == ["feasible", "interrupted", "True"], out + err
    assert float(out.split()[3]) < 3.0


def test_a_ctrl_c_in_the_child_during_a_message_is_raised_once_the_message_is_whole():
    # the parent could not read a half message; outside a message the child's handler is Python's own
    r, w = os.pipe()
    try:
        guard._WRITING = True
        guard.child_sigint(signal.SIGINT, None)  # the message being written is not cut
        assert guard._PENDING
        guard._WRITING = False
        with pytest.raises(KeyboardInterrupt):
            guard._write(w, {"x": list(range(1000))})
        assert guard._read(r) == {"x": list(range(1000))} and not guard._PENDING
        with pytest.raises(KeyboardInterrupt):
            guard.child_sigint(signal.SIGINT, None)
    finally:
        guard._WRITING = guard._PENDING = False
        os.close(r)
        os.close(w)


def _refuse():
    raise TypeError("this object cannot be rebuilt")


class _Unloadable:
    """Pickles, but rebuilding it fails (as some extension objects do)."""

    def __reduce__(self):
        return (_refuse, ())


class _TwoArgs(Exception):
    """Does not unpickle under plain pickle (its __init__ takes two arguments, its args hold one) nor under tblib's
    reducers, which rebuild exceptions without __init__ and which importing dask.distributed installs for every
    exception class: its attribute cannot be rebuilt either way."""

    def __init__(self, a, b):
        super().__init__(f"{a} and {b}")
        self.part = _Unloadable()


@needs_fork
def test_an_error_that_does_not_unpickle_comes_back_as_its_text():
    def bad(problem, opts):
        raise _TwoArgs("left", "right")

    with pytest.raises(ob.SolverError, match="_TwoArgs: left and right"):
        guard.run_guarded(bad, P, SolveOptions())


def _children() -> set:
    """This process's children (zombies included), from /proc."""
    out = set()
    for stat in os.listdir("/proc"):
        if stat.isdigit():
            try:
                with open(f"/proc/{stat}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():
                out.add(int(stat))
    return out


@needs_fork
def test_a_ctrl_c_while_the_callback_runs_reaches_the_child_which_answers_or_ends():
    # the Ctrl-C lands in the caller's callback (raised there, as Python's handler would): the child, waiting for
    # the answer, is let go and gets the SIGINT; here it ends with a KeyboardInterrupt of its own
    def asks_then_sleeps(problem, opts):
        opts.callback({"iteration": 1})
        time.sleep(60)

    def ctrl_c(info):
        raise KeyboardInterrupt

    before = _children()
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        guard.run_guarded(asks_then_sleeps, P, SolveOptions(callback=ctrl_c))
    assert time.perf_counter() - start < 5 and _children() <= before  # ended and reaped

    # a child that dies on the SIGINT without an answer: still the Ctrl-C, not an error
    def dies_on_sigint(problem, opts):
        signal.signal(signal.SIGINT, lambda *a: os._exit(1))
        opts.callback({"iteration": 1})
        time.sleep(60)

    with pytest.raises(KeyboardInterrupt):
        guard.run_guarded(dies_on_sigint, P, SolveOptions(callback=ctrl_c))
    assert _children() <= before
