"""Dual mirror descent step by step (Balseiro, Lu, Mirrokni): the `DualMirrorDescent` policy for an
`OnlineAllocation` (plain numpy, for serving and training loops), and the numpy twins of the kernel's dual step
(`mirror_step`, `initial_duals`, `step_factor`, `projection_radius`) that the numba kernels are tested against."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from ..core.errors import InvalidProblemError
from ..core.validation import as_array, as_choice, as_scalar, check_state, fingerprint, state_array, state_scalar
from ._numerics import MU_MAX, regularizer_project
from .regularizers import Regularizer, as_regularizer

MU_MIN = 1e-250  # with MU_MAX, the range the duals are kept in (as the numba kernel)
REFERENCES = ("euclidean", "scaled_euclidean", "entropy", "projected_entropy")


# -- reference functions (the numpy twin of the kernel's dual step) --------------------------------------
def mirror_step(
    mu: np.ndarray,
    gradient: np.ndarray,
    step_size: float,
    reference: str,
    rate: np.ndarray,
    reward_bound: float,
    floor: np.ndarray | None = None,
) -> np.ndarray:
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


def step_floor(reference: str, regularizer: Regularizer | None, rate: np.ndarray) -> np.ndarray:
    """The box ℓ the mirror step itself keeps μ in: 0 without a regulariser, else the regulariser's floor, except
    for a Euclidean reference with a regulariser that `projects` onto its domain D: that step is left unclipped
    (down to −``MU_MAX``) and `regularizer_project` projects it onto D, which is the paper's step (D lies inside
    the box, and clipping at the box first would not give the projection)."""
    if regularizer is None:
        return np.zeros(rate.size)
    if regularizer.projects and reference in ("euclidean", "scaled_euclidean"):
        return np.full(rate.size, -MU_MAX)
    return regularizer.floor(rate)


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

    def __init__(
        self,
        budgets: ArrayLike,
        horizon: int,
        *,
        reference: str = "euclidean",
        step_size: float | None = None,
        scale: float = 1.0,
        initial: ArrayLike | None = None,
        reward_bound: float = 1.0,
        regularizer: Regularizer | dict | None = None,
    ):
        self.budgets = as_array("budgets", budgets, ndim=1, low=0.0).astype(float)
        self.horizon = as_scalar("horizon", horizon, integer=True, minimum=1)
        self.reference = as_choice("reference", reference, REFERENCES)
        self.reward_bound = as_scalar("reward_bound", reward_bound, minimum=0.0, strict_minimum=True)
        self.rate = self.budgets / self.horizon
        self.regularizer = as_regularizer(regularizer)
        if self.regularizer is not None:
            if (self.rate <= 0).any():
                raise InvalidProblemError(
                    "`budgets` must be positive with a `regularizer` (it is written in shares of each budget)"
                )
            self.regularizer.check(self.rate)
            self.floor = self.regularizer.floor(self.rate)
        else:
            self.floor = np.zeros(self.budgets.size)
        scale = as_scalar("scale", scale, minimum=0.0) * step_factor(self.reference, self.floor)
        self.step_size = (
            as_scalar("step_size", step_size, minimum=0.0) if step_size is not None else scale / math.sqrt(self.horizon)
        )
        self.radius = projection_radius(self.reward_bound, self.rate, self.regularizer)
        self.box = step_floor(self.reference, self.regularizer, self.rate)
        if self.reference == "scaled_euclidean" and (self.rate <= 0).any():
            raise InvalidProblemError("`budgets` must be positive for the scaled Euclidean reference")
        if self.reference == "projected_entropy" and initial is None and (self.rate <= 0).any():
            raise InvalidProblemError(
                "`budgets` must be positive for the projected-entropy reference (its first "
                "duals are ρ/√m, and a zero dual stays zero); or give positive `initial` duals"
            )
        mu = None if initial is None else self._check_duals("initial", initial)
        self.reset(mu)

    def _check_duals(self, name: str, value) -> np.ndarray:
        """Duals in the box μ >= ℓ (ℓ = 0 without a regulariser), strictly above it for an entropy reference."""
        plain = self.regularizer is None
        mu = as_array(name, value, shape=(self.budgets.size,), nonnegative=plain)
        below = mu < self.floor
        if below.any():
            j = int(np.argmax(below))
            raise InvalidProblemError(
                f"`{name}` duals must be >= {self.floor[j]:.6g} (the regulariser's dual floor); got {mu[j]} at index {j}"
            )
        if self.reference.endswith("entropy") and (mu <= self.floor).any():
            if name == "state":
                raise InvalidProblemError(
                    "`state` has a dual on its floor for an entropy reference (it would stay there)"
                    if not plain
                    else "`state` has a zero dual for an entropy reference (a zero dual stays zero)"
                )
            raise InvalidProblemError(
                f"`{name}` duals must be positive for an entropy reference (a zero stays zero)"
                if plain
                else f"`{name}` duals must be above the regulariser's dual floor for "
                "an entropy reference (a dual on it stays there)"
            )
        return np.array(mu, float)

    def reset(self, initial=None) -> None:
        """Start a new horizon: full budgets, μ₁ again (or ``initial``)."""
        self.mu = (initial_duals(self.reference, self.rate, self.floor) if initial is None else np.array(initial, float)).copy()
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
        self.mu = mirror_step(self.mu, target - self._tentative, self.step_size, self.reference, self.rate, self.radius, self.box)
        if self.regularizer is not None and self.regularizer.projects:
            regularizer_project(
                self.regularizer.code,
                self.regularizer.kernel_arrays(self.mu.size)[0],
                self.mu,
                self.rate,
                self.floor,
                self.reference.endswith("entropy"),
                self.reference == "scaled_euclidean",
            )
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
        what = {
            "kind": "DualMirrorDescent",
            "budgets": self.budgets,
            "horizon": self.horizon,
            "reference": self.reference,
            "reward_bound": self.reward_bound,
        }
        if self.regularizer is not None:  # its repr names its fields (a custom one's, its functions)
            what["regularizer"] = repr(self.regularizer)
        return fingerprint(what)

    STATE_KEYS = ("mu", "remaining", "t", "reward", "dual_sum", "step_size")

    def state_dict(self) -> dict:
        """Everything `load_state_dict` needs to resume, with ``kind`` and the policy's ``fingerprint``."""
        return {
            "kind": "DualMirrorDescent",
            "fingerprint": self.fingerprint,
            "mu": self.mu.copy(),
            "remaining": self.remaining.copy(),
            "t": self.t,
            "reward": self.reward,
            "dual_sum": self.dual_sum.copy(),
            "reference": self.reference,
            "step_size": self.step_size,
            "budgets": self.budgets.copy(),
            "horizon": self.horizon,
            "reward_bound": self.reward_bound,
        }

    def load_state_dict(self, state: dict) -> None:
        """Resume from `state_dict`. A state of another kind, of a policy for other budgets, horizon,
        reference or reward bound (its ``fingerprint`` differs), or with malformed entries is refused with an
        `InvalidProblemError` naming ``state``; nothing is changed then."""
        check_state(state, kind="DualMirrorDescent", keys=self.STATE_KEYS)
        if state.get("reference", self.reference) != self.reference:
            raise InvalidProblemError(
                f"`state` was saved by a policy with another reference "
                f"({state.get('reference')!r}, this one is {self.reference!r})"
            )
        if state.get("horizon", self.horizon) != self.horizon:
            raise InvalidProblemError(
                f"`state` was saved by a policy with another horizon ({state.get('horizon')!r}, this one is {self.horizon})"
            )
        check_state(state, kind="DualMirrorDescent", fingerprint=self.fingerprint, keys=self.STATE_KEYS)
        m = self.budgets.size
        try:
            mu = self._check_duals("state", state["mu"])
        except InvalidProblemError as exc:
            raise InvalidProblemError(f"`state` has a malformed entry: {exc}") from None
        remaining = state_array(state, "remaining", shape=(m,), nonnegative=True)
        dual_sum = state_array(state, "dual_sum", shape=(m,))
        t = state_scalar(state, "t", integer=True, minimum=0, maximum=self.horizon)
        reward = state_scalar(state, "reward")
        step_size = state_scalar(state, "step_size", minimum=0.0)
        over = np.flatnonzero(remaining > self.budgets)  # never more left than given (so the spend is never negative)
        if over.size:
            j = int(over[0])
            raise InvalidProblemError(f"`state` entry `remaining` has {remaining[j]} left of budget {j}, only {self.budgets[j]}")
        self.mu = np.array(mu, float)
        self.remaining = np.array(remaining, float)
        self.dual_sum = np.array(dual_sum, float)
        self.t = int(t)
        self.reward = float(reward)
        self.step_size = float(step_size)
        self._tentative = None
