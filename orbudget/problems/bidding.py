"""Real-time bidding as a budgeted MDP (Cai et al., "Real-Time Bidding by Reinforcement Learning in Display
Advertising", WSDM 2017; official code ``han-cai/rlb-dp``).

An episode is T auctions with budget B in market-price units. In state (t, b) (t auctions left, the current one
included) an impression with predicted click rate θ arrives; the bid a ∈ {0..min(b, δmax)} wins iff a >= δ (ties
win), the market price δ ~ m independent of θ, and the winner pays δ (second price). The value before θ is seen:

.. math::

    V(t, b) = V(t-1, b) + \\sum_{\\delta=0}^{\\min(b, \\delta_{max})} m(\\delta)\\,
    \\pi_F\\big(V(t-1, b) - V(t-1, b-\\delta)\\big), \\qquad \\pi_F(c) = E_F[(\\theta - c)^+],

(``rlb_exact``, the true optimum when θ ~ F). The paper's code replaces F by a point mass at the training CTR θ̄
(``rlb``; it also keeps V(t, 0) = 0). The bid in either case is the largest δ with
θ + V(t−1, b−δ) − V(t−1, b) >= 0, scanning δ upward and stopping at the first failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import InvalidProblemError
from ..core.io import register_kind
from ..core.validation import as_array, as_generator, as_scalar
from .base import Problem

BUDGET_FRACTIONS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2)
# Lin's base bid b0 as tuned by the official code (read from its shipped pickles; reference §2), c0 = 1/32 .. 1/2
OFFICIAL_LIN_BASE_BIDS = {"1458": (45, 60, 85, 130, 240), "2997": (10, 15, 20, 85, 130), "3358": (30, 45, 70, 90, 265)}


@register_kind
@dataclass(frozen=True, kw_only=True, eq=False)
class BiddingCampaign(Problem):
    """A campaign: the market, the budget per episode, and an auction log to replay.

    Args:
        market_price: (δmax + 1,) probabilities m(δ) of the market price δ = 0..δmax.
        ctr_mean: θ̄, the training click rate (what the paper's DP plugs in).
        episode_length: T auctions per episode; the budget resets every episode.
        budget: B per episode, in market-price units (whole number).
        ctr: (N,) predicted click rate of each logged auction.
        price: (N,) market price of each logged auction (whole numbers in 0..δmax).
        click: (N,) logged click (0/1); optional for synthetic logs.
        true_ctr: (N,) synthetic only: the true click probability, scored as *expected clicks* Σθ·1[win].
        ctr_sample: (n,) sample of the click-rate distribution F (for ``rlb_exact``, ``ortb``, the solved ``lin``).
        cost_per_click: eCPC of the training data (``mcpc``); default mean price / θ̄.
        train_ctr, train_price: an optional training log for tuning the baselines (replayed in the same episodes).
        lin_base_bid: Lin's b0 when known (the official tuned value for iPinYou); else tuned or solved.
        name: a label.
    """

    market_price: np.ndarray
    ctr_mean: float
    episode_length: int
    budget: int
    ctr: np.ndarray | None = None
    price: np.ndarray | None = None
    click: np.ndarray | None = None
    true_ctr: np.ndarray | None = None
    ctr_sample: np.ndarray | None = None
    cost_per_click: float | None = None
    train_ctr: np.ndarray | None = None
    train_price: np.ndarray | None = None
    lin_base_bid: float | None = None
    name: str = ""

    def __post_init__(self):
        m = as_array("market_price", self.market_price, ndim=1, nonnegative=True)
        if m.size < 2:
            raise InvalidProblemError(f"`market_price` must cover prices 0..δmax with δmax >= 1; got {m.size} entries")
        if abs(m.sum() - 1.0) > 1e-6:
            raise InvalidProblemError(f"`market_price` must sum to 1 (a probability mass function); got {m.sum():.6g}")
        theta = as_scalar("ctr_mean", self.ctr_mean, minimum=0.0, maximum=1.0, strict_minimum=True)
        horizon = as_scalar("episode_length", self.episode_length, integer=True, minimum=1)
        budget = as_scalar("budget", self.budget, integer=True, minimum=0)
        self._set("market_price", m / m.sum())
        self._set("ctr_mean", float(theta))
        self._set("episode_length", int(horizon))
        self._set("budget", int(budget))
        max_bid = m.size - 1
        if self.ctr is not None or self.price is not None:
            if self.ctr is None or self.price is None:
                raise InvalidProblemError("`ctr` and `price` must be given together (the auction log)")
            ctr = as_array("ctr", self.ctr, ndim=1, low=0.0, high=1.0)
            price = as_array("price", self.price, shape=ctr.shape, dtype=int, low=0, high=max_bid)
            self._set("ctr", ctr)
            self._set("price", price)
            for field in ("click", "true_ctr"):
                value = getattr(self, field)
                if value is not None:
                    kw = dict(dtype=int, low=0, high=1) if field == "click" else dict(low=0.0, high=1.0)
                    self._set(field, as_array(field, value, shape=ctr.shape, **kw))
        elif self.click is not None or self.true_ctr is not None:
            raise InvalidProblemError("`click` and `true_ctr` need the log (`ctr` and `price`)")
        if self.ctr_sample is not None:
            self._set("ctr_sample", as_array("ctr_sample", self.ctr_sample, ndim=1, low=0.0, high=1.0))
        if self.train_ctr is not None or self.train_price is not None:
            tc = as_array("train_ctr", self.train_ctr, ndim=1, low=0.0, high=1.0)
            self._set("train_ctr", tc)
            self._set("train_price", as_array("train_price", self.train_price, shape=tc.shape, dtype=int, low=0,
                                              high=max_bid))
        if self.cost_per_click is not None:
            self._set("cost_per_click", as_scalar("cost_per_click", self.cost_per_click, minimum=0.0, strict_minimum=True))
        if self.lin_base_bid is not None:
            self._set("lin_base_bid", as_scalar("lin_base_bid", self.lin_base_bid, minimum=0.0))

    # -- derived quantities -----------------------------------------------------------------------------------
    @property
    def max_bid(self) -> int:
        return self.market_price.size - 1

    @property
    def mean_price(self) -> float:
        return float(np.arange(self.market_price.size) @ self.market_price)

    @property
    def ecpc(self) -> float:
        return self.cost_per_click if self.cost_per_click is not None else self.mean_price / self.ctr_mean

    @property
    def n_auctions(self) -> int:
        return 0 if self.ctr is None else self.ctr.size

    @property
    def n_episodes(self) -> int:
        return -(-self.n_auctions // self.episode_length)

    def with_budget(self, budget: int | None = None, *, fraction: float | None = None, episode_length: int | None = None):
        """The same campaign with another budget (or B = ⌊mean price·c0·T⌋ for ``fraction`` c0) or episode length."""
        import dataclasses

        horizon = self.episode_length if episode_length is None else episode_length
        if fraction is not None:
            budget = budget_for(self.mean_price, fraction, horizon)
        return dataclasses.replace(self, budget=self.budget if budget is None else budget, episode_length=horizon)

    # -- constructors -------------------------------------------------------------------------------------------
    @classmethod
    def from_ipinyou(cls, folder, episode_length: int = 1000, budget_fraction: float = 1 / 32) -> BiddingCampaign:
        """Load an iPinYou campaign folder (``info.json``, and ``test.theta.txt`` when present) as the official code
        does: m(δ) = (n_δ + 1)/(imp_train + 301), θ̄ = clk_train/imp_train, B = ⌊(cost_train/imp_train)·c0·T⌋."""
        folder = Path(folder)
        info_path = folder / "info.json"
        if not info_path.exists():
            raise FileNotFoundError(f"iPinYou campaign data not found: {info_path}")
        info = json.loads(info_path.read_text())
        for key in ("imp_train", "clk_train", "cost_train", "price_counter_train"):
            if key not in info:
                raise InvalidProblemError(f"{info_path}: missing field `{key}`")
        counts = np.asarray(info["price_counter_train"], float)
        pmf = (counts + 1) / (info["imp_train"] + counts.size)
        fraction = as_scalar("budget_fraction", budget_fraction, minimum=0.0, strict_minimum=True)
        horizon = as_scalar("episode_length", episode_length, integer=True, minimum=1)
        budget = int(((info["cost_train"] / info["imp_train"]) * fraction) * horizon)
        log = folder / "test.theta.txt"
        click = price = ctr = None
        if log.exists():
            click, price, ctr = parse_log(log, max_bid=counts.size - 1)
        base = None
        tuned = OFFICIAL_LIN_BASE_BIDS.get(folder.name)
        if tuned is not None and any(np.isclose(fraction, f) for f in BUDGET_FRACTIONS):
            base = float(tuned[int(np.argmin([abs(fraction - f) for f in BUDGET_FRACTIONS]))])
        return cls(market_price=pmf, ctr_mean=info["clk_train"] / info["imp_train"], episode_length=horizon,
                   budget=budget, ctr=ctr, price=price, click=click, ctr_sample=ctr,
                   cost_per_click=info["cost_train"] / max(info["clk_train"], 1), lin_base_bid=base,
                   name=f"iPinYou {folder.name}")

    @classmethod
    def synthetic(cls, *, n_test: int = 500_000, n_train: int = 300_000, episode_length: int = 1000,
                  budget_fraction: float = 1 / 32, ctr_spread: float = 1.0, correlation: float = 0.0,
                  base_ctr: float = 1e-3, price_median: float = 50.0, price_spread: float = 0.8, max_bid: int = 300,
                  seed=None) -> BiddingCampaign:
        """A synthetic market (reference §4): log-normal prices, logit-normal click rates, correlation ρ between them.

        δ = min(δmax, round(exp(ln median + σ_m z1))), logit θ = logit(θ0) + σ_c z2, corr(z1, z2) = ρ. The market
        pmf (Laplace-smoothed), θ̄ and the CTR sample come from ``n_train`` training draws, which are also kept for
        tuning; the test log has ``n_test`` draws scored by expected clicks (``true_ctr``) with sampled clicks.
        """
        rng = as_generator(seed)
        rho = as_scalar("correlation", correlation, minimum=-1.0, maximum=1.0)
        sigma = as_scalar("ctr_spread", ctr_spread, minimum=0.0)
        base = as_scalar("base_ctr", base_ctr, minimum=0.0, maximum=1.0, strict_minimum=True)
        max_bid = as_scalar("max_bid", max_bid, integer=True, minimum=1)

        def draw(n):
            z1 = rng.standard_normal(n)
            z2 = rho * z1 + np.sqrt(1 - rho**2) * rng.standard_normal(n)
            price = np.minimum(max_bid, np.round(np.exp(np.log(price_median) + price_spread * z1))).astype(np.int64)
            logit = np.log(base / (1 - base)) + sigma * z2
            return 1 / (1 + np.exp(-logit)), price

        train_ctr, train_price = draw(as_scalar("n_train", n_train, integer=True, minimum=1))
        test_ctr, test_price = draw(as_scalar("n_test", n_test, integer=True, minimum=1))
        counts = np.bincount(train_price, minlength=max_bid + 1).astype(float)
        pmf = (counts + 1) / (counts.sum() + counts.size)
        mean_price = float(np.arange(max_bid + 1) @ pmf)
        horizon = as_scalar("episode_length", episode_length, integer=True, minimum=1)
        return cls(market_price=pmf, ctr_mean=float(train_ctr.mean()), episode_length=horizon,
                   budget=budget_for(mean_price, budget_fraction, horizon), ctr=test_ctr, price=test_price,
                   click=(rng.random(test_ctr.size) < test_ctr).astype(np.int64), true_ctr=test_ctr,
                   ctr_sample=train_ctr[: min(train_ctr.size, 50_000)], train_ctr=train_ctr, train_price=train_price,
                   name=f"synthetic σc={sigma} ρ={rho}")


def budget_for(mean_price: float, fraction: float, episode_length: int) -> int:
    """B = ⌊(mean price · c0) · T⌋, in the official code's floating-point order."""
    fraction = as_scalar("budget_fraction", fraction, minimum=0.0, strict_minimum=True)
    return int((mean_price * fraction) * episode_length)


def parse_log(path, max_bid: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read an iPinYou ``*.theta.txt`` log: lines ``click price pCTR``. Errors name the line and what is wrong."""
    path = Path(path)
    clicks, prices, ctrs = [], [], []
    with path.open() as fh:
        for i, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 3:
                raise InvalidProblemError(f"{path.name} line {i}: expected 'click price pCTR', got {line.strip()[:60]!r}")
            try:
                c, p, t = int(parts[0]), int(parts[1]), float(parts[2])
            except ValueError as exc:
                raise InvalidProblemError(f"{path.name} line {i}: not numbers: {line.strip()[:60]!r}") from exc
            if c not in (0, 1):
                raise InvalidProblemError(f"{path.name} line {i}: click must be 0 or 1; got {c}")
            if not 0 <= p <= max_bid:
                raise InvalidProblemError(f"{path.name} line {i}: price must be in 0..{max_bid}; got {p}")
            if not 0.0 <= t <= 1.0:
                raise InvalidProblemError(f"{path.name} line {i}: pCTR must be in [0, 1]; got {t}")
            clicks.append(c)
            prices.append(p)
            ctrs.append(t)
    return np.array(clicks, np.int64), np.array(prices, np.int64), np.array(ctrs, float)


PAPER_METHODS = ("rlb", "rlb_exact", "ss_mdp", "lin", "ortb", "dual_pacing", "mcpc", "const", "rand")


def results_table(campaign: BiddingCampaign, methods=PAPER_METHODS, fractions=BUDGET_FRACTIONS, seed=0) -> list[dict]:
    """The paper's table for one campaign: one record per (budget fraction, method) with the score (expected clicks
    on synthetic logs, clicks otherwise) and the replay statistics. Budgets are B = ⌊mean price·c0·T⌋."""
    from ..core.solve import solve

    rows = []
    for fraction in fractions:
        c = campaign.with_budget(fraction=fraction)
        for method in methods:
            r = solve(c, method=method, seed=seed)
            rows.append({"budget_fraction": fraction, "budget": c.budget, "method": method, "score": r.objective,
                         **{k: r.stats[k] for k in ("clicks", "impressions", "cost", "win_rate", "cpm", "ecpc")}})
    return rows
