"""Regularisers for online allocation: a concave reward on the average consumption (fairness, load balance, targets).

Balseiro, Lu and Mirrokni, "Regularized Online Allocation Problems: Fairness and Beyond" (ICML 2021), add a concave
$r$ of the average consumption $a = \\frac1T \\sum_t b_t(x_t)$ to the objective:

$$
\\max_{x} \\sum_t r_t(x_t) + T\\, r\\Big(\\frac1T \\sum_t b_t(x_t)\\Big)
\\quad\\text{s.t.}\\quad \\sum_t b_t(x_t) \\le B .
$$

Dual mirror descent then needs, for a dual $\\mu$, the *response*
$a(\\mu) = \\arg\\max_{0 \\le a \\le \\rho} r(a) + \\mu^\\top a$ (the per-request consumption target; the
gradient step is $g_t = a(\\mu_t) - b_t(\\tilde x_t)$) and the conjugate value
$R(\\mu) = r(a(\\mu)) + \\mu^\\top a(\\mu)$, which enters the dual bound
$D(\\mu) = \\sum_t f_t^*(\\mu) + T R(\\mu)$.

The consumption is never negative, so $a$ is taken in the box $[0, \\rho]$ (the paper takes
$a \\le \\rho$; the primal problem is the same). That keeps $R$ finite for every $\\mu$, and the duals
move in a box $\\mu \\ge \\ell$ (the regulariser's ``floor``) that holds a minimiser of $D$: below
$\\ell_j$ the response uses none of resource j, so lowering $\\mu_j$ further cannot lower $D$. Every
reference function then projects by clipping (the entropy ones work on $\\mu - \\ell$), except for the
regularisers that ``project``: max-min fairness and load balancing keep the paper's domain
$D = \\{\\mu : R(\\mu) < \\infty\\}$ for $a \\le \\rho$, and their step is the exact projection of the unclipped
mirror step onto D (``orbudget.problems._numerics.regularizer_project``); on D their response is ρ, tested up
to the rounding of the domain's slack.

Each regulariser is written in units of the budget rate: ``target`` is a fraction of $\\rho_j$ (1 = spend the
whole budget).

Examples:
    >>> import numpy as np
    >>> fair = MaxMinFairness(weight=0.1)
    >>> rate = np.array([0.2, 0.5])
    >>> fair.value(np.array([0.1, 0.5]), rate)   # 0.1 · min(0.1/0.2, 0.5/0.5)
    0.05
    >>> fair.response(np.array([-0.1, 0.3]), rate).tolist()   # 0.1 − 0.2·0.1 ≥ 0: the whole rate
    [0.2, 0.5]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from ..core.errors import InvalidProblemError
from ..core.validation import as_array, as_scalar

# the kernel's codes (orbudget.problems._numerics.regularizer_response); 0 = no regulariser
NONE, MAX_MIN_FAIRNESS, LOAD_BALANCING, BELOW_TARGET, QUADRATIC = 0, 1, 2, 3, 4
_CHECK_POINTS = 64  # random points per check of a user-given regulariser


def _weights(name: str, value, m: int) -> np.ndarray:
    """A non-negative weight, one number or one per resource, as an (m,) array."""
    arr = as_array(name, value, nonnegative=True)
    if arr.ndim == 0:
        return np.full(m, float(arr))
    return np.asarray(as_array(name, arr, shape=(m,), nonnegative=True), dtype=float)


def _fractions(name: str, value, m: int) -> np.ndarray:
    arr = as_array(name, value, low=0.0, high=1.0)
    if arr.ndim == 0:
        return np.full(m, float(arr))
    return np.asarray(as_array(name, arr, shape=(m,), low=0.0, high=1.0), dtype=float)


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


class Regularizer(ABC):
    """A concave regulariser $r(a)$ of the average consumption per request (see the module docstring).

    Subclasses give `value`, `response` and `floor`. The built-in ones take their response from
    the numba kernel (``code``), so dual mirror descent runs it in the compiled loop, and the ``polyhedral`` ones
    have an exact hindsight MIP through HiGHS.
    """

    name: ClassVar[str] = ""
    code: ClassVar[int] = NONE
    polyhedral: ClassVar[bool] = False
    projects: ClassVar[bool] = False  # the duals are projected onto the paper's domain (not only the box)

    @abstractmethod
    def value(self, a: np.ndarray, rate: np.ndarray) -> float:
        """$r(a)$ for the average consumption ``a`` (per request) and the budget rate ``rate`` = ρ."""

    @abstractmethod
    def response(self, mu: np.ndarray, rate: np.ndarray) -> np.ndarray:
        """$\\arg\\max_{0 \\le a \\le \\rho} r(a) + \\mu^\\top a$, the consumption target for the dual step."""

    @abstractmethod
    def floor(self, rate: np.ndarray) -> np.ndarray:
        """ℓ: the duals' lower bound (below it the response uses none of that resource)."""

    def conjugate(self, mu: np.ndarray, rate: np.ndarray) -> tuple[float, np.ndarray]:
        """``(R(μ), a(μ))`` with $R(\\mu) = \\max_{0 \\le a \\le \\rho} r(a) + \\mu^\\top a$."""
        a = self.response(mu, rate)
        return float(self.value(a, rate) + mu @ a), a

    def kernel_arrays(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """``(weight, target)``, (m,) arrays for the numba twin (zeros for a regulariser without one, ``code`` 0)."""
        return np.zeros(m), np.zeros(m)

    def check(self, rate: np.ndarray) -> None:
        """Validate against a problem's budget rate (sizes of per-resource weights and targets)."""
        self.kernel_arrays(rate.size)

    def upper(self, rate: np.ndarray) -> float:
        """$\\max_{0 \\le a \\le \\rho} r(a)$ (= R(0))."""
        return self.conjugate(np.zeros(rate.size), rate)[0]

    def to_dict(self) -> dict:
        """The file form ``{"kind": name, ...}``; a regulariser written as code (a custom one) has none."""
        raise InvalidProblemError(f"a {self.name} regulariser cannot be saved: its `value` and `response` are code")

    def __repr__(self) -> str:
        fields = {k: v for k, v in self.to_dict().items() if k != "kind"}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in fields.items())})"


class _Builtin(Regularizer):
    """A built-in regulariser: its response is the numba kernel's (one implementation for the compiled loop, the
    step-by-step policy and the dual bound), and its (weight, target) arrays are validated once per size."""

    def response(self, mu, rate):
        from ._numerics import regularizer_response

        weight, target = self.kernel_arrays(rate.size)
        a = np.empty(rate.size)
        regularizer_response(
            self.code, weight, target, np.ascontiguousarray(mu, dtype=np.float64), np.ascontiguousarray(rate, dtype=np.float64), a
        )
        return a

    def kernel_arrays(self, m):
        cache = self.__dict__.setdefault("_arrays", {})  # not a field: equality and files never see it
        if m not in cache:
            cache[m] = tuple(np.asarray(v, dtype=np.float64) for v in self._arrays_for(m))
            for v in cache[m]:
                v.flags.writeable = False
        return cache[m]

    @abstractmethod
    def _arrays_for(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """The validated (weight, target) arrays for m resources."""


@dataclass(frozen=True, repr=False)
class _Scalar(_Builtin):
    """A regulariser with one weight λ >= 0."""

    weight: float = 0.1

    def __post_init__(self):
        object.__setattr__(self, "weight", as_scalar("regularizer.weight", self.weight, minimum=0.0))

    def _arrays_for(self, m):
        return np.full(m, self.weight), np.ones(m)

    def to_dict(self):
        return {"kind": self.name, "weight": self.weight}


@dataclass(frozen=True, repr=False)
class _Targeted(_Builtin):
    """A regulariser with a weight and a target share per resource (one number or one each)."""

    weight: Any = 1.0
    target: Any = 1.0

    def __post_init__(self):
        w = as_array("regularizer.weight", self.weight, nonnegative=True)
        t = as_array("regularizer.target", self.target, low=0.0, high=1.0)
        for name, v in (("weight", w), ("target", t)):
            if v.ndim > 1:  # one number, or one per resource: nothing else means anything
                raise InvalidProblemError(f"`regularizer.{name}` must be one number or one per resource; got shape {v.shape}")
        object.__setattr__(self, "weight", float(w) if w.ndim == 0 else tuple(w.tolist()))  # comparable, hashable
        object.__setattr__(self, "target", float(t) if t.ndim == 0 else tuple(t.tolist()))

    def _arrays_for(self, m):
        return _weights("regularizer.weight", self.weight, m), _fractions("regularizer.target", self.target, m)

    def to_dict(self):
        return {"kind": self.name, "weight": _plain(self.weight), "target": _plain(self.target)}


@dataclass(frozen=True, repr=False)
class MaxMinFairness(_Scalar):
    """$r(a) = \\lambda \\min_j a_j / \\rho_j$: reward the least-served resource's share of its budget.

    The paper's fairness regulariser (the official code's default with λ = 0.1). Its response is ρ while
    $\\lambda + \\sum_{\\mu_j < 0} \\rho_j \\mu_j \\ge 0$; duals may go negative (down to ``-λ/ρ_j``), which
    favours resources that are behind.
    """

    name: ClassVar[str] = "max_min_fairness"
    code: ClassVar[int] = MAX_MIN_FAIRNESS
    polyhedral: ClassVar[bool] = True
    projects: ClassVar[bool] = True

    def value(self, a, rate):
        return float(self.weight * np.min(np.asarray(a) / rate))

    def floor(self, rate):
        return -self.weight / rate


@dataclass(frozen=True, repr=False)
class LoadBalancing(_Scalar):
    """$r(a) = -\\lambda \\max_j a_j / \\rho_j$: penalise the most-loaded resource's share of its budget.

    Its response is ρ while $\\sum_j \\rho_j \\mu_j \\ge \\lambda$, else 0, so the duals stay priced even when
    budgets are slack."""

    name: ClassVar[str] = "load_balancing"
    code: ClassVar[int] = LOAD_BALANCING
    polyhedral: ClassVar[bool] = True
    projects: ClassVar[bool] = True

    def value(self, a, rate):
        return float(-self.weight * np.max(np.asarray(a) / rate))

    def floor(self, rate):
        return np.zeros(rate.size)


@dataclass(frozen=True, repr=False)
class BelowTargetPenalty(_Targeted):
    """$r(a) = -\\sum_j c_j \\,(\\tau_j \\rho_j - a_j)^+$: a hinge penalty for consuming less than a target.

    ``weight`` = c (reward lost per unit of total shortfall: $T r = -\\sum_j c_j (\\tau_j B_j - A_j)^+$ for total
    consumption A), one number or one per resource; ``target`` = τ, the target as a fraction of each budget."""

    name: ClassVar[str] = "below_target"
    code: ClassVar[int] = BELOW_TARGET
    polyhedral: ClassVar[bool] = True

    def value(self, a, rate):
        w, t = self.kernel_arrays(rate.size)
        return float(-(w * np.maximum(t * rate - np.asarray(a), 0.0)).sum())

    def floor(self, rate):
        return -self.kernel_arrays(rate.size)[0]


@dataclass(frozen=True, repr=False)
class QuadraticPenalty(_Targeted):
    """$r(a) = -\\sum_j \\lambda_j (a_j / \\rho_j - \\tau_j)^2$: keep each resource's share near a target.

    ``weight`` = λ (one number or one per resource), ``target`` = τ as a fraction of each budget. The response is
    $a_j = \\rho_j\\,\\mathrm{clip}(\\tau_j + \\mu_j \\rho_j / (2\\lambda_j), 0, 1)$."""

    name: ClassVar[str] = "quadratic"
    code: ClassVar[int] = QUADRATIC

    def value(self, a, rate):
        w, t = self.kernel_arrays(rate.size)
        return float(-(w * (np.asarray(a) / rate - t) ** 2).sum())

    def floor(self, rate):
        w, t = self.kernel_arrays(rate.size)
        return -2.0 * w * t / rate


class CustomRegularizer(Regularizer):
    """Any concave $r$, given with its conjugate's maximiser.

    Args:
        value: ``value(a) -> float``, r at an average consumption ``a`` (an (m,) array in [0, ρ]).
        response: ``response(mu) -> a``, the maximiser of $r(a) + \\mu^\\top a$ over $0 \\le a \\le \\rho$
            (ρ = the problem's ``budgets / horizon``).
        floor: ℓ, (m,) or one number: the duals' lower bound; ``response`` must use none of resource j when
            $\\mu_j < \\ell_j$.

    Checked when the problem is built, on random points of $[0, \\rho]$ and of the dual box: r is concave
    (midpoint inequality), ``response`` stays in $[0, \\rho]$, beats every sampled ``a`` on
    $r(a) + \\mu^\\top a$, and uses nothing below the floor. A failed check names the point. Runs step by step
    in Python (no numba twin), and cannot be saved to a file (it is code).
    """

    name: ClassVar[str] = "custom"

    def __init__(self, value: Callable, response: Callable, floor: ArrayLike = 0.0):
        if not callable(value) or not callable(response):
            raise InvalidProblemError("`regularizer`: a custom regulariser needs callables `value(a)` and `response(mu)`")
        self.value_fn, self.response_fn, self.floor_value = value, response, floor

    def value(self, a, rate):
        try:
            v = float(self.value_fn(np.asarray(a, dtype=float)))
        except Exception as exc:
            raise InvalidProblemError(
                f"`regularizer.value` failed at a = {np.asarray(a).tolist()}: {type(exc).__name__}: {exc}"
            ) from exc
        if not np.isfinite(v):
            raise InvalidProblemError(f"`regularizer.value` returned {v} at a = {np.asarray(a).tolist()}")
        return v

    def response(self, mu, rate):
        try:
            a = np.asarray(self.response_fn(np.asarray(mu, dtype=float)), dtype=float)
        except Exception as exc:
            raise InvalidProblemError(
                f"`regularizer.response` failed at mu = {np.asarray(mu).tolist()}: {type(exc).__name__}: {exc}"
            ) from exc
        if a.shape != rate.shape or not np.isfinite(a).all():
            raise InvalidProblemError(
                f"`regularizer.response` must return a finite array of shape {rate.shape}; got "
                f"{a.tolist()} at mu = {np.asarray(mu).tolist()}"
            )
        return a

    def floor(self, rate):
        f = as_array("regularizer.floor", self.floor_value)
        return (
            np.full(rate.size, float(f))
            if f.ndim == 0
            else np.asarray(as_array("regularizer.floor", f, shape=(rate.size,)), dtype=float)
        )

    def check(self, rate: np.ndarray) -> None:
        """Concavity, the response's box and optimality, and the floor, on seeded random points."""
        m = rate.size
        rng = np.random.default_rng(0)
        ell = self.floor(rate)
        pts = rng.random((_CHECK_POINTS, m)) * rate
        vals = np.array([self.value(a, rate) for a in pts])
        scale = max(1.0, float(np.abs(vals).max()))
        for i in range(0, _CHECK_POINTS - 1, 2):
            a, b = pts[i], pts[i + 1]
            mid = self.value((a + b) / 2, rate)
            if mid < (vals[i] + vals[i + 1]) / 2 - 1e-9 * scale:
                raise InvalidProblemError(
                    f"`regularizer` is not concave: r((a+b)/2) = {mid:.6g} < (r(a)+r(b))/2 = "
                    f"{(vals[i] + vals[i + 1]) / 2:.6g} at a = {a.tolist()}, b = {b.tolist()}"
                )
        spread = np.maximum(np.abs(ell), 1.0 / rate)
        for _ in range(_CHECK_POINTS // 4):
            mu = ell + rng.random(m) * 2 * spread
            a = self.response(mu, rate)
            if (a < -1e-12).any() or (a > rate * (1 + 1e-9)).any():
                raise InvalidProblemError(
                    f"`regularizer.response` must return 0 <= a <= ρ = {rate.tolist()}; got {a.tolist()} at mu = {mu.tolist()}"
                )
            best = self.value(a, rate) + mu @ a
            cand = pts @ mu + vals
            if cand.max() > best + 1e-7 * max(scale, abs(best)):
                k = int(np.argmax(cand))
                raise InvalidProblemError(
                    f"`regularizer.response` is not the maximiser of r(a) + mu·a at mu = {mu.tolist()}: a = "
                    f"{pts[k].tolist()} gives {cand[k]:.6g} > {best:.6g} at its answer {a.tolist()}"
                )
            j = int(rng.integers(m))
            below = mu.copy()
            below[j] = ell[j] - spread[j]
            if self.response(below, rate)[j] > 1e-12 * rate[j]:
                raise InvalidProblemError(
                    f"`regularizer.floor` is not a floor: with mu_{j} = {below[j]:.6g} below it the response still "
                    f"uses resource {j} (a = {self.response(below, rate).tolist()})"
                )

    def __repr__(self):  # by the functions' names, the same in every process (states' fingerprints use it)
        return f"CustomRegularizer(value={self.value_fn.__qualname__}, response={self.response_fn.__qualname__})"


BUILT_IN = {cls.name: cls for cls in (MaxMinFairness, LoadBalancing, BelowTargetPenalty, QuadraticPenalty)}


def as_regularizer(value) -> Regularizer | None:
    """A `Regularizer` from itself, ``None``, or a dict ``{"kind": name, ...}`` (the file format)."""
    if value is None or isinstance(value, Regularizer):
        return value
    if isinstance(value, dict):
        kind = value.get("kind")
        if kind not in BUILT_IN:
            raise InvalidProblemError(f"`regularizer.kind` must be one of {', '.join(BUILT_IN)}; got {kind!r}")
        cls = BUILT_IN[kind]
        allowed = {"weight", "target"} if issubclass(cls, _Targeted) else {"weight"}
        extra = sorted(set(value) - allowed - {"kind"})
        if extra:
            raise InvalidProblemError(
                f"`regularizer` of kind {kind!r} has an unknown key `{extra[0]}` (it takes {', '.join(sorted(allowed))})"
            )
        return cls(**{k: v for k, v in value.items() if k != "kind"})
    raise InvalidProblemError(
        f"`regularizer` must be a Regularizer (orbudget.regularizers), a dict with `kind`, or None; got {value!r}"[:300]
    )
