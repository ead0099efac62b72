"""The constraint families with no graph: a plain budget, multiple interventions, and worker capacities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.validation import as_array, as_scalar
from .constraint import Constraint, _random_subset

if TYPE_CHECKING:
    pass


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class RMABBudget(Constraint):
    """Act on at most ``budget`` arms: Σ_j x_j ≤ B (the classic restless bandit)."""

    budget: int
    n_arms: int

    def __post_init__(self):
        object.__setattr__(self, "budget", int(as_scalar("constraint.budget", self.budget, integer=True, minimum=0)))
        object.__setattr__(self, "n_arms", int(as_scalar("constraint.n_arms", self.n_arms, integer=True, minimum=1)))

    @property
    def max_selected(self) -> int:
        return min(self.budget, self.n_arms)

    def _validate(self, n_arms, n_levels):
        if self.n_arms != n_arms:
            raise InvalidProblemError(f"`constraint.n_arms` must equal the number of arms ({n_arms}); got {self.n_arms}")

    def check(self, x):
        x = self._binary(x)
        if isinstance(x, str):
            return x
        if x.size != self.n_arms:
            return f"the decision has {x.size} entries for {self.n_arms} arms"
        if x.sum() > self.budget:
            return f"acts on {int(x.sum())} arms; the budget is {self.budget}"
        return None

    def sample(self, rng):
        return _random_subset(rng, self.n_arms, self.budget)


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class MultipleInterventions(Constraint):
    """Choose at most ``budget`` of N interventions; ``hits`` (J, N) 0/1 says which arms each acts on. Arm j's level
    is the number of chosen interventions that hit it, m_j = Σ_i hits[j, i]·a_i (so P_j has one slice per count)."""

    multi_level: ClassVar[bool] = True

    hits: np.ndarray
    budget: int
    decision = "intervention"

    def __post_init__(self):
        hits = as_array("constraint.hits", self.hits, ndim=2, dtype=int, low=0, high=1)
        object.__setattr__(self, "hits", hits)
        object.__setattr__(self, "budget", int(as_scalar("constraint.budget", self.budget, integer=True, minimum=0)))

    def n_decisions(self, n_arms):
        return self.hits.shape[1]

    def levels(self, x):
        return np.asarray(x, dtype=np.int64) @ self.hits.T

    @property
    def max_selected(self):
        return min(self.budget, self.hits.shape[1])

    def level_budget(self):
        # Σ_j m_j = Σ_i deg_i a_i ≤ (sum of the B largest intervention degrees)
        deg = np.sort(self.hits.sum(axis=0))[::-1]
        return int(deg[: self.max_selected].sum())

    def _validate(self, n_arms, n_levels):
        if self.hits.shape[0] != n_arms:
            raise InvalidProblemError(f"`constraint.hits` must have one row per arm ({n_arms}); got {self.hits.shape[0]}")
        if self.hits.sum(axis=1).max(initial=0) >= n_levels:
            raise InvalidProblemError(
                f"`transitions` has {n_levels} action levels but an arm is hit by up to "
                f"{int(self.hits.sum(axis=1).max())} interventions"
            )

    def check(self, x):
        x = self._binary(x)
        if isinstance(x, str):
            return x
        if x.size != self.hits.shape[1]:
            return f"the decision has {x.size} entries for {self.hits.shape[1]} interventions"
        if x.sum() > self.budget:
            return f"uses {int(x.sum())} interventions; the budget is {self.budget}"
        return None

    def sample(self, rng):
        return _random_subset(rng, self.hits.shape[1], self.budget)


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class RMABCapacity(Constraint):
    """Workers with integer ``capacities`` (W,); arm j costs ``costs[j]``; the pulled arms must be split among the
    workers with every load within capacity (a multiple-knapsack / bin-packing feasibility condition)."""

    costs: np.ndarray
    capacities: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "costs", as_array("constraint.costs", self.costs, ndim=1, dtype=int, low=1))
        object.__setattr__(self, "capacities", as_array("constraint.capacities", self.capacities, ndim=1, dtype=int, low=0))

    @property
    def max_selected(self):
        c = np.sort(self.costs)
        return int(np.searchsorted(np.cumsum(c), int(self.capacities.sum()), side="right"))

    def level_budget(self):
        return int(self.capacities.sum())  # Σ_j c_j x_j ≤ Σ_w b_w: tighter than counting arms

    def level_weights(self, n_arms):
        return self.costs.astype(float)

    def _validate(self, n_arms, n_levels):
        if self.costs.size != n_arms:
            raise InvalidProblemError(f"`constraint.costs` must have one entry per arm ({n_arms}); got {self.costs.size}")

    def check(self, x):
        x = self._binary(x)
        if isinstance(x, str):
            return x
        if x.size != self.costs.size:
            return f"the decision has {x.size} entries for {self.costs.size} arms"
        items = sorted((int(c) for c in self.costs[x == 1]), reverse=True)
        if pack(items, [int(b) for b in self.capacities]) is None:
            return f"arms of costs {items} do not fit workers of capacities {self.capacities.tolist()}"
        return None

    def sample(self, rng):
        """Arms in random order, each placed first-fit into workers taken in random order."""
        left = self.capacities.astype(np.int64).copy()
        order = rng.permutation(left.size)
        x = np.zeros(self.costs.size, dtype=np.int64)
        for j in rng.permutation(self.costs.size):
            for w in order:
                if left[w] >= self.costs[j]:
                    left[w] -= self.costs[j]
                    x[j] = 1
                    break
        return x


def pack(items: list[int], capacities: list[int]) -> list[int] | None:
    """Exact bin-packing feasibility by depth-first search: the worker of each item (items sorted by decreasing
    size work best), or ``None``. Bins with equal remaining capacity are tried once (symmetry)."""
    left = list(capacities)
    where = [0] * len(items)
    suffix = np.concatenate([np.cumsum(items[::-1])[::-1], [0]]).tolist() if items else [0]
    failed = set()

    def place(i):
        if i == len(items):
            return True
        if sum(c for c in left if c >= items[-1]) < suffix[i]:
            return False
        key = (i, tuple(sorted(left)))
        if key in failed:
            return False
        tried = set()
        for w, cap in enumerate(left):
            if cap >= items[i] and cap not in tried:
                tried.add(cap)
                left[w] -= items[i]
                where[i] = w
                if place(i + 1):
                    return True
                left[w] += items[i]
        failed.add(key)
        return False

    return where if place(0) else None
