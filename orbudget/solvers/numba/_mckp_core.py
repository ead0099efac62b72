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

import numpy as np
from numba import njit

from ._mckp_lp import _clock, cardinality_bound
from ._mckp_states import NO_MOVE, _bound, _collect, _grow

STOP_OPTIMAL = 0
STOP_TIME = 1
STOP_STATES = 2
CARD_AFTER = 5000  # states held at once before the search computes the cardinality bound (a few LPs)


@njit(cache=True)
def core_search(
    opt_ptr,
    opt_idx,
    opt_cost,
    opt_val,
    hull_ptr,
    hull_pos,
    vertex,
    brk,
    budget,
    exact,
    step,
    time_limit,
    state_limit,
    card_after=CARD_AFTER,
):
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
    t_start = _clock() if time_limit > 0 else 0.0
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
            # a bounded number of LPs over every option (counted, never timed: the same answer at any load)
            card_done = True
            target = cardinality_bound(opt_ptr, opt_cost, opt_val, budget, exact, t_end)
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
