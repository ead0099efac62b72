"""numba kernels for online allocation: the full-horizon dual mirror descent loop and the Lagrangian dual.

All kernels carry their state in the arrays they are given (``mu``, ``remaining``, ``dual_sum``), so a stream is
processed batch by batch with the same result as one call. Each has a pure-Python twin (``kernel.py_func``).

Reference codes: 0 = fixed duals (greedy, fluid), 1 = Euclidean, 2 = scaled Euclidean, 3 = entropy,
4 = projected entropy.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ...problems._numerics import softmax_matching as _softmax_matching
from ...problems.online import MU_MAX, MU_MIN  # the duals' range, shared with the numpy twin (numba freezes it)

FIXED, EUCLIDEAN, SCALED_EUCLIDEAN, ENTROPY, PROJECTED_ENTROPY = 0, 1, 2, 3, 4
REFERENCE_CODES = {"euclidean": EUCLIDEAN, "scaled_euclidean": SCALED_EUCLIDEAN, "entropy": ENTROPY,
                   "projected_entropy": PROJECTED_ENTROPY}


@njit(cache=True)
def _spend(remaining, j, use):
    """``remaining[j] -= use``, rounded down when the subtraction rounded up (TwoSum gives its exact error), so the
    float ``remaining`` never exceeds the exact budget left: an action accepted by ``use <= remaining`` keeps the
    exact total, and so its correctly rounded sum (``math.fsum``), within the budget."""
    rem = remaining[j]
    new = rem - use
    back = new - rem
    err = (rem - (new - back)) + (-use - back)
    if err < 0.0:
        new = np.nextafter(new, -np.inf)
    remaining[j] = new


@njit(cache=True)
def _dual_step(mu, use, rate, eta, ref, reward_bound, dual_sum):
    """One mirror step on g = ρ − use. The duals are kept in [0, MU_MAX] ([MU_MIN, MU_MAX] for the entropy
    references, where a zero dual stays zero), so consumptions of 1e18 cannot overflow them to inf (and then NaN)
    nor underflow an entropy dual to a zero that never recovers; inside that range the step is the textbook one, bit for bit."""
    m = mu.size
    for j in range(m):
        dual_sum[j] += mu[j]
    if ref == FIXED:
        return
    if ref == EUCLIDEAN or ref == SCALED_EUCLIDEAN:
        for j in range(m):
            g = rate[j] - use[j]
            if ref == SCALED_EUCLIDEAN:
                g /= rate[j] * rate[j]
            v = mu[j] - eta * g
            mu[j] = (v if v < MU_MAX else MU_MAX) if v > 0.0 else 0.0
        return
    total = 0.0
    for j in range(m):
        if mu[j] > 0.0:  # a zero entropy dual stays zero
            v = mu[j] * math.exp(-eta * (rate[j] - use[j]))
            mu[j] = MU_MIN if v < MU_MIN else (v if v < MU_MAX else MU_MAX)
        total += rate[j] * mu[j]
    if ref == PROJECTED_ENTROPY and total > reward_bound:
        f = reward_bound / total
        for j in range(m):
            if mu[j] > 0.0:
                v = mu[j] * f
                mu[j] = v if v > MU_MIN else MU_MIN


@njit(cache=True)
def dmd_run(rewards, consumption, matching, mu, remaining, rate, eta, ref, reward_bound, actions, dual_sum):
    """Run DMD over one batch; returns the batch's reward. ``consumption`` is ignored (pass a (1,1,1) array)
    when ``matching``. Ties go to the null action; an action is played only if it fits what remains."""
    n, k = rewards.shape
    m = mu.size
    use = np.zeros(m)
    total = 0.0
    for t in range(n):
        best = 0.0
        kb = -1
        if matching:
            for a in range(k):
                v = rewards[t, a] - mu[a]
                if v > best:
                    best = v
                    kb = a
        else:
            for a in range(k):
                v = rewards[t, a]
                if v <= best:  # μ ≥ 0 and b ≥ 0: the dual price can only lower it
                    continue
                for j in range(m):
                    v -= mu[j] * consumption[t, a, j]
                if v > best:
                    best = v
                    kb = a
        for j in range(m):
            use[j] = 0.0
        fits = kb >= 0
        if kb >= 0:
            if matching:
                use[kb] = 1.0
                fits = remaining[kb] >= 1.0
            else:
                for j in range(m):
                    use[j] = consumption[t, kb, j]
                    if use[j] > remaining[j]:
                        fits = False
        if fits:
            for j in range(m):
                if use[j] != 0.0:
                    _spend(remaining, j, use[j])
            total += rewards[t, kb]
            actions[t] = kb
        else:
            actions[t] = -1
        _dual_step(mu, use, rate, eta, ref, reward_bound, dual_sum)
    return total


@njit(cache=True)
def proportional_run(rewards, lam, mu, remaining, rate, eta, ref, reward_bound, allocation, dual_sum):
    """DMD for proportional matching with an entropy term: request t gets the softmax allocation
    ``allocation[t]`` (column 0 = null) when it fits, else the null action. Returns the batch's reward."""
    n, m = rewards.shape
    x = np.empty(m + 1)
    use = np.empty(m)
    total = 0.0
    for t in range(n):
        _softmax_matching(rewards[t], mu, lam, x)
        fits = True
        for j in range(m):
            use[j] = x[j + 1]
            if use[j] > remaining[j]:
                fits = False
        for j in range(m + 1):
            allocation[t, j] = 0.0
        if fits:
            gain = 0.0
            for j in range(m):
                if use[j] != 0.0:
                    _spend(remaining, j, use[j])
                gain += rewards[t, j] * x[j + 1]
            for j in range(m + 1):
                allocation[t, j] = x[j]
                if x[j] > 0.0:
                    gain -= lam * x[j] * math.log(x[j])
            total += gain
        else:
            allocation[t, 0] = 1.0
        _dual_step(mu, use, rate, eta, ref, reward_bound, dual_sum)
    return total
