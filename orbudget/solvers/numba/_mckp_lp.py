"""Numba kernels of the core knapsack solver, part one: the reduction per class, the upper hull, the LP relaxation
(the break class), and combo's cardinality bound from the LP split on the total rank (steps 1, 2 and 4 of the
method described in ``_mckp_core.py``).

Costs are int64 and the caller guarantees every total fits (at most 2**62); values are float64.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit, objmode


@njit(cache=True)
def _clock():
    with objmode(t="float64"):
        t = time.perf_counter()
    return t


@njit(cache=True)
def reduce_groups(values, costs, available, exact):
    """Per class, the options worth keeping (sorted by cost) and the upper convex hull of them.

    Returns ``(opt_ptr, opt_idx, opt_cost, opt_val, hull_ptr, hull_pos)``: class ``i`` keeps options
    ``opt_idx[opt_ptr[i]:opt_ptr[i+1]]`` (original indices; costs strictly increasing; values strictly increasing
    too unless ``exact``) and its hull vertices are the positions ``hull_pos[hull_ptr[i]:hull_ptr[i+1]]`` into those
    arrays, cheapest first, with strictly decreasing slopes (collinear points left out). Ties keep the lowest index.
    """
    out = reduction_arrays(values.shape[0], values.shape[1])
    m, h = reduce_rows(values, costs, available, exact, 0, values.shape[0], out, 0, 0)
    return trimmed(out, m, h)


@njit(cache=True)
def reduction_arrays(n, k):
    """Room for `reduce_rows` to reduce ``n`` classes of ``k`` options: ``(opt_ptr, opt_idx, opt_cost, opt_val,
    hull_ptr, hull_pos)``, each as large as it can need."""
    return (
        np.zeros(n + 1, np.int64),
        np.empty(n * k, np.int64),
        np.empty(n * k, np.int64),
        np.empty(n * k, np.float64),
        np.zeros(n + 1, np.int64),
        np.empty(n * k, np.int64),
    )


@njit(cache=True)
def trimmed(out, m, h):
    """The arrays of `reduction_arrays` cut to the ``m`` options and ``h`` hull vertices kept (views, no copy)."""
    opt_ptr, opt_idx, opt_cost, opt_val, hull_ptr, hull_pos = out
    return opt_ptr, opt_idx[:m], opt_cost[:m], opt_val[:m], hull_ptr, hull_pos[:h]


@njit(cache=True)
def reduce_rows(values, costs, available, exact, i0, i1, out, m, h):
    """`reduce_groups` for classes ``i0 <= i < i1`` into ``out`` (from `reduction_arrays`), after the ``m`` options
    and ``h`` hull vertices of the classes before ``i0``; returns the new ``(m, h)``. Classes are reduced one by one,
    so reducing in row blocks gives the arrays of one call."""
    opt_ptr, opt_idx, opt_cost, opt_val, hull_ptr, hull_pos = out
    k = values.shape[1]
    row_cost = np.empty(k, np.int64)
    ident = np.arange(k)
    for i in range(i0, i1):
        for j in range(k):
            row_cost[j] = costs[i, j]
        ordered = True
        for j in range(1, k):
            if row_cost[j] < row_cost[j - 1]:
                ordered = False
                break
        # cost ascending (ties are settled below by value, then index); rows often come sorted (rollout counts)
        order = ident if ordered else np.argsort(row_cost)
        start = m
        a = 0
        while a < k:
            # the run of options with this cost: keep the best available one (lowest index among ties)
            c = row_cost[order[a]]
            best = -1
            while a < k and row_cost[order[a]] == c:
                j = order[a]
                if available[i, j] and (
                    best < 0 or values[i, j] > values[i, best] or (values[i, j] == values[i, best] and j < best)
                ):
                    best = j
                a += 1
            if best < 0:
                continue
            v = values[i, best]
            if m > start and not exact and v <= opt_val[m - 1]:
                continue
            opt_idx[m] = best
            opt_cost[m] = c
            opt_val[m] = v
            m += 1
        opt_ptr[i + 1] = m
        h = _hull_into(opt_cost, opt_val, start, m, hull_pos, h)
        hull_ptr[i + 1] = h
    return m, h


@njit(cache=True)
def _hull_into(opt_cost, opt_val, start, end, hull_pos, h):
    """The upper convex hull of the options ``start <= p < end`` (sorted by cost, costs strictly increasing),
    written as positions into ``hull_pos`` from ``h`` on, cheapest first, collinear points left out; returns the
    new end of ``hull_pos``."""
    hstart = h
    for p in range(start, end):
        while h - hstart >= 2:
            a = hull_pos[h - 2]
            b = hull_pos[h - 1]
            # drop b when it lies on or below the segment a -> p
            lhs = (opt_val[b] - opt_val[a]) * float(opt_cost[p] - opt_cost[b])
            rhs = (opt_val[p] - opt_val[b]) * float(opt_cost[b] - opt_cost[a])
            if lhs <= rhs:
                h -= 1
            else:
                break
        hull_pos[h] = p
        h += 1
    return h


@njit(cache=True)
def _earlier(e, f, slope, group):
    """Whether hull step ``e`` comes before step ``f`` in the greedy's order: slope descending, then class order
    (a strict total order: within a class the hull's slopes strictly decrease)."""
    return slope[e] > slope[f] or (slope[e] == slope[f] and group[e] < group[f])


@njit(cache=True)
def lp_relaxation(opt_cost, opt_val, hull_ptr, hull_pos, budget, exact, time_limit=0.0):
    """The LP relaxation by the upper-hull greedy (Sinha & Zoltners 1979; Pisinger 1995).

    Every class starts at its cheapest hull vertex; hull steps are taken by slope, best first (ties: class order),
    while they fit; without ``exact`` steps of slope <= 0 are never taken. The step that does not fit is found by
    weighted selection (quickselect on the steps' costs, as in Dyer-Zemel and Pisinger's partitioning), in
    expected linear time: no sort of all the steps. Returns ``(vertex, brk, residual, bound, feasible)``:
    ``vertex[i]`` the LP vertex of class i (an index into its hull), ``brk`` the break class (-1 when every wanted
    step fits), ``residual`` the budget left after the integral part, and ``bound`` the LP value (the break step
    taken fractionally). ``feasible`` is False when the budget is below the cheapest choice, or (``exact``) above
    the dearest. A positive ``time_limit`` (seconds) is checked after the steps are built and after each
    partition pass: past it, the sixth value ``stopped`` is True and the others mean nothing.
    """
    t_start = _clock() if time_limit > 0 else 0.0
    n = hull_ptr.size - 1
    vertex = np.zeros(n, np.int64)
    base_cost = 0
    n_steps = 0
    for i in range(n):
        base_cost += opt_cost[hull_pos[hull_ptr[i]]]
        n_steps += hull_ptr[i + 1] - hull_ptr[i] - 1
    residual = budget - base_cost
    if residual < 0:
        return vertex, -1, residual, -np.inf, False, False
    slope = np.empty(n_steps)
    group = np.empty(n_steps, np.int64)
    dc = np.empty(n_steps, np.int64)
    cand = np.empty(n_steps, np.int64)  # the steps the greedy may take
    e = 0
    m = 0
    for i in range(n):
        for q in range(hull_ptr[i], hull_ptr[i + 1] - 1):
            a = hull_pos[q]
            b = hull_pos[q + 1]
            dc[e] = opt_cost[b] - opt_cost[a]
            slope[e] = (opt_val[b] - opt_val[a]) / float(dc[e])
            group[e] = i
            if exact or slope[e] > 0.0:
                cand[m] = e
                m += 1
            e += 1
    # invariant: cand[:lo] are taken (in some order), every step in cand[hi:m] comes after one that does not fit,
    # and `residual` is what is left after cand[:lo]
    lo = 0
    hi = m
    brk_step = -1
    state = 12345  # a fixed pseudo-random pivot sequence (31-bit LCG: no int64 overflow), so runs repeat exactly
    while lo < hi:
        if time_limit > 0 and _clock() - t_start > time_limit:
            return vertex, -1, residual, -np.inf, False, True
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        t = lo + state % (hi - lo)
        pv = cand[t]
        cand[t] = cand[hi - 1]
        cand[hi - 1] = pv
        store = lo
        before = 0
        for t in range(lo, hi - 1):
            f = cand[t]
            if _earlier(f, pv, slope, group):
                cand[t] = cand[store]
                cand[store] = f
                store += 1
                before += dc[f]
        cand[hi - 1] = cand[store]
        cand[store] = pv
        if before > residual:  # the break lies among the earlier steps
            hi = store
        elif before + dc[pv] > residual:  # the pivot is the step that does not fit
            residual -= before
            lo = store
            brk_step = pv
            break
        else:
            residual -= before + dc[pv]
            lo = store + 1
    for t in range(lo):
        vertex[group[cand[t]]] += 1
    value = 0.0
    for i in range(n):
        value += opt_val[hull_pos[hull_ptr[i] + vertex[i]]]
    brk = -1
    if brk_step >= 0:
        brk = group[brk_step]
        value += slope[brk_step] * float(residual)
    if exact and brk < 0 and residual != 0:
        return vertex, -1, residual, -np.inf, False, False
    return vertex, brk, residual, value, True, False


@njit(cache=True)
def lp_fractions(opt_ptr, opt_idx, opt_cost, hull_ptr, hull_pos, vertex, brk, residual, n_options):
    """The LP solution as an (N, K) array of fractions (one 1 per class, the break class split in two)."""
    n = vertex.size
    frac = np.zeros((n, n_options))
    for i in range(n):
        q = hull_ptr[i] + vertex[i]
        a = hull_pos[q]
        if i == brk:
            b = hull_pos[q + 1]
            theta = float(residual) / float(opt_cost[b] - opt_cost[a])
            frac[i, opt_idx[a]] = 1.0 - theta
            frac[i, opt_idx[b]] += theta
        else:
            frac[i, opt_idx[a]] = 1.0
    return frac


@njit(cache=True)
def _ranked_lp(opt_ptr, opt_cost, opt_val, lam, budget, exact, vals, hull_ptr, hull_pos):
    """The LP relaxation with every option's value lowered by ``lam`` times its rank (its position among its
    class's options, cheapest 0). Returns ``(value, rank, error)``: the LP value, the total rank of the LP solution
    (fractional at the break class) and a bound on the rounding error of ``value``; ``value`` is +inf when the LP
    has no solution. ``vals``, ``hull_ptr`` and ``hull_pos`` are work arrays (sizes of ``opt_val``, ``opt_ptr``
    and ``opt_val``)."""
    n = opt_ptr.size - 1
    h = 0
    for i in range(n):
        s = opt_ptr[i]
        for p in range(s, opt_ptr[i + 1]):
            vals[p] = opt_val[p] - lam * float(p - s)
        h = _hull_into(opt_cost, vals, s, opt_ptr[i + 1], hull_pos, h)
        hull_ptr[i + 1] = h
    vertex, brk, residual, _value, feasible, _stopped = lp_relaxation(opt_cost, vals, hull_ptr, hull_pos, budget, exact, 0.0)
    if not feasible:
        return np.inf, 0.0, 0.0
    # the value again by Neumaier's compensated sum, so its error does not grow with the number of classes: a
    # few ulps of the magnitudes summed (each modified value, the greedy's order and the sum itself)
    value = 0.0
    comp = 0.0
    size = 0.0
    rank = 0.0
    for i in range(n):
        p = hull_pos[hull_ptr[i] + vertex[i]]
        r = float(p - opt_ptr[i])
        rank += r
        term = vals[p]
        size += abs(opt_val[p]) + abs(lam) * r
        t = value + term
        comp += (value - t) + term if abs(value) >= abs(term) else (term - t) + value
        value = t
    if brk >= 0:
        q = hull_ptr[brk] + vertex[brk]
        a = hull_pos[q]
        b = hull_pos[q + 1]
        theta = float(residual) / float(opt_cost[b] - opt_cost[a])
        rank += theta * float(b - a)
        term = theta * (vals[b] - vals[a])
        size += abs(opt_val[b]) + abs(opt_val[a]) + abs(lam) * float(b - opt_ptr[brk])
        t = value + term
        comp += (value - t) + term if abs(value) >= abs(term) else (term - t) + value
        value = t
    return value + comp, rank, 32.0 * 2.0**-52 * size


@njit(cache=True)
def _dual_min(opt_ptr, opt_cost, opt_val, budget, exact, limit, sign, value0, rank0, scale, vals, hull_ptr, hull_pos, t_end):
    """An upper bound on the LP with the rank constraint ``rank <= limit`` (``sign`` 1) or ``rank >= limit``
    (``sign`` -1): the Lagrangian dual ``F(mu) = sign * mu * limit + LP(values - sign * mu * rank)`` minimised over
    ``mu >= 0`` (convex, piecewise linear). Every ``F(mu)`` is an upper bound (weak duality), so the least one
    evaluated, plus its rounding error, is returned. ``F(0) = value0`` with rank ``rank0``; the minimum is
    bracketed by quadrupling ``mu`` from ``scale``, then found by intersecting the supporting lines at the
    bracket's ends (Kelley's cutting planes in one dimension). Past the clock time ``t_end`` the best so far is
    returned."""
    best = value0
    a, fa, da = 0.0, value0, sign * (limit - rank0)  # F's slope at mu is sign * (limit - rank of the LP solution)
    if da >= 0.0:
        return best
    b, fb, db = 0.0, 0.0, -1.0
    mu = scale
    for _ in range(40):
        if _clock() > t_end:
            return best
        v, r, err = _ranked_lp(opt_ptr, opt_cost, opt_val, sign * mu, budget, exact, vals, hull_ptr, hull_pos)
        f = sign * mu * limit + v
        err += 4.0 * 2.0**-52 * abs(mu * limit)
        best = min(best, f + err)
        d = sign * (limit - r)
        if d >= 0.0:
            b, fb, db = mu, f, d
            break
        a, fa, da = mu, f, d
        mu *= 4.0
    if db < 0.0:
        return best
    for _ in range(60):
        if _clock() > t_end:
            break
        m = (fb - fa + da * a - db * b) / (da - db)
        if not (a < m < b):
            break
        line = fa + da * (m - a)
        v, r, err = _ranked_lp(opt_ptr, opt_cost, opt_val, sign * m, budget, exact, vals, hull_ptr, hull_pos)
        f = sign * m * limit + v
        err += 4.0 * 2.0**-52 * abs(m * limit)
        best = min(best, f + err)
        if f <= line + err:  # F meets its two supporting lines: m is the minimum
            break
        d = sign * (limit - r)
        if d < 0.0:
            a, fa, da = m, f, d
        else:
            b, fb, db = m, f, d
    return best


@njit(cache=True)
def cardinality_bound(opt_ptr, opt_cost, opt_val, budget, exact, t_end=np.inf):
    """An upper bound on the optimum from the options' ranks (combo's cardinality bounds, Martello, Pisinger and
    Toth 1999, for every class's options in cost order).

    A solution's total rank is a whole number, so when the LP solution's total rank ``t`` is fractional every
    solution has rank ``<= floor(t)`` or ``>= ceil(t)``, and the optimum is at most the larger of the two LPs with
    that constraint (each bounded through `_dual_min`). For a 0/1 knapsack the rank is the number of items: this is
    the bound that closes the strongly and inverse strongly correlated classes, whose LP gap is a fraction of an
    item. +inf when it gives nothing (a whole ``t``). Its work is counted, not timed: at most 100 LPs a side (40 to
    bracket the multiplier, 60 cutting planes), so the bound, and the search that uses it, are the same at any machine
    load. Only the user's time limit, the clock time ``t_end`` (`_clock`), stops it early, with the best bound so far."""
    n = opt_ptr.size - 1
    m = opt_val.size
    vals = np.empty(m)
    hull_ptr = np.zeros(n + 1, np.int64)
    hull_pos = np.empty(m, np.int64)
    value0, rank0, err0 = _ranked_lp(opt_ptr, opt_cost, opt_val, 0.0, budget, exact, vals, hull_ptr, hull_pos)
    lo = np.floor(rank0)
    if value0 == np.inf or rank0 - lo < 1e-9 or lo + 1.0 - rank0 < 1e-9:
        return np.inf
    # the least and the most total rank of any LP solution: a side beyond them holds no solution
    zeros = np.zeros(m)
    _v, rank_min, _e = _ranked_lp(opt_ptr, opt_cost, zeros, 1.0, budget, exact, vals, hull_ptr, hull_pos)
    _v, rank_max, _e = _ranked_lp(opt_ptr, opt_cost, zeros, -1.0, budget, exact, vals, hull_ptr, hull_pos)
    scale = max(1.0, abs(value0)) / max(1.0, rank0)  # a value per unit of rank
    below = -np.inf
    if lo >= rank_min - 1e-9:
        below = _dual_min(
            opt_ptr, opt_cost, opt_val, budget, exact, lo, 1.0, value0 + err0, rank0, scale, vals, hull_ptr, hull_pos, t_end
        )
    above = -np.inf
    if lo + 1.0 <= rank_max + 1e-9:
        above = _dual_min(
            opt_ptr,
            opt_cost,
            opt_val,
            budget,
            exact,
            lo + 1.0,
            -1.0,
            value0 + err0,
            rank0,
            scale,
            vals,
            hull_ptr,
            hull_pos,
            t_end,
        )
    return max(below, above)
