"""The one result type every solver returns (shape after scipy's OptimizeResult and OR-Tools MathOpt).

Why a solve stopped (``status`` and ``limit``) is kept apart from what it found (``x``, ``objective``)
and what it proved (``bound``, ``gap``). Reading ``x`` of a result without a solution raises.
"""

from __future__ import annotations

import dataclasses
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
_STOPPED_EARLY = (Status.FEASIBLE, Status.NO_SOLUTION)  # the statuses a `limit` may come with


def better(new: float, old: float | None, minimize: bool) -> bool:
    """Whether objective ``new`` improves on ``old`` (``None``: nothing yet), for a loss when ``minimize``."""
    return old is None or (new < old if minimize else new > old)


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``|bound - objective| / max(|objective|, 1e-9)``, or ``None`` when either is missing."""
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    return abs(bound - objective) / max(abs(objective), 1e-9)


class _Solution:
    """The ``x`` field of `Result`: stored on creation, read back only when the result has a solution (reading it
    otherwise raises `NoSolutionError` with the status and message). A data descriptor, so the frozen dataclass's
    ``__init__`` stores through it and ``result.x = ...`` is refused like any other field."""

    def __set_name__(self, owner, name):
        self.slot = "_" + name

    def __get__(self, obj, owner=None):
        if obj is None:
            return None  # the field's default
        x = obj.__dict__[self.slot]
        if obj.status not in _HAS_SOLUTION or x is None:
            raise NoSolutionError(f"no solution: status {obj.status.value}. {obj.message}".strip())
        return x

    def __set__(self, obj, value):
        obj.__dict__[self.slot] = value


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class Result:
    """Outcome of `orbudget.solve`. Immutable (a frozen, keyword-only dataclass; ``replace`` makes a changed copy).

    Attributes:
        status: a `Status`.
        limit: the `Limit` that stopped the solve early, or ``None``. Only a FEASIBLE or NO_SOLUTION result has
            one (checked on creation).
        objective: objective value of ``x`` (computed by orbudget from ``x``, not trusted from the backend).
        x: the decision (per-family meaning: see the family's docs). Raises `NoSolutionError` if none.
        bound: a proven bound on the optimum (upper for maximisation), when the method gives one.
        gap: relative gap between ``objective`` and ``bound`` (computed from them when not given).
        duals: method-specific extra: dual prices.
        history: method-specific extra: per-iteration traces.
        stats: counters (``cost``, ``iterations``, ``nodes``, ``regret``, ...).
        timings: seconds (``total`` always; ``solve``, ``build``, ... when known).
        method: which adapter produced the result: its method name.
        backend: which adapter produced the result: its backend.
        message: a human-readable explanation, carrying the backend's raw status.
    """

    status: Status
    limit: Limit | None = None
    objective: float | None = None
    x: Any = _Solution()
    bound: float | None = None
    gap: float | None = None
    duals: Any = None
    history: Any = None
    stats: dict = dataclasses.field(default_factory=dict)
    timings: dict = dataclasses.field(default_factory=dict)
    method: str | None = None
    backend: str | None = None
    message: str = ""

    def __post_init__(self):
        status = Status(self.status)
        limit = None if self.limit is None else Limit(self.limit)
        if limit is not None and status not in _STOPPED_EARLY:
            raise ValueError(
                f"a Result with limit {limit.value!r} must be FEASIBLE or NO_SOLUTION (stopped early); "
                f"got status {status.value!r}"
            )
        put = object.__setattr__
        put(self, "status", status)
        put(self, "limit", limit)
        if self.gap is None:
            put(self, "gap", relative_gap(self.objective, self.bound))
        put(self, "stats", dict(self.stats or {}))
        put(self, "timings", dict(self.timings or {}))

    @property
    def _stored_x(self) -> Any:
        """``x`` as stored, also when there is no solution (the field's descriptor keeps it in ``__dict__``)."""
        return self.__dict__["_x"]

    def _values(self) -> dict:
        """Every field by name, ``x`` as stored (also when there is no solution)."""
        return {f: (self._stored_x if f == "x" else getattr(self, f)) for f in _FIELDS}

    @property
    def ok(self) -> bool:
        """True when the result carries a solution (optimal or feasible)."""
        return self.status in _HAS_SOLUTION and self._stored_x is not None

    def raise_for_status(self) -> Result:
        """Return ``self`` if it holds a solution; raise otherwise (SolverError for ERROR)."""
        if self.status is Status.ERROR:
            raise SolverError(self.message)
        if not self.ok:
            raise NoSolutionError(f"status {self.status.value}: {self.message}")
        return self

    def replace(self, **changes) -> Result:
        values = self._values()
        if "objective" in changes or "bound" in changes:
            values["gap"] = None
        values.update(changes)
        return Result(**values)

    def to_dict(self) -> dict:
        d = self._values()
        d["status"] = self.status.value
        d["limit"] = None if self.limit is None else self.limit.value
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

        mine, theirs = self._values(), other._values()
        return all(values_equal(mine[f], theirs[f]) for f in _FIELDS)

    __hash__ = None  # type: ignore[assignment]  # equal results compare by value: not hashable

    def summary(self) -> str:
        """A short table: status and limit, objective, bound and gap, method, timings, the scalar stats and the
        message (what the CLI prints and a notebook shows).

        The table is a `~orbudget.core.display.Summary`: a ``str`` (``print(r.summary())``, ``.splitlines()``)
        that shows as a table when it is a notebook cell's value (HTML) or the REPL's (text), not as a quoted
        string."""
        from .display import Summary, summary_html, summary_text

        return Summary(summary_text(self), summary_html(self))

    def _repr_html_(self) -> str:
        from .display import summary_html

        return summary_html(self)

    def __repr__(self) -> str:
        parts = [f"status={self.status.value}"]
        if self.limit is not None:
            parts.append(f"limit={self.limit.value}")
        for f in ("objective", "bound", "gap"):
            v = getattr(self, f)
            if v is not None:
                parts.append(f"{f}={v:.6g}" if isinstance(v, (float, int, np.floating)) else f"{f}={v}")
        parts.append(f"method={self.method!r}")
        if self.backend:
            parts.append(f"backend={self.backend!r}")
        return "Result(" + ", ".join(parts) + ")"


_FIELDS = tuple(f.name for f in dataclasses.fields(Result))
