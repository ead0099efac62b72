"""The AdX display-ad allocation instances (Balseiro, Feldman, Mirrokni, Muthukrishnan, "Yield Optimization of
Display Advertising with Ad Exchange", Management Science 2014), as used by the dual-mirror-descent paper.

Files per publisher X (see ``README.txt`` in the data folder):

* ``pubX-ads.txt``: ``advertiser: <id> rho: <float>``, the capacity ratio ρ_a (capacity / impressions);
* ``pubX-types.txt``: ``type: <id> prob: <p> advertisers: [ids] mean: [..] cov: [..]``, the impression type
  distribution and the log-normal quality of its eligible advertisers (``cov`` = upper triangle of Σ by column);
* ``pubX-adx.txt``: the exchange's curve ``accept.prob price revenue`` (kept for outside-option extensions);
* ``pub1-sample.txt``: 100,000 sampled impressions, one column per advertiser, 0 = not eligible.

As an `OnlineAllocation` in matching form each impression is a request, each advertiser a
resource with budget ⌊ρ_a T⌋ impressions, and the reward of assigning it to advertiser a is the quality. The paper's
settings rescale rewards so the largest is 1 and ρ so that Σρ = 1.5 (`AdxPublisher.problem` does both).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import InvalidProblemError
from ..core.validation import as_choice, as_generator, as_scalar

PAPER_SUM_RATE = 1.5


def default_data_dir() -> Path:
    """``$ORBUDGET_DATA/adx`` if set, else ``../shared/data/adx`` next to the working directory."""
    root = os.environ.get("ORBUDGET_DATA")
    return Path(root) / "adx" if root else Path("..") / "shared" / "data" / "adx"


def _floats(text: str, field: str, where: str) -> list[float]:
    m = re.search(field + r":\s*\[([^\]]*)\]", text)
    if m is None:
        raise InvalidProblemError(f"{where}: missing `{field}: [...]`")
    body = m.group(1).strip()
    try:
        return [float(v) for v in body.split(",")] if body else []
    except ValueError as exc:
        raise InvalidProblemError(f"{where}: `{field}` holds a non-number: {body[:60]!r}") from exc


@dataclass(frozen=True)
class ImpressionType:
    probability: float
    advertisers: np.ndarray  # column indices (0-based, in ads-file order)
    mean: np.ndarray
    covariance: np.ndarray


@dataclass(frozen=True)
class AdxPublisher:
    """One publisher's advertisers, capacity ratios, impression types and exchange curve."""

    name: str
    advertiser_ids: np.ndarray
    rates: np.ndarray  # ρ_a
    types: tuple[ImpressionType, ...]
    exchange: np.ndarray  # (rows, 3): accept probability, reserve price, expected revenue

    @property
    def n_advertisers(self) -> int:
        return self.advertiser_ids.size

    @property
    def type_probabilities(self) -> np.ndarray:
        return np.array([t.probability for t in self.types])

    def sample(self, horizon: int, seed=None, *, model: str = "iid", correlation: float = 0.0) -> np.ndarray:
        """Draw impressions: a (T, A) quality matrix, 0 where an advertiser is not eligible.

        ``iid``: each impression's type is drawn by its probability and the eligible qualities are
        exp(N(mean, Σ)). ``ergodic`` with correlation c: the type repeats with probability c, else is redrawn; each
        type's log quality is AR(1), ℓ_n = c·ℓ_{n−1} + ε_n, ε ~ N((1−c)·mean, (1−c)²Σ) (stationary mean = mean).
        """
        horizon = as_scalar("horizon", horizon, integer=True, minimum=1)
        model = as_choice("model", model, ("iid", "ergodic"))
        c = as_scalar("correlation", correlation, minimum=0.0, maximum=1.0)
        if model == "ergodic" and c >= 1.0:
            raise InvalidProblemError("`correlation` must be below 1 for the ergodic model")
        rng = as_generator(seed)
        probs = self.type_probabilities / self.type_probabilities.sum()
        out = np.zeros((horizon, self.n_advertisers))
        if model == "iid":
            kinds = rng.choice(len(self.types), size=horizon, p=probs)
            for i, kind in enumerate(self.types):
                rows = np.flatnonzero(kinds == i)
                if rows.size:
                    logq = rng.multivariate_normal(kind.mean, kind.covariance, size=rows.size, method="cholesky")
                    out[np.ix_(rows, kind.advertisers)] = np.exp(logq)
            return out
        state = [t.mean.copy() for t in self.types]
        kind = rng.choice(len(self.types), p=probs)
        for n in range(horizon):
            if n and rng.random() >= c:
                kind = rng.choice(len(self.types), p=probs)
            t = self.types[kind]
            eps = rng.multivariate_normal((1 - c) * t.mean, (1 - c) ** 2 * t.covariance, method="cholesky")
            state[kind] = c * state[kind] + eps
            out[n, t.advertisers] = np.exp(state[kind])
        return out

    def problem(
        self,
        horizon: int | None = None,
        seed=None,
        *,
        qualities=None,
        model: str = "iid",
        correlation: float = 0.0,
        sum_rate: float | None = PAPER_SUM_RATE,
        entropy: float = 0.0,
    ):
        """An `OnlineAllocation` (matching form) over sampled impressions or given ``qualities``.

        Rewards are rescaled so the largest is 1; ρ is rescaled to sum to ``sum_rate`` (the paper's 1.5; ``None``
        keeps the file's ρ); budgets are ⌊ρ_a T⌋ impressions (at least 1).
        """
        from .online import OnlineAllocation

        q = (
            self.sample(horizon, seed, model=model, correlation=correlation)
            if qualities is None
            else np.asarray(qualities, float)
        )
        top = q.max()
        if top <= 0:
            raise InvalidProblemError("`qualities` has no eligible advertiser in any impression")
        rates = self.rates if sum_rate is None else self.rates * (sum_rate / self.rates.sum())
        budgets = np.maximum(np.floor(rates * q.shape[0]), 1.0)
        return OnlineAllocation.matching(rewards=q / top, budgets=budgets, entropy=entropy)


def load_adx(publisher: int | str = 1, folder=None) -> AdxPublisher:
    """Parse ``pubX-ads.txt``, ``pubX-types.txt`` and ``pubX-adx.txt`` from ``folder`` (default
    `default_data_dir`). Errors name the file and line."""
    folder = Path(folder) if folder is not None else default_data_dir()
    name = f"pub{publisher}" if not str(publisher).startswith("pub") else str(publisher)
    ads_path = folder / f"{name}-ads.txt"
    if not ads_path.exists():
        raise FileNotFoundError(f"AdX data not found: {ads_path} (set ORBUDGET_DATA or pass `folder`)")
    ids, rates = [], []
    for i, line in enumerate(ads_path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        m = re.fullmatch(r"\s*advertiser:\s*(\d+)\s+rho:\s*([0-9.eE+-]+)\s*", line)
        if m is None:
            raise InvalidProblemError(f"{ads_path.name} line {i}: expected 'advertiser: <id> rho: <float>', got {line[:60]!r}")
        ids.append(int(m.group(1)))
        rates.append(float(m.group(2)))
    column = {a: j for j, a in enumerate(ids)}
    types = []
    types_path = folder / f"{name}-types.txt"
    for i, line in enumerate(types_path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        where = f"{types_path.name} line {i}"
        m = re.search(r"prob:\s*([0-9.eE+-]+)", line)
        if m is None:
            raise InvalidProblemError(f"{where}: missing `prob: <float>`")
        advertisers = [int(a) for a in _floats(line, "advertisers", where)]
        mean = np.array(_floats(line, "mean", where))
        upper = _floats(line, "cov", where)
        k = len(advertisers)
        if mean.size != k or len(upper) != k * (k + 1) // 2:
            raise InvalidProblemError(
                f"{where}: {k} advertisers need {k} means and {k * (k + 1) // 2} covariances; got {mean.size} and {len(upper)}"
            )
        unknown = [a for a in advertisers if a not in column]
        if unknown:
            raise InvalidProblemError(f"{where}: advertiser {unknown[0]} is not in {ads_path.name}")
        cov = np.zeros((k, k))
        pos = 0
        for col in range(k):  # upper triangle, column-major
            for row in range(col + 1):
                cov[row, col] = cov[col, row] = upper[pos]
                pos += 1
        types.append(ImpressionType(float(m.group(1)), np.array([column[a] for a in advertisers]), mean, cov))
    exchange_path = folder / f"{name}-adx.txt"
    exchange = np.loadtxt(exchange_path, skiprows=1, ndmin=2) if exchange_path.exists() else np.zeros((0, 3))
    return AdxPublisher(name, np.array(ids), np.array(rates), tuple(types), exchange)


def load_adx_sample(folder=None, publisher: int | str = 1) -> np.ndarray:
    """The stored sampled impressions (``pub1-sample.txt``: 100,000 × 6 qualities, 0 = not eligible)."""
    folder = Path(folder) if folder is not None else default_data_dir()
    name = f"pub{publisher}" if not str(publisher).startswith("pub") else str(publisher)
    path = folder / f"{name}-sample.txt"
    if not path.exists():
        raise FileNotFoundError(f"AdX sample not found: {path}")
    data = np.loadtxt(path, delimiter=",", ndmin=2)
    if not np.isfinite(data).all() or (data < 0).any():
        raise InvalidProblemError(f"{path.name}: qualities must be finite and non-negative")
    return data


def replay(sample: np.ndarray, horizon: int, seed=None, *, resample: bool = True) -> np.ndarray:
    """Rows for one run: ``horizon`` rows drawn with replacement (the code's "iid" model), or the first rows."""
    horizon = as_scalar("horizon", horizon, integer=True, minimum=1)
    if resample:
        return sample[as_generator(seed).integers(0, sample.shape[0], size=horizon)]
    if horizon > sample.shape[0]:
        raise InvalidProblemError(f"`horizon` {horizon} exceeds the {sample.shape[0]} stored impressions")
    return sample[:horizon]
