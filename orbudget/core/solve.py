"""``orbudget.solve``: validate options, pick an adapter, run it, time it, and keep the best on interrupt."""

from __future__ import annotations

import math
import signal
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import guard
from .errors import InvalidProblemError, warn_renamed
from .progress import Display, showing
from .registry import BACKENDS, COMPILE_WATCHES, STANDARD_KEYWORDS, pick
from .result import Limit, Result, Status, better
from .threads import limit_threads
from .validation import Callback, SeedLike, as_scalar


class Incumbent:
    """Best solution seen so far, kept by iterative adapters so a Ctrl-C can still return it.

    An adapter calls ``opts.incumbent.offer(x, objective, **stats)`` whenever it has a feasible decision; it sets
    ``opts.incumbent.minimize = True`` first when its objective is a loss. ``x`` is copied, so the adapter may go on
    changing its own array. On Ctrl-C, `solve` returns the incumbent with ``limit=Limit.INTERRUPTED`` after
    checking it against the problem (``problem.is_feasible``) and recomputing its objective from ``x`` where the
    problem can (``problem.value_of``); an incumbent that fails the check is not returned.
    """

    __slots__ = ("x", "objective", "bound", "stats", "minimize")

    def __init__(self):
        self.x = None
        self.objective = None
        self.bound = None
        self.stats: dict = {}
        self.minimize = False  # set by an adapter (or its Run) whose objective is a loss

    def offer(self, x, objective: float, **stats) -> None:
        objective = float(objective)
        if better(objective, self.objective, self.minimize):
            self.x = np.array(x, copy=True)
            self.objective, self.stats = objective, dict(stats)


# keywords every method accepts: ``progress`` shows the run's steps where the method has steps to show, and
# ``callback(info)`` is called at each of them; a method that finishes too fast to report just finishes
ALWAYS_ACCEPTED = ("progress", "callback")

_INTERRUPTS = 0  # Ctrl-Cs seen by solve() in this process (read by solve_many and sweep through interrupt_count)


def interrupt_count() -> int:
    """How many Ctrl-Cs `solve` has seen in this process: a caller that compares the count before and after
    a call knows whether a solve inside it was interrupted (and returned its incumbent instead of finishing)."""
    return _INTERRUPTS


def _on_sigint(signum, frame):
    """SIGINT while a solve runs: count it, then behave like Python's own handler. The count survives backends
    that catch the KeyboardInterrupt themselves (HiGHS turns it into a 'solve error')."""
    global _INTERRUPTS
    _INTERRUPTS += 1
    raise KeyboardInterrupt


class _SwapSigint:
    """Install ``handler`` for SIGINT while the block runs, in the main thread, where the handler in place is one of
    ``replaces`` (a handler the user installed, or an ignored SIGINT, is left alone)."""

    def __init__(self, handler, replaces: tuple = (signal.default_int_handler,)):
        self._handler, self._replaces = handler, replaces

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGINT) in self._replaces:
                    self.previous = signal.signal(signal.SIGINT, self._handler)
            except (ValueError, OSError):  # pragma: no cover - no signals here (embedded interpreters)
                self.previous = None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _CountInterrupts() -> _SwapSigint:
    """Install `_on_sigint` for the duration of a solve, where Python's default handler is in place (the function
    itself, so `SigintAsFlag` knows it)."""
    return _SwapSigint(_on_sigint)


class SigintAsFlag(_SwapSigint):
    """While a backend runs in another thread and this one waits on it, a Ctrl-C only sets ``seen``; the wait loop
    then cancels the backend, and `raise_it` hands the Ctrl-C on afterwards, to the handler that was in place.

    For waits that a KeyboardInterrupt must not cut: highspy's ``wait`` could take one between its lock's acquire
    and release and leave the lock held, and the next solve on that model hung for ever (a restless-bandit oracle,
    about one Ctrl-C in three). Only a handler that raises KeyboardInterrupt (Python's own, `solve`'s counter, a
    guarded child's) is replaced."""

    def __init__(self):
        super().__init__(self._flag, (signal.default_int_handler, _on_sigint, guard.child_sigint))
        self.seen = False

    def _flag(self, signum, frame):
        self.seen = True

    def raise_it(self):
        self.previous(signal.SIGINT, None)  # raises KeyboardInterrupt (solve()'s handler counts it first)


def _interrupted_result(problem, inc: Incumbent) -> Result:
    """What a Ctrl-C returns: the incumbent, checked against the problem, or NO_SOLUTION saying why there is none."""
    return limited_result(problem, inc, Limit.INTERRUPTED, "interrupted")


def limited_result(problem, inc: Incumbent, limit: Limit, what: str) -> Result:
    """The incumbent as the answer of a solve stopped by ``limit`` (a Ctrl-C, or a time limit the backend missed;
    ``what`` says which, to start the message), checked against the problem, or NO_SOLUTION saying why there is
    none."""
    if inc.x is None:
        return Result(status=Status.NO_SOLUTION, limit=limit, bound=inc.bound, message=f"{what} before any solution was found")
    check = getattr(problem, "is_feasible", None)
    try:
        feasible = True if check is None else bool(check(inc.x))
    except (ValueError, TypeError, IndexError) as exc:
        feasible, why = False, f"{type(exc).__name__}: {exc}"
    else:
        why = "it does not fit the problem's constraints"
    if not feasible:
        return Result(
            status=Status.NO_SOLUTION,
            limit=limit,
            bound=inc.bound,
            message=f"{what}; the best decision kept so far was dropped: {why}",
        )
    value_of = getattr(problem, "value_of", None)
    objective = float(value_of(inc.x)) if value_of is not None else inc.objective
    return Result(
        status=Status.FEASIBLE,
        limit=limit,
        x=inc.x,
        objective=objective,
        bound=inc.bound,
        stats=dict(inc.stats),
        message=f"{what}; best solution so far",
    )


@dataclass(frozen=True)
class SolveOptions:
    """The standard options every adapter receives (backend-specific ones sit in ``options``)."""

    time_limit: float | None = None
    rel_gap: float | None = None
    seed: Any = None
    threads: int | None = None
    verbose: bool = False
    progress: bool = False
    callback: Any = None
    warm_start: Any = None
    options: dict = field(default_factory=dict)
    incumbent: Incumbent = field(default_factory=Incumbent)

    def get(self, key: str, default=None):
        return self.options.get(key, default)


def solve(
    problem: Any,
    method: str | None = None,
    *,
    backend: str | None = None,
    time_limit: float | None = None,
    rel_gap: float | None = None,
    seed: SeedLike = None,
    threads: int | None = None,
    verbose: bool = False,
    progress: bool = False,
    callback: Callback | None = None,
    warm_start: Any = None,
    options: dict | None = None,
) -> Result:
    """Solve ``problem`` with ``method`` (or the best installed one) and return a `Result`.

    Args:
        problem: any orbudget problem model (``MultipleChoiceKnapsack``, ``RolloutAllocation``, ...).
        method: a method name from ``available_solvers(problem)``; ``None`` picks the preferred one.
        backend: force a backend when a method has several.
        time_limit: seconds; on expiry the best solution so far is returned with ``limit=Limit.TIME``.
        rel_gap: relative optimality gap at which exact solvers may stop.
        seed: ``int | numpy.random.Generator | None``; same seed, same result.
        threads: the most threads any pool of the call may use: numba, torch and OpenBLAS are capped for the call
            and restored after, HiGHS and CP-SAT get it as their thread count (``1`` gives reproducible MIP runs).
            ``None``: `orbudget.core.threads.default_threads`, the cores this process may use
            (``os.sched_getaffinity``), never more.
        verbose: print the backend's log.
        progress: one progress display for the run (a widget in a notebook with ipywidgets, a text bar on a
            terminal, plain lines in a file); accepted by every method: a method too fast to report just finishes.
        callback: ``callback(info: dict)`` once per iteration of the methods that have iterations (those that
            declare it); returning ``True`` stops the solve early. Accepted by every method, like ``progress``.
        warm_start: a starting solution in the family's ``x`` format.
        options: backend-specific options, checked against the adapter's declared names.

    Each method declares which of ``time_limit``, ``rel_gap``, ``threads``, ``warm_start``, ``callback``,
    ``progress`` and ``seed`` it honours (``available_solvers(problem, details=True)`` lists them); a non-default
    value for one it does not honour raises `InvalidProblemError` naming the keyword and the method, except
    ``progress`` and ``callback``, which every method accepts (so that one setting serves long and short runs).

    Examples:
        >>> import orbudget as ob
        >>> p = ob.MultipleChoiceKnapsack(values=[[0, 3], [0, 2]], costs=[[0, 2], [0, 2]], budget=2)
        >>> r = ob.solve(p, method="dp")
        >>> r.status.value, r.objective, r.x.tolist()
        ('optimal', 3.0, [1, 0])
    """
    if time_limit is not None:
        time_limit = as_scalar("time_limit", time_limit, minimum=0.0, strict_minimum=True)
    if rel_gap is not None:
        rel_gap = as_scalar("rel_gap", rel_gap, minimum=0.0)
    if threads is not None:
        threads = as_scalar("threads", threads, integer=True, minimum=1)
    spec = pick(problem, method, backend)
    given = {
        "time_limit": time_limit,
        "rel_gap": rel_gap,
        "threads": threads,
        "warm_start": warm_start,
        "callback": callback,
        "progress": progress,
        "seed": seed,
    }
    honours = spec.accepted  # undeclared: not checked
    if callback is not None and not callable(callback):
        raise InvalidProblemError(f"`callback` must be callable, as callback(info); got {callback!r}")
    for key in STANDARD_KEYWORDS:
        value = given[key]
        if key in ALWAYS_ACCEPTED:  # a method too fast to report just finishes
            continue
        if value is not None and key not in honours:
            listed = ", ".join(f"`{k}`" for k in honours) or "none of the standard keywords"
            raise InvalidProblemError(
                f"`{key}` is not honoured by method {spec.method!r} ({spec.backend}); it honours {listed} "
                "(see ob.available_solvers(problem, details=True))"
            )
    options = dict(options or {})
    for old, new in (spec.renamed_options or {}).items():
        if old in options:
            warn_renamed(f"option {old!r} of method {spec.method!r}", repr(new))
            if new in options:
                raise InvalidProblemError(f"`options` gives both `{old}` and its new name `{new}`; keep `{new}`")
            options[new] = options.pop(old)
    unknown = sorted(set(options) - set(spec.options))
    if unknown and "*" not in spec.options:
        accepted = ", ".join(f"`{o}`" for o in spec.options) or "none"
        raise InvalidProblemError(
            f"`options` has unknown key `{unknown[0]}` for method {spec.method!r} ({spec.backend}); accepted: {accepted}"
        )
    opts = SolveOptions(
        time_limit=time_limit,
        rel_gap=rel_gap,
        seed=seed,
        threads=threads,
        verbose=verbose,
        progress=progress,
        callback=callback,
        warm_start=warm_start,
        options=options,
    )
    global _INTERRUPTS
    start = time.perf_counter()
    seen = _INTERRUPTS
    display = Display(spec.method) if progress else None
    result: Result | None = None
    # every thread pool the call may use is capped at `threads` (default: the cores this process may use), and
    # restored after (orbudget.core.threads); numba's first-use compiles are watched and reported
    watches = [watch(spec.method) for watch in COMPILE_WATCHES.values()]
    with (
        _CountInterrupts(),
        showing(display),
        limit_threads(threads, BACKENDS.get(spec.backend, ((), None))[0]),
        ExitStack() as compiling,
    ):
        for watch in watches:
            compiling.enter_context(watch)
        try:
            if spec.guarded and guard.available():  # a backend with phases that check no clock: in a child
                result = guard.run_guarded(spec.func, problem, opts, spec.method, spec.backend)
            else:
                result = spec.func(problem, opts)
        except KeyboardInterrupt:
            if _INTERRUPTS == seen:  # raised without SIGINT (another thread's handler, a callback): count it too
                _INTERRUPTS += 1
            result = _interrupted_result(problem, opts.incumbent)
        except SystemError:
            # a Ctrl-C that lands inside a numba function comes back as "returned a result with an exception set"
            if _INTERRUPTS == seen:
                raise
            result = _interrupted_result(problem, opts.incumbent)
        finally:
            if display is not None:
                display.close("stopped by an error" if result is None else result.message or result.status.value)
    assert result is not None  # every path above sets it or raises
    if result.limit is Limit.INTERRUPTED and _INTERRUPTS == seen:  # the backend handled the Ctrl-C itself
        _INTERRUPTS += 1
    if _INTERRUPTS != seen and result.limit is None and result.status in (Status.FEASIBLE, Status.NO_SOLUTION, Status.ERROR):
        # the backend swallowed the interrupt and stopped early (HiGHS reports a 'solve error'): say so, and keep
        # its solution only if it has one
        if result.ok:
            result = result.replace(limit=Limit.INTERRUPTED, status=Status.FEASIBLE)
        else:
            inc = _interrupted_result(problem, opts.incumbent)
            raw = f" (backend: {result.message})" if result.message else ""
            result = inc.replace(message=inc.message + raw)
    total = time.perf_counter() - start
    timings = dict(result.timings)
    timings["total"] = total
    compiled = sum(w.seconds for w in watches)
    if compiled > 0:
        timings["compile"] = compiled
    return result.replace(method=spec.method, backend=spec.backend, timings=timings)


def finite_or_none(v) -> float | None:
    """A backend's float, or ``None`` when it is missing or infinite."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None
