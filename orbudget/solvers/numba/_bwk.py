"""numba kernels for bandits with knapsacks: one ``choose`` and one ``learn`` per policy, and a ``run`` loop that
plays rounds against the environment. Each round consumes one row of policy uniforms (2) and one row of environment
uniforms (1 + d), null rounds included, so a step-by-step Python loop reproduces a kernel run exactly.

State arrays (all float64): ``counts`` (K), ``reward_sum`` (K), ``consumption_sum`` (K, d), ``remaining`` (d),
``logw`` (K + 1, EXP3 log-weights; the last is the null arm), ``logv`` (d + 1, Hedge log-weights over resources
and time), ``mu`` / ``dual_sum`` (d, duals of ``best_of_both``), ``dist`` (K, the distribution LP-based policies
sample from; the rest is the null arm). ``params``: [confidence C_rad, Hedge ε, EXP3 η, EXP3 γ, dual step, dual reference code].
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._online import _dual_step

PRIMAL_DUAL, LAGRANGE, BEST_OF_BOTH, UCB, DISTRIBUTION, ROUND_ROBIN = 0, 1, 2, 3, 4, 5
BERNOULLI, BOUNDED, TABLE = 0, 1, 2


@njit(cache=True)
def radius(mean, n, c):
    """Confidence radius rad(ν, N) = √(C ν / N) + C / N (Badanidiyuru, Kleinberg, Slivkins)."""
    return math.sqrt(c * mean / n) + c / n


@njit(cache=True)
def _softmax(logw, out):
    top = logw.max()
    total = 0.0
    for i in range(logw.size):
        out[i] = math.exp(logw[i] - top)
        total += out[i]
    for i in range(logw.size):
        out[i] /= total


@njit(cache=True)
def _exp3_prob(logw, gamma, probs):
    _softmax(logw, probs)
    k = logw.size
    for a in range(k):
        probs[a] = (1.0 - gamma) * probs[a] + gamma / k


@njit(cache=True)
def _sample(probs, u):
    acc = 0.0
    for a in range(probs.size):
        acc += probs[a]
        if u < acc:
            return a
    return -1


@njit(cache=True)
def optimistic_means(counts, reward_sum, consumption_sum, c_rad, ucb, lcb):
    """UCB of rewards and LCB of consumptions, clipped to [0, 1]; unpulled arms get (1, 0)."""
    k, d = consumption_sum.shape
    for a in range(k):
        n = counts[a]
        if n == 0:
            ucb[a] = 1.0
            for i in range(d):
                lcb[a, i] = 0.0
            continue
        m = reward_sum[a] / n
        ucb[a] = min(1.0, m + radius(m, n, c_rad))
        for i in range(d):
            m = consumption_sum[a, i] / n
            lcb[a, i] = max(0.0, m - radius(m, n, c_rad))


@njit(cache=True)
def choose(code, t, u, counts, reward_sum, consumption_sum, budgets, horizon, params, logw, logv, dist):
    """The arm to pull in round t (-1 = null)."""
    k, d = consumption_sum.shape
    if code == ROUND_ROBIN:
        return t % k
    if code == DISTRIBUTION:
        return _sample(dist, u[0])
    if code == PRIMAL_DUAL or code == UCB:
        for a in range(k):
            if counts[a] == 0:
                return a
    if code == UCB:
        best, arm = -1.0, 0
        for a in range(k):
            v = reward_sum[a] / counts[a] + math.sqrt(2.0 * math.log(t + 1.0) / counts[a])
            if v > best:
                best, arm = v, a
        return arm
    if code == PRIMAL_DUAL:
        bmin = budgets.min()
        y = np.empty(d + 1)
        _softmax(logv, y)
        ucb = np.empty(k)
        lcb = np.empty((k, d))
        optimistic_means(counts, reward_sum, consumption_sum, params[0], ucb, lcb)
        best, arm = -1.0, 0
        for a in range(k):
            cost = y[d] * bmin / horizon
            for i in range(d):
                cost += y[i] * lcb[a, i] * bmin / budgets[i]
            v = ucb[a] / max(cost, 1e-300)
            if v > best:
                best, arm = v, a
        return arm
    probs = np.empty(k + 1)  # EXP3 over the arms and the null arm (index k)
    _exp3_prob(logw, params[3], probs)
    arm = _sample(probs, u[0])
    return -1 if (arm < 0 or arm == k) else arm  # arm < 0: rounding at the top of the cumulative sum


@njit(cache=True)
def learn(
    code, arm, reward, consumption, counts, reward_sum, consumption_sum, budgets, horizon, params, logw, logv, mu, dual_sum
):
    """Update the policy after pulling ``arm`` (-1 = the null arm: reward and consumption 0), before the round is
    recorded in the sums."""
    k, d = consumption_sum.shape
    if arm < 0 and code != LAGRANGE and code != BEST_OF_BOTH:
        return
    if code == PRIMAL_DUAL:
        bmin = budgets.min()
        step = math.log1p(params[1])
        ucb = np.empty(k)
        lcb = np.empty((k, d))
        optimistic_means(counts, reward_sum, consumption_sum, params[0], ucb, lcb)
        for i in range(d):
            logv[i] += step * lcb[arm, i] * bmin / budgets[i]
        logv[d] += step * bmin / horizon
        return
    if code == LAGRANGE:
        lam = np.empty(d + 1)
        _softmax(logv, lam)
        lo = 0.0
        for i in range(d):
            lo = min(lo, 1.0 - horizon / budgets[i])
        value = reward
        for i in range(d):
            term = 1.0 - horizon * consumption[i] / budgets[i]
            value += lam[i] * term
            logv[i] -= params[1] * (term - lo) / (1.0 - lo)  # the dual minimises the Lagrangian
        logv[d] -= params[1] * (0.0 - lo) / (1.0 - lo)
        gain = (value - lo) / (2.0 - lo)
    elif code == BEST_OF_BOTH:
        rate = budgets / horizon
        value, lo, hi = reward, 0.0, 1.0
        for i in range(d):
            value -= mu[i] * (consumption[i] - rate[i])
            lo -= mu[i] * (1.0 - rate[i])
            hi += mu[i] * rate[i]
        gain = (value - lo) / (hi - lo)
        _dual_step(mu, consumption, rate, rate, np.zeros(d), params[4], int(params[5]), 1.0, dual_sum)
    else:
        return
    probs = np.empty(k + 1)
    _exp3_prob(logw, params[3], probs)
    played = k if arm < 0 else arm
    logw[played] -= params[2] * (1.0 - gain) / probs[played]  # EXP3 on importance-weighted losses 1 - gain


@njit(cache=True)
def draw(kind, arm, t, u, reward_means, consumption_means, reward_table, consumption_table, out):
    """The environment's outcome of ``arm`` in round t from one row of uniforms; consumption into ``out``."""
    d = out.size
    if kind == TABLE:
        for i in range(d):
            out[i] = consumption_table[t, arm, i]
        return reward_table[t, arm]
    m = reward_means[arm]
    if kind == BERNOULLI:
        r = 1.0 if u[0] < m else 0.0
        for i in range(d):
            out[i] = 1.0 if u[1 + i] < consumption_means[arm, i] else 0.0
        return r
    r = m + min(m, 1.0 - m) * (2.0 * u[0] - 1.0)
    for i in range(d):
        c = consumption_means[arm, i]
        out[i] = c + min(c, 1.0 - c) * (2.0 * u[1 + i] - 1.0)
    return r


@njit(cache=True)
def run(
    code,
    t,
    t_stop,
    policy_u,
    env_u,
    kind,
    reward_means,
    consumption_means,
    reward_table,
    consumption_table,
    counts,
    reward_sum,
    consumption_sum,
    remaining,
    budgets,
    horizon,
    params,
    logw,
    logv,
    mu,
    dual_sum,
    dist,
    arms,
    spent_rounds,
):
    """Play rounds t .. t_stop-1 (one row of ``policy_u`` and ``env_u`` each) unless a budget stops play first.

    Returns ``(t, reward, stopped)``. A round is played only while every remaining budget is >= 1.
    """
    k, d = consumption_sum.shape
    c = np.empty(d)
    total = 0.0
    j = 0
    while t < t_stop:
        for i in range(d):
            if remaining[i] < 1.0:
                return t, total, True
        arm = choose(code, t, policy_u[j], counts, reward_sum, consumption_sum, budgets, horizon, params, logw, logv, dist)
        arms[t] = arm
        if arm < 0:
            for i in range(d):
                c[i] = 0.0
            learn(code, arm, 0.0, c, counts, reward_sum, consumption_sum, budgets, horizon, params, logw, logv, mu, dual_sum)
        else:
            r = draw(kind, arm, t, env_u[j], reward_means, consumption_means, reward_table, consumption_table, c)
            learn(code, arm, r, c, counts, reward_sum, consumption_sum, budgets, horizon, params, logw, logv, mu, dual_sum)
            counts[arm] += 1.0
            reward_sum[arm] += r
            for i in range(d):
                consumption_sum[arm, i] += c[i]
                remaining[i] -= c[i]
            total += r
        spent_rounds[0] += 1.0
        t += 1
        j += 1
    return t, total, False
