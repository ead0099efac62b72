"""The state kernels of the core solver (orbudget/solvers/numba/_mckp_states.py): the state bound is never below the best
completion."""

import numpy as np
import pytest

from orbudget.solvers.numba import _mckp_lp as lp_kernels
from orbudget.solvers.numba import _mckp_states as state_kernels

from ..conftest import random_mckp


@pytest.mark.parametrize("exact", [False, True])
def test_state_bound_is_never_below_the_best_completion(exact):
    """``_bound`` against every completion by the classes outside the core (all but the break class, at their LP
    vertices), for states of every residual around the budget."""
    import itertools

    rng = np.random.default_rng(8 + exact)
    checked = 0
    for _ in range(60):
        p = random_mckp(rng)
        costs, values, mask = p.costs.astype(np.int64), p.values.astype(np.float64), p.mask.copy()
        opt_ptr, opt_idx, opt_cost, opt_val, hull_ptr, hull_pos = lp_kernels.reduce_groups(values, costs, mask, exact)
        vertex, brk, _, _, feasible, _ = lp_kernels.lp_relaxation(opt_cost, opt_val, hull_ptr, hull_pos, p.budget, exact)
        if not feasible:
            continue
        outside = [i for i in range(p.n_groups) if i != brk]
        su, sd, ur, dr, mu, md = -np.inf, np.inf, 0, 0, state_kernels.NO_MOVE, state_kernels.NO_MOVE
        moves = []
        for i in outside:
            q = hull_ptr[i] + vertex[i]
            lp = hull_pos[q]
            lo, hi = opt_ptr[i], opt_ptr[i + 1]
            if q + 1 < hull_ptr[i + 1]:
                b = hull_pos[q + 1]
                su = max(su, (opt_val[b] - opt_val[lp]) / (opt_cost[b] - opt_cost[lp]))
            if q > hull_ptr[i]:
                a = hull_pos[q - 1]
                sd = min(sd, (opt_val[lp] - opt_val[a]) / (opt_cost[lp] - opt_cost[a]))
            ur += int(opt_cost[hi - 1] - opt_cost[lp])
            dr += int(opt_cost[lp] - opt_cost[lo])
            if lp + 1 < hi:
                mu = min(mu, int(opt_cost[lp + 1] - opt_cost[lp]))
            if lp > lo:
                md = min(md, int(opt_cost[lp] - opt_cost[lp - 1]))
            moves.append([(int(opt_cost[j] - opt_cost[lp]), float(opt_val[j] - opt_val[lp])) for j in range(lo, hi)])
        for c in range(max(0, p.budget - 15), p.budget + 16):
            best = -np.inf
            for combo in itertools.product(*moves):
                dc = sum(m[0] for m in combo)
                if (c + dc == p.budget) if exact else (c + dc <= p.budget):
                    best = max(best, sum(m[1] for m in combo))
            ub = state_kernels._bound(c, 0.0, p.budget, exact, su, sd, ur, dr, mu, md)
            assert best <= ub + 1e-9, (c, best, ub)
            checked += best > -np.inf
    assert checked > 50
