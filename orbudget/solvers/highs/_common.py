"""Pieces every HiGHS adapter shares: a configured ``highspy.Highs`` (`new_highs`), a run that keeps Ctrl-C and the
caller's `Run` (`run_highs`), and the one map from HiGHS' model status to orbudget's (`status_of`)."""

from __future__ import annotations

import os

import numpy as np

from ...core.result import Limit, Status
from ...core.solve import SigintAsFlag, SolveOptions
from ...core.threads import align_highs, default_threads
from ...core.validation import as_int_seed

_BANNER_SHOWN = False


def new_highs(opts: SolveOptions):
    """A ``highspy.Highs`` with the standard options applied (time limit, gap, threads, seed, log, Ctrl-C)."""
    import highspy

    global _BANNER_SHOWN
    if _BANNER_SHOWN or opts.verbose:
        h = highspy.Highs()
    else:  # HiGHS prints a banner to stdout on the first instance of a process: keep stdout clean for JSON output
        import sys

        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    _BANNER_SHOWN = True
    h.setOptionValue("output_flag", bool(opts.verbose))
    if opts.time_limit is not None:
        h.setOptionValue("time_limit", float(opts.time_limit))
    # exact by default: HiGHS' own default (1e-4) would call a 0.01% gap "optimal"
    h.setOptionValue("mip_rel_gap", float(opts.rel_gap) if opts.rel_gap is not None else 0.0)
    # HiGHS' own default is half the machine's cores, whatever share of them this process may use: capped to that
    # share (orbudget.core.threads.default_threads)
    threads = int(opts.threads) if opts.threads is not None else min(max(1, (os.cpu_count() or 1) // 2), default_threads())
    h.setOptionValue("threads", threads)  # the global pool is fitted to it right before each run (align_run)
    if opts.seed is not None:
        h.setOptionValue("random_seed", as_int_seed(opts.seed))
    for key, value in opts.options.items():
        if h.setOptionValue(key, value) == highspy.HighsStatus.kError:
            from ...core.errors import InvalidProblemError

            raise InvalidProblemError(f"`options` key `{key}` = {value!r} is not a valid HiGHS option")
    h.HandleKeyboardInterrupt = True
    return h


def run_highs(h, what: str = "the model", run=None, on_solution=None, scale: float = 1.0, start=None):
    """Run HiGHS; raise SolverError when it refuses to start. Returns ``(info, seconds)``.

    HiGHS runs in its own thread (highspy's ``startSolve``) while this one waits, so a Ctrl-C cancels the solve:
    HiGHS stops with "Interrupted by user" and keeps its incumbent (``status_of`` gives FEASIBLE and
    ``Limit.INTERRUPTED``). With a plain ``h.run()`` the KeyboardInterrupt surfaced inside HiGHS' callback, which
    reported a "solve error" and lost both the incumbent and the interrupt.

    With a `Run`, HiGHS' own MIP callbacks drive it: each improving solution
    (``on_solution(col_value)`` turns it into ``(x, objective)`` for ``run.offer``, or ``None``) and each of HiGHS'
    interrupt checks is one ``run.step`` (info keys ``event`` = ``"solution"``/``"check"``, ``nodes``); a callback
    that returns ``True`` or a passed time limit interrupts HiGHS (HiGHS' objective and bound are multiplied by
    ``scale`` for the info dict, for models built in scaled units), which keeps its incumbent (``status_of(h, ...,
    run=run)`` then reports ``run.limit``). An exception raised in the user's callback is re-raised here. A solve
    that fired no event (an LP, a MIP solved in presolve) makes one ``run.step`` at the end (``event="done"``).

    ``start``: a starting solution (a value per column) for a MIP, given to HiGHS with ``setSolution``; a solve whose
    answer is that start rather than the optimum HiGHS reports (`_returned_the_start`) is run again without it."""
    import time

    import highspy

    errors: list[BaseException] = []
    if run is not None and run.time_limit is not None:  # what is left of the limit after building the model
        h.setOptionValue("time_limit", max(run.remaining(), 1e-3))
    if run is not None:

        def _step(e, event: str, solution: bool) -> None:
            if errors or run.stopped:  # HiGHS may report a few more events before it stops
                e.interrupt()
                return
            try:
                d = e.data_out
                objective = None
                if solution:
                    found = on_solution(np.asarray(d.mip_solution)) if on_solution is not None else None
                    if found is not None:
                        run.offer(*found)
                    elif on_solution is None:
                        objective = d.objective_function_value * scale
                if run.step(objective=objective, bound=d.mip_dual_bound * scale, event=event, nodes=int(d.mip_node_count)):
                    e.interrupt()
            except BaseException as exc:  # re-raised in the caller's thread once HiGHS has stopped
                errors.append(exc)
                e.interrupt()

        def _check(e) -> None:  # LP iterations (the root LP, an LP model): only stop checks, no step
            if errors or run.stopped or run.out_of_time():
                e.interrupt()

        h.cbMipImprovingSolution += lambda e: _step(e, "solution", True)
        h.cbMipInterrupt += lambda e: _step(e, "check", False)
        h.cbSimplexInterrupt += _check
        h.cbIpmInterrupt += _check
    t0 = time.perf_counter()
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(np.asarray(start, np.float64))
        h.setSolution(sol)
    with SigintAsFlag() as sigint:
        run_status = _solve_and_wait(h, sigint)
        if start is not None and not sigint.seen and not errors and _returned_the_start(h):
            h.passModel(h.getLp())  # drops the start; the callbacks stay
            run_status = _solve_and_wait(h, sigint)
    if sigint.seen and h.getModelStatus() not in (highspy.HighsModelStatus.kInterrupt, highspy.HighsModelStatus.kHighsInterrupt):
        sigint.raise_it()  # HiGHS had finished before the Ctrl-C: it is not lost
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    if run_status == highspy.HighsStatus.kError and h.getModelStatus() == highspy.HighsModelStatus.kNotset:
        from ...core.errors import SolverError

        raise SolverError(f"HiGHS refused to run {what} (run() returned an error before solving)")
    info = h.getInfo()
    if run is not None and run.iteration == 0:
        has = info.primal_solution_status == 2
        run.step(
            objective=info.objective_function_value * scale if has else None,
            bound=info.mip_dual_bound * scale if info.mip_node_count >= 0 else None,
            event="done",
            nodes=max(int(info.mip_node_count), 0),
        )
    return info, elapsed


def align_run(h) -> None:
    """Fit HiGHS' global thread pool to ``h``'s `threads` right before it runs (`orbudget.core.threads.align_highs`)."""
    align_highs(int(h.getOptionValue("threads")[1]))


def _solve_and_wait(h, sigint):
    """One HiGHS run in its own thread, cancelled on a Ctrl-C (see `run_highs`); returns its run status. A run refused
    because HiGHS' pool runs another thread count (started outside orbudget, say) is run again on a reset pool."""
    import highspy

    status = _solve_and_wait_once(h, sigint)
    if status == highspy.HighsStatus.kError and h.getModelStatus() == highspy.HighsModelStatus.kNotset:
        align_highs(None)
        status = _solve_and_wait_once(h, sigint)
    return status


def _solve_and_wait_once(h, sigint):
    align_run(h)
    h.startSolve()
    try:
        done, run_status = h.wait(0.1)
        while not done:
            if sigint.seen:
                h.cancelSolve()
            done, run_status = h.wait(0.1)
    except KeyboardInterrupt:  # not the main thread (no flag): Python's handler raised it
        h.cancelSolve()
        done, run_status = h.wait(0.1)
        while not done:
            done, run_status = h.wait(0.1)
    return run_status


def _returned_the_start(h) -> bool:
    """HiGHS 1.16 returns the columns of a starting solution (``setSolution``) instead of the optimum it reports when
    presolve solves the MIP: the solution's objective then falls short of the reported one (seen on a 5-request
    hindsight MIP: 2.78 returned, 4.73 reported)."""
    info = h.getInfo()
    if info.primal_solution_status != 2:
        return False
    lp = h.getLp()
    value = float(np.dot(np.asarray(lp.col_cost_), np.asarray(h.getSolution().col_value))) + float(lp.offset_)
    reported = float(info.objective_function_value)
    return abs(value - reported) > 1e-9 * max(1.0, abs(reported))


def status_of(h, has_solution: bool, run=None):
    """Map HiGHS' model status to (Status, Limit, message) — the one status map of this adapter. With the
    `Run` that interrupted HiGHS (a callback's stop, its time check), its limit and
    message replace HiGHS' "Interrupted by user"."""
    import highspy

    ms = h.getModelStatus()
    S = highspy.HighsModelStatus
    raw = h.modelStatusToString(ms)
    limits = {
        S.kTimeLimit: Limit.TIME,
        S.kIterationLimit: Limit.ITERATION,
        S.kSolutionLimit: Limit.NODE,
        S.kInterrupt: Limit.INTERRUPTED,
        S.kHighsInterrupt: Limit.INTERRUPTED,
    }
    if ms == S.kOptimal:
        return Status.OPTIMAL, None, raw
    if ms == S.kInfeasible:
        return Status.INFEASIBLE, None, raw
    if ms == S.kUnbounded:
        return Status.UNBOUNDED, None, raw
    if ms in limits:
        limit = limits[ms]
        if run is not None and run.limit is not None and ms in (S.kInterrupt, S.kHighsInterrupt):
            limit, raw = run.limit, f"{run.message} ({raw})"
        return (Status.FEASIBLE if has_solution else Status.NO_SOLUTION), limit, raw
    return Status.ERROR, None, f"HiGHS: {raw}"
