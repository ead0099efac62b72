"""The multiple-choice knapsack: one option per group, total cost within (or exactly at) a budget.

.. math::

    \\max_{x} \\sum_{i=1}^{N} v_{i,x_i} \\quad\\text{s.t.}\\quad \\sum_{i=1}^{N} c_{i,x_i} \\le B
    \\;(= B \\text{ when exact}),\\qquad x_i \\in \\{k : \\text{available}_{ik}\\}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import InvalidProblemError
from ..core.io import register_kind
from ..core.validation import as_array, as_bool, as_generator, as_scalar, is_integral
from .base import Problem

FLOAT_BUDGET_TOL = 1e-9  # relative tolerance on budgets when costs are not whole numbers


@register_kind
@dataclass(frozen=True, kw_only=True, eq=False)
class MultipleChoiceKnapsack(Problem):
    """Choose one option per group to maximise total value under a budget.

    Args:
        values: (N, K) value of option k in group i.
        costs: (N, K) non-negative cost of option k in group i (whole numbers for ``dp`` and ``cpsat``).
        budget: the budget B >= 0.
        available: optional (N, K) boolean mask of options that may be chosen (each group needs one).
        exact: if True the total cost must equal the budget.

    Methods: ``dp`` (numba), ``mip`` (HiGHS), ``cpsat`` (OR-Tools), ``lp`` (LP relaxation, gives ``bound``),
    ``greedy`` (convex-hull greedy; integer-feasible, with the LP bound).

    Example:
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
        costs = as_array("costs", self.costs, shape=values.shape, nonnegative=True)
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
        if is_integral(costs):
            costs = as_array("costs", costs, dtype=int)
            if budget == int(budget):
                budget = int(budget)
        self._set("values", values)
        self._set("costs", costs)
        self._set("budget", budget)
        self._set("available", available)
        self._set("exact", as_bool("exact", self.exact))

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
        return self.costs.dtype.kind == "i" and isinstance(self.budget, int)

    def check_choice(self, x) -> np.ndarray:
        """Validate a choice vector (one option index per group) and return it as int64."""
        x = np.asarray(x)
        if x.shape != (self.n_groups,):
            raise InvalidProblemError(f"`x` must have shape ({self.n_groups},); got {x.shape}")
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

    def cost_of(self, x):
        """Total cost of ``x``: an exact int for whole-number costs, else a float."""
        x = self.check_choice(x)
        c = self.costs[np.arange(self.n_groups), x]
        return int(c.sum()) if c.dtype.kind == "i" else float(c.sum())

    def is_feasible(self, x) -> bool:
        """Budget check in integer arithmetic for whole-number costs, to 1e-9 relative otherwise."""
        cost = self.cost_of(x)
        if self.integer_costs:
            return cost == self.budget if self.exact else cost <= self.budget
        tol = FLOAT_BUDGET_TOL * max(1.0, abs(self.budget))
        return abs(cost - self.budget) <= tol if self.exact else cost <= self.budget + tol

    def cheapest_cost(self):
        c = np.where(self.mask, self.costs, np.inf).min(axis=1)
        return int(c.sum()) if self.costs.dtype.kind == "i" else float(c.sum())

    def dearest_cost(self):
        c = np.where(self.mask, self.costs, -np.inf).max(axis=1)
        return int(c.sum()) if self.costs.dtype.kind == "i" else float(c.sum())

    def infeasibility_reason(self) -> str | None:
        """A message when the budget rules out every choice by bounds alone (the solvers decide the rest)."""
        tol = 0 if self.integer_costs else FLOAT_BUDGET_TOL * max(1.0, abs(self.budget))
        lo = self.cheapest_cost()
        if lo > self.budget + tol:
            return f"budget {self.budget} is below the cheapest choice, {lo}"
        if self.exact:
            hi = self.dearest_cost()
            if hi < self.budget - tol:
                return f"budget {self.budget} is above the most expensive choice, {hi}, and the budget is exact"
        return None

    # -- generators ----------------------------------------------------------------------------------
    @classmethod
    def random(cls, n_groups: int, n_options: int, *, max_cost: int = 20, budget_fraction: float = 0.5,
               correlated: bool = True, exact: bool = False, seed=None) -> MultipleChoiceKnapsack:
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
