"""Neutral numerics that models and solvers both need (layer 1: no solver imports).

The graph tour behind `PathConstraint`'s checker, and the Lagrangian dual function
and the regularisers' response and dual-domain projection of `OnlineAllocation`,
live here, so a model can check, bound or step itself without reaching up into ``orbudget.solvers``; the solvers
import them from here. numba compiles each on first use (from its cache afterwards), not at import.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_NO_CONSUMPTION = np.zeros((1, 1, 1))


@njit(cache=True)
def held_karp(dist):
    """Shortest closed tour from node 0 through every other node of the (k+1, k+1) distance matrix (Held–Karp over
    subsets, O(2^k k^2)). Returns ``(length, order)``: ``order`` lists nodes 1..k in visiting order."""
    k = dist.shape[0] - 1
    order = np.zeros(k, np.int64)
    if k == 0:
        return 0, order
    full = (1 << k) - 1
    big = 1 << 40
    dp = np.full((1 << k, k), big, np.int64)
    parent = np.full((1 << k, k), -1, np.int8)
    for j in range(k):
        dp[1 << j, j] = dist[0, j + 1]
    for mask in range(1, full + 1):
        for j in range(k):
            cur = dp[mask, j]
            if cur >= big or not (mask >> j) & 1:
                continue
            for nxt in range(k):
                if (mask >> nxt) & 1:
                    continue
                m2 = mask | (1 << nxt)
                cand = cur + dist[j + 1, nxt + 1]
                if cand < dp[m2, nxt]:
                    dp[m2, nxt] = cand
                    parent[m2, nxt] = j
    best, last = big, -1
    for j in range(k):
        if dp[full, j] + dist[j + 1, 0] < best:
            best, last = dp[full, j] + dist[j + 1, 0], j
    mask = full
    for pos in range(k - 1, -1, -1):
        order[pos] = last + 1
        prev = parent[mask, last]
        mask ^= 1 << last
        last = prev
    return best, order


@njit(cache=True)
def softmax_matching(row, mu, lam, x):
    """x[0] (null) and x[1..m]: the entropy-regularised best response; returns the conjugate value λ·logΣe^{u/λ}."""
    m = mu.size
    top = 0.0
    for j in range(m):
        if row[j] > 0.0:
            u = (row[j] - mu[j]) / lam
            if u > top:
                top = u
    z = math.exp(-top)
    x[0] = z
    for j in range(m):
        if row[j] > 0.0:
            e = math.exp((row[j] - mu[j]) / lam - top)
            x[j + 1] = e
            z += e
        else:
            x[j + 1] = 0.0
    for j in range(m + 1):
        x[j] /= z
    return lam * (top + math.log(z))


@njit(cache=True)
def dual_terms(rewards, consumption, matching, lam, mu, used):
    """Σ_t f_t*(μ) over one batch; adds the best responses' consumption into ``used`` (for the subgradient)."""
    n, k = rewards.shape
    m = mu.size
    total = 0.0
    if lam > 0.0:
        x = np.empty(m + 1)
        for t in range(n):
            total += softmax_matching(rewards[t], mu, lam, x)
            for j in range(m):
                used[j] += x[j + 1]
        return total
    nonneg = True  # with μ ≥ 0 and b ≥ 0 the dual price can only lower a reward (a regulariser's μ may be < 0)
    for j in range(m):
        if mu[j] < 0.0:
            nonneg = False
    for t in range(n):
        best = 0.0
        kb = -1
        for a in range(k):
            v = rewards[t, a]
            if nonneg and v <= best:
                continue
            if matching:
                v -= mu[a]
            else:
                for j in range(m):
                    v -= mu[j] * consumption[t, a, j]
            if v > best:
                best = v
                kb = a
        total += best
        if kb >= 0:
            if matching:
                used[kb] += 1.0
            else:
                for j in range(m):
                    used[j] += consumption[t, kb, j]
    return total


@njit(cache=True)
def regularizer_response(code, weight, target, mu, rate, a):
    """The numba twin of `response`: ``a`` = argmax over
    0 <= a <= ρ of r(a) + μᵀa for the built-in regularisers (codes in ``orbudget.problems.regularizers``)."""
    m = mu.size
    if code == 1:  # max-min fairness: ρ while λ + Σ_{μ_j<0} ρ_j μ_j >= 0
        c = weight[0]
        for j in range(m):
            if mu[j] < 0.0:
                c += rate[j] * mu[j]
        for j in range(m):
            a[j] = rate[j] if (c >= 0.0 or mu[j] >= 0.0) else 0.0
    elif code == 2:  # load balancing: ρ while Σ_j ρ_j μ_j >= λ, else 0
        s = 0.0
        for j in range(m):
            if mu[j] > 0.0:
                s += rate[j] * mu[j]
        for j in range(m):
            a[j] = rate[j] if (s >= weight[0] and mu[j] >= 0.0) else 0.0
    elif code == 3:  # below-target hinge
        for j in range(m):
            if mu[j] >= 0.0:
                a[j] = rate[j]
            elif mu[j] >= -weight[j]:
                a[j] = target[j] * rate[j]
            else:
                a[j] = 0.0
    elif code == 4:  # quadratic around a target
        for j in range(m):
            if weight[j] > 0.0:
                s = target[j] + mu[j] * rate[j] / (2.0 * weight[j])
            else:
                s = 1.0 if mu[j] >= 0.0 else 0.0
            a[j] = rate[j] * (0.0 if s < 0.0 else (1.0 if s > 1.0 else s))
    else:
        for j in range(m):
            a[j] = rate[j]


@njit(cache=True)
def _raised(code, mu, j, theta, rate, floor, entropic, w):
    """μ_j moved up along the projection's path: Euclidean μ_j + θρ_j/w_j, entropic ℓ_j + (μ_j − ℓ_j)e^{θρ_j} (a dual
    on the entropy floor cannot move); max-min fairness moves only the negative duals, and up to 0."""
    if code == 1 and mu[j] >= 0.0:
        return mu[j]
    if entropic:
        if mu[j] <= floor[j]:
            return mu[j]
        v = floor[j] + (mu[j] - floor[j]) * math.exp(theta * rate[j])
    else:
        v = mu[j] + theta * rate[j] / w[j]
    return min(v, 0.0) if code == 1 else v


@njit(cache=True)
def _outside(code, lam, mu, theta, rate, floor, entropic, w):
    """How far μ raised by θ is outside the domain (> 0 outside, <= 0 inside; it falls as θ grows): max-min fairness
    Σ_j ρ_j(−μ_j)^+ − λ, load balancing λ − ρᵀμ."""
    total = 0.0
    for j in range(mu.size):
        total += rate[j] * _raised(code, mu, j, theta, rate, floor, entropic, w)
    if code == 1:
        return -total + _positive_part(mu, rate) - lam
    return lam - total


@njit(cache=True)
def _positive_part(mu, rate):
    """Σ_j ρ_j μ_j^+ (max-min fairness leaves the non-negative duals where they are)."""
    total = 0.0
    for j in range(mu.size):
        if mu[j] > 0.0:
            total += rate[j] * mu[j]
    return total


@njit(cache=True)
def regularizer_project(code, weight, mu, rate, floor, entropic, scaled):
    """Project μ onto a regulariser's dual domain (the paper's, inside the box μ >= floor), in place.

    Max-min fairness (code 1): $\\sum_j \\rho_j (-\\mu_j)^+ \\le \\lambda$; load balancing (code 2):
    $\\rho^\\top\\mu \\ge \\lambda$. The projection raises duals along the reference's path: Euclidean
    (``scaled``: the metric Σρ_j²Δ_j²) μ_j + θρ_j/w_j, or for the entropy references (``entropic``, the KL projection
    of μ − floor) ℓ_j + (μ_j − ℓ_j)e^{θρ_j}, with θ >= 0 found by bisection (max-min fairness only moves the
    negative duals, up to 0). Other codes, and a μ already inside, are left as they are."""
    if code != 1 and code != 2:
        return
    m = mu.size
    lam = weight[0]
    w = np.empty(m)
    for j in range(m):
        w[j] = rate[j] * rate[j] if scaled else 1.0
    if _outside(code, lam, mu, 0.0, rate, floor, entropic, w) <= 0.0:
        return
    hi = 1.0
    for _ in range(200):  # grow θ until the raised μ is inside
        if _outside(code, lam, mu, hi, rate, floor, entropic, w) <= 0.0:
            break
        hi *= 2.0
    lo = 0.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if _outside(code, lam, mu, mid, rate, floor, entropic, w) > 0.0:
            lo = mid
        else:
            hi = mid
    for j in range(m):
        mu[j] = _raised(code, mu, j, hi, rate, floor, entropic, w)


def dual_value(problem, mu) -> tuple[float, np.ndarray]:
    """``(D(μ), subgradient)``: the dual value of an online allocation problem on its realised sequence and a
    subgradient at μ (``mu`` is taken as given: callers validate it).

    Without a regulariser $D(\\mu) = \\sum_t f_t^*(\\mu) + \\mu^\\top B$ and the subgradient is B minus the best
    responses' consumption; with one, the budget term is $T R(\\mu)$ (its conjugate) and B is
    $T a(\\mu)$."""
    mu = np.ascontiguousarray(mu, dtype=np.float64)
    used = np.zeros(problem.n_resources)
    total = 0.0
    for r, c in problem.batches():
        cons = _NO_CONSUMPTION if c is None else np.ascontiguousarray(c, dtype=np.float64)
        total += dual_terms(np.ascontiguousarray(r, dtype=np.float64), cons, c is None, problem.entropy, mu, used)
    reg = problem.regularizer
    if reg is None:
        return float(total + mu @ problem.budgets), problem.budgets - used
    rate = problem.target_rate
    a = reg.response(mu, rate)
    spend = problem.budgets * (a / rate)  # T·a, written so that a = ρ gives B exactly (λ = 0 is the plain dual)
    term = problem.horizon * reg.value(a, rate)
    value = float(total + term + mu @ spend)
    if term != 0.0 or (mu < 0).any():
        # negative duals and the regulariser's term make D a sum of terms that cancel (f_t* grows by |μ|·b as T·R
        # falls by as much): pad D by a bound on the rounding error of that sum, so it stays an upper bound
        size = problem.horizon * problem.reward_bound + 2.0 * float(np.abs(mu) @ used) + abs(term) + float(np.abs(mu) @ spend)
        value += (problem.horizon + mu.size + 8) * 4.0 * np.finfo(float).eps * size
    return value, spend - used
