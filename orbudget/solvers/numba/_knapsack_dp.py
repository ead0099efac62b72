"""Numba kernels for knapsack allocation. Plain arrays in, plain arrays out.

Each kernel's pure-Python twin is ``kernel.py_func`` (the same source run by the interpreter); tests compare
the two, and the whole suite also passes under ``NUMBA_DISABLE_JIT=1``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def prune_dominated(values, costs, available, exact):
    """Mask of options worth keeping: drop an option if another in its group costs no more and is worth at least
    as much (equal cost only, when the budget is exact). Ties keep the lowest index. The optimum is unchanged."""
    n, k = values.shape
    keep = available.copy()
    for i in range(n):
        for a in range(k):
            if not keep[i, a]:
                continue
            for b in range(k):
                if b == a or not available[i, b]:
                    continue
                if exact:
                    dominated = costs[i, b] == costs[i, a] and (
                        values[i, b] > values[i, a] or (values[i, b] == values[i, a] and b < a)
                    )
                else:
                    dominated = (
                        costs[i, b] <= costs[i, a]
                        and values[i, b] >= values[i, a]
                        and (costs[i, b] < costs[i, a] or values[i, b] > values[i, a] or b < a)
                    )
                if dominated:
                    keep[i, a] = False
                    break
    return keep


@njit(cache=True)
def mckp_dp(values, costs, available, budget, exact, choice):
    """Exact multiple-choice knapsack by DP over the budget, O(N·K·B) time, O(B) values + an (N, B+1) choice table.

    ``f[b]`` is the best value of the groups so far with total cost <= b (== b when ``exact``). ``choice`` is a
    caller-allocated (N, B+1) uint8/uint16 array. Returns ``(best, x, feasible)``; ties pick the lowest index.
    """
    n, k = values.shape
    neg = -np.inf
    f = np.full(budget + 1, neg)
    g = np.empty(budget + 1)
    if exact:
        f[0] = 0.0
    else:
        f[:] = 0.0
    lo = 0  # least reachable total cost so far: f[b] = -inf for b < lo
    hi = 0  # largest reachable total cost so far
    x = np.zeros(n, np.int64)
    for i in range(n):
        g[lo:] = neg
        cmin = budget + 1
        cmax = 0
        for j in range(k):
            if not available[i, j]:
                continue
            c = costs[i, j]
            v = values[i, j]
            if c < cmin:
                cmin = c
            if c > cmax:
                cmax = c
            end = budget if not exact else min(budget, hi + c)
            for b in range(lo + c, end + 1):
                val = f[b - c] + v
                if val > g[b]:
                    g[b] = val
                    choice[i, b] = j
        lo += cmin
        hi += cmax
        if lo > budget:
            return neg, x, False
        f, g = g, f
    best = f[budget]
    if best == neg:
        return neg, x, False
    b = budget
    for i in range(n - 1, -1, -1):
        j = choice[i, b]
        x[i] = j
        b -= costs[i, j]
    return best, x, True


@njit(cache=True, parallel=True)
def mckp_dp_batch(values, costs, available, budgets, exact):
    """Many small multiple-choice knapsacks in one call (``prange`` over problems): ``values``, ``costs``,
    ``available`` are (P, N, K), ``budgets`` (P,). Returns ``(best (P,), x (P, N), feasible (P,))``; each problem is
    solved exactly as `mckp_dp` solves it (dominated options pruned first)."""
    p_count, n, k = values.shape
    best = np.empty(p_count)
    xs = np.zeros((p_count, n), np.int64)
    ok = np.zeros(p_count, np.bool_)
    for p in prange(p_count):
        keep = prune_dominated(values[p], costs[p], available[p], exact)
        choice = np.empty((n, budgets[p] + 1), np.int64)
        b, x, feasible = mckp_dp(values[p], costs[p], keep, budgets[p], exact, choice)
        best[p] = b
        xs[p] = x
        ok[p] = feasible
    return best, xs, ok


@njit(cache=True)
def _sift_down(key, idx, size, pos):
    while True:
        child = 2 * pos + 1
        if child >= size:
            return
        if child + 1 < size and (key[child + 1] > key[child] or (key[child + 1] == key[child] and idx[child + 1] < idx[child])):
            child += 1
        if key[child] > key[pos] or (key[child] == key[pos] and idx[child] < idx[pos]):
            key[child], key[pos] = key[pos], key[child]
            idx[child], idx[pos] = idx[pos], idx[child]
            pos = child
        else:
            return


@njit(cache=True)
def marginal_greedy(table, low, high, unit_costs, budget, exact):
    """Marginal allocation with a max-heap: start every item at ``low``, then repeatedly add one unit to the item
    with the largest gain per cost whose next unit fits. Exact for concave values with unit costs.

    ``table[i, n]`` is the value of n units of item i. With ``exact`` (unit costs) exactly ``budget - n·low`` units
    are added whatever their gain; otherwise only positive gains are taken. Ties go to the lowest index.
    Returns ``(x, feasible)``.
    """
    n = table.shape[0]
    x = np.full(n, low, np.int64)
    remaining = budget
    for i in range(n):
        remaining -= unit_costs[i] * low
    if remaining < 0:
        return x, False
    key = np.empty(n)
    idx = np.empty(n, np.int64)
    size = 0
    for i in range(n):
        if low < high:
            key[size] = (table[i, low + 1] - table[i, low]) / unit_costs[i]
            idx[size] = i
            size += 1
    for pos in range(size // 2 - 1, -1, -1):
        _sift_down(key, idx, size, pos)
    while size > 0 and remaining > 0:
        i = idx[0]
        if not exact and key[0] <= 0.0:
            break
        if unit_costs[i] > remaining:  # this item can never grow again: drop it
            size -= 1
            key[0] = key[size]
            idx[0] = idx[size]
            _sift_down(key, idx, size, 0)
            continue
        x[i] += 1
        remaining -= unit_costs[i]
        if x[i] < high:
            key[0] = (table[i, x[i] + 1] - table[i, x[i]]) / unit_costs[i]
        else:
            size -= 1
            key[0] = key[size]
            idx[0] = idx[size]
        _sift_down(key, idx, size, 0)
    if exact and remaining != 0:
        return x, False
    return x, True
