"""The constraint set C of a coupled restless bandit: the base class every family implements, and the memory
check the models share."""

from __future__ import annotations

import abc
import dataclasses
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ...core.display import model_repr
from ...core.errors import InvalidProblemError
from ...core.io import values_equal
from ...core.validation import memory_limit

if TYPE_CHECKING:
    pass


ENUMERATION_LIMIT = 200_000  # feasible actions enumerated at most (beyond: the MIP)


def _gib(nbytes: int) -> str:
    return f"{nbytes / 2**30:.3g} GiB"


def require_memory(field: str, nbytes: int, what: str) -> None:
    """Raise InvalidProblemError naming ``field`` when ``what`` would need more than `memory_limit` bytes:
    sizes are computed before anything is allocated, so a huge horizon or state space is a clear error, never a
    MemoryError halfway through."""
    limit = memory_limit()
    if nbytes > limit:
        raise InvalidProblemError(
            f"`{field}` is too large: {what} needs {_gib(nbytes)} of memory, more than the "
            f"{_gib(limit)} allowed (min of 8 GiB and half the available memory)"
        )


# -- constraint families ---------------------------------------------------------------------------------------
class Constraint(abc.ABC):
    """A combinatorial action set C over binary decisions ``x`` (length `n_decisions`)."""

    multi_level: ClassVar[bool] = False  # an arm's action level can exceed 1 (several interventions on one arm)

    decision = "arm"  # what one decision bit selects

    def __repr__(self) -> str:
        return model_repr(self)  # sizes and scalars, not the graph arrays

    def n_decisions(self, n_arms: int) -> int:
        return n_arms

    def levels(self, x) -> np.ndarray:
        """Arm action levels for decision(s) ``x`` (..., n) -> (..., J) ints."""
        return np.asarray(x, dtype=np.int64)

    @property
    @abc.abstractmethod
    def max_selected(self) -> int:
        """An upper bound on Σx over C (used by the interval bounds of the Q-network MIP)."""

    def level_budget(self) -> int:
        """K with Σ_j w_j m_j ≤ K for every action in C (w = `level_weights`): the single row the Lagrangian
        bound prices."""
        return self.max_selected

    def level_weights(self, n_arms: int) -> np.ndarray:
        """w in the relaxation Σ_j w_j m_j ≤ K (ones: a cardinality row)."""
        return np.ones(n_arms)

    @abc.abstractmethod
    def check(self, x) -> str | None:
        """``None`` when ``x`` is feasible, else the reason (independent of any solver)."""

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """A random feasible decision, built with a certificate (cheap; used by ``random``, ``sampling``, exploration)."""

    @abc.abstractmethod
    def _validate(self, n_arms: int, n_levels: int) -> None:
        """Raise InvalidProblemError when the constraint does not fit a bandit with ``n_arms`` arms and ``n_levels``
        action levels."""

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["kind"] = type(self).__name__
        return d

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return values_equal(self.to_dict(), other.to_dict())

    __hash__ = None

    def _binary(self, x) -> np.ndarray | str:
        x = np.asarray(x)
        if x.ndim != 1:
            return f"a decision must be a vector; got shape {x.shape}"
        if x.size and not np.isin(x, (0, 1)).all():
            return "a decision must be 0/1"
        return x.astype(np.int64)


def _random_subset(rng, n: int, k: int) -> np.ndarray:
    x = np.zeros(n, dtype=np.int64)
    x[rng.permutation(n)[: min(k, n)]] = 1
    return x
