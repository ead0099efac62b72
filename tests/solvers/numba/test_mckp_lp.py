"""The LP kernels of the core solver (orbudget/solvers/numba/_mckp_lp.py): the break step by selection, the cardinality
bound against brute force and the split LPs, and the kernels against their Python twins."""

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems import knapsack_instances as ki
from orbudget.solvers.numba import _mckp_core as kernels
from orbudget.solvers.numba import _mckp_lp as lp_kernels

from ...conftest import brute_force_mckp
from ..conftest import random_mckp


def _twin(kernel):
    return getattr(kernel, "py_func", kernel)  # under NUMBA_DISABLE_JIT=1 the kernel is already plain Python


def _greedy_by_sort(opt_cost, opt_val, hull_ptr, hull_pos, budget, exact):
    """The upper-hull greedy written plainly: every hull step sorted by (slope descending, class), taken while it
    fits; returns (vertex, break class, residual, LP value)."""
    n = hull_ptr.size - 1
    steps = []
    for i in range(n):
        for q in range(hull_ptr[i], hull_ptr[i + 1] - 1):
            a, b = hull_pos[q], hull_pos[q + 1]
            dc = int(opt_cost[b] - opt_cost[a])
            steps.append(((opt_val[b] - opt_val[a]) / float(dc), i, dc))
    steps.sort(key=lambda s: (-s[0], s[1]))
    vertex = np.zeros(n, np.int64)
    residual = int(budget) - sum(int(opt_cost[hull_pos[hull_ptr[i]]]) for i in range(n))
    brk, extra = -1, 0.0
    for slope, i, dc in steps:
        if not exact and slope <= 0:
            break
        if dc > residual:
            brk, extra = i, slope * residual
            break
        vertex[i] += 1
        residual -= dc
    value = sum(float(opt_val[hull_pos[hull_ptr[i] + vertex[i]]]) for i in range(n)) + extra
    return vertex, brk, residual, value


@pytest.mark.parametrize("exact", [False, True])
def test_lp_break_by_selection_equals_the_sorted_greedy(exact):
    # the kernel finds the break step by weighted quickselect; whole-number values and costs from a small range
    # make equal slopes across classes common, so the tie rule (class order) is exercised too
    rng = np.random.default_rng(7)
    for trial in range(60):
        n, k = int(rng.integers(1, 40)), int(rng.integers(1, 7))
        values = rng.integers(0, 8, (n, k)).astype(float)
        costs = rng.integers(1, 6, (n, k)).astype(np.int64)
        mask = rng.random((n, k)) < 0.85
        mask[np.arange(n), rng.integers(0, k, n)] = True
        groups = lp_kernels.reduce_groups(values, costs, mask, exact)
        lo = int(sum(costs[i][mask[i]].min() for i in range(n)))
        hi = int(sum(costs[i][mask[i]].max() for i in range(n)))
        for budget in (lo, (lo + hi) // 2, int(rng.integers(lo, hi + 1)), hi):
            vertex, brk, residual, value, feasible, stopped = lp_kernels.lp_relaxation(*groups[2:6], budget, exact)
            assert not stopped
            want = _greedy_by_sort(*groups[2:6], budget, exact)
            if exact and want[1] < 0 and want[2] != 0:
                assert not feasible
                continue
            assert feasible and np.array_equal(vertex, want[0]) and (brk, residual) == want[1:3], (trial, budget)
            assert value == pytest.approx(want[3], rel=1e-12, abs=1e-12)


def test_kernels_match_their_python_twins():
    p = ki.multiple_choice("strongly_correlated", 12, 4, R=100, seed=2)
    v, c, m = p.values.astype(np.float64), p.costs.astype(np.int64), p.mask.copy()
    jit = lp_kernels.reduce_groups(v, c, m, False)
    py = _twin(lp_kernels.reduce_groups)(v, c, m, False)
    for a, b in zip(jit, py):
        assert np.array_equal(a, b)
    lp_jit = lp_kernels.lp_relaxation(*jit[2:6], p.budget, False)
    lp_py = _twin(lp_kernels.lp_relaxation)(*py[2:6], p.budget, False)
    assert lp_jit[1:] == pytest.approx(lp_py[1:]) and np.array_equal(lp_jit[0], lp_py[0])
    args = (*jit, lp_jit[0], lp_jit[1], p.budget, False, 1.0, 0.0, 10**6)
    out_jit, out_py = kernels.core_search(*args), _twin(kernels.core_search)(*args)
    assert out_jit[0] == out_py[0] and np.array_equal(out_jit[2], out_py[2]) and out_jit[3] == out_py[3]


def _reduced(p):
    costs, values, mask = p.costs.astype(np.int64), p.values.astype(np.float64), p.mask.copy()
    return lp_kernels.reduce_groups(values, costs, mask, bool(p.exact))


def test_cardinality_bound_is_never_below_the_optimum():
    rng = np.random.default_rng(31)
    checked = tighter = 0
    instances = [random_mckp(rng) for _ in range(200)]
    instances += [ki.zero_one(kind, 11, R=100, seed=s) for kind in ki.ZERO_ONE_CLASSES for s in range(3)]
    instances += [ki.multiple_choice(kind, 5, 4, R=100, seed=s) for kind in ki.MULTIPLE_CHOICE_CLASSES for s in range(3)]
    for p in instances:
        best, _ = brute_force_mckp(p)
        opt_ptr, _idx, opt_cost, opt_val, hull_ptr, hull_pos = _reduced(p)
        lp = lp_kernels.lp_relaxation(opt_cost, opt_val, hull_ptr, hull_pos, p.budget, bool(p.exact))
        if best is None or not lp[4]:
            continue
        ub = lp_kernels.cardinality_bound(opt_ptr, opt_cost, opt_val, p.budget, bool(p.exact))
        assert ub >= best - 1e-9, (p, ub, best)
        checked += 1
        tighter += ub < lp[3] - 1e-6
    assert checked > 100 and tighter > 30  # it holds, and it often cuts below the LP bound


def _split_lps(p):
    """The two LPs of `cardinality_bound` written out for scipy's HiGHS: rank <= floor(t) and rank >= ceil(t)."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, kron

    n, k = p.values.shape
    c, v = p.costs.ravel().astype(float), p.values.ravel()
    rank = np.tile(np.argsort(np.argsort(p.costs, axis=1, kind="stable"), axis=1)[0], n).astype(float)
    assert (np.diff(p.costs, axis=1) > 0).all()  # options in cost order: the rank is the position
    one = kron(np.eye(n), np.ones((1, k)))
    lp = linprog(-v, A_ub=[c], b_ub=[p.budget], A_eq=one, b_eq=np.ones(n), bounds=(0, 1), method="highs")
    t = lp.x @ rank
    out = []
    for sign, limit in ((1.0, np.floor(t)), (-1.0, np.ceil(t))):
        r = linprog(
            -v,
            A_ub=csr_matrix(np.vstack([c, sign * rank])),
            b_ub=[p.budget, sign * limit],
            A_eq=one,
            b_eq=np.ones(n),
            bounds=(0, 1),
            method="highs",
        )
        out.append(-r.fun if r.status == 0 else -np.inf)
    return -lp.fun, max(out)


@pytest.mark.parametrize(
    "kind",
    [
        "strongly_correlated",
        "inverse_strongly_correlated",
        "almost_strongly_correlated",
        "uncorrelated",
        "mckp_strongly_correlated",
    ],
)
def test_cardinality_bound_equals_the_split_lps(kind):
    # the Lagrangian minimisation finds the LPs' optimum (scipy's HiGHS as the second method)
    pytest.importorskip("scipy")
    for seed in range(3):
        if kind.startswith("mckp_"):
            p = ki.multiple_choice(kind[5:], 40, 6, R=1000, seed=seed)
        else:
            p = ki.zero_one(kind, 300, R=1000, seed=seed)
        lp_value, split = _split_lps(p)
        opt_ptr, _idx, opt_cost, opt_val, _hp, _hpos = _reduced(p)
        ub = lp_kernels.cardinality_bound(opt_ptr, opt_cost, opt_val, p.budget, False)
        assert ub == pytest.approx(split, rel=1e-9, abs=1e-6)
        assert ub <= lp_value + 1e-6


@pytest.mark.parametrize("kind", ["strongly_correlated", "inverse_strongly_correlated"])
def test_cardinality_bound_closes_the_strongly_correlated_gaps_on_large_instances(kind):
    # the LP gap of these classes is a fraction of an item: split on the item count, the bound comes within one
    # unit of the optimum, and the search stops on it after a few classes
    p = ki.zero_one(kind, 10_000, R=10_000, seed=1)
    r = ob.solve(p, method="core", time_limit=60)
    assert r.status is ob.Status.OPTIMAL and r.stats["core_size"] < 200
    opt_ptr, _idx, opt_cost, opt_val, hull_ptr, hull_pos = _reduced(p)
    lp = lp_kernels.lp_relaxation(opt_cost, opt_val, hull_ptr, hull_pos, p.budget, False)[3]
    ub = lp_kernels.cardinality_bound(opt_ptr, opt_cost, opt_val, p.budget, False)
    assert r.objective - 1e-9 <= ub < r.objective + 1 < lp - 50
