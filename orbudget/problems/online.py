"""Online allocation: answer each request on arrival, keep every resource budget to the end of the horizon.

Requests $t = 1..T$ arrive one at a time; request t offers actions $k = 1..K$ with reward
$r_{tk}$ and consumption $b_{tk} \\in \\mathbb{R}^m_{+}$, plus the free null action. The decision is
irrevocable and budgets $B \\in \\mathbb{R}^m_{>0}$ must hold:

$$
\\mathrm{OPT} = \\max_{x_t \\in \\{0, e_1..e_K\\}} \\sum_t r_t^\\top x_t
\\quad\\text{s.t.}\\quad \\sum_t \\sum_k b_{tk} x_{tk} \\le B .
$$

The Lagrangian dual $D(\\mu) = \\sum_t \\max(0, \\max_k r_{tk} - \\mu^\\top b_{tk}) + \\mu^\\top B$ bounds OPT
(and the LP relaxation) from above for every $\\mu \\ge 0$ (Balseiro, Lu, Mirrokni, "The Best of Many Worlds:
Dual Mirror Descent for Online Allocation Problems", Operations Research 2023).

This module holds the model; the step-by-step `DualMirrorDescent` policy (plain numpy, for serving and training
loops) is in ``dual_mirror_descent.py``, and the full-horizon kernels live in ``orbudget.solvers.numba``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..core.budget import fits
from ..core.errors import InvalidProblemError
from ..core.io import register_kind
from ..core.validation import as_array, as_bool, as_scalar
from ._numerics import dual_value
from .base import Problem
from .regularizers import Regularizer, as_regularizer

DEFAULT_BATCH = 1 << 16  # requests per batch when a dense instance is walked in batches


@register_kind
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class OnlineAllocation(Problem):
    """Requests arrive one by one; each gets one action (or none) under per-resource budgets.

    Args:
        rewards: (T, K) reward of action k for request t (any real number; the null action pays 0).
        consumption: (T, K, m) non-negative consumption; ``None`` means *matching* form: K = m and action k uses one
            unit of resource k (no dense (T, K, m) array is built).
        budgets: (m,) positive budget per resource, for the whole horizon.
        entropy: λ >= 0. When positive (matching form only) actions are *fractional*: request t gets a distribution
            $x_t$ over {null, 1..m} with reward $r_t^\\top x_t + \\lambda H(x_t)$ and consumption
            $x_t$ (proportional matching). A zero reward marks an ineligible pair (as in the AdX files).
        stream: instead of ``rewards``: a callable returning a fresh iterator of ``(rewards, consumption)`` batches
            ((n, K) and (n, K, m), or ``None`` in matching form). Called once per pass, so it must replay the same
            sequence (seed it); T = 10^7 never has to sit in memory.
        horizon: T (required with ``stream``; checked against the batches).
        stream_matching: with ``stream``: whether the batches are in matching form (consumption ``None``).
        reward_bound: f̄, an upper bound on any reward (used by the projected-entropy reference); computed for
            dense instances.
        regularizer: a concave reward on the average consumption (`orbudget.regularizers`: max-min fairness,
            load balancing, below-target or quadratic penalties, or your own), or a dict ``{"kind": ..., "weight":
            ...}`` as in files. The objective becomes $\\sum_t r_t(x_t) + T\\,r(A/T)$ for total consumption A
            (Balseiro, Lu, Mirrokni, ICML 2021). Integer actions only (``entropy`` = 0). With a regulariser an
            action of zero or negative reward may be worth taking for the regulariser's sake (max-min fairness
            serves a resource that is behind), so every action counts as eligible.

    Methods: ``dmd`` (dual mirror descent, numba), ``greedy``, ``fluid``, ``hindsight`` (exact optimum of the
    realised sequence, HiGHS MIP), ``hindsight_lp`` (LP bound: primal LP, or cutting planes on the dual; with a
    quadratic regulariser the convex relaxation by cvxpy).

    Examples:
        >>> import orbudget as ob
        >>> p = ob.OnlineAllocation.matching(rewards=[[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]], budgets=[1, 1])
        >>> r = ob.solve(p, method="greedy")
        >>> r.x.tolist(), r.objective, r.stats["hindsight"]
        ([0, 1, -1], 3.0, 5.0)
    """

    budgets: np.ndarray
    rewards: np.ndarray | None = None
    consumption: np.ndarray | None = None
    entropy: float = 0.0
    stream: Callable | None = None
    horizon: int | None = None
    stream_matching: bool = False
    reward_bound: float | None = None
    regularizer: Regularizer | dict | None = None

    def __post_init__(self):
        budgets = as_array("budgets", self.budgets, ndim=1)
        if (budgets <= 0).any():
            j = int(np.argmax(budgets <= 0))
            raise InvalidProblemError(
                f"`budgets` must be positive (a zero budget is a resource that cannot be used); got {budgets[j]} at index {j}"
            )
        m = budgets.size
        entropy = as_scalar("entropy", self.entropy, minimum=0.0)
        if self.stream is not None:
            if self.rewards is not None or self.consumption is not None:
                raise InvalidProblemError("`stream` replaces `rewards` and `consumption`; give one or the other")
            if not callable(self.stream):
                raise InvalidProblemError(f"`stream` must be a callable returning an iterator of batches; got {self.stream!r}")
            if self.horizon is None:
                raise InvalidProblemError("`horizon` is required with `stream`")
            horizon = as_scalar("horizon", self.horizon, integer=True, minimum=1)
            matching = as_bool("stream_matching", self.stream_matching)
            if self.reward_bound is None:
                raise InvalidProblemError("`reward_bound` is required with `stream` (an upper bound on any reward)")
            rewards = consumption = None
        else:
            if self.rewards is None:
                raise InvalidProblemError("`rewards` must be a (T, K) array (or give `stream`)")
            rewards = as_array("rewards", self.rewards, ndim=2)
            consumption = self.consumption
            if consumption is None:
                if rewards.shape[1] != m:
                    raise InvalidProblemError(
                        f"`rewards` must have one column per resource in matching form (no `consumption`): "
                        f"expected {m} columns, got shape {rewards.shape}"
                    )
            else:
                consumption = as_array("consumption", consumption, shape=(*rewards.shape, m), nonnegative=True)
            if self.horizon is not None and int(self.horizon) != rewards.shape[0]:
                raise InvalidProblemError(
                    f"`horizon` must equal the number of rows of `rewards` ({rewards.shape[0]}); got {self.horizon}"
                )
            if self.stream_matching:
                raise InvalidProblemError("`stream_matching` applies only with `stream`")
            horizon = rewards.shape[0]
            matching = consumption is None
        if entropy > 0 and not matching:
            raise InvalidProblemError("`entropy` > 0 (proportional matching) needs matching form: drop `consumption`")
        if self.reward_bound is not None:
            bound = as_scalar("reward_bound", self.reward_bound, minimum=0.0)
        else:
            bound = float(max(rewards.max(), 0.0))
        regularizer = as_regularizer(self.regularizer)
        if regularizer is not None:
            if entropy > 0:
                raise InvalidProblemError(
                    "`regularizer` needs integer actions: drop `entropy` (proportional matching has no regularised form here)"
                )
            regularizer.check(budgets / horizon)
        self._set("regularizer", regularizer)
        self._set("budgets", budgets)
        self._set("rewards", rewards)
        self._set("consumption", consumption)
        self._set("entropy", entropy)
        self._set("horizon", int(horizon))
        self._set("_matching", matching)
        self._set("reward_bound", bound)

    # -- constructors for the standard forms ------------------------------------------------------
    @classmethod
    def matching(cls, rewards, budgets, *, entropy: float = 0.0, regularizer=None) -> OnlineAllocation:
        """Action k uses one unit of resource k (no dense consumption array): ``rewards`` is (T, m)."""
        return cls(rewards=rewards, budgets=budgets, entropy=entropy, regularizer=regularizer)

    # -- shape ------------------------------------------------------------------------------------
    @property
    def is_matching(self) -> bool:
        return self._matching

    @property
    def is_stream(self) -> bool:
        return self.stream is not None

    @property
    def n_resources(self) -> int:
        return self.budgets.size

    @property
    def target_rate(self) -> np.ndarray:
        """ρ = B / T, the per-request budget rate."""
        return self.budgets / self.horizon

    def to_dict(self) -> dict:
        if self.is_stream:
            raise InvalidProblemError("a streaming OnlineAllocation cannot be saved: its `stream` is code, not data")
        d = super().to_dict()
        for key in ("stream", "stream_matching"):
            d.pop(key)
        return d

    def batches(self, batch_size: int = DEFAULT_BATCH) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        """Yield ``(rewards, consumption)`` batches in arrival order (consumption ``None`` in matching form).

        Streamed batches are validated as they come (shape, finite, non-negative) and must add up to ``horizon``.
        """
        if not self.is_stream:
            for s in range(0, self.horizon, batch_size):
                c = None if self.consumption is None else self.consumption[s : s + batch_size]
                yield self.rewards[s : s + batch_size], c
            return
        seen = 0
        k = None
        m = self.n_resources
        for item in self.stream():
            if not (isinstance(item, tuple) and len(item) == 2):
                raise InvalidProblemError("`stream` must yield (rewards, consumption) pairs")
            r = as_array("stream rewards", item[0], ndim=2, allow_empty=True)
            if k is None:
                k = r.shape[1]
            if r.shape[1] != k or (self.is_matching and k != m):
                raise InvalidProblemError(
                    f"`stream` rewards must have {m if self.is_matching else k} columns; got shape {r.shape} at request {seen}"
                )
            if self.is_matching:
                if item[1] is not None:
                    raise InvalidProblemError("`stream` batches must have consumption None in matching form")
                c = None
            else:
                c = as_array("stream consumption", item[1], shape=(r.shape[0], k, m), nonnegative=True, allow_empty=True)
            if np.any(r > self.reward_bound * (1 + 1e-12) + 1e-300):
                raise InvalidProblemError(f"`stream` reward {r.max()} exceeds `reward_bound` {self.reward_bound}")
            seen += r.shape[0]
            if seen > self.horizon:
                raise InvalidProblemError(f"`stream` yielded more than `horizon` = {self.horizon} requests")
            yield np.ascontiguousarray(r, dtype=np.float64), None if c is None else np.ascontiguousarray(c, dtype=np.float64)
        if seen != self.horizon:
            raise InvalidProblemError(f"`stream` yielded {seen} requests but `horizon` is {self.horizon}")

    def dense(self) -> OnlineAllocation:
        """The same instance with its stream gathered into arrays (for exact hindsight solvers on moderate T)."""
        if not self.is_stream:
            return self
        parts = list(self.batches())
        r = np.concatenate([p[0] for p in parts])
        c = None if self.is_matching else np.concatenate([p[1] for p in parts])
        return OnlineAllocation(
            rewards=r, consumption=c, budgets=self.budgets, entropy=self.entropy, regularizer=self.regularizer
        )

    def prefix(self, n: int) -> OnlineAllocation:
        """The first ``n`` requests with budgets scaled to ``n / T`` (the fluid LP's sample)."""
        n = as_scalar("n", n, integer=True, minimum=1, maximum=self.horizon)
        rows, cons, seen = [], [], 0
        for r, c in self.batches():
            take = min(n - seen, r.shape[0])
            rows.append(r[:take])
            cons.append(None if c is None else c[:take])
            seen += take
            if seen >= n:
                break
        r = np.concatenate(rows)
        c = None if self.is_matching else np.concatenate(cons)
        return OnlineAllocation(
            rewards=r,
            consumption=c,
            budgets=self.budgets * (n / self.horizon),
            entropy=self.entropy,
            regularizer=self.regularizer,
        )

    # -- evaluation -------------------------------------------------------------------------------
    def check_actions(self, x) -> np.ndarray:
        """Validate an action vector (``-1`` = null) and return it as int64; dense instances only."""
        if self.entropy > 0:
            raise InvalidProblemError("proportional (entropy) instances take a (T, m+1) allocation, not action indices")
        dense = self.dense()
        x = as_array("x", x, shape=(self.horizon,), dtype=int)
        k = dense.rewards.shape[1]
        if ((x < -1) | (x >= k)).any():
            i = int(np.argmax((x < -1) | (x >= k)))
            raise InvalidProblemError(f"`x` must hold action indices in -1..{k - 1}; got {x[i]} at request {i}")
        return x

    def consumption_of(self, x) -> np.ndarray:
        """Total consumption per resource of an action vector (``math.fsum`` per resource)."""
        dense = self.dense()
        x = self.check_actions(x)
        rows = np.flatnonzero(x >= 0)
        if dense.is_matching:
            return np.bincount(x[rows], minlength=self.n_resources).astype(float)
        used = dense.consumption[rows, x[rows], :]
        return np.array([math.fsum(used[:, j]) for j in range(self.n_resources)])

    def reward_of(self, x) -> float:
        dense = self.dense()
        x = self.check_actions(x)
        rows = np.flatnonzero(x >= 0)
        return math.fsum(dense.rewards[rows, x[rows]].tolist())

    def regularization_of(self, spent) -> float:
        """$T\\,r(A/T)$ for total consumption ``spent`` = A (0 without a regulariser)."""
        if self.regularizer is None:
            return 0.0
        return self.horizon * self.regularizer.value(np.asarray(spent, float) / self.horizon, self.target_rate)

    def value_of(self, x) -> float:
        """The objective of an action vector: its reward plus `regularization_of` its consumption."""
        reward = self.reward_of(x)
        return reward if self.regularizer is None else reward + self.regularization_of(self.consumption_of(x))

    def is_feasible(self, x, rel_tol: float = 0.0) -> bool:
        """True if the actions keep every budget: the correctly rounded total (`consumption_of`) is at most
        the budget, exactly by default (``rel_tol`` allows a relative slack, for comparisons only)."""
        # decided through the one budget arithmetic, with no slack at all (the online family's stricter rule);
        # `rel_tol` widens each budget for comparisons only
        caps = self.budgets.tolist() if not rel_tol else (self.budgets * (1 + rel_tol)).tolist()
        return all(fits(spent, cap, whole=True) for spent, cap in zip(self.consumption_of(x).tolist(), caps))

    def dual_value(self, mu) -> tuple[float, np.ndarray]:
        """``(D(mu), subgradient)`` of the Lagrangian dual on the realised sequence (numba kernel); an upper bound
        on the optimum for every μ >= 0 (with a regulariser: every μ, its $T R(\\mu)$ replacing μᵀB)."""
        return dual_value(self, as_array("mu", mu, shape=(self.n_resources,), nonnegative=self.regularizer is None))
