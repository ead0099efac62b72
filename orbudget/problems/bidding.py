"""Real-time bidding as a budgeted MDP (Cai et al., "Real-Time Bidding by Reinforcement Learning in Display
Advertising", WSDM 2017; official code ``han-cai/rlb-dp``).

An episode is T auctions with budget B in market-price units. In state (t, b) (t auctions left, the current one
included) an impression with predicted click rate θ arrives; the bid a ∈ {0..min(b, δmax)} wins iff a >= δ (ties
win), the market price δ ~ m independent of θ, and the winner pays δ (second price). The value before θ is seen:

$$
V(t, b) = V(t-1, b) + \\sum_{\\delta=0}^{\\min(b, \\delta_{max})} m(\\delta)\\,
\\pi_F\\big(V(t-1, b) - V(t-1, b-\\delta)\\big), \\qquad \\pi_F(c) = E_F[(\\theta - c)^+],
$$

(``rlb_exact``, the true optimum when θ ~ F). The paper's code replaces F by a point mass at the training CTR θ̄
(``rlb``; it also keeps V(t, 0) = 0). The bid in either case is the largest δ with
θ + V(t−1, b−δ) − V(t−1, b) >= 0, scanning δ upward and stopping at the first failure.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import InvalidProblemError
from ..core.io import register_kind
from ..core.validation import as_array, as_generator, as_scalar, memory_limit
from .base import Problem

BUDGET_FRACTIONS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2)
MAX_UNITS = 2**53  # budgets and episode lengths above this are not exact in the float64 statistics
DRAW_BYTES = 96  # float64/int64 arrays per synthetic draw while generating (normals, price, logit, CTR, click, ...)
# Lin's base bid b0 as tuned by the official code (read from its shipped pickles; reference §2), c0 = 1/32 .. 1/2
OFFICIAL_LIN_BASE_BIDS = {"1458": (45, 60, 85, 130, 240), "2997": (10, 15, 20, 85, 130), "3358": (30, 45, 70, 90, 265)}


@register_kind
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
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
        train_ctr: the click rates of an optional training log for tuning the baselines (replayed in the same
            episodes).
        train_price: the market prices of that training log.
        lin_base_bid: Lin's b0 when known (the official tuned value for iPinYou); else tuned or solved.
        name: a label.
        cost_per_impression: the training cost per impression (CPM_train, price units) that budgets for a fraction
            c0 are computed from, B = ⌊(cost_per_impression·c0)·T⌋; default: the mean of ``market_price``.
        lin_base_bids: (n, 2) rows (c0, b0): Lin's base bid known for budget fraction c0 (the official tuned values
            for iPinYou), which `with_budget` looks up for a new fraction.
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
    cost_per_impression: float | None = None
    lin_base_bids: np.ndarray | None = None

    def __post_init__(self):
        m = as_array("market_price", self.market_price, ndim=1, nonnegative=True)
        if m.size < 2:
            raise InvalidProblemError(f"`market_price` must cover prices 0..δmax with δmax >= 1; got {m.size} entries")
        if abs(m.sum() - 1.0) > 1e-6:
            raise InvalidProblemError(f"`market_price` must sum to 1 (a probability mass function); got {m.sum():.6g}")
        theta = as_scalar("ctr_mean", self.ctr_mean, minimum=0.0, maximum=1.0, strict_minimum=True)
        horizon = as_scalar("episode_length", self.episode_length, integer=True, minimum=1, maximum=MAX_UNITS)
        budget = as_scalar("budget", self.budget, integer=True, minimum=0, maximum=MAX_UNITS)
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
            self._set("train_price", as_array("train_price", self.train_price, shape=tc.shape, dtype=int, low=0, high=max_bid))
        if self.cost_per_click is not None:
            self._set("cost_per_click", as_scalar("cost_per_click", self.cost_per_click, minimum=0.0, strict_minimum=True))
        if self.lin_base_bid is not None:
            self._set("lin_base_bid", as_scalar("lin_base_bid", self.lin_base_bid, minimum=0.0))
        if self.cost_per_impression is not None:
            self._set(
                "cost_per_impression",
                as_scalar("cost_per_impression", self.cost_per_impression, minimum=0.0, strict_minimum=True),
            )
        if self.lin_base_bids is not None:
            table = as_array("lin_base_bids", self.lin_base_bids, shape=(None, 2), nonnegative=True)
            if (table[:, 0] <= 0).any():
                raise InvalidProblemError(f"`lin_base_bids` must hold rows (c0 > 0, b0 >= 0); got c0 = {table[:, 0]}")
            self._set("lin_base_bids", table)
        if not isinstance(self.name, str):
            raise InvalidProblemError(f"`name` must be a string; got {self.name!r}")

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

    @property
    def budget_base(self) -> float:
        """What a budget fraction c0 multiplies: the training cost per impression, else the market's mean price."""
        return self.cost_per_impression if self.cost_per_impression is not None else self.mean_price

    def lin_base_bid_for(self, fraction: float) -> float | None:
        """Lin's known b0 for budget fraction ``fraction`` (from ``lin_base_bids``), or None."""
        return _lookup_base_bid(self.lin_base_bids, fraction)

    def with_budget(self, budget: int | None = None, *, fraction: float | None = None, episode_length: int | None = None):
        """The same campaign with another budget B, or the budget for ``fraction`` c0, or another episode length.

        For a fraction, everything the loaders derive from it is recomputed the same way: B = ⌊(cost per
        impression·c0)·T⌋ (`budget_base`) and Lin's base bid for c0 from ``lin_base_bids`` (None when not
        known, so ``lin`` tunes or solves it), so ``from_ipinyou(folder, T, c).with_budget(fraction=c0)`` equals
        ``from_ipinyou(folder, T, c0)``. A base bid set for one budget is not carried to another: given ``budget``
        or ``episode_length`` alone, it is kept only if B and T are unchanged.
        """
        horizon = (
            self.episode_length
            if episode_length is None
            else as_scalar("episode_length", episode_length, integer=True, minimum=1, maximum=MAX_UNITS)
        )
        if fraction is not None:
            if budget is not None:
                raise InvalidProblemError("give `budget` or `fraction`, not both")
            budget = budget_for(self.budget_base, fraction, horizon)
            base = self.lin_base_bid_for(fraction)
        else:
            budget = self.budget if budget is None else budget
            same = budget == self.budget and horizon == self.episode_length
            base = self.lin_base_bid if same else None
        budget = as_scalar("budget", budget, integer=True, minimum=0, maximum=MAX_UNITS)
        # a copy with the three derived fields set: the rest is already validated, and re-running __post_init__
        # would renormalise `market_price` and move it by an ulp
        out = copy.copy(self)
        out._set("budget", int(budget))
        out._set("episode_length", int(horizon))
        out._set("lin_base_bid", base)
        return out

    # -- constructors -------------------------------------------------------------------------------------------
    @classmethod
    def from_ipinyou(cls, folder, episode_length: int = 1000, budget_fraction: float = 1 / 32) -> BiddingCampaign:
        """Load an iPinYou campaign folder (``info.json``, and ``test.theta.txt`` when present) as the official code
        does: m(δ) = (n_δ + 1)/(imp_train + 301), θ̄ = clk_train/imp_train, B = ⌊(cost_train/imp_train)·c0·T⌋."""
        folder = Path(folder)
        info_path = folder / "info.json"
        if not info_path.exists():
            raise FileNotFoundError(f"iPinYou campaign data not found: {info_path}")
        try:
            info = json.loads(info_path.read_text())
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidProblemError(f"`folder`: {info_path} is not valid JSON: {exc}") from None
        if not isinstance(info, dict):
            raise InvalidProblemError(f"`folder`: {info_path} must hold a JSON object; got {type(info).__name__}")
        for key in ("imp_train", "clk_train", "cost_train", "price_counter_train"):
            if key not in info:
                raise InvalidProblemError(f"{info_path}: missing field `{key}`")
        for key in ("imp_train", "clk_train", "cost_train"):
            info[key] = as_scalar(key, info[key], minimum=1 if key == "imp_train" else 0)
        counts = np.array(as_array("price_counter_train", info["price_counter_train"], ndim=1, nonnegative=True))
        pmf = (counts + 1) / (info["imp_train"] + counts.size)
        fraction = as_scalar("budget_fraction", budget_fraction, minimum=0.0, strict_minimum=True)
        horizon = as_scalar("episode_length", episode_length, integer=True, minimum=1)
        cost_per_impression = info["cost_train"] / info["imp_train"]
        budget = budget_for(cost_per_impression, fraction, horizon)
        log = folder / "test.theta.txt"
        click = price = ctr = None
        if log.exists():
            click, price, ctr = parse_log(log, max_bid=counts.size - 1)
        tuned = OFFICIAL_LIN_BASE_BIDS.get(folder.name)
        table = None if tuned is None else np.array([[f, b] for f, b in zip(BUDGET_FRACTIONS, tuned)], float)
        return cls(
            market_price=pmf,
            ctr_mean=info["clk_train"] / info["imp_train"],
            episode_length=horizon,
            budget=budget,
            ctr=ctr,
            price=price,
            click=click,
            ctr_sample=ctr,
            cost_per_click=info["cost_train"] / max(info["clk_train"], 1),
            lin_base_bid=_lookup_base_bid(table, fraction),
            name=f"iPinYou {folder.name}",
            cost_per_impression=cost_per_impression,
            lin_base_bids=table,
        )

    @classmethod
    def synthetic(
        cls,
        *,
        n_test: int = 500_000,
        n_train: int = 300_000,
        episode_length: int = 1000,
        budget_fraction: float = 1 / 32,
        ctr_spread: float = 1.0,
        correlation: float = 0.0,
        base_ctr: float = 1e-3,
        price_median: float = 50.0,
        price_spread: float = 0.8,
        max_bid: int = 300,
        seed=None,
    ) -> BiddingCampaign:
        """A synthetic market (reference §4): log-normal prices, logit-normal click rates, correlation ρ between them.

        δ = min(δmax, round(exp(ln median + σ_m z1))), logit θ = logit(θ0) + σ_c z2, corr(z1, z2) = ρ. The market
        pmf (Laplace-smoothed), θ̄ and the CTR sample come from ``n_train`` training draws, which are also kept for
        tuning; the test log has ``n_test`` draws scored by expected clicks (``true_ctr``) with sampled clicks.
        """
        rng = as_generator(seed)
        rho = as_scalar("correlation", correlation, minimum=-1.0, maximum=1.0)
        sigma = as_scalar("ctr_spread", ctr_spread, minimum=0.0)
        base = as_scalar("base_ctr", base_ctr, minimum=0.0, maximum=1.0, strict_minimum=True)
        max_bid = as_scalar("max_bid", max_bid, integer=True, minimum=1, maximum=10**6)
        price_median = as_scalar("price_median", price_median, minimum=0.0, strict_minimum=True)
        price_spread = as_scalar("price_spread", price_spread, minimum=0.0)

        def draw(n):
            z1 = rng.standard_normal(n)
            z2 = rho * z1 + np.sqrt(1 - rho**2) * rng.standard_normal(n)
            price = np.minimum(max_bid, np.round(np.exp(np.log(price_median) + price_spread * z1))).astype(np.int64)
            logit = np.log(base / (1 - base)) + sigma * z2
            return 1 / (1 + np.exp(-logit)), price

        n_train = as_scalar("n_train", n_train, integer=True, minimum=1)
        n_test = as_scalar("n_test", n_test, integer=True, minimum=1)
        for field, n in (("n_test", n_test), ("n_train", n_train)):
            need, limit = DRAW_BYTES * float(n), memory_limit()
            if need > limit:
                raise InvalidProblemError(
                    f"`{field}` {n} is too large: its draws need {need / 2**30:.1f} GiB (limit {limit / 2**30:.1f} GiB)"
                )
        train_ctr, train_price = draw(n_train)
        test_ctr, test_price = draw(n_test)
        counts = np.bincount(train_price, minlength=max_bid + 1).astype(float)
        pmf = (counts + 1) / (counts.sum() + counts.size)
        mean_price = float(np.arange(max_bid + 1) @ pmf)
        horizon = as_scalar("episode_length", episode_length, integer=True, minimum=1)
        return cls(
            market_price=pmf,
            ctr_mean=float(train_ctr.mean()),
            episode_length=horizon,
            budget=budget_for(mean_price, budget_fraction, horizon),
            ctr=test_ctr,
            price=test_price,
            click=(rng.random(test_ctr.size) < test_ctr).astype(np.int64),
            true_ctr=test_ctr,
            ctr_sample=train_ctr[: min(train_ctr.size, 50_000)],
            train_ctr=train_ctr,
            train_price=train_price,
            name=f"synthetic σc={sigma} ρ={rho}",
        )


def _lookup_base_bid(table, fraction: float) -> float | None:
    """b0 of the row of ``table`` ((c0, b0) rows) whose c0 is ``fraction`` (np.isclose), or None."""
    if table is None:
        return None
    hit = np.flatnonzero(np.isclose(np.asarray(table)[:, 0], fraction))
    return float(table[hit[0], 1]) if hit.size else None


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


PAPER_METHODS = ("rlb", "rlb_exact", "ss_mdp", "linear", "ortb", "dual_pacing", "mcpc", "constant", "random")


def results_table(campaign: BiddingCampaign, methods=PAPER_METHODS, fractions=BUDGET_FRACTIONS, seed=0) -> list[dict]:
    """The paper's table for one campaign: one record per (budget fraction, method) with the score (expected clicks
    on synthetic logs, clicks otherwise) and the replay statistics. Each fraction's campaign is
    ``campaign.with_budget(fraction=c0)``: B = ⌊(cost per impression·c0)·T⌋ and Lin's base bid for that c0."""
    from ..core.solve import solve

    rows = []
    for fraction in fractions:
        c = campaign.with_budget(fraction=fraction)
        for method in methods:
            r = solve(c, method=method, seed=seed)
            rows.append(
                {
                    "budget_fraction": fraction,
                    "budget": c.budget,
                    "method": method,
                    "score": r.objective,
                    **{k: r.stats[k] for k in ("clicks", "impressions", "cost", "win_rate", "cpm", "ecpc")},
                }
            )
    return rows
