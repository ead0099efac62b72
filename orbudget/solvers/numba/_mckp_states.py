"""Numba kernels of the core knapsack solver, part two: what the search does with its state lists (the upper bound
of a state, rebuilding solutions from the history, growing arrays) and the expansion of merged equal items back
into the original ones (`take_copies`). The search itself is in ``_mckp_core.py``."""

from __future__ import annotations

import numpy as np
from numba import njit

NO_MOVE = 2**62 + 1  # larger than any cost change (every total is at most 2**62)


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
