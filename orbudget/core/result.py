"""The one result type every solver returns (shape after scipy's OptimizeResult and OR-Tools MathOpt).

Why a solve stopped (``status`` and ``limit``) is kept apart from what it found (``x``, ``objective``)
and what it proved (``bound``, ``gap``). Reading ``x`` of a result without a solution raises.
"""

from __future__ import annotations

import enum
import math
from typing import Any

import numpy as np

from .errors import NoSolutionError, SolverError


class Status(str, enum.Enum):
    """Why the solver stopped, as far as the solution goes."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no_solution"
    ERROR = "error"


class Limit(str, enum.Enum):
    """Which limit cut the solve short (``None`` on a result when none did)."""

    TIME = "time"
    ITERATION = "iteration"
    NODE = "node"
    GAP = "gap"
    INTERRUPTED = "interrupted"


_HAS_SOLUTION = (Status.OPTIMAL, Status.FEASIBLE)
_FIELDS = (
    "status", "limit", "objective", "x", "bound", "gap", "duals", "history",
    "stats", "timings", "method", "backend", "message",
)


def better(new: float, old: float | None, minimize: bool) -> bool:
    """Whether objective ``new`` improves on ``old`` (``None``: nothing yet), for a loss when ``minimize``."""
    return old is None or (new < old if minimize else new > old)


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``|bound - objective| / max(|objective|, 1e-9)``, or ``None`` when either is missing."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    return abs(bound - objective) / max(abs(objective), 1e-9)


class Result:
    """Outcome of `orbudget.solve`. Immutable.

    Attributes:
        status: a `Status`.
        limit: the `Limit` that stopped the solve early, or ``None``.
        objective: objective value of ``x`` (computed by orbudget from ``x``, not trusted from the backend).
        x: the decision (per-family meaning: see the family's docs). Raises `NoSolutionError` if none.
        bound: a proven bound on the optimum (upper for maximisation), when the method gives one.
        gap: relative gap between ``objective`` and ``bound``.
        duals, history: method-specific extras (dual prices, per-iteration traces).
        stats: counters (``cost``, ``iterations``, ``nodes``, ``regret``, ...).
        timings: seconds (``total`` always; ``solve``, ``build``, ... when known).
        method, backend: which adapter produced the result.
        message: a human-readable explanation, carrying the backend's raw status.
    """

    __slots__ = tuple("_" + f for f in _FIELDS)

    def __init__(self, *, status: Status, limit: Limit | None = None, objective: float | None = None,
                 x: Any = None, bound: float | None = None, gap: float | None = None, duals: Any = None,
                 history: Any = None, stats: dict | None = None, timings: dict | None = None,
                 method: str | None = None, backend: str | None = None, message: str = ""):
        status = Status(status)
        limit = None if limit is None else Limit(limit)
        if gap is None:
            gap = relative_gap(objective, bound)
        values = dict(status=status, limit=limit, objective=objective, x=x, bound=bound, gap=gap,
                      duals=duals, history=history, stats=dict(stats or {}), timings=dict(timings or {}),
                      method=method, backend=backend, message=message)
        for k, v in values.items():
            object.__setattr__(self, "_" + k, v)

    def __setattr__(self, name, value):
        raise AttributeError("Result is immutable; use result.replace(...)")

    def __reduce__(self):
        """Pickle by keyword arguments (results travel between processes in ``solve_many`` and sweeps)."""
        return (_rebuild_result, ({f: getattr(self, "_" + f) for f in _FIELDS},))

    status = property(lambda self: self._status)
    limit = property(lambda self: self._limit)
    objective = property(lambda self: self._objective)
    bound = property(lambda self: self._bound)
    gap = property(lambda self: self._gap)
    duals = property(lambda self: self._duals)
    history = property(lambda self: self._history)
    stats = property(lambda self: self._stats)
    timings = property(lambda self: self._timings)
    method = property(lambda self: self._method)
    backend = property(lambda self: self._backend)
    message = property(lambda self: self._message)

    @property
    def x(self):
        if self._status not in _HAS_SOLUTION or self._x is None:
            raise NoSolutionError(f"no solution: status {self._status.value}. {self._message}".strip())
        return self._x

    @property
    def ok(self) -> bool:
        """True when the result carries a solution (optimal or feasible)."""
        return self._status in _HAS_SOLUTION and self._x is not None

    def raise_for_status(self) -> Result:
        """Return ``self`` if it holds a solution; raise otherwise (SolverError for ERROR)."""
        if self._status is Status.ERROR:
            raise SolverError(self._message)
        if not self.ok:
            raise NoSolutionError(f"status {self._status.value}: {self._message}")
        return self

    def replace(self, **changes) -> Result:
        values = {f: getattr(self, "_" + f) for f in _FIELDS}
        if "objective" in changes or "bound" in changes:
            values["gap"] = None
        values.update(changes)
        return Result(**values)

    def to_dict(self) -> dict:
        d = {f: getattr(self, "_" + f) for f in _FIELDS}
        d["status"] = self._status.value
        d["limit"] = None if self._limit is None else self._limit.value
        d["kind"] = "Result"
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Result:
        from .io import check_fields

        check_fields(cls, d)  # an unknown key is refused by name, not dropped
        return cls(**{k: v for k, v in d.items() if k in _FIELDS})

    def __eq__(self, other):
        if not isinstance(other, Result):
            return NotImplemented
        from .io import values_equal

        return all(values_equal(getattr(self, "_" + f), getattr(other, "_" + f)) for f in _FIELDS)

    __hash__ = None

    def summary(self) -> str:
        """A short table: status and limit, objective, bound and gap, method, timings, the scalar stats and the
        message (what the CLI prints and a notebook shows)."""
        from .display import summary_text

        return summary_text(self)

    def _repr_html_(self) -> str:
        from .display import summary_html

        return summary_html(self)

    def __repr__(self) -> str:
        parts = [f"status={self._status.value}"]
        if self._limit is not None:
            parts.append(f"limit={self._limit.value}")
        for f in ("objective", "bound", "gap"):
            v = getattr(self, "_" + f)
            if v is not None:
                parts.append(f"{f}={v:.6g}" if isinstance(v, (float, int, np.floating)) else f"{f}={v}")
        parts.append(f"method={self._method!r}")
        if self._backend:
            parts.append(f"backend={self._backend!r}")
        return "Result(" + ", ".join(parts) + ")"


def _rebuild_result(values: dict) -> Result:
    return Result(**values)
