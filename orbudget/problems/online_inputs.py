"""Input models for online allocation (each returns an `OnlineAllocation`; same seed, same
instance), and the dual-mirror-descent paper's applications as ready models.

* `iid_matching` — i.i.d. requests, one unit of resource k per action k;
* `network_revenue_management` — the paper's online LP / NRM generator (reference b.4), dense or streamed;
* `periodic_matching`, `ergodic_matching` — non-stationary inputs;
* `two_phase` — the adversarial low-then-high sequence;
* `second_price_auctions` — bidding under a budget (bid = value / (1 + μ));
* `assortment` — assortment optimisation with limited inventory under a multinomial-logit choice model.

The AdX display-ad instances are in `orbudget.problems.adx`.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import ArrayLike

from ..core.errors import InvalidProblemError
from ..core.validation import as_array, as_generator, as_int_seed, as_scalar
from .online import DEFAULT_BATCH, OnlineAllocation


def _base_seed(seed) -> int:
    """An int seed for replayable streams (a fresh one for ``None``)."""
    return as_int_seed(seed) if seed is not None else int(np.random.default_rng().integers(0, 2**31 - 1))


def _rates(rng, m, rate_range):
    lo, hi = rate_range
    if not (0 < lo <= hi):
        raise InvalidProblemError(f"`rate_range` must satisfy 0 < low <= high; got {rate_range}")
    return rng.uniform(lo, hi, m)


def iid_matching(
    horizon: int, n_resources: int = 10, seed=None, *, rate_range=(0.05, 0.3), stream: bool = False
) -> OnlineAllocation:
    """i.i.d. matching requests: $r_{tk} = w_k U_{tk}$ with $w_k \\sim U(0.5, 1)$, $U \\sim U(0, 1)$;
    budgets $\\rho_k T$ with $\\rho_k \\sim U(\\text{rate\\_range})$. ``stream=True`` generates the
    requests in batches on every pass (replayable; nothing of size T is stored)."""
    horizon = as_scalar("horizon", horizon, integer=True, minimum=1)
    m = as_scalar("n_resources", n_resources, integer=True, minimum=1)
    base = _base_seed(seed)
    rng = np.random.default_rng([base, 0])
    weights = rng.uniform(0.5, 1.0, m)
    budgets = _rates(rng, m, rate_range) * horizon

    def batches():
        gen = np.random.default_rng([base, 1])
        for s in range(0, horizon, DEFAULT_BATCH):
            n = min(DEFAULT_BATCH, horizon - s)
            yield gen.random((n, m)) * weights, None

    if stream:
        return OnlineAllocation(
            stream=batches, horizon=horizon, stream_matching=True, budgets=budgets, reward_bound=float(weights.max())
        )
    return OnlineAllocation.matching(rewards=np.concatenate([b[0] for b in batches()]), budgets=budgets)


def network_revenue_management(
    horizon: int, n_resources: int = 100, n_products: int = 10, seed=None, *, beta: float = 0.5, stream: bool = False
) -> OnlineAllocation:
    """The online LP / network revenue management generator of the DMD repository (reference b.4).

    Product k of request t uses resource i with probability $q_i = (1 + \\mathrm{Beta}(3, 1))/2$;
    $\\rho_i = U(\\beta/2, (1+\\beta)/2)\\,q_i$; revenue $r_{tk} = \\sum_i b_{tik}\\theta_i + N(0, 1)$ clipped
    to [0, 10] with $\\theta = |a|/\\|a\\|$, $a \\sim N(0, I)$. At most one product per request.
    """
    horizon = as_scalar("horizon", horizon, integer=True, minimum=1)
    m = as_scalar("n_resources", n_resources, integer=True, minimum=1)
    d = as_scalar("n_products", n_products, integer=True, minimum=1)
    beta = as_scalar("beta", beta, minimum=0.0, maximum=1.0)
    base = _base_seed(seed)
    rng = np.random.default_rng([base, 0])
    q = (1 + rng.beta(3, 1, m)) / 2
    rate = rng.uniform(beta / 2, (1 + beta) / 2, m) * q
    a = rng.standard_normal(m)
    theta = np.abs(a) / np.linalg.norm(a)
    batch = max(1, DEFAULT_BATCH // max(1, m * d // 64))

    def batches():
        gen = np.random.default_rng([base, 1])
        for s in range(0, horizon, batch):
            n = min(batch, horizon - s)
            b = (gen.random((n, d, m)) < q).astype(np.float64)
            r = np.clip(b @ theta + gen.standard_normal((n, d)), 0.0, 10.0)
            yield r, b

    budgets = rate * horizon
    if stream:
        return OnlineAllocation(stream=batches, horizon=horizon, budgets=budgets, reward_bound=10.0)
    parts = list(batches())
    return OnlineAllocation(
        rewards=np.concatenate([p[0] for p in parts]), consumption=np.concatenate([p[1] for p in parts]), budgets=budgets
    )


def periodic_matching(
    horizon: int, n_resources: int = 10, seed=None, *, period: int = 1000, amplitude: float = 0.8, rate_range=(0.05, 0.3)
) -> OnlineAllocation:
    """Non-stationary (periodic) requests: resource k's reward level follows
    $1 + a \\sin(2\\pi t/P + \\phi_k)$ times i.i.d. U(0, 1) noise, with phases spread over the resources."""
    horizon = as_scalar("horizon", horizon, integer=True, minimum=1)
    m = as_scalar("n_resources", n_resources, integer=True, minimum=1)
    period = as_scalar("period", period, integer=True, minimum=1)
    amplitude = as_scalar("amplitude", amplitude, minimum=0.0, maximum=1.0)
    rng = as_generator(seed)
    phase = 2 * np.pi * np.arange(m) / m
    level = 1 + amplitude * np.sin(2 * np.pi * np.arange(horizon)[:, None] / period + phase)
    budgets = _rates(rng, m, rate_range) * horizon
    return OnlineAllocation.matching(rewards=level * rng.random((horizon, m)) / 2, budgets=budgets)


def ergodic_matching(
    horizon: int, n_resources: int = 10, seed=None, *, correlation: float = 0.9, n_regimes: int = 4, rate_range=(0.05, 0.3)
) -> OnlineAllocation:
    """Non-stationary (ergodic) requests: a hidden regime persists with probability ``correlation`` and is redrawn
    otherwise; each regime has its own reward means per resource."""
    horizon = as_scalar("horizon", horizon, integer=True, minimum=1)
    m = as_scalar("n_resources", n_resources, integer=True, minimum=1)
    c = as_scalar("correlation", correlation, minimum=0.0, maximum=1.0)
    regimes = as_scalar("n_regimes", n_regimes, integer=True, minimum=1)
    rng = as_generator(seed)
    means = rng.uniform(0.1, 1.0, (regimes, m))
    redraw = rng.random(horizon) >= c
    redraw[0] = True
    draws = rng.integers(0, regimes, horizon)
    idx = np.maximum.accumulate(np.where(redraw, np.arange(horizon), 0))
    state = draws[idx]
    budgets = _rates(rng, m, rate_range) * horizon
    return OnlineAllocation.matching(rewards=means[state] * rng.random((horizon, m)), budgets=budgets)


def two_phase(
    horizon: int, *, budget_rate: float = 0.5, low: float = 0.5, high: float = 1.0, switch: float = 0.5
) -> OnlineAllocation:
    """The adversarial two-phase sequence: one resource, every request uses one unit; rewards are ``low`` for the
    first ``switch`` fraction of requests and ``high`` after. The budget ``budget_rate·T`` fits only the high phase,
    which a policy cannot know is coming (α = 1/ρ in the paper's adversarial bound)."""
    horizon = as_scalar("horizon", horizon, integer=True, minimum=2)
    rate = as_scalar("budget_rate", budget_rate, minimum=0.0, maximum=1.0, strict_minimum=True)
    low = as_scalar("low", low, minimum=0.0)
    high = as_scalar("high", high, minimum=0.0)
    cut = int(round(as_scalar("switch", switch, minimum=0.0, maximum=1.0) * horizon))
    r = np.full((horizon, 1), high)
    r[:cut] = low
    return OnlineAllocation.matching(rewards=r, budgets=[max(1.0, np.floor(rate * horizon))])


def second_price_auctions(values, competing_bids, budget: float) -> OnlineAllocation:
    """Repeated second-price auctions under a budget. Winning auction t (bidding at least the highest competing
    bid $d_t$) pays $d_t$ and earns $v_t - d_t$; losing is the null action. One action, one
    resource: reward $v_t - d_t$, consumption $d_t$.

    DMD's tentative action wins exactly when $v_t - d_t - \\mu d_t > 0$, i.e. when the *pacing bid*
    $v_t / (1 + \\mu)$ beats $d_t$ (`DualMirrorDescent.bid`), so the policy never needs
    $d_t$ in advance.
    """
    v = as_array("values", values, ndim=1, nonnegative=True)
    d = as_array("competing_bids", competing_bids, shape=v.shape, nonnegative=True)
    budget = as_scalar("budget", budget, minimum=0.0, strict_minimum=True)
    return OnlineAllocation(rewards=(v - d)[:, None], consumption=d[:, None, None], budgets=[budget])


def random_auctions(horizon: int, seed=None, *, budget_rate: float = 0.1) -> OnlineAllocation:
    """`second_price_auctions` with values U(0, 1) and competing bids U(0, 1)·0.8; budget ρ·T."""
    horizon = as_scalar("horizon", horizon, integer=True, minimum=1)
    rng = as_generator(seed)
    return second_price_auctions(
        rng.random(horizon),
        0.8 * rng.random(horizon),
        as_scalar("budget_rate", budget_rate, minimum=0.0, strict_minimum=True) * horizon,
    )


def assortments(n_products: int, max_size: int | None = None) -> list[tuple[int, ...]]:
    """Every non-empty assortment of at most ``max_size`` products, in the order `assortment` numbers them."""
    n = as_scalar("n_products", n_products, integer=True, minimum=1)
    top = n if max_size is None else as_scalar("max_size", max_size, integer=True, minimum=1, maximum=n)
    return [s for size in range(1, top + 1) for s in itertools.combinations(range(n), size)]


def assortment(prices: ArrayLike, weights: ArrayLike, inventory: ArrayLike, *, max_size: int | None = None) -> OnlineAllocation:
    """Assortment optimisation with limited inventory under a multinomial-logit (MNL) choice model.

    Customer t sees assortment S and buys product j ∈ S with probability
    $P_{tj}(S) = w_{tj} / (1 + \\sum_{i\\in S} w_{ti})$ (the 1 is the no-purchase option). Action = an
    assortment (numbered as in `assortments`); reward = expected revenue $\\sum_{j\\in S} p_j P_{tj}(S)$;
    consumption = expected sales $P_{tj}(S)$ of each product, so the budgets bound expected sales by the
    inventory (the fluid model the online-allocation framework works with).

    Args:
        prices: (n,) product prices.
        weights: (T, n) MNL preference weights of each customer.
        inventory: (n,) units of each product.
        max_size: largest assortment offered (default: all n products).
    """
    p = as_array("prices", prices, ndim=1, nonnegative=True)
    w = as_array("weights", weights, shape=(None, p.size), nonnegative=True)
    inv = as_array("inventory", inventory, shape=p.shape)
    sets = assortments(p.size, max_size)
    member = np.zeros((len(sets), p.size))
    for k, s in enumerate(sets):
        member[k, list(s)] = 1.0
    denom = 1.0 + w @ member.T  # (T, S)
    prob = w[:, None, :] * member[None, :, :] / denom[:, :, None]  # (T, S, n)
    return OnlineAllocation(rewards=prob @ p, consumption=prob, budgets=inv)


def random_assortment(
    horizon: int, n_products: int = 4, seed=None, *, inventory_rate: float = 0.1, max_size: int | None = None
) -> OnlineAllocation:
    """`assortment` with prices U(0.5, 1.5), weights exp(N(0, 1)), inventory ρ·T per product."""
    horizon = as_scalar("horizon", horizon, integer=True, minimum=1)
    n = as_scalar("n_products", n_products, integer=True, minimum=1)
    rng = as_generator(seed)
    inv = np.full(n, as_scalar("inventory_rate", inventory_rate, minimum=0.0, strict_minimum=True) * horizon)
    return assortment(rng.uniform(0.5, 1.5, n), np.exp(rng.standard_normal((horizon, n))), inv, max_size=max_size)
