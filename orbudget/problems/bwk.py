"""Bandits with knapsacks: K arms with unknown reward and consumption distributions, d resources with budgets,
a horizon T (time is the implicit (d+1)-th resource); play stops when a budget could be overrun
(Slivkins, *Introduction to Multi-Armed Bandits*, ch. 10; Badanidiyuru, Kleinberg, Slivkins 2018).

Each pull of arm a returns a reward $r_t \\in [0, 1]$ and consumption $c_t \\in [0, 1]^d$. The
benchmarks are the LP over fixed distributions of arms (book eq. 141),

$$
\\mathrm{OPT_{LP}} = \\max_{X \\ge 0,\\ \\sum_a X_a \\le 1} T\\, r^\\top X \\quad\\text{s.t.}\\quad
T\\, C^\\top X \\le B ,
$$

(the slack in $\\sum_a X_a \\le 1$ is the null arm), which bounds every policy's expected reward, and the
best fixed arm $\\mathrm{OPT_{FA}} = \\max_a r_a \\min(T, \\min_i B_i / C_{ai})$.

**Stopping rule.** A round is played only while every remaining budget is at least 1, the most a round can
consume, so no budget is ever overrun (the conservative form of the book's "stop when a budget runs out").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..core.errors import InvalidProblemError, warn_renamed
from ..core.io import register_kind
from ..core.validation import as_array, as_choice, as_scalar, split_seed  # noqa: F401  (split_seed: re-exported)
from .base import Problem

DISTRIBUTIONS = ("bernoulli", "bounded", "sampler", "adversarial")
CHUNK = 1 << 15  # rounds of random numbers drawn at a time


@register_kind
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class BanditsWithKnapsacks(Problem):
    """A bandits-with-knapsacks instance.

    Args:
        reward_means: (K,) mean reward of each arm, in [0, 1].
        consumption_means: (K, d) mean consumption of each resource by each arm, in [0, 1].
        budgets: (d,) budgets (at least 1 each).
        horizon: T, the number of rounds.
        distribution: how outcomes are drawn: ``bernoulli`` (reward and each consumption are independent
            Bernoulli draws with these means), ``bounded`` (uniform on [m − w, m + w], w = min(m, 1 − m): continuous,
            same means), ``sampler`` (``sampler(arm, rng) -> (reward, consumption)``), or ``adversarial`` (the fixed
            sequences ``rewards`` (T, K) and ``consumptions`` (T, K, d); means are then their averages).
        sampler: the user's draw function for ``distribution='sampler'``.
        rewards: the adversarial reward sequence (T, K).
        consumptions: the adversarial consumption sequence (T, K, d).

    Methods: ``primal_dual`` (PrimalDualBwK), ``ucb_bwk`` (optimistic LP), ``lagrange`` (LagrangeBwK: EXP3 vs Hedge),
    ``best_of_both`` (EXP3 primal, dual mirror descent), ``explore_first``, ``ucb`` (ignores budgets; the cautionary
    baseline) and ``opt_lp`` (the LP benchmark).

    Examples:
        >>> import orbudget as ob
        >>> p = ob.BanditsWithKnapsacks(reward_means=[1, 1], consumption_means=[[1, 0], [0, 1]],
        ...                             budgets=[50, 50], horizon=100)
        >>> ob.solve(p, method="opt_lp").objective, p.opt_fixed_arm()
        (100.0, 50.0)
    """

    reward_means: np.ndarray | None = None
    consumption_means: np.ndarray | None = None
    budgets: np.ndarray
    horizon: int
    distribution: str = "bernoulli"
    sampler: Callable | None = None
    rewards: np.ndarray | None = None
    consumptions: np.ndarray | None = None

    def __post_init__(self):
        dist = as_choice("distribution", self.distribution, DISTRIBUTIONS)
        horizon = as_scalar("horizon", self.horizon, integer=True, minimum=1)
        budgets = as_array("budgets", self.budgets, ndim=1, low=1.0)
        d = budgets.size
        rewards = consumptions = None
        if dist == "adversarial":
            if self.rewards is None or self.consumptions is None:
                raise InvalidProblemError(
                    "`rewards` (T, K) and `consumptions` (T, K, d) are required for distribution='adversarial'"
                )
            rewards = as_array("rewards", self.rewards, shape=(horizon, None), low=0.0, high=1.0)
            consumptions = as_array("consumptions", self.consumptions, shape=(horizon, rewards.shape[1], d), low=0.0, high=1.0)
            rmean = rewards.mean(axis=0) if self.reward_means is None else self.reward_means
            cmean = consumptions.mean(axis=0) if self.consumption_means is None else self.consumption_means
        else:
            if self.rewards is not None or self.consumptions is not None:
                raise InvalidProblemError("`rewards`/`consumptions` sequences apply only to distribution='adversarial'")
            if self.reward_means is None or self.consumption_means is None:
                raise InvalidProblemError("`reward_means` (K,) and `consumption_means` (K, d) are required")
            rmean, cmean = self.reward_means, self.consumption_means
        rmean = as_array("reward_means", rmean, ndim=1, low=0.0, high=1.0)
        cmean = as_array("consumption_means", cmean, shape=(rmean.size, d), low=0.0, high=1.0)
        if dist == "sampler":
            if not callable(self.sampler):
                raise InvalidProblemError("`sampler` must be a callable (arm, rng) -> (reward, consumption)")
        elif self.sampler is not None:
            raise InvalidProblemError("`sampler` applies only to distribution='sampler'")
        self._set("reward_means", rmean)
        self._set("consumption_means", cmean)
        self._set("budgets", budgets)
        self._set("horizon", int(horizon))
        self._set("distribution", dist)
        self._set("rewards", rewards)
        self._set("consumptions", consumptions)

    @property
    def n_arms(self) -> int:
        return self.reward_means.size

    @property
    def n_resources(self) -> int:
        return self.budgets.size

    def to_dict(self) -> dict:
        if self.distribution == "sampler":
            raise InvalidProblemError("a sampler-based BanditsWithKnapsacks cannot be saved: its `sampler` is code")
        d = super().to_dict()
        d.pop("sampler")
        return d

    # -- benchmarks -------------------------------------------------------------------------------------------
    def opt_fixed_arm(self) -> float:
        """Best fixed arm in expectation: $\\max_a r_a \\min(T, \\min_i B_i / C_{ai})$ (fluid, ignores the
        last-round rounding)."""
        with np.errstate(divide="ignore"):
            rounds = np.min(np.where(self.consumption_means > 0, self.budgets / self.consumption_means, np.inf), axis=1)
        return float(np.max(self.reward_means * np.minimum(self.horizon, rounds)))

    # -- environment --------------------------------------------------------------------------------------------
    def env(self, seed=None) -> BwKEnv:
        """A seeded Gymnasium-style environment for step-by-step play (``reset``, ``step(arm)`` with Gymnasium's
        five-tuple; the same convention as `CoupledRMAB.env`). With the same seed, its draws are `solve`'s."""
        return BwKEnv(self, seed)

    def environment(self, seed=None) -> Environment:
        """Deprecated (it goes in the next release): use `env`, whose ``step`` returns Gymnasium's five-tuple. A
        seeded environment whose ``step(arm)`` returns ``(reward, consumption)``."""
        warn_renamed(
            "BanditsWithKnapsacks.environment()",
            "env()",
            note=", whose step(arm) returns Gymnasium's (remaining, reward, terminated, truncated, info)",
        )
        return Environment(self, split_seed(seed)[1])

    # -- ready instances ----------------------------------------------------------------------------------------
    @classmethod
    def random(
        cls,
        n_arms: int = 10,
        n_resources: int = 3,
        horizon: int = 10_000,
        *,
        budget_fraction: float = 0.25,
        distribution: str = "bernoulli",
        seed=None,
    ) -> BanditsWithKnapsacks:
        """Random means: rewards U(0.1, 1), consumption U(0, 1); budgets ``budget_fraction``·T for every resource."""
        n_arms = as_scalar("n_arms", n_arms, integer=True, minimum=1)
        n_resources = as_scalar("n_resources", n_resources, integer=True, minimum=1)
        horizon = as_scalar("horizon", horizon, integer=True, minimum=1)
        frac = as_scalar("budget_fraction", budget_fraction, minimum=0.0, maximum=1.0, strict_minimum=True)
        rng = np.random.default_rng(seed)
        return cls(
            reward_means=rng.uniform(0.1, 1.0, n_arms),
            consumption_means=rng.uniform(0.0, 1.0, (n_arms, n_resources)),
            budgets=np.full(n_resources, max(1.0, frac * horizon)),
            horizon=horizon,
            distribution=distribution,
        )

    @classmethod
    def dynamic_pricing(cls, horizon: int, supply: float, *, n_prices: int = 10, demand=None) -> BanditsWithKnapsacks:
        """Dynamic pricing with limited supply: arm j posts price $p_j = j/n$ (j = 1..n); a customer buys one unit
        with probability $S(p)$ (default $1 - p$), paying p. Reward = p·sale, consumption = sale."""
        horizon = as_scalar("horizon", horizon, integer=True, minimum=1)
        n = as_scalar("n_prices", n_prices, integer=True, minimum=1)
        prices = np.arange(1, n + 1) / n
        sale = 1 - prices if demand is None else np.asarray([demand(p) for p in prices], float)
        if ((sale < 0) | (sale > 1)).any():
            raise InvalidProblemError("`demand` must return sale probabilities in [0, 1]")
        # reward p·sale is Bernoulli(p·S(p)) only in mean; the sampler keeps reward and sale coupled
        return cls(
            reward_means=prices * sale,
            consumption_means=sale[:, None],
            budgets=[supply],
            horizon=horizon,
            distribution="sampler",
            sampler=_PricingSampler(prices, sale),
        )


class _PricingSampler:
    """Sampler for dynamic pricing: one uniform decides the sale; reward = price·sale."""

    def __init__(self, prices, sale):
        self.prices, self.sale = np.asarray(prices), np.asarray(sale)

    def __call__(self, arm, rng):
        sold = float(rng.random() < self.sale[arm])
        return self.prices[arm] * sold, np.array([sold])


class Environment:
    """Draws outcomes for a `BanditsWithKnapsacks` from its own generator: one row of ``1 + d`` uniforms per
    round (null rounds included), in the same order as the numba kernels, so step-by-step play reproduces ``solve``.
    """

    def __init__(self, problem: BanditsWithKnapsacks, rng: np.random.Generator):
        self.problem = problem
        self.rng = rng
        self.t = 0

    def step(self, arm: int) -> tuple[float, np.ndarray]:
        """Play round ``t`` with ``arm`` (-1 = the null arm: nothing happens but time) and return the outcome."""
        p = self.problem
        arm = int(arm)
        if not -1 <= arm < p.n_arms:
            raise InvalidProblemError(f"`arm` must be in -1..{p.n_arms - 1}; got {arm}")
        if self.t >= p.horizon:
            raise InvalidProblemError(f"the horizon ({p.horizon} rounds) is over")
        t = self.t
        self.t += 1
        if p.distribution == "sampler":
            if arm < 0:
                return 0.0, np.zeros(p.n_resources)
            r, c = p.sampler(arm, self.rng)
            c = np.asarray(c, float).reshape(p.n_resources)
            if not (0 <= r <= 1 and np.all((c >= 0) & (c <= 1))):
                raise InvalidProblemError(f"`sampler` must return a reward in [0, 1] and consumption in [0, 1]^d; got {r}, {c}")
            return float(r), c
        if p.distribution == "adversarial":
            if arm < 0:
                return 0.0, np.zeros(p.n_resources)
            return float(p.rewards[t, arm]), np.array(p.consumptions[t, arm], float)
        u = self.rng.random(1 + p.n_resources)
        if arm < 0:
            return 0.0, np.zeros(p.n_resources)
        return outcome(p.distribution, p.reward_means[arm], p.consumption_means[arm], u)


class BwKEnv:
    """Gymnasium-style environment over a `BanditsWithKnapsacks` (no gymnasium dependency), the convention of every
    simulated family (`RMABEnv` too).

    ``reset(seed=None, options=None) -> (remaining, info)``: a new episode with full budgets (a ``seed`` reseeds,
    else the draws go on from the same stream). ``step(arm) -> (remaining, reward, terminated, truncated, info)``:
    play one round (``arm`` = -1 is the null arm); ``remaining`` is the budget left per resource, ``terminated`` is
    true once some budget is below 1 (no further round can be paid for: the stopping rule of the policies and of
    `solve`), ``truncated`` once the horizon is reached, and ``info`` has ``t``, ``arm`` and ``consumption``.
    Outcomes are drawn as in `solve` (one row of 1 + d uniforms per round), so a `BwKPolicy` played against
    ``env(seed)`` makes the decisions of ``solve(..., seed=seed)``. A step after the episode ended raises
    `InvalidProblemError`.
    """

    def __init__(self, problem: BanditsWithKnapsacks, seed=None):
        self.problem = problem
        self._rng = split_seed(seed)[1]
        self.reset()

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = split_seed(seed)[1]
        self._draws = Environment(self.problem, self._rng)
        self.remaining = np.asarray(self.problem.budgets, float).copy()
        self.terminated = self.truncated = False
        return self.remaining.copy(), {"t": 0}

    @property
    def t(self) -> int:
        return self._draws.t

    def step(self, arm):
        if self.terminated or self.truncated:
            raise InvalidProblemError(
                "`arm` cannot be played: the episode is over (a budget below 1 or the horizon reached); call reset()"
            )
        reward, consumption = self._draws.step(arm)
        self.remaining -= consumption
        self.terminated = bool((self.remaining < 1.0).any())
        self.truncated = self._draws.t >= self.problem.horizon
        info = {"t": self._draws.t, "arm": int(arm), "consumption": consumption}
        return self.remaining.copy(), reward, self.terminated, self.truncated, info


def outcome(distribution: str, reward_mean: float, consumption_mean: np.ndarray, u: np.ndarray):
    """Map one row of uniforms to (reward, consumption) — the numpy twin of the kernel's draw."""
    if distribution == "bernoulli":
        return float(u[0] < reward_mean), (u[1:] < consumption_mean).astype(float)
    w = min(reward_mean, 1 - reward_mean)
    wc = np.minimum(consumption_mean, 1 - consumption_mean)
    return float(reward_mean + w * (2 * u[0] - 1)), consumption_mean + wc * (2 * u[1:] - 1)
