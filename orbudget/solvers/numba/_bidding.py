"""numba kernels for the real-time-bidding MDP: the two value tables, the bid rule, and episode replay.

``V`` has rows t = 0..T−1 (t auctions left before the current one is counted out; V(0, ·) = 0) and columns
b = 0..B. Pure-Python twins via ``kernel.py_func``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._online import EUCLIDEAN, _dual_step

FIXED, RLB, SS_MDP, PACING, NN_MAP = 0, 1, 2, 3, 4
SATURATION_TOL = 1e-10


@njit(cache=True)
def value_table(horizon, budget, pmf, theta, zero_at_empty):
    """The θ̄-DP of the official code (reference 1.4 and §3 item 6), with its saturation stop.

    Row t: a_t(b) = largest δ <= min(b, δmax) with θ̄ + V(t−1, b−δ) − V(t−1, b) >= 0, scanning upward and stopping at
    the first failure; V(t, b) = V(t−1, b) + Σ_{δ<=a_t(b)} m(δ)(θ̄ + V(t−1, b−δ) − V(t−1, b)). ``zero_at_empty`` keeps
    the code's V(t, 0) = 0.
    """
    v = np.zeros((horizon, budget + 1))
    value_table_rows(v, 1, horizon, 0.0, pmf, theta, zero_at_empty)
    return v


@njit(cache=True)
def value_table_rows(v, t_start, t_stop, vmax, pmf, theta, zero_at_empty):
    """Rows ``t_start <= t < t_stop`` of `value_table`, in place (as `value_table_exact_rows`: ``vmax``
    is V_max(t_start − 1), the return value V_max(t_stop − 1); the rows are the same as in one call)."""
    budget = v.shape[1] - 1
    max_bid = pmf.size - 1
    full = 0.0
    for d in range(max_bid + 1):
        full += pmf[d] * theta
    for t in range(t_start, t_stop):
        vmax += full
        saturated = False
        for b in range(budget + 1):
            if saturated:
                v[t, b] = vmax
                continue
            if zero_at_empty and b == 0:
                v[t, 0] = 0.0
                continue
            prev = v[t - 1, b]
            total = 0.0
            top = min(b, max_bid)
            for d in range(top + 1):
                g = theta + v[t - 1, b - d] - prev
                if g < 0.0:
                    break
                total += pmf[d] * g
            v[t, b] = prev + total
            if abs(v[t, b] - vmax) < SATURATION_TOL:
                saturated = True
    return vmax


@njit(cache=True)
def stop_loss(c, grid, step):
    """π_F(c) = E[(θ − c)^+] by linear interpolation of its table on c = 0, step, 2·step, ... (0 past the end)."""
    x = c / step
    k = int(x)
    if k >= grid.size - 1:
        return 0.0
    w = x - k
    return grid[k] * (1.0 - w) + grid[k + 1] * w


@njit(cache=True)
def value_table_exact(horizon, budget, pmf, grid, step):
    """The CTR-integrated DP (reference 1.5): V(t, b) = V(t−1, b) + Σ_{δ<=min(b, δmax)} m(δ)·π_F(V(t−1, b) − V(t−1, b−δ)).

    b = 0 is exact (a zero bid wins price-0 auctions). The δ loop stops once the cost reaches the top CTR, where
    π_F = 0; the row saturates at V_max(t) = V_max(t−1) + E[θ]·Σm."""
    v = np.zeros((horizon, budget + 1))
    value_table_exact_rows(v, 1, horizon, 0.0, pmf, grid, step)
    return v


@njit(cache=True)
def value_table_exact_rows(v, t_start, t_stop, vmax, pmf, grid, step):
    """Rows ``t_start <= t < t_stop`` of `value_table_exact`, in place (row ``t_start - 1`` must be done).
    ``vmax`` is V_max(t_start − 1); returns V_max(t_stop − 1), to pass to the next call. Run in chunks of stages,
    the caller can check the time (and see a Ctrl-C) between them; the rows are the same as in one call."""
    budget = v.shape[1] - 1
    max_bid = pmf.size - 1
    top_cost = step * (grid.size - 1)
    full = 0.0
    for d in range(max_bid + 1):
        full += pmf[d] * grid[0]
    for t in range(t_start, t_stop):
        vmax += full
        saturated = False
        for b in range(budget + 1):
            if saturated:
                v[t, b] = vmax
                continue
            prev = v[t - 1, b]
            total = 0.0
            for d in range(min(b, max_bid) + 1):
                c = prev - v[t - 1, b - d]
                if c >= top_cost:
                    break
                total += pmf[d] * stop_loss(c, grid, step)
            v[t, b] = prev + total
            if abs(v[t, b] - vmax) < SATURATION_TOL:
                saturated = True
    return vmax


@njit(cache=True)
def dp_bid(v, t, b, theta, max_bid):
    """Largest δ <= min(b, δmax) with θ + V(t−1, b−δ) − V(t−1, b) >= 0, scanning up and stopping at the first failure."""
    row = t - 1
    a = 0
    for d in range(1, min(b, max_bid) + 1):
        if theta + v[row, b - d] - v[row, b] >= 0.0:
            a = d
        else:
            break
    return a


@njit(cache=True)
def mapped_bid(dtab, t0, t, b, theta, max_bid):
    """Bid from a table of D(t, b) = V(t, b+1) − V(t, b) for t <= t0, mapping (t, b) to (t0, b·t0/t) beyond t0
    (RLB-NN-MapD): the largest δ with Σ_{k=1..δ} D(t−1, b−k) <= θ."""
    row = t - 1
    scale = 1.0
    if row > t0:
        scale = t0 / row
        row = t0
    width = dtab.shape[1]
    cost = 0.0
    a = 0
    for d in range(1, min(b, max_bid) + 1):
        x = int((b - d) * scale + 0.5)
        if x < width:
            cost += dtab[row, x]
        if cost <= theta:
            a = d
        else:
            break
    return a


@njit(cache=True)
def replay(
    code, horizon, budget, max_bid, ctr, price, click, value, fixed, v, dtab, t0, theta_bar, kappa, eta, mu0, bids, episodes
):
    """Replay the log in episodes of ``horizon`` lines (the last one may be shorter; it still starts at t = T with
    budget B). Win iff bid >= price; the winner pays the price. ``value`` is what a win scores (true CTR for
    expected clicks, else the click). ``episodes[e]`` = (clicks, value, impressions, cost, budget left)."""
    n = ctr.size
    mu = np.zeros(1)
    use = np.zeros(1)
    rate = np.array([1.0])  # spend is measured in units of the target rate B/T
    per_round = max(budget / horizon, 1e-12)
    dual_sum = np.zeros(1)
    floor = np.zeros(1)
    e = 0
    for start in range(0, n, horizon):
        b = budget
        mu[0] = mu0
        clicks = 0.0
        gained = 0.0
        imps = 0.0
        cost = 0.0
        for j in range(min(horizon, n - start)):
            i = start + j
            t = horizon - j
            if code == FIXED:
                a = min(fixed[i], b, max_bid)
            elif code == RLB:
                a = dp_bid(v, t, b, ctr[i], max_bid)
            elif code == SS_MDP:
                a = dp_bid(v, t, b, theta_bar, max_bid)
            elif code == PACING:
                a = min(int(kappa * ctr[i] / (1.0 + mu[0])), b, max_bid)
            else:
                a = mapped_bid(dtab, t0, t, b, ctr[i], max_bid)
            bids[i] = a
            won = a >= price[i]
            if won:
                b -= price[i]
                cost += price[i]
                imps += 1.0
                clicks += click[i]
                gained += value[i]
            if code == PACING:
                use[0] = price[i] / per_round if won else 0.0
                _dual_step(mu, use, rate, rate, floor, eta, EUCLIDEAN, 0.0, dual_sum)
        episodes[e, 0] = clicks
        episodes[e, 1] = gained
        episodes[e, 2] = imps
        episodes[e, 3] = cost
        episodes[e, 4] = b
        e += 1
