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

This module holds the model and the step-by-step `DualMirrorDescent` policy (plain numpy, for serving and
training loops); the full-horizon kernels live in ``orbudget.solvers.numba``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..core.errors import InvalidProblemError
from ..core.io import register_kind
from ..core.validation import as_array, as_bool, as_choice, as_scalar, check_state, fingerprint
from ._numerics import dual_value, regularizer_project
from .base import Problem
from .regularizers import Regularizer, as_regularizer

DEFAULT_BATCH = 1 << 16  # requests per batch when a dense instance is walked in batches

MU_MIN, MU_MAX = 1e-250, 1e250  # the range the duals are kept in (as the numba kernel)
REFERENCES = ("euclidean", "scaled_euclidean", "entropy", "projected_entropy")


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
            raise InvalidProblemError(f"`budgets` must be positive (a zero budget is a resource that cannot be used); "
                                      f"got {budgets[j]} at index {j}")
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
                        f"expected {m} columns, got shape {rewards.shape}")
            else:
                consumption = as_array("consumption", consumption, shape=(*rewards.shape, m), nonnegative=True)
            if self.horizon is not None and int(self.horizon) != rewards.shape[0]:
                raise InvalidProblemError(f"`horizon` must equal the number of rows of `rewards` ({rewards.shape[0]}); "
                                          f"got {self.horizon}")
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
                raise InvalidProblemError("`regularizer` needs integer actions: drop `entropy` (proportional matching "
                                          "has no regularised form here)")
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
                c = None if self.consumption is None else self.consumption[s:s + batch_size]
                yield self.rewards[s:s + batch_size], c
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
                raise InvalidProblemError(f"`stream` rewards must have {m if self.is_matching else k} columns; "
                                          f"got shape {r.shape} at request {seen}")
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
        return OnlineAllocation(rewards=r, consumption=c, budgets=self.budgets, entropy=self.entropy,
                                regularizer=self.regularizer)

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
        return OnlineAllocation(rewards=r, consumption=c, budgets=self.budgets * (n / self.horizon), entropy=self.entropy,
                                regularizer=self.regularizer)

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
        return bool(np.all(self.consumption_of(x) <= self.budgets * (1 + rel_tol)))

    def dual_value(self, mu) -> tuple[float, np.ndarray]:
        """``(D(mu), subgradient)`` of the Lagrangian dual on the realised sequence (numba kernel); an upper bound
        on the optimum for every μ >= 0 (with a regulariser: every μ, its $T R(\\mu)$ replacing μᵀB)."""
        return dual_value(self, as_array("mu", mu, shape=(self.n_resources,), nonnegative=self.regularizer is None))


# -- reference functions (the numpy twin of the kernel's dual step) --------------------------------------
def mirror_step(mu: np.ndarray, gradient: np.ndarray, step_size: float, reference: str, rate: np.ndarray,
                reward_bound: float, floor: np.ndarray | None = None) -> np.ndarray:
    """One dual mirror-descent step $\\mu^+ = \\arg\\min_{\\mu\\ge\\ell} \\langle g,\\mu\\rangle + V_h(\\mu,\\mu_t)/\\eta$.

    * ``euclidean`` ($h = \\tfrac12\\|\\mu\\|^2$): $\\mu^+ = \\max(\\mu - \\eta g, 0)$.
    * ``scaled_euclidean`` ($h = \\tfrac12\\sum_j \\rho_j^2\\mu_j^2$): $\\mu^+ = \\max(\\mu - \\eta g/\\rho^2, 0)$.
    * ``entropy`` ($h = \\sum_j \\mu_j\\log\\mu_j$): $\\mu^+ = \\mu\\odot e^{-\\eta g}$.
    * ``projected_entropy``: the entropy step, then $\\rho\\odot\\mu$ rescaled to sum to at most f̄.

    The duals are kept in [0, ``MU_MAX``] (a positive entropy dual in [``MU_MIN``, ``MU_MAX``]), so consumptions in
    large units cannot overflow them (inf, then NaN) or underflow an entropy dual to a zero that never recovers.
    With a regulariser's ``floor`` ℓ the box is μ >= ℓ: the Euclidean steps clip at ℓ, the entropy ones work on
    μ − ℓ, and ``reward_bound`` is then the projection radius for ρᵀ(μ − ℓ).

    Examples:
        >>> mirror_step(np.array([0.5]), np.array([1.0]), 0.1, "euclidean", np.array([0.5]), 1.0)
        array([0.4])
    """
    ell = np.zeros_like(mu) if floor is None else floor
    if reference in ("euclidean", "scaled_euclidean"):
        g = gradient if reference == "euclidean" else gradient / rate**2
        new = mu - step_size * g
        return np.where(new > ell, np.minimum(new, MU_MAX), ell)
    nu = mu - ell
    live = nu > 0  # a zero entropy dual stays zero (only a positive one is kept from underflowing)
    with np.errstate(over="ignore", invalid="ignore"):
        new = np.where(live, np.clip(nu * np.exp(-step_size * gradient), MU_MIN, MU_MAX), 0.0)
    if reference == "projected_entropy":
        total = float(rate @ new)
        if total > reward_bound:
            new = np.where(live, np.maximum(new * (reward_bound / total), MU_MIN), 0.0)
    return new + ell


def spend(remaining: np.ndarray, use: np.ndarray) -> np.ndarray:
    """``remaining - use``, rounded down where the subtraction rounded up (TwoSum gives its exact error): the float
    remaining never exceeds the exact budget left, so an action accepted by ``use <= remaining`` keeps the exact
    total, and its correctly rounded sum, within every budget (the numpy twin of the kernel's ``_spend``)."""
    new = remaining - use
    back = new - remaining
    err = (remaining - (new - back)) + (-use - back)
    return np.where(err < 0.0, np.nextafter(new, -np.inf), new)


def initial_duals(reference: str, rate: np.ndarray, floor: np.ndarray | None = None) -> np.ndarray:
    """μ₁ of the paper: 0 for the Euclidean references, 1/√m for entropy, ρ/√m for projected entropy; with a
    regulariser's ``floor`` ℓ these are added to max(0, ℓ) (so μ₁ is never far below 0, where a regulariser would
    make every early request favour one resource)."""
    m = rate.size
    start = np.zeros(m) if floor is None else np.maximum(floor, 0.0)
    if reference in ("euclidean", "scaled_euclidean"):
        return start
    if reference == "entropy":
        return start + np.full(m, 1.0 / math.sqrt(m))
    return start + rate / math.sqrt(m)


def step_factor(reference: str, floor: np.ndarray) -> float:
    """What the Euclidean step c/√T is multiplied by: √(1 + max_j |ℓ_j|), the reach of a regulariser's dual box
    (1 without one, or with weight 0). The optimal duals of max-min fairness sit near -λ/ρ_j, so with c = 1 a
    strong regulariser was reached too slowly (on AdX pub2, λ = 1: 72% of the bound lost, 10% with the factor);
    the entropy references scale themselves (their steps are multiplicative in μ − ℓ)."""
    if reference != "euclidean":
        return 1.0
    return math.sqrt(1.0 + float(np.abs(floor).max(initial=0.0)))


def projection_radius(reward_bound: float, rate: np.ndarray, regularizer: Regularizer | None) -> float:
    """The projected-entropy radius for ρᵀ(μ − ℓ): f̄ without a regulariser; with one, f̄ + max r − r(ρ) − ρᵀℓ, since
    an optimal dual has $\\rho^\\top\\mu^* \\le \\bar f + \\max r - r(\\rho)$ (from
    $T(r(\\rho) + \\rho^\\top\\mu) \\le D(\\mu^*) \\le D(0)$)."""
    if regularizer is None:
        return reward_bound
    gap = regularizer.upper(rate) - regularizer.value(rate, rate)
    return float(reward_bound + gap - rate @ regularizer.floor(rate))


class DualMirrorDescent:
    """Dual mirror descent as a step-by-step policy (Balseiro, Lu, Mirrokni 2023, Algorithm 1).

    Each request: the tentative action maximises $r_{tk} - \\mu_t^\\top b_{tk}$ (null if no action is positive);
    it is played when it fits the remaining budget, else the null action is; the duals take a mirror step on
    $g_t = \\rho - b_t(\\tilde x_t)$ (the *tentative* action's consumption). A budget can never be exceeded.

    Args:
        budgets: (m,) budgets for the whole horizon.
        horizon: T.
        reference: ``euclidean`` (default), ``scaled_euclidean``, ``entropy`` or ``projected_entropy``.
        step_size: η; default ``scale / sqrt(T)`` (times `step_factor` with a regulariser).
        scale: c in η = c/√T (default 1).
        initial: μ₁ (default `initial_duals`).
        reward_bound: f̄ for ``projected_entropy`` (default 1).
        regularizer: a `regularizers` regulariser (or its dict): the dual step moves towards its
            response $a(\\mu_t)$ instead of ρ, and the duals stay in its box μ >= ℓ (they may be negative).

    Attributes:
        mu: the current duals μ_t (the price of one unit of each resource).
        remaining: the budget left per resource.
        reward: the total reward of the actions played so far.
        t: requests seen (dual steps taken).
        average_duals: the mean of μ_1..μ_t, at which the dual bound is evaluated.

    Examples:
        >>> pol = DualMirrorDescent(budgets=[1.0], horizon=4, step_size=0.5)
        >>> pol.act([2.0]), pol.act([1.0]), pol.remaining.tolist()
        (0, -1, [0.0])
    """

    def __init__(self, budgets: ArrayLike, horizon: int, *, reference: str = "euclidean",
                 step_size: float | None = None, scale: float = 1.0, initial: ArrayLike | None = None,
                 reward_bound: float = 1.0, regularizer: Regularizer | dict | None = None):
        self.budgets = as_array("budgets", budgets, ndim=1, low=0.0).astype(float)
        self.horizon = as_scalar("horizon", horizon, integer=True, minimum=1)
        self.reference = as_choice("reference", reference, REFERENCES)
        self.reward_bound = as_scalar("reward_bound", reward_bound, minimum=0.0, strict_minimum=True)
        self.rate = self.budgets / self.horizon
        self.regularizer = as_regularizer(regularizer)
        if self.regularizer is not None:
            if (self.rate <= 0).any():
                raise InvalidProblemError("`budgets` must be positive with a `regularizer` (it is written in shares "
                                          "of each budget)")
            self.regularizer.check(self.rate)
            self.floor = self.regularizer.floor(self.rate)
        else:
            self.floor = np.zeros(self.budgets.size)
        scale = as_scalar("scale", scale, minimum=0.0) * step_factor(self.reference, self.floor)
        self.step_size = (as_scalar("step_size", step_size, minimum=0.0) if step_size is not None
                          else scale / math.sqrt(self.horizon))
        self.radius = projection_radius(self.reward_bound, self.rate, self.regularizer)
        if self.reference == "scaled_euclidean" and (self.rate <= 0).any():
            raise InvalidProblemError("`budgets` must be positive for the scaled Euclidean reference")
        if self.reference == "projected_entropy" and initial is None and (self.rate <= 0).any():
            raise InvalidProblemError("`budgets` must be positive for the projected-entropy reference (its first "
                                      "duals are ρ/√m, and a zero dual stays zero); or give positive `initial` duals")
        mu = None if initial is None else self._check_duals("initial", initial)
        self.reset(mu)

    def _check_duals(self, name: str, value) -> np.ndarray:
        """Duals in the box μ >= ℓ (ℓ = 0 without a regulariser), strictly above it for an entropy reference."""
        plain = self.regularizer is None
        mu = as_array(name, value, shape=(self.budgets.size,), nonnegative=plain)
        below = mu < self.floor
        if below.any():
            j = int(np.argmax(below))
            raise InvalidProblemError(f"`{name}` duals must be >= {self.floor[j]:.6g} (the regulariser's dual floor); "
                                      f"got {mu[j]} at index {j}")
        if self.reference.endswith("entropy") and (mu <= self.floor).any():
            if name == "state":
                raise InvalidProblemError("`state` has a dual on its floor for an entropy reference (it would stay "
                                          "there)" if not plain else "`state` has a zero dual for an entropy "
                                          "reference (a zero dual stays zero)")
            raise InvalidProblemError(f"`{name}` duals must be positive for an entropy reference (a zero stays zero)"
                                      if plain else f"`{name}` duals must be above the regulariser's dual floor for "
                                      "an entropy reference (a dual on it stays there)")
        return np.array(mu, float)

    def reset(self, initial=None) -> None:
        """Start a new horizon: full budgets, μ₁ again (or ``initial``)."""
        self.mu = (initial_duals(self.reference, self.rate, self.floor) if initial is None
                   else np.array(initial, float)).copy()
        self.remaining = self.budgets.copy()
        self.t = 0
        self.reward = 0.0
        self.dual_sum = np.zeros_like(self.mu)
        self._tentative = None

    def _consumption(self, rewards, consumption):
        r = as_array("rewards", rewards, allow_empty=True).ravel()
        m = self.budgets.size
        if consumption is None:
            if r.size != m:
                raise InvalidProblemError(f"`rewards` must have {m} entries in matching form; got {r.size}")
            return r, None
        b = np.asarray(consumption, dtype=float)
        if b.shape != (r.size, m):
            raise InvalidProblemError(f"`consumption` must have shape ({r.size}, {m}); got {b.shape}")
        if (b < 0).any() or not np.isfinite(b).all():
            raise InvalidProblemError("`consumption` must be finite and non-negative")
        return r, b

    def act(self, rewards, consumption=None) -> int:
        """Answer one request; returns the action index, or -1 for the null action. Call `update` after."""
        if self._tentative is not None:
            self.update()
        r, b = self._consumption(rewards, consumption)
        scores = r - (self.mu if b is None else b @ self.mu)
        k = int(np.argmax(scores)) if scores.size else -1
        if k >= 0 and not scores[k] > 0:
            k = -1
        use = np.zeros_like(self.mu)
        if k >= 0:
            if b is None:
                use[k] = 1.0
            else:
                use = b[k]
        self._tentative = use
        if k >= 0 and np.all(use <= self.remaining):
            self.remaining = spend(self.remaining, use)
            self.reward += float(r[k])
            return k
        return -1

    def update(self) -> None:
        """Take the dual step for the last request (from its tentative action's consumption)."""
        if self._tentative is None:
            return
        self.dual_sum += self.mu
        target = self.rate if self.regularizer is None else self.regularizer.response(self.mu, self.rate)
        self.mu = mirror_step(self.mu, target - self._tentative, self.step_size, self.reference, self.rate,
                              self.radius, self.floor)
        if self.regularizer is not None and self.regularizer.projects:
            regularizer_project(self.regularizer.code, self.regularizer.kernel_arrays(self.mu.size)[0], self.mu,
                                self.rate, self.floor, self.reference.endswith("entropy"),
                                self.reference == "scaled_euclidean")
        self.t += 1
        self._tentative = None

    def step(self, rewards, consumption=None) -> int:
        """`act` then `update`."""
        a = self.act(rewards, consumption)
        self.update()
        return a

    def bid(self, value: float, resource: int = 0) -> float:
        """The pacing bid value / (1 + μ_j) for a second-price auction paid from resource ``j``."""
        return float(value) / (1.0 + float(self.mu[resource]))

    @property
    def average_duals(self) -> np.ndarray:
        return self.dual_sum / max(self.t, 1)

    @property
    def fingerprint(self) -> str:
        """What a state must belong to: this policy's budgets, horizon, reference and reward bound."""
        what = {"kind": "DualMirrorDescent", "budgets": self.budgets, "horizon": self.horizon,
                "reference": self.reference, "reward_bound": self.reward_bound}
        if self.regularizer is not None:  # its repr names its fields (a custom one's, its functions)
            what["regularizer"] = repr(self.regularizer)
        return fingerprint(what)

    STATE_KEYS = ("mu", "remaining", "t", "reward", "dual_sum", "step_size")

    def state_dict(self) -> dict:
        """Everything `load_state_dict` needs to resume, with ``kind`` and the policy's ``fingerprint``."""
        return {"kind": "DualMirrorDescent", "fingerprint": self.fingerprint,
                "mu": self.mu.copy(), "remaining": self.remaining.copy(), "t": self.t, "reward": self.reward,
                "dual_sum": self.dual_sum.copy(), "reference": self.reference, "step_size": self.step_size,
                "budgets": self.budgets.copy(), "horizon": self.horizon, "reward_bound": self.reward_bound}

    def load_state_dict(self, state: dict) -> None:
        """Resume from `state_dict`. A state of another kind, of a policy for other budgets, horizon,
        reference or reward bound (its ``fingerprint`` differs), or with malformed entries is refused with an
        `InvalidProblemError` naming ``state``; nothing is changed then."""
        check_state(state, kind="DualMirrorDescent", keys=self.STATE_KEYS)
        if state.get("reference", self.reference) != self.reference:
            raise InvalidProblemError(f"`state` was saved by a policy with another reference "
                                      f"({state.get('reference')!r}, this one is {self.reference!r})")
        if state.get("horizon", self.horizon) != self.horizon:
            raise InvalidProblemError(f"`state` was saved by a policy with another horizon "
                                      f"({state.get('horizon')!r}, this one is {self.horizon})")
        check_state(state, kind="DualMirrorDescent", fingerprint=self.fingerprint, keys=self.STATE_KEYS)
        m = self.budgets.size
        try:
            mu = self._check_duals("state", state["mu"])
            remaining = as_array("state", state["remaining"], shape=(m,), nonnegative=True)
            dual_sum = as_array("state", state["dual_sum"], shape=(m,))
            t = as_scalar("state", state["t"], integer=True, minimum=0, maximum=self.horizon)
            reward = as_scalar("state", state["reward"])
            step_size = as_scalar("state", state["step_size"], minimum=0.0)
        except InvalidProblemError as exc:
            raise InvalidProblemError(f"`state` has a malformed entry: {exc}") from None
        if (remaining > self.budgets).any():
            raise InvalidProblemError("`state` has more `remaining` budget than the policy's budgets")
        self.mu = np.array(mu, float)
        self.remaining = np.array(remaining, float)
        self.dual_sum = np.array(dual_sum, float)
        self.t = int(t)
        self.reward = float(reward)
        self.step_size = float(step_size)
        self._tentative = None
