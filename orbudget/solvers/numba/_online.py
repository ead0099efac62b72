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

from ...problems._numerics import regularizer_project, regularizer_response
from ...problems._numerics import softmax_matching as _softmax_matching
from ...problems.dual_mirror_descent import MU_MAX, MU_MIN  # the duals' range, shared with the numpy twin (numba freezes it)

FIXED, EUCLIDEAN, SCALED_EUCLIDEAN, ENTROPY, PROJECTED_ENTROPY = 0, 1, 2, 3, 4
REFERENCE_CODES = {
    "euclidean": EUCLIDEAN,
    "scaled_euclidean": SCALED_EUCLIDEAN,
    "entropy": ENTROPY,
    "projected_entropy": PROJECTED_ENTROPY,
}


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
def _dual_step(mu, use, target, rate, floor, eta, ref, radius, dual_sum):
    """One mirror step on g = target − use (target = ρ, or a regulariser's response) over the box μ >= floor (0
    without a regulariser). The duals are kept in [floor, MU_MAX] (the entropy references work on ν = μ − floor, in
    [MU_MIN, MU_MAX], where a zero ν stays zero), so consumptions of 1e18 cannot overflow them to inf (and then NaN)
    nor underflow an entropy dual to a zero that never recovers; inside that range the step is the textbook one, bit
    for bit. ``radius`` bounds ρᵀν for the projected entropy."""
    m = mu.size
    for j in range(m):
        dual_sum[j] += mu[j]
    if ref == FIXED:
        return
    if ref == EUCLIDEAN or ref == SCALED_EUCLIDEAN:
        for j in range(m):
            g = target[j] - use[j]
            if ref == SCALED_EUCLIDEAN:
                g /= rate[j] * rate[j]
            v = mu[j] - eta * g
            mu[j] = (v if v < MU_MAX else MU_MAX) if v > floor[j] else floor[j]
        return
    total = 0.0
    for j in range(m):
        nu = mu[j] - floor[j]
        if nu > 0.0:  # a zero entropy dual stays zero
            v = nu * math.exp(-eta * (target[j] - use[j]))
            nu = MU_MIN if v < MU_MIN else (v if v < MU_MAX else MU_MAX)
            mu[j] = nu + floor[j]
        total += rate[j] * nu
    if ref == PROJECTED_ENTROPY and total > radius:
        f = radius / total
        for j in range(m):
            nu = mu[j] - floor[j]
            if nu > 0.0:
                v = nu * f
                mu[j] = (v if v > MU_MIN else MU_MIN) + floor[j]


@njit(cache=True)
def dmd_run(
    rewards, consumption, matching, mu, remaining, rate, eta, ref, radius, actions, dual_sum, reg, reg_weight, reg_target, floor
):
    """Run DMD over one batch; returns the batch's reward. ``consumption`` is ignored (pass a (1,1,1) array)
    when ``matching``. Ties go to the null action; an action is played only if it fits what remains.

    ``reg`` is a regulariser's code (0 = none; ``reg_weight`` and ``reg_target`` its (m,) arrays): each dual step
    then moves towards its response a(μ_t) instead of ρ, within μ >= ``floor`` (the step's box, `step_floor`:
    −MU_MAX for a Euclidean reference with max-min fairness or load balancing, whose unclipped step
    `regularizer_project` then projects onto the paper's domain); ``radius`` is the projected entropy's bound on
    ρᵀ(μ − floor)."""
    n, k = rewards.shape
    m = mu.size
    use = np.zeros(m)
    target = rate.copy()
    nonneg = True  # μ >= 0 throughout, so the dual price can only lower a reward (a regulariser's floor may be < 0)
    for j in range(m):
        if floor[j] < 0.0:
            nonneg = False
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
                if nonneg and v <= best:  # μ ≥ 0 and b ≥ 0: the dual price can only lower it
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
        if reg != 0:
            regularizer_response(reg, reg_weight, reg_target, mu, rate, target)
        _dual_step(mu, use, target, rate, floor, eta, ref, radius, dual_sum)
        if (reg == 1 or reg == 2) and ref != FIXED:  # back into the paper's dual domain
            regularizer_project(reg, reg_weight, mu, rate, floor, ref >= ENTROPY, ref == SCALED_EUCLIDEAN)
    return total


@njit(cache=True)
def proportional_run(rewards, lam, mu, remaining, rate, eta, ref, reward_bound, allocation, dual_sum):
    """DMD for proportional matching with an entropy term: request t gets the softmax allocation
    ``allocation[t]`` (column 0 = null) when it fits, else the null action. Returns the batch's reward."""
    n, m = rewards.shape
    x = np.empty(m + 1)
    use = np.empty(m)
    floor = np.zeros(m)
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
        _dual_step(mu, use, rate, rate, floor, eta, ref, reward_bound, dual_sum)
    return total
