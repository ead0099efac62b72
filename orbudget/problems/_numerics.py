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
_EPS = float(np.finfo(np.float64).eps)
MU_MAX = 1e250  # the duals' upper bound (as in dual_mirror_descent, which takes it from here)


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
def domain_slack(code, lam, mu, rate):
    """``(slack, scale)`` of μ in a regulariser's dual domain (the paper's D = {μ : R(μ) < ∞} for a ≤ ρ).

    Max-min fairness (code 1): slack = λ + Σ_j ρ_j min(μ_j, 0); load balancing (code 2): Σ_j ρ_j max(μ_j, 0) − λ
    (μ >= 0 is kept by the projection). μ is in D when slack >= 0. ``scale`` = λ + Σ ρ_j|μ_j| over the same terms,
    the magnitude the slack's rounding error is relative to."""
    slack = lam if code == 1 else -lam
    scale = lam
    for j in range(mu.size):
        if (code == 1 and mu[j] < 0.0) or (code == 2 and mu[j] > 0.0):
            slack += rate[j] * mu[j]
            scale += rate[j] * abs(mu[j])
    return slack, scale


@njit(cache=True)
def in_domain(code, lam, mu, rate):
    """Whether μ is in the dual domain up to the rounding of its slack: slack >= −4(m + 2)ε·scale. The projection
    leaves μ with slack >= 0 in exact arithmetic; the computed sum may round a hair below 0, and at the boundary the
    paper's response is still ρ."""
    slack, scale = domain_slack(code, lam, mu, rate)
    return slack >= -4.0 * (mu.size + 2) * _EPS * scale


@njit(cache=True)
def regularizer_response(code, weight, target, mu, rate, a):
    """The numba twin of `response`: ``a`` = argmax over
    0 <= a <= ρ of r(a) + μᵀa for the built-in regularisers (codes in ``orbudget.problems.regularizers``)."""
    m = mu.size
    if code == 1 or code == 2:  # max-min fairness: ρ in D, else 0 on the negative duals; load balancing: ρ in D, else 0
        inside = in_domain(code, weight[0], mu, rate)
        for j in range(m):
            keep = (inside or mu[j] >= 0.0) if code == 1 else (inside and mu[j] >= 0.0)
            a[j] = rate[j] if keep else 0.0
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
def _euclidean_path(code, y, speed, theta, out):
    """μ(θ) on the weighted Euclidean projection's path: max-min fairness min(y_j + θs_j, 0) for y_j < 0 (the
    others stay), load balancing max(y_j + θs_j, 0); s_j = ρ_j/w_j."""
    for j in range(y.size):
        v = y[j] + theta * speed[j]
        if code == 1:
            out[j] = y[j] if y[j] >= 0.0 else min(v, 0.0)
        else:
            out[j] = min(max(v, 0.0), MU_MAX)


@njit(cache=True)
def _euclidean_project(code, lam, y, rate, scaled, out):
    """The weighted Euclidean projection argmin_{μ∈D} Σ_j w_j(μ_j − y_j)² (w = ρ² when ``scaled``, else 1) into ``out``.

    KKT: μ_j = y_j + θ ρ_j/w_j ∂_j with θ >= 0 the multiplier of the domain's constraint, so μ follows
    `_euclidean_path`; the slack φ(θ) along it is increasing and piecewise linear with breakpoints
    b_j = −y_j w_j/ρ_j (where μ_j reaches 0). Between breakpoints φ(θ) = c + θ Σ_{active} ρ_j²/w_j, solved exactly:
    walk the sorted breakpoints to the first segment whose root lies inside it (the linear extension of φ
    bounds φ on the side that makes every earlier root fall past its segment)."""
    m = y.size
    speed = np.empty(m)
    for j in range(m):
        speed[j] = 1.0 / rate[j] if scaled else rate[j]
    _euclidean_path(code, y, speed, 0.0, out)
    if domain_slack(code, lam, out, rate)[0] >= 0.0:
        return
    # max-min fairness: the negative duals are active from θ = 0 and leave at their breakpoint; load balancing:
    # every dual enters at its breakpoint (those already positive before θ = 0)
    idx = np.empty(m, np.int64)
    n = 0
    for j in range(m):
        if code == 2 or y[j] < 0.0:
            idx[n] = j
            n += 1
    brk = np.empty(n)
    for i in range(n):
        brk[i] = -y[idx[i]] / speed[idx[i]]
    order = np.argsort(brk)
    theta = brk[order[n - 1]] if n else 0.0
    if code == 1:
        const = np.empty(n + 1)  # suffix sums over the active set idx[order[i:]]
        slope = np.empty(n + 1)
        const[n], slope[n] = lam, 0.0
        for i in range(n - 1, -1, -1):
            j = idx[order[i]]
            const[i] = const[i + 1] + rate[j] * y[j]
            slope[i] = slope[i + 1] + rate[j] * speed[j]
        for i in range(n):
            t = -const[i] / slope[i]
            if t <= brk[order[i]]:
                theta = t
                break
    else:
        const_sum, slope_sum = -lam, 0.0  # prefix sums over idx[order[:i + 1]]
        for i in range(n):
            j = idx[order[i]]
            const_sum += rate[j] * y[j]
            slope_sum += rate[j] * speed[j]
            t = -const_sum / slope_sum
            if i == n - 1 or t <= brk[order[i + 1]]:
                theta = t
                break
    _euclidean_path(code, y, speed, theta, out)
    # the rounded μ(θ) may leave the slack a few ulps below 0: raise θ until it is not (μ(θ) is monotone)
    bump = 4.0 * _EPS * max(abs(theta), 1e-300)
    for _ in range(60):
        slack = domain_slack(code, lam, out, rate)[0]
        if slack >= 0.0:
            return
        theta += bump
        bump *= 2.0
        _euclidean_path(code, y, speed, theta, out)


@njit(cache=True)
def _entropic_slack(code, lam, nu, floor, rate, theta):
    """(φ(θ), φ'(θ)) along the KL projection's path μ_j = ℓ_j + ν_j e^{θρ_j} (max-min fairness: only the
    negative duals move, and up to 0; a dual on its floor, ν_j = 0, stays)."""
    phi = lam if code == 1 else -lam
    dphi = 0.0
    for j in range(nu.size):
        v = floor[j] + nu[j]
        if code == 1 and v >= 0.0:
            continue
        if nu[j] > 0.0:
            e = nu[j] * math.exp(theta * rate[j])
            v = floor[j] + e
            if code == 1 and v >= 0.0:
                continue
            dphi += rate[j] * rate[j] * e
        phi += rate[j] * v
    return phi, dphi


@njit(cache=True)
def _entropic_project(code, lam, mu, rate, floor, out):
    """The KL (Bregman of Σ ν log ν, ν = μ − ℓ) projection of μ onto D into ``out``: μ_j(θ) = ℓ_j + ν_j e^{θρ_j}
    (capped at 0 for max-min fairness), with θ >= 0 the root of the increasing slack φ(θ), found by Newton from
    the feasible side safeguarded by bisection, to adjacent floats."""
    m = mu.size
    nu = np.empty(m)
    for j in range(m):
        nu[j] = mu[j] - floor[j] if mu[j] > floor[j] else 0.0
        out[j] = mu[j]
    if _entropic_slack(code, lam, nu, floor, rate, 0.0)[0] >= 0.0:
        return
    hi = 0.0  # a θ with φ(θ) >= 0: max-min fairness's last breakpoint, load balancing's bound from ρ_min
    low_rate, mass = np.inf, 0.0
    for j in range(m):
        if nu[j] > 0.0:
            low_rate = min(low_rate, rate[j])
            mass += rate[j] * nu[j]
            if code == 1 and floor[j] + nu[j] < 0.0:
                hi = max(hi, math.log(-floor[j] / nu[j]) / rate[j])
    if mass <= 0.0:
        return
    if code == 2:
        hi = math.log(lam / mass) / low_rate
    for _ in range(64):
        if _entropic_slack(code, lam, nu, floor, rate, hi)[0] >= 0.0:
            break
        hi = 2.0 * hi + 1.0
    lo = 0.0
    for _ in range(200):
        phi, dphi = _entropic_slack(code, lam, nu, floor, rate, hi)
        t = hi - phi / dphi if dphi > 0.0 else 0.5 * (lo + hi)
        if not (lo < t < hi):
            t = 0.5 * (lo + hi)
        if t <= lo or t >= hi:
            break
        if _entropic_slack(code, lam, nu, floor, rate, t)[0] >= 0.0:
            hi = t
        else:
            lo = t
    for j in range(m):
        if nu[j] > 0.0 and (code == 2 or mu[j] < 0.0):
            v = floor[j] + nu[j] * math.exp(hi * rate[j])
            out[j] = min(v, 0.0) if code == 1 else min(v, MU_MAX)


@njit(cache=True)
def regularizer_project(code, weight, mu, rate, floor, entropic, scaled):
    """Project μ onto a regulariser's dual domain D, in place (the paper's $\\mu_{t+1} = \\arg\\min_{\\mu\\in D}
    \\langle g_t, \\mu\\rangle + V_h(\\mu, \\mu_t)/\\eta$ is this projection of the unconstrained mirror step).

    Max-min fairness (code 1): $\\lambda + \\sum_j \\rho_j \\min(\\mu_j, 0) \\ge 0$; load balancing (code 2):
    $\\mu \\ge 0,\\ \\rho^\\top\\mu \\ge \\lambda$. Euclidean references: the exact weighted projection
    (`_euclidean_project`; ``scaled``: weights ρ², the scaled Euclidean h) of the *unclipped* step, so the box
    μ >= ℓ is not applied first (clipping, then projecting, is not the projection). Entropy references
    (``entropic``): the KL projection of μ − ``floor`` (`_entropic_project`). Other codes are left as they are."""
    if code != 1 and code != 2:
        return
    out = np.empty(mu.size)
    if entropic:
        _entropic_project(code, weight[0], mu, rate, floor, out)
    else:
        _euclidean_project(code, weight[0], mu, rate, scaled, out)
    for j in range(mu.size):
        mu[j] = out[j]


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
