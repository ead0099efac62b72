"""``orbudget.solve``: validate options, pick an adapter, run it, time it, and keep the best on interrupt."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidProblemError
from .registry import pick
from .result import Limit, Result, Status
from .validation import as_scalar


class Incumbent:
    """Best solution seen so far, kept by iterative adapters so a Ctrl-C can still return it."""

    __slots__ = ("x", "objective", "bound", "stats")

    def __init__(self):
        self.x = None
        self.objective = None
        self.bound = None
        self.stats: dict = {}

    def offer(self, x, objective: float, **stats) -> None:
        if self.objective is None or objective > self.objective:
            self.x, self.objective, self.stats = x, objective, stats


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


def solve(problem, method: str | None = None, *, backend: str | None = None, time_limit: float | None = None,
          rel_gap: float | None = None, seed=None, threads: int | None = None, verbose: bool = False,
          progress: bool = False, callback=None, warm_start=None, options: dict | None = None) -> Result:
    """Solve ``problem`` with ``method`` (or the best installed one) and return a :class:`Result`.

    Args:
        problem: any orbudget problem model (``MultipleChoiceKnapsack``, ``RolloutAllocation``, ...).
        method: a method name from ``available_solvers(problem)``; ``None`` picks the preferred one.
        backend: force a backend when a method has several.
        time_limit: seconds; on expiry the best solution so far is returned with ``limit=Limit.TIME``.
        rel_gap: relative optimality gap at which exact solvers may stop.
        seed: ``int | numpy.random.Generator | None``; same seed, same result.
        threads: solver threads (``1`` gives reproducible MIP runs).
        verbose: print the backend's log.
        progress, callback: progress display, and ``callback(info: dict)`` where a method supports it.
        warm_start: a starting solution in the family's ``x`` format.
        options: backend-specific options, checked against the adapter's declared names.

    Example:
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
    options = dict(options or {})
    unknown = sorted(set(options) - set(spec.options))
    if unknown and "*" not in spec.options:
        accepted = ", ".join(f"`{o}`" for o in spec.options) or "none"
        raise InvalidProblemError(
            f"`options` has unknown key `{unknown[0]}` for method {spec.method!r} ({spec.backend}); accepted: {accepted}")
    opts = SolveOptions(time_limit=time_limit, rel_gap=rel_gap, seed=seed, threads=threads, verbose=verbose,
                        progress=progress, callback=callback, warm_start=warm_start, options=options)
    start = time.perf_counter()
    try:
        result = spec.func(problem, opts)
    except KeyboardInterrupt:
        inc = opts.incumbent
        if inc.x is None:
            result = Result(status=Status.NO_SOLUTION, limit=Limit.INTERRUPTED,
                            message="interrupted before any solution was found")
        else:
            result = Result(status=Status.FEASIBLE, limit=Limit.INTERRUPTED, x=inc.x, objective=inc.objective,
                            bound=inc.bound, stats=inc.stats, message="interrupted; best solution so far")
    total = time.perf_counter() - start
    timings = dict(result.timings)
    timings["total"] = total
    return result.replace(method=spec.method, backend=spec.backend, timings=timings)


def finite_or_none(v) -> float | None:
    """A backend's float, or ``None`` when it is missing or infinite."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None
