"""The multiple-choice knapsack: one option per group, total cost within (or exactly at) a budget.

$$
\\max_{x} \\sum_{i=1}^{N} v_{i,x_i} \\quad\\text{s.t.}\\quad \\sum_{i=1}^{N} c_{i,x_i} \\le B
\\;(= B \\text{ when exact}),\\qquad x_i \\in \\{k : \\text{available}_{ik}\\}.
$$

"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ..core.budget import (
    INT64_MAX,
    IntegerForm,
    cost_array,
    exact_number,
    exact_total,
    float_at_most,
    integer_form,
    spend_window,
)
from ..core.errors import InvalidProblemError
from ..core.io import register_kind
from ..core.validation import TABLE_MEMORY_LIMIT, as_array, as_bool, as_generator, as_scalar, is_integral, memory_limit
from .base import Problem


def check_table_size(field: str, nbytes: int, what: str, hint: str = "") -> None:
    """Refuse (InvalidProblemError naming ``field``) a table of ``nbytes`` larger than ``TABLE_MEMORY_LIMIT`` or
    half the available memory, before anything is allocated: a clear message instead of a MemoryError."""
    limit = memory_limit()
    if nbytes > limit:
        raise InvalidProblemError(
            f"`{field}` is too large: {what} would need {_size(nbytes)}, more than the {_size(limit)} allowed "
            f"(min of {_size(TABLE_MEMORY_LIMIT)} and half the available memory){'; ' + hint if hint else ''}"
        )


def _size(nbytes) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{int(nbytes)} bytes"


def exact_integer(name: str, value, *, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """A whole number kept exact (an ``int`` input is never routed through a float), within [minimum, maximum]."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        v = int(value)
    else:
        v = as_scalar(name, value, integer=True)
    if v < minimum:
        raise InvalidProblemError(f"`{name}` must be >= {minimum}; got {value}")
    if v > maximum:
        raise InvalidProblemError(f"`{name}` must be at most {maximum} (2^63 - 1, the int64 limit); got {value}")
    return v


@register_kind
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class MultipleChoiceKnapsack(Problem):
    """Choose one option per group to maximise total value under a budget.

    Args:
        values: (N, K) value of option k in group i.
        costs: (N, K) non-negative cost of option k in group i (whole numbers for ``dp`` and ``cpsat``).
        budget: the budget B >= 0.
        available: optional (N, K) boolean mask of options that may be chosen (each group needs one).
        exact: if True the total cost must equal the budget.

    Methods: ``core`` (numba core search, exact; the default for whole-number costs), ``dp`` (numba), ``mip``
    (HiGHS), ``cpsat`` (OR-Tools), ``lp`` (LP relaxation, gives ``bound``),
    ``greedy`` (convex-hull greedy; integer-feasible, with the LP bound).

    Examples:
        >>> import orbudget as ob
        >>> p = ob.MultipleChoiceKnapsack(values=[[1, 4], [2, 3]], costs=[[1, 3], [1, 2]], budget=4)
        >>> ob.solve(p).objective
        6.0
    """

    values: np.ndarray
    costs: np.ndarray
    budget: float
    available: np.ndarray | None = None
    exact: bool = False

    def __post_init__(self):
        values = as_array("values", self.values, ndim=2)
        with np.errstate(over="ignore"):
            reach = float(np.abs(values).max(axis=1).sum()) if values.size else 0.0
        if not np.isfinite(reach):  # every total must stay a float: no objective of inf
            raise InvalidProblemError(
                "`values` are too large: a total over the groups can exceed the largest float (about 1.8e308); rescale them"
            )
        costs = cost_array("costs", self.costs, shape=values.shape)
        if isinstance(self.budget, (numbers.Integral, np.integer)) and not isinstance(self.budget, (bool, np.bool_)):
            budget = exact_integer("budget", self.budget, minimum=0.0, maximum=math.inf)  # kept exact, never via a float
        else:
            budget = as_scalar("budget", self.budget, minimum=0.0)
        available = self.available
        if available is not None:
            raw = np.asarray(available)
            if raw.dtype != bool:
                raise InvalidProblemError(f"`available` must be a boolean array; got dtype {raw.dtype}")
            available = as_array("available", raw, shape=values.shape, dtype=bool, finite=False)
            empty = np.flatnonzero(~available.any(axis=1))
            if empty.size:
                raise InvalidProblemError(f"`available` must allow at least one option per group; group {empty[0]} has none")
        whole = is_integral(costs)  # whole numbers below 2^63 are int64 (cost_array); larger ones stay float64
        if whole and budget == int(budget):
            budget = int(budget)
        self._set("values", values)
        self._set("costs", costs)
        self._set("budget", budget)
        self._set("available", available)
        self._set("exact", as_bool("exact", self.exact))
        self._set("_whole_costs", bool(whole))

    # -- shape and helpers -------------------------------------------------------------------------
    @property
    def n_groups(self) -> int:
        return self.values.shape[0]

    @property
    def n_options(self) -> int:
        return self.values.shape[1]

    @property
    def mask(self) -> np.ndarray:
        """Boolean (N, K) mask of selectable options (all True when ``available`` is None)."""
        return np.ones(self.values.shape, bool) if self.available is None else self.available

    @property
    def integer_costs(self) -> bool:
        """Whole-number costs stored as int64 (every cost below 2^63) and a whole-number budget."""
        return self.costs.dtype.kind == "i" and isinstance(self.budget, int)

    @property
    def whole_number_costs(self) -> bool:
        """Whole-number costs (int64, or floats of 2^63 and more) and budget: feasibility is decided exactly in
        integers, with no tolerance."""
        return self._whole_costs and isinstance(self.budget, int)

    def spend_window(self):
        """``(low, high)``, exact numbers: ``x`` is feasible iff ``low <= cost(x) <= high`` (``low`` is None unless the
        budget is exact): the one rule of `orbudget.core.budget.spend_window` (in integers for whole numbers, else a
        slack of ``1e-9·B`` relative to the budget)."""
        return spend_window(self.budget, whole=self.whole_number_costs, exact=self.exact)

    def integer_form(self, scale=None, *, divide: bool = True) -> IntegerForm:
        """The whole-number form the exact engines consume (`orbudget.core.budget.integer_form`): int64 costs divided by
        their gcd, the budget lowered to the dearest usable total, the usable mask. Real costs need ``scale``."""
        return integer_form(self.costs, self.mask, self.budget, exact=self.exact, scale=scale, divide=divide)

    def check_choice(self, x) -> np.ndarray:
        """Validate a choice vector (one option index per group) and return it as int64."""
        x = np.asarray(x)
        if x.shape != (self.n_groups,):
            raise InvalidProblemError(f"`x` must have shape ({self.n_groups},); got {x.shape}")
        if x.dtype.kind not in "iub":
            if x.dtype.kind != "f" or not np.isfinite(x).all() or not is_integral(x):
                raise InvalidProblemError("`x` must hold whole-number option indices")
            if x.size and np.abs(x).max() >= self.n_options:
                raise InvalidProblemError(f"`x` must hold option indices in [0, {self.n_options}); got {x.min()}..{x.max()}")
        x = x.astype(np.int64)
        if ((x < 0) | (x >= self.n_options)).any():
            raise InvalidProblemError(f"`x` must hold option indices in [0, {self.n_options}); got {x.min()}..{x.max()}")
        if not self.mask[np.arange(self.n_groups), x].all():
            i = int(np.flatnonzero(~self.mask[np.arange(self.n_groups), x])[0])
            raise InvalidProblemError(f"`x` picks option {x[i]} of group {i}, which is not available")
        return x

    def value_of(self, x) -> float:
        x = self.check_choice(x)
        return float(self.values[np.arange(self.n_groups), x].sum())

    def exact_cost(self, x):
        """Exact total cost of ``x``: an int for whole-number costs, else a Fraction (never overflows or rounds)."""
        x = self.check_choice(x)
        return exact_total(self.costs[np.arange(self.n_groups), x])

    def cost_of(self, x):
        """Total cost of ``x``: an exact int for whole-number costs, else the float nearest the exact sum."""
        total = self.exact_cost(x)
        return total if isinstance(total, int) else float(total)

    def is_feasible(self, x) -> bool:
        """Budget check on the exact sum of the chosen costs: in integers, with no tolerance, for whole-number costs
        and budget; otherwise within ``1e-9·B`` of the budget (relative, so tiny budgets get tiny slack)."""
        low, high = self.spend_window()
        cost = self.exact_cost(x)
        return cost <= high and (low is None or cost >= low)

    def affordable(self) -> np.ndarray:
        """``mask`` without the options whose cost alone exceeds the budget (no feasible choice can use them)."""
        _, high = self.spend_window()
        if self.costs.dtype.kind == "i":
            fits = self.costs <= min(math.floor(high), INT64_MAX)
        else:
            fits = self.costs <= float_at_most(high)
        return self.mask & fits

    def capped_budget(self):
        """The budget, exactly, lowered (when it is not exact) to the dearest total of affordable options: an
        equivalent budget that is never astronomically large."""
        b = exact_number(self.budget)
        if self.exact:
            return b
        return min(b, exact_total(np.where(self.affordable(), self.costs, 0).max(axis=1)))

    def exact_costs(self):
        """``(C, den)``: ``C`` an (N, K) nested list of Python ints with ``costs == C / den`` exactly."""
        if self.costs.dtype.kind == "i":
            return self.costs.tolist(), 1
        ratios = [[float(v).as_integer_ratio() for v in row] for row in self.costs.tolist()]
        den = max(q for row in ratios for _, q in row)
        return [[p * (den // q) for p, q in row] for row in ratios], den

    def _group_extreme(self, pick):
        if self.costs.dtype.kind == "i":
            fill = INT64_MAX if pick == "min" else 0
            c = np.where(self.mask, self.costs, fill)
        else:
            c = np.where(self.mask, self.costs, np.inf if pick == "min" else -np.inf)
        return exact_total(c.min(axis=1) if pick == "min" else c.max(axis=1))

    def cheapest_cost(self):
        c = self._group_extreme("min")
        return c if isinstance(c, int) else float(c)

    def dearest_cost(self):
        c = self._group_extreme("max")
        return c if isinstance(c, int) else float(c)

    def infeasibility_reason(self) -> str | None:
        """A message when the budget rules out every choice by bounds alone (the solvers decide the rest)."""
        low, high = self.spend_window()
        lo = self._group_extreme("min")
        if lo > high:
            return f"budget {self.budget} is below the cheapest choice, {self.cheapest_cost()}"
        if self.exact:
            hi = self._group_extreme("max")
            if hi < low:
                return f"budget {self.budget} is above the most expensive choice, {self.dearest_cost()}, and the budget is exact"
        return None

    # -- generators ----------------------------------------------------------------------------------
    @classmethod
    def random(
        cls,
        n_groups: int,
        n_options: int,
        *,
        max_cost: int = 20,
        budget_fraction: float = 0.5,
        correlated: bool = True,
        exact: bool = False,
        seed=None,
    ) -> MultipleChoiceKnapsack:
        """Random instance with whole-number costs in [0, max_cost].

        Budget = ``budget_fraction`` of the way from the cheapest to the dearest total. With ``correlated``
        values grow with cost plus noise (the harder case for greedy methods).
        """
        n_groups = as_scalar("n_groups", n_groups, integer=True, minimum=1)
        n_options = as_scalar("n_options", n_options, integer=True, minimum=1)
        max_cost = as_scalar("max_cost", max_cost, integer=True, minimum=0)
        budget_fraction = as_scalar("budget_fraction", budget_fraction, minimum=0.0, maximum=1.0)
        rng = as_generator(seed)
        costs = rng.integers(0, max_cost + 1, size=(n_groups, n_options))
        if correlated:
            values = costs + rng.uniform(0, max(1, max_cost) / 2, size=costs.shape)
        else:
            values = rng.uniform(0, max(1, max_cost), size=costs.shape)
        lo, hi = costs.min(axis=1).sum(), costs.max(axis=1).sum()
        budget = int(lo + budget_fraction * (hi - lo))
        return cls(values=np.round(values, 6), costs=costs, budget=budget, exact=exact)
