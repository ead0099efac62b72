"""Numba kernels of the exact core solver for the multiple-choice knapsack (0/1 knapsack included).

The method follows Pisinger's ``mcknap`` (A minimal algorithm for the multiple-choice knapsack problem, EJOR 83,
1995) and its 0/1 sibling ``minknap`` (A minimal algorithm for the 0-1 knapsack problem, Oper. Res. 45, 1997), with
the expanding core of ``expknap`` and the state lists of Martello, Pisinger and Toth's ``combo`` (Management Sci.
45, 1999):

1. **Reduction per class** (`reduce_groups`): options sorted by cost; dominated options dropped (another costs
   no more and is worth at least as much; with an exact budget only equal costs dominate); the upper convex hull of
   what is left (LP-dominance) gives each class's LP slopes.
2. **LP relaxation** (`lp_relaxation`): start every class at its cheapest hull vertex and take the hull steps
   in order of slope, best first, until the budget runs out: the step that does not fit is the *break class*.
3. **Core search** (`core_search`): every class sits at its LP vertex; classes join the core one at a time,
   the break class first, then by how close their LP slopes lie to the break slope. The core is a list of
   non-dominated states ``(cost, value)`` (Nemhauser-Ullmann), sorted by cost, each a complete solution (classes
   outside the core at their LP vertex). Adding a class shifts the list by each option's change and merges the
   shifted lists, dropping dominated states. A state is dropped when its upper bound cannot beat the incumbent:
   with ``r = budget - cost``, the classes still outside can gain at most ``s_up * r`` (``r >= 0``; ``s_up`` the
   largest LP slope up among them) and must lose at least ``s_down * |r|`` (``r < 0``; ``s_down`` the smallest
   slope down), so ``bound = value + s_up * r`` or ``value + s_down * r`` (minknap's bound). Cost ranges of the
   classes outside prune states that cannot come back within (or exactly to) the budget; when no single move up
   fits, the moves down that must pay for one are charged too (see `_bound`). With whole-number values an
   improvement must be worth at least their greatest common divisor (combo's divisibility; the adapter also
   lowers the budget to a multiple of the costs' divisor). Every state is also completed by the best single move
   of a class outside the core (combo's pairing) to raise the incumbent. The search ends when no state is left
   (the incumbent is optimal) or every class has joined.
4. **Cardinality bound** (`cardinality_bound`, combo's cardinality bounds): once the core holds ``CARD_AFTER``
   states, the LP is split on the solutions' total rank (for a 0/1 knapsack, the number of items) and bounded by
   its Lagrangian dual; the search stops as soon as the incumbent reaches that bound.

Solutions are rebuilt from a history of (parent, class, option) records, one per state whose core class left its
LP vertex; unreachable records are collected when the history fills up.

Costs are int64 and the caller guarantees every total fits (at most 2**62); values are float64.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit, objmode

STOP_OPTIMAL = 0
STOP_TIME = 1
STOP_STATES = 2
NO_MOVE = 2**62 + 1  # larger than any cost change (every total is at most 2**62)
CARD_AFTER = 5000  # states held at once before the search computes the cardinality bound (a few LPs)


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
    return (np.zeros(n + 1, np.int64), np.empty(n * k, np.int64), np.empty(n * k, np.int64),
            np.empty(n * k, np.float64), np.zeros(n + 1, np.int64), np.empty(n * k, np.int64))


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
                if available[i, j] and (best < 0 or values[i, j] > values[i, best]
                                        or (values[i, j] == values[i, best] and j < best)):
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
    vertex, brk, residual, _value, feasible, _stopped = lp_relaxation(opt_cost, vals, hull_ptr, hull_pos, budget,
                                                                      exact, 0.0)
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
def _dual_min(opt_ptr, opt_cost, opt_val, budget, exact, limit, sign, value0, rank0, scale, vals, hull_ptr,
              hull_pos, t_end):
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
def cardinality_bound(opt_ptr, opt_cost, opt_val, budget, exact, t_end=np.inf, spend=np.inf):
    """An upper bound on the optimum from the options' ranks (combo's cardinality bounds, Martello, Pisinger and
    Toth 1999, for every class's options in cost order).

    A solution's total rank is a whole number, so when the LP solution's total rank ``t`` is fractional every
    solution has rank ``<= floor(t)`` or ``>= ceil(t)``, and the optimum is at most the larger of the two LPs with
    that constraint (each bounded through `_dual_min`). For a 0/1 knapsack the rank is the number of items: this is
    the bound that closes the strongly and inverse strongly correlated classes, whose LP gap is a fraction of an
    item. +inf when it gives nothing (a whole ``t``). It stops with the best bound found so far past the clock time
    ``t_end`` (`_clock`), or once it has run ``spend`` seconds and 20 ms plus the time of 8 LPs."""
    n = opt_ptr.size - 1
    m = opt_val.size
    vals = np.empty(m)
    hull_ptr = np.zeros(n + 1, np.int64)
    hull_pos = np.empty(m, np.int64)
    t0 = _clock()
    value0, rank0, err0 = _ranked_lp(opt_ptr, opt_cost, opt_val, 0.0, budget, exact, vals, hull_ptr, hull_pos)
    t1 = _clock()
    t_end = min(t_end, t0 + max(spend, 0.02 + 8.0 * (t1 - t0)))
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
        below = _dual_min(opt_ptr, opt_cost, opt_val, budget, exact, lo, 1.0, value0 + err0, rank0, scale, vals,
                          hull_ptr, hull_pos, t_end)
    above = -np.inf
    if lo + 1.0 <= rank_max + 1e-9:
        above = _dual_min(opt_ptr, opt_cost, opt_val, budget, exact, lo + 1.0, -1.0, value0 + err0, rank0, scale,
                          vals, hull_ptr, hull_pos, t_end)
    return max(below, above)


@njit(cache=True)
def take_copies(unit, kind_start, kind_end, taken):
    """Which items give each kind its count: kind ``t`` is the items ``kind_start[t] <= j < kind_end[t]`` (sorted by
    ``unit``, the copies each holds) and needs ``taken[t]`` copies; items are taken largest first while they fit,
    which reaches every count when each unit is at most 1 + the sum of the smaller ones. Returns a boolean mask."""
    pick = np.zeros(unit.size, np.bool_)
    for t in range(kind_start.size):
        left = taken[t]
        j = kind_end[t] - 1
        while left > 0 and j >= kind_start[t]:
            if unit[j] <= left:
                pick[j] = True
                left -= unit[j]
            j -= 1
        if left != 0:
            raise ValueError("a count of copies that the items cannot make")
    return pick


@njit(cache=True)
def _bound(c, v, budget, exact, su, sd, ur, dr, mu, md):
    """Upper bound on any completion of a state (cost c, value v) by the classes outside the core; -inf when no
    completion fits.

    Those classes move up (adding cost U in all) or down (removing D): ``su``/``sd`` are the largest slope up and
    the smallest slope down among them (``su <= sd`` at the LP optimum), ``ur``/``dr`` the most cost they can add
    or remove, and ``mu``/``md`` the least cost one move up or down can change (each ``NO_MOVE`` when none). With
    ``r = budget - c`` a completion needs ``U - D <= r`` (``== r`` when exact) and gains at most ``su·U - sd·D``:

    * no move up: ``D >= max(-r, md)`` when ``r < 0``, so the gain is at most ``-sd·max(-r, md)`` (0 when
      ``r >= 0``);
    * some move up with ``r >= mu``: at most ``su·min(r, ur)`` (minknap's bound);
    * some move up with ``r < mu``: it must be paid for by moves down, ``D >= max(mu - r, md)``, so the gain is
      at most ``su·r - (sd - su)·max(mu - r, md)``. This term grows as the core widens (``sd - su`` grows) and is
      what cuts the states of the strongly correlated classes, whose LP slopes lie close together.
    """
    r = budget - c
    ub = -np.inf
    if r >= 0:
        if not exact or r == 0:
            ub = v
    else:
        need = max(-r, md)
        if need <= dr:
            ub = v - sd * float(need)
    if ur > 0:
        if r >= mu:
            if r <= ur:
                ub = max(ub, v + su * float(r))
            elif not exact:
                ub = max(ub, v + su * float(ur))
        else:
            need = max(mu - r, md)
            if need <= dr:
                ub = max(ub, v + su * float(r) - (sd - su) * float(need))
    return ub


@njit(cache=True)
def _collect(hist_parent, hist_group, hist_opt, n_hist, state_node, n_states, inc_node):
    """Drop history records no live state (nor the incumbent) reaches; renumber in place. Returns the new size."""
    live = np.zeros(n_hist, np.bool_)
    for s in range(n_states + 1):
        node = inc_node if s == n_states else state_node[s]
        while node >= 0 and not live[node]:
            live[node] = True
            node = hist_parent[node]
    new_id = np.full(n_hist, -1, np.int64)
    m = 0
    for a in range(n_hist):  # parents precede children, so one forward pass renumbers both
        if live[a]:
            new_id[a] = m
            p = hist_parent[a]
            hist_parent[m] = new_id[p] if p >= 0 else -1
            hist_group[m] = hist_group[a]
            hist_opt[m] = hist_opt[a]
            m += 1
    for s in range(n_states):
        if state_node[s] >= 0:
            state_node[s] = new_id[state_node[s]]
    return m, (new_id[inc_node] if inc_node >= 0 else -1)


@njit(cache=True)
def _grow(a, size):
    """``a`` copied into a larger buffer of ``size`` (any dtype: numba compiles one version per dtype)."""
    out = np.empty(size, a.dtype)
    out[: a.size] = a
    return out


@njit(cache=True)
def core_search(opt_ptr, opt_idx, opt_cost, opt_val, hull_ptr, hull_pos, vertex, brk, budget, exact, step,
                time_limit, state_limit, card_after=CARD_AFTER):
    """Exact search over the expanding core (see the module docstring). ``budget`` and every total cost fit int64.

    ``step`` > 0 says every solution's value is a multiple of it (whole-number values: their greatest common
    divisor), so a better solution is worth at least ``step`` more than the incumbent; 0 for real values.

    ``time_limit`` in seconds (<= 0: none) is checked before a class is added once 4,096 states (or 64 classes)
    have been passed since the last check, and ``state_limit`` (most states held at once) before every class.
    Once ``card_after`` states are held at once, `cardinality_bound` is computed (once): the search stops as soon
    as the incumbent reaches it. Returns ``(stop, found, x, value, cost, upper, core_size,
    max_states, n_states_made)``: ``stop`` is ``STOP_OPTIMAL``, ``STOP_TIME`` or ``STOP_STATES``; ``x`` holds
    original option indices; ``upper`` is an upper bound on the optimum (equal to ``value`` when optimal).
    """
    t_search = _clock()
    t_start = t_search if time_limit > 0 else 0.0
    n = vertex.size
    lp_pos = np.empty(n, np.int64)
    up = np.full(n, -np.inf)
    down = np.full(n, np.inf)
    up_range = np.zeros(n, np.int64)
    down_range = np.zeros(n, np.int64)
    up_min = np.full(n, NO_MOVE, np.int64)
    down_min = np.full(n, NO_MOVE, np.int64)
    cost0 = 0
    value0 = 0.0
    x = np.empty(n, np.int64)
    for i in range(n):
        q = hull_ptr[i] + vertex[i]
        p = hull_pos[q]
        lp_pos[i] = p
        x[i] = opt_idx[p]
        cost0 += opt_cost[p]
        value0 += opt_val[p]
        if q + 1 < hull_ptr[i + 1]:
            b = hull_pos[q + 1]
            up[i] = (opt_val[b] - opt_val[p]) / float(opt_cost[b] - opt_cost[p])
        if q > hull_ptr[i]:
            a = hull_pos[q - 1]
            down[i] = (opt_val[p] - opt_val[a]) / float(opt_cost[p] - opt_cost[a])
        up_range[i] = opt_cost[opt_ptr[i + 1] - 1] - opt_cost[p]
        down_range[i] = opt_cost[p] - opt_cost[opt_ptr[i]]
        if p + 1 < opt_ptr[i + 1]:
            up_min[i] = opt_cost[p + 1] - opt_cost[p]
        if p > opt_ptr[i]:
            down_min[i] = opt_cost[p] - opt_cost[p - 1]
    # -- the order in which classes join the core (minknap's expanding core): the break class first, then
    # alternately a class whose best move is up (adding cost) and one whose best move is down, each side in order
    # of how close that move's slope lies to the break slope
    s_brk = up[brk] if brk >= 0 else 0.0
    # -- reduction by bounds (Dembo and Hammer): with the multiplier s_brk every choice is worth at most
    # lag_ub = s_brk * budget + sum_i max_k (v_ik - s_brk * c_ik), less what each class gives up against its best
    # option; an option whose own loss already puts that below the incumbent is never taken (`_bound`'s float
    # error is covered by lag_err)
    lag = np.empty(n)
    lag_ub = s_brk * float(budget)
    lag_size = abs(lag_ub)
    for i in range(n):
        best = -np.inf
        for p in range(opt_ptr[i], opt_ptr[i + 1]):
            best = max(best, opt_val[p] - s_brk * float(opt_cost[p]))
        lag[i] = best
        lag_ub += best
        lag_size += abs(best) + abs(s_brk * float(opt_cost[opt_ptr[i + 1] - 1]))
    lag_err = 16.0 * 2.0**-52 * float(n + 8) * lag_size
    key_up = np.empty(n)
    key_down = np.empty(n)
    n_up = 0
    n_down = 0
    for i in range(n):
        if opt_ptr[i + 1] - opt_ptr[i] <= 1 or i == brk:
            continue  # a class with one option never changes
        ku = s_brk - up[i]
        kd = down[i] - s_brk
        if ku <= kd:
            key_up[n_up] = ku
            n_up += 1
        else:
            key_down[n_down] = kd
            n_down += 1
    ups = np.empty(n_up, np.int64)
    downs = np.empty(n_down, np.int64)
    a = 0
    b = 0
    for i in range(n):
        if opt_ptr[i + 1] - opt_ptr[i] <= 1 or i == brk:
            continue
        if s_brk - up[i] <= down[i] - s_brk:
            ups[a] = i
            a += 1
        else:
            downs[b] = i
            b += 1
    ups = ups[np.argsort(key_up[:n_up], kind="mergesort")]
    downs = downs[np.argsort(key_down[:n_down], kind="mergesort")]
    n_free = n_up + n_down + (1 if brk >= 0 else 0)
    order = np.empty(n_free, np.int64)
    k = 0
    if brk >= 0:
        order[0] = brk
        k = 1
    a = 0
    b = 0
    while a < n_up or b < n_down:
        if a < n_up and (b >= n_down or a <= b):
            order[k] = ups[a]
            a += 1
        else:
            order[k] = downs[b]
            b += 1
        k += 1
    # suffix data over the join order: what the classes still outside the core can do
    su = np.full(n_free + 1, -np.inf)
    sd = np.full(n_free + 1, np.inf)
    ur = np.zeros(n_free + 1, np.int64)
    dr = np.zeros(n_free + 1, np.int64)
    mu = np.full(n_free + 1, NO_MOVE, np.int64)
    md = np.full(n_free + 1, NO_MOVE, np.int64)
    for k in range(n_free - 1, -1, -1):
        i = order[k]
        su[k] = max(su[k + 1], up[i])
        sd[k] = min(sd[k + 1], down[i])
        ur[k] = ur[k + 1] + up_range[i]
        dr[k] = dr[k + 1] + down_range[i]
        mu[k] = min(mu[k + 1], up_min[i])
        md[k] = min(md[k + 1], down_min[i])
    # the best bound of a choice that moves some class from k on off its LP vertex (reduction by bounds): once the
    # incumbent reaches it, no class left can move in a better solution and the search is over
    move_ub = np.full(n_free + 1, -np.inf)
    for k in range(n_free - 1, -1, -1):
        i = order[k]
        best = -np.inf
        for p in range(opt_ptr[i], opt_ptr[i + 1]):
            if p != lp_pos[i]:
                best = max(best, lag_ub - (lag[i] - (opt_val[p] - s_brk * float(opt_cost[p]))))
        move_ub[k] = max(move_ub[k + 1], best)
    # -- incumbent: the LP's integral part when it fits
    has_inc = cost0 == budget if exact else cost0 <= budget
    inc = value0 if has_inc else -np.inf
    inc_cost = cost0
    inc_node = -1
    inc_move = -1  # a pairing move on top of the incumbent's state (an option position), -1 when none
    # -- pairing (combo): single moves of classes outside the core, to complete states into better incumbents.
    # Moves up sorted by cost added, with the best value gain among the cheaper ones; moves down sorted by cost
    # saved, with the least value lost among the larger ones.
    joined = np.zeros(n, np.bool_)
    n_um = 0
    n_dm = 0
    for i in range(n):
        if up_min[i] < NO_MOVE:
            n_um += 1
        if down_min[i] < NO_MOVE:
            n_dm += 1
    um_cost = np.empty(n_um, np.int64)
    um_gain = np.empty(n_um)
    um_opt = np.empty(n_um, np.int64)
    dm_cost = np.empty(n_dm, np.int64)
    dm_loss = np.empty(n_dm)
    dm_opt = np.empty(n_dm, np.int64)
    a = 0
    b = 0
    for i in range(n):
        p = lp_pos[i]
        if up_min[i] < NO_MOVE:
            um_cost[a] = up_min[i]
            um_gain[a] = opt_val[p + 1] - opt_val[p]
            um_opt[a] = p + 1
            a += 1
        if down_min[i] < NO_MOVE:
            dm_cost[b] = down_min[i]
            dm_loss[b] = opt_val[p] - opt_val[p - 1]
            dm_opt[b] = p - 1
            b += 1
    perm = np.argsort(um_cost)
    um_cost, um_gain, um_opt = um_cost[perm], um_gain[perm], um_opt[perm]
    um_best = np.empty(n_um, np.int64)  # index of the best gain among moves 0..t
    for t in range(n_um):
        um_best[t] = t if t == 0 or um_gain[t] > um_gain[um_best[t - 1]] else um_best[t - 1]
    perm = np.argsort(dm_cost)
    dm_cost, dm_loss, dm_opt = dm_cost[perm], dm_loss[perm], dm_opt[perm]
    dm_best = np.empty(n_dm, np.int64)  # index of the least loss among moves t..end
    for t in range(n_dm - 1, -1, -1):
        dm_best[t] = t if t == n_dm - 1 or dm_loss[t] < dm_loss[dm_best[t + 1]] else dm_best[t + 1]
    opt_group = np.empty(opt_idx.size, np.int64)
    for i in range(n):
        for j in range(opt_ptr[i], opt_ptr[i + 1]):
            opt_group[j] = i
    # -- states and history
    cap = 1024
    sc = np.empty(cap, np.int64)
    sv = np.empty(cap)
    sn = np.empty(cap, np.int64)
    sc[0] = cost0
    sv[0] = value0
    sn[0] = -1
    n_states = 1
    if _bound(cost0, value0, budget, exact, su[0], sd[0], ur[0], dr[0], mu[0], md[0]) == -np.inf:
        n_states = 0
    ac = np.empty(cap, np.int64)
    av = np.empty(cap)
    an = np.empty(cap, np.int64)
    ao = np.empty(cap, np.int64)
    bc = np.empty(cap, np.int64)
    bv = np.empty(cap)
    bn = np.empty(cap, np.int64)
    bo = np.empty(cap, np.int64)
    hcap = 1 << 16
    hp = np.empty(hcap, np.int64)
    hg = np.empty(hcap, np.int64)
    ho = np.empty(hcap, np.int64)
    n_hist = 0
    stop = STOP_OPTIMAL
    target = np.inf  # an upper bound on the optimum beside the states' own: the cardinality bound once computed
    card_done = False
    t_end = t_start + time_limit if time_limit > 0 else np.inf
    core_size = 0
    max_states = n_states
    made = 0
    work = 0  # states passed since the clock was last read (reading it costs about a microsecond)
    for k in range(n_free):
        if n_states == 0:
            break
        work += n_states + 64
        if time_limit > 0 and work >= 4096:
            work = 0
            if _clock() - t_start > time_limit:
                stop = STOP_TIME
                break
        if n_states > state_limit:
            stop = STOP_STATES
            break
        g = order[k]
        core_size = k + 1
        joined[g] = True
        q1 = k + 1
        if has_inc:
            if step > 0:
                thr = inc + step - min(0.5 * step, 1e-7 * max(1.0, abs(inc)))
            else:
                thr = inc + 1e-12 * max(1.0, abs(inc))
        else:
            thr = -np.inf
        if move_ub[k] + lag_err <= thr:
            core_size = k
            break  # every state is a complete solution already counted: the incumbent is optimal
        pl = lp_pos[g]
        movable = False  # whether some option other than the LP's may be in a better solution
        for j in range(opt_ptr[g], opt_ptr[g + 1]):
            if j != pl and lag_ub - (lag[g] - (opt_val[j] - s_brk * float(opt_cost[j]))) + lag_err > thr:
                movable = True
                break
        if not movable:
            continue  # the class stays at its LP vertex in every better solution: the states are unchanged
        n_a = 0
        for j in range(opt_ptr[g], opt_ptr[g + 1]):
            if j != pl and lag_ub - (lag[g] - (opt_val[j] - s_brk * float(opt_cost[j]))) + lag_err <= thr:
                continue  # never in a better solution
            dc = opt_cost[j] - opt_cost[pl]
            dv = opt_val[j] - opt_val[pl]
            tag = -1 if j == pl else j
            # merge the list (ac, av, an, ao)[:n_a] with the states shifted by option j into (bc, ...);
            # the buffers grow here, before each merge, to the most it can write
            if ac.size < n_a + n_states + 2:
                size = max(n_a + n_states + 2, 2 * ac.size)
                ac = _grow(ac, size)
                av = _grow(av, size)
                an = _grow(an, size)
                ao = _grow(ao, size)
                bc = _grow(bc, size)
                bv = _grow(bv, size)
                bn = _grow(bn, size)
                bo = _grow(bo, size)
            ia = 0
            s = 0
            n_b = 0
            c = 0
            v = 0.0
            while True:
                # next candidate from the shifted list that passes the bound
                while s < n_states:
                    c = sc[s] + dc
                    v = sv[s] + dv
                    if _bound(c, v, budget, exact, su[q1], sd[q1], ur[q1], dr[q1], mu[q1], md[q1]) > thr:
                        break
                    s += 1
                take_a = False
                if ia < n_a and s < n_states:
                    ca = ac[ia]
                    if ca < c or (ca == c and av[ia] >= v):
                        take_a = True
                elif ia < n_a:
                    take_a = True
                elif s >= n_states:
                    break
                if take_a:
                    cc = ac[ia]
                    vv = av[ia]
                    nn = an[ia]
                    oo = ao[ia]
                    ia += 1
                else:
                    cc = c
                    vv = v
                    nn = sn[s]
                    oo = tag
                    s += 1
                    made += 1
                if n_b > 0:
                    if exact:
                        if cc == bc[n_b - 1]:
                            if vv > bv[n_b - 1]:
                                bv[n_b - 1] = vv
                                bn[n_b - 1] = nn
                                bo[n_b - 1] = oo
                            continue
                    elif vv <= bv[n_b - 1]:
                        continue
                bc[n_b] = cc
                bv[n_b] = vv
                bn[n_b] = nn
                bo[n_b] = oo
                n_b += 1
            ac, bc = bc, ac
            av, bv = bv, av
            an, bn = bn, an
            ao, bo = bo, ao
            n_a = n_b
        # the merged list becomes the state list; new history records for states that left the LP vertex
        if sc.size < n_a:
            size = max(n_a, 2 * sc.size)
            sc = _grow(sc, size)
            sv = _grow(sv, size)
            sn = _grow(sn, size)
        new_recs = 0
        for a in range(n_a):
            if ao[a] >= 0:
                new_recs += 1
        if n_hist + new_recs > hcap:
            for a in range(n_a):  # the old states are no longer live: the merged list is
                sn[a] = an[a]
            n_hist, inc_node = _collect(hp, hg, ho, n_hist, sn, n_a, inc_node)
            for a in range(n_a):
                an[a] = sn[a]
            if n_hist + new_recs > hcap // 2:
                hcap = max(2 * hcap, n_hist + new_recs)
                hp = _grow(hp, hcap)
                hg = _grow(hg, hcap)
                ho = _grow(ho, hcap)
        for a in range(n_a):
            sc[a] = ac[a]
            sv[a] = av[a]
            if ao[a] >= 0:
                hp[n_hist] = an[a]
                hg[n_hist] = g
                ho[n_hist] = ao[a]
                sn[a] = n_hist
                n_hist += 1
            else:
                sn[a] = an[a]
        n_states = n_a
        if n_states > max_states:
            max_states = n_states
        # incumbent: the best state within (exactly at) the budget, or completed by one move outside the core
        for a in range(n_states):
            c = sc[a]
            if (c == budget if exact else c <= budget) and sv[a] > inc:
                inc = sv[a]
                inc_cost = c
                inc_node = sn[a]
                inc_move = -1
                has_inc = True
            if exact:
                continue
            r = budget - c
            if r > 0 and n_um > 0 and um_cost[0] <= r:
                t = np.searchsorted(um_cost, r, side="right") - 1
                e = um_best[t]
                if not joined[opt_group[um_opt[e]]] and sv[a] + um_gain[e] > inc:
                    inc = sv[a] + um_gain[e]
                    inc_cost = c + um_cost[e]
                    inc_node = sn[a]
                    inc_move = um_opt[e]
                    has_inc = True
            elif r < 0 and n_dm > 0 and dm_cost[n_dm - 1] >= -r:
                t = np.searchsorted(dm_cost, -r, side="left")
                e = dm_best[t]
                if not joined[opt_group[dm_opt[e]]] and sv[a] - dm_loss[e] > inc:
                    inc = sv[a] - dm_loss[e]
                    inc_cost = c - dm_cost[e]
                    inc_node = sn[a]
                    inc_move = dm_opt[e]
                    has_inc = True
        if not card_done and n_states >= card_after:
            # a few LPs over every option, given about the time the search has taken so far: a bound that does
            # not help costs at most that
            card_done = True
            target = cardinality_bound(opt_ptr, opt_cost, opt_val, budget, exact, t_end, _clock() - t_search)
        if has_inc and (target < inc + step if step > 0 else target <= inc):
            break  # no solution can beat the incumbent: it is optimal
    upper = inc
    if stop != STOP_OPTIMAL:
        q = core_size if core_size > 0 else 0
        for a in range(n_states):
            ub = _bound(sc[a], sv[a], budget, exact, su[q], sd[q], ur[q], dr[q], mu[q], md[q])
            if ub > upper:
                upper = ub
        upper = min(upper, max(target, inc))
    node = inc_node
    while node >= 0:
        x[hg[node]] = opt_idx[ho[node]]
        node = hp[node]
    if inc_move >= 0:
        x[opt_group[inc_move]] = opt_idx[inc_move]
    return stop, has_inc, x, inc, inc_cost, upper, core_size, max_states, made
