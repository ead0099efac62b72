"""The core solver (``core``): brute force and HiGHS differentials over every instance class, huge integer costs,
infeasible budgets, limits, the LP relaxation from the same hull code, and the instance generators."""

import time

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems import knapsack_instances as ki
from orbudget.solvers.numba import _mckp_core as kernels
from orbudget.solvers.numba import _mckp_lp as lp_kernels
from orbudget.solvers.numba import _mckp_states as state_kernels
from tests.conftest import brute_force_mckp, needs


def _check_optimal(p, r, best):
    if best is None:
        assert r.status is ob.Status.INFEASIBLE, r.message
        return
    assert r.status is ob.Status.OPTIMAL, r.message
    assert p.is_feasible(r.x)
    assert r.objective == pytest.approx(best, rel=1e-12, abs=1e-9)
    assert r.objective == pytest.approx(p.value_of(r.x), rel=1e-15)
    assert r.bound == r.objective


def _scaled(p, factor, jitter=None):
    """The same instance with costs (and budget) multiplied by ``factor``: the same choices fit."""
    costs = p.costs * factor
    if jitter is not None:
        costs = costs + jitter
    return ob.MultipleChoiceKnapsack(
        values=p.values, costs=costs, budget=p.budget * factor + (factor - 1), available=p.available, exact=p.exact
    )


@pytest.mark.parametrize("kind", ki.ZERO_ONE_CLASSES)
def test_zero_one_classes_equal_brute_force(kind):
    for seed in range(3):
        p = ki.zero_one(kind, 11, R=100, seed=seed)
        best, _ = brute_force_mckp(p)
        _check_optimal(p, ob.solve(p, method="core"), best)


@pytest.mark.parametrize("kind", ki.MULTIPLE_CHOICE_CLASSES)
def test_multiple_choice_classes_equal_brute_force(kind):
    for seed in range(3):
        p = ki.multiple_choice(kind, 5, 4, R=100, seed=seed)
        best, _ = brute_force_mckp(p)
        _check_optimal(p, ob.solve(p, method="core"), best)


def _random_instance(rng):
    n, k = int(rng.integers(1, 6)), int(rng.integers(1, 5))
    costs = rng.integers(0, 12, (n, k))
    values = rng.integers(-3, 15, (n, k)).astype(float)
    if rng.random() < 0.5:
        values += rng.random((n, k))
    available = rng.random((n, k)) < 0.8
    available[np.arange(n), rng.integers(0, k, n)] = True
    return ob.MultipleChoiceKnapsack(
        values=values,
        costs=costs,
        budget=int(rng.integers(0, costs.sum() + 2)),
        available=available,
        exact=bool(rng.random() < 0.4),
    )


def test_random_masks_exact_budgets_and_float_values_equal_brute_force():
    rng = np.random.default_rng(11)
    for _ in range(150):
        p = _random_instance(rng)
        best, _ = brute_force_mckp(p)
        _check_optimal(p, ob.solve(p, method="core"), best)


def test_huge_integer_costs_up_to_two_to_the_62():
    rng = np.random.default_rng(3)
    for kind in ("strongly_correlated", "subset_sum", "spanner"):
        base = ki.zero_one(kind, 10, R=100, seed=1)
        factor = 2**62 // int(base.costs.sum()) * 2 // 3  # with the jitter below, the total stays within 2**62
        p = _scaled(base, factor, jitter=np.where(base.costs > 0, rng.integers(0, factor // 2, base.costs.shape), 0))
        assert int(p.costs.max(axis=1).sum()) <= 2**62 < int(p.costs.max(axis=1).sum()) * 2
        best, _ = brute_force_mckp(p)
        _check_optimal(p, ob.solve(p, method="core"), best)
    for seed in range(4):  # multiple-choice, exact budgets included: scaling keeps the optimum
        base = ob.MultipleChoiceKnapsack.random(30, 5, max_cost=20, seed=seed, exact=seed % 2 == 1)
        factor = 2**62 // int(base.costs.max(axis=1).sum())
        p = ob.MultipleChoiceKnapsack(
            values=base.values + 0.25, costs=base.costs * factor, budget=base.budget * factor, exact=base.exact
        )
        small, big = ob.solve(base, method="dp"), ob.solve(p, method="core")
        assert big.status is small.status is ob.Status.OPTIMAL
        assert big.objective == pytest.approx(small.objective + 30 * 0.25, rel=1e-12)
        assert p.is_feasible(big.x)


def test_costs_above_two_to_the_62_are_refused_naming_costs():
    p = ob.MultipleChoiceKnapsack(values=[[0, 1], [0, 1], [0, 1]], costs=[[0, 2**61], [0, 2**61], [0, 2**61]], budget=2**62)
    with pytest.raises(ob.InvalidProblemError, match="`costs` add up to"):
        ob.solve(p, method="core")
    assert ob.solve(p).method != "core"  # the default passes it over
    # options dearer than the budget alone never count towards the total
    q = ob.MultipleChoiceKnapsack(values=[[0, 1, 9], [0, 1, 9]], costs=[[0, 3, 2**62], [0, 3, 2**62]], budget=5)
    r = ob.solve(q, method="core")
    assert r.status is ob.Status.OPTIMAL and r.objective == 1.0


@needs("highs")
@pytest.mark.parametrize("kind", ki.ZERO_ONE_CLASSES)
def test_zero_one_classes_equal_mip(kind):
    p = ki.zero_one(kind, 120, R=1000, seed=7)
    core, mip = ob.solve(p, method="core"), ob.solve(p, method="mip", threads=1, time_limit=60)
    assert mip.status is ob.Status.OPTIMAL
    _check_optimal(p, core, mip.objective)


@needs("highs")
@pytest.mark.parametrize("kind", ki.MULTIPLE_CHOICE_CLASSES)
def test_multiple_choice_classes_equal_mip(kind):
    n, k = (20, 5) if kind == "strongly_correlated" else (40, 8)  # HiGHS takes a minute on 40 x 8 of that class
    p = ki.multiple_choice(kind, n, k, R=1000, seed=7)
    core, mip = ob.solve(p, method="core"), ob.solve(p, method="mip", threads=1, time_limit=120)
    assert mip.status is ob.Status.OPTIMAL
    _check_optimal(p, core, mip.objective)


@needs("highs")
def test_float_values_and_exact_budgets_equal_mip():
    for seed in range(4):
        p = ob.MultipleChoiceKnapsack.random(60, 6, max_cost=15, seed=seed, exact=seed % 2 == 0, correlated=seed < 2)
        core, mip = ob.solve(p, method="core"), ob.solve(p, method="mip", threads=1)
        assert mip.status is ob.Status.OPTIMAL
        _check_optimal(p, core, mip.objective)


def test_infeasible_budgets_are_reported():
    below = ob.MultipleChoiceKnapsack(values=[[1, 2], [3, 4]], costs=[[60, 70], [68, 90]], budget=100)
    assert ob.solve(below, method="core").status is ob.Status.INFEASIBLE
    parity = ob.MultipleChoiceKnapsack(values=[[1, 2], [3, 4]], costs=[[2, 4], [2, 6]], budget=7, exact=True)
    r = ob.solve(parity, method="core")
    assert r.status is ob.Status.INFEASIBLE and "costs exactly 7" in r.message
    # an exact budget only the unaffordable options could reach
    over = ob.MultipleChoiceKnapsack(values=[[1, 2], [3, 4]], costs=[[1, 50], [1, 2]], budget=40, exact=True)
    assert ob.solve(over, method="core").status is ob.Status.INFEASIBLE


def test_time_and_state_limits_return_the_best_so_far():
    p = ki.zero_one("inverse_strongly_correlated", 10000, R=10000, seed=1)
    r = ob.solve(p, method="core", time_limit=0.2)
    if r.limit is not None:  # a fast machine may finish: then it must be optimal
        assert r.limit is ob.Limit.TIME and r.status is ob.Status.FEASIBLE
        assert r.bound >= r.objective
    assert p.is_feasible(r.x) and r.objective == pytest.approx(p.value_of(r.x))
    s = ob.solve(p, method="core", options={"state_limit": 50})
    assert s.limit is ob.Limit.NODE and s.status is ob.Status.FEASIBLE
    assert p.is_feasible(s.x) and s.bound >= s.objective >= 0
    with pytest.raises(ob.InvalidProblemError, match="`options.state_limit`"):
        ob.solve(p, method="core", options={"state_limit": 0})


def test_a_limit_spent_before_the_search_returns_the_lp_integral_part():
    # time_limit=1e-9 runs out during the hull reduction: the answer is every class at its LP vertex, which fits
    for kind in ("weakly_correlated", "strongly_correlated"):
        p = ki.multiple_choice(kind, 300, 6, seed=3)
        r = ob.solve(p, method="core", time_limit=1e-9)
        assert r.status is ob.Status.FEASIBLE and r.limit is ob.Limit.TIME, r.message
        assert p.is_feasible(r.x) and r.objective == pytest.approx(p.value_of(r.x))
        lp = ob.solve(p, method="lp")
        assert r.bound == pytest.approx(lp.objective) and r.objective <= r.bound
        assert r.objective >= lp.objective - (p.values.max() - p.values.min())  # one class short of the LP at most
    # an exact budget the integral part misses: NO_SOLUTION with the time limit, never INFEASIBLE
    p = ob.MultipleChoiceKnapsack(values=[[1, 5], [1, 5]], costs=[[0, 3], [0, 3]], budget=3, exact=True)
    q = ob.MultipleChoiceKnapsack(values=[[1, 5], [1, 2]], costs=[[0, 2], [0, 3]], budget=3, exact=True)
    for prob in (p, q):
        r = ob.solve(prob, method="core", time_limit=1e-9)
        assert r.limit is ob.Limit.TIME and r.status in (ob.Status.FEASIBLE, ob.Status.NO_SOLUTION)
        assert r.status is ob.Status.NO_SOLUTION or prob.is_feasible(r.x)
    # rollouts: the reduction to the knapsack counts against the limit too
    q = ob.RolloutAllocation(
        success_rates=np.linspace(0.05, 0.95, 2000),
        total_rollouts=40_000,
        max_rollouts=16,
        rollout_costs=np.arange(1, 2001) % 7 + 1,
    )
    r = ob.solve(q, method="core", time_limit=1e-9)
    assert r.limit is ob.Limit.TIME and r.status in (ob.Status.FEASIBLE, ob.Status.NO_SOLUTION), r.message
    assert r.status is ob.Status.NO_SOLUTION or q.is_feasible(r.x)


def test_is_the_default_for_whole_number_costs_and_rollouts_use_it():
    p = ki.multiple_choice("weakly_correlated", 20, 5, seed=0)
    assert ob.solve(p).method == "core"
    q = ob.RolloutAllocation.synthetic(6, 3, seed=0)
    r, d = ob.solve(q, method="core"), ob.solve(q, method="dp")
    assert r.status is ob.Status.OPTIMAL and r.objective == pytest.approx(d.objective)
    assert q.is_feasible(r.x)


def test_lp_from_the_hull_code_matches_the_python_lp():
    rng = np.random.default_rng(4)
    for _ in range(40):
        p = _random_instance(rng)
        if p.exact or p.infeasibility_reason():
            continue
        a, b = ob.solve(p, method="lp"), ob.solve(p, method="lp", backend="numpy")
        assert a.backend == "numba"
        assert a.objective == pytest.approx(b.objective, rel=1e-12, abs=1e-12)
        assert np.allclose(a.x.sum(axis=1), 1) and (a.x >= 0).all()
        assert (a.x * p.costs).sum() <= p.budget + 1e-9
        best, _ = brute_force_mckp(p)
        assert a.objective >= best - 1e-9


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


def test_reduction_in_blocks_and_the_lp_stop_at_a_deadline():
    # with a deadline the classes are reduced in blocks; the arrays are those of one call
    from orbudget.solvers.numba.mckp_core import _reduce

    p = ki.multiple_choice("uncorrelated", 50, 5, R=100, seed=3)
    v, c, m = p.values.astype(np.float64), p.costs.astype(np.int64), p.mask.copy()
    m[::7, 1] = False
    whole = lp_kernels.reduce_groups(v, c, m, False)
    blocks = _reduce(v, c, m, False, time.perf_counter() + 60, block_options=12)  # 2 classes a block
    assert all(np.array_equal(a, b) for a, b in zip(whole, blocks))
    assert _reduce(v, c, m, False, time.perf_counter() - 1, block_options=12) is None  # the deadline has passed
    # the LP asked to stop after a nanosecond says so; with time to spare it gives the usual answer
    assert lp_kernels.lp_relaxation(*whole[2:6], p.budget, False, 1e-9)[5]
    lp = lp_kernels.lp_relaxation(*whole[2:6], p.budget, False, 60.0)
    assert not lp[5] and np.array_equal(lp[0], lp_kernels.lp_relaxation(*whole[2:6], p.budget, False)[0])


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


def test_generators_are_seeded_and_check_their_arguments():
    a = ki.zero_one("spanner", 30, R=1000, seed=5)
    b = ki.zero_one("spanner", 30, R=1000, seed=5)
    assert np.array_equal(a.costs, b.costs) and np.array_equal(a.values, b.values)
    assert a.values.shape == (30, 2) and (a.costs[:, 0] == 0).all() and (a.costs[:, 1] >= 1).all()
    m = ki.multiple_choice("strongly_correlated", 7, 6, R=100, seed=1)
    assert m.values.shape == (7, 6) and (np.diff(m.costs, axis=1) >= 0).all()
    assert m.budget == (m.costs.min(axis=1) + m.costs.max(axis=1)).sum() // 2
    assert ob.knapsack_instances is ki
    with pytest.raises(ob.InvalidProblemError, match="`kind` must be one of"):
        ki.zero_one("hard", 10)
    with pytest.raises(ob.InvalidProblemError, match="`N`"):
        ki.multiple_choice("monotone", 0, 3)


@pytest.mark.parametrize("exact", [False, True])
def test_state_bound_is_never_below_the_best_completion(exact):
    """``_bound`` against every completion by the classes outside the core (all but the break class, at their LP
    vertices), for states of every residual around the budget."""
    import itertools

    rng = np.random.default_rng(8 + exact)
    checked = 0
    for _ in range(60):
        p = _random_instance(rng)
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


def test_common_divisors_of_costs_and_values_keep_the_optimum():
    """Whole-number values with a common divisor raise the improvement step; costs with one lower the budget to a
    multiple (an exact budget that is not one is infeasible)."""
    rng = np.random.default_rng(21)
    for _ in range(60):
        p = _random_instance(rng)
        q = ob.MultipleChoiceKnapsack(
            values=np.round(p.values) * 3, costs=p.costs * 4, budget=p.budget * 4 + 3, available=p.available, exact=p.exact
        )
        best, _ = brute_force_mckp(q)
        _check_optimal(q, ob.solve(q, method="core"), best)
    p = ob.MultipleChoiceKnapsack(values=[[0, 3], [0, 6]], costs=[[0, 4], [0, 8]], budget=10, exact=True)
    assert ob.solve(p, method="core").status is ob.Status.INFEASIBLE


def test_core_scaled_miss_is_no_solution_not_infeasible():
    # the only fitting choice (1.2 + 1.2 <= 2.5) is lost when costs are rounded up at scale 1 (2 + 2 > 2.5):
    # that proves nothing about the true costs, so core says NO_SOLUTION like dp and cpsat
    p = ob.MultipleChoiceKnapsack(values=[[1.0], [1.0]], costs=[[1.2], [1.2]], budget=2.5)
    r = ob.solve(p, method="core", options={"scale": 1})
    assert r.status is ob.Status.NO_SOLUTION and "scaling" in r.message
    assert ob.solve(p, method="core", options={"scale": 10}).objective == 2.0
    q = ob.MultipleChoiceKnapsack(values=[[1.0], [1.0]], costs=[[2], [2]], budget=3)
    assert ob.solve(q, method="core").status is ob.Status.INFEASIBLE


def _reduced(p):
    costs, values, mask = p.costs.astype(np.int64), p.values.astype(np.float64), p.mask.copy()
    return lp_kernels.reduce_groups(values, costs, mask, bool(p.exact))


def test_cardinality_bound_is_never_below_the_optimum():
    rng = np.random.default_rng(31)
    checked = tighter = 0
    instances = [_random_instance(rng) for _ in range(200)]
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


def test_search_with_the_cardinality_bound_from_the_first_class_equals_brute_force(monkeypatch):
    monkeypatch.setattr(kernels, "CARD_AFTER", 0)  # the bound is computed at once, and every search may stop on it
    rng = np.random.default_rng(32)
    instances = [_random_instance(rng) for _ in range(150)]
    instances += [ki.zero_one(kind, 11, R=100, seed=s) for kind in ki.ZERO_ONE_CLASSES for s in range(3)]
    instances += [ki.multiple_choice(kind, 5, 4, R=100, seed=s) for kind in ki.MULTIPLE_CHOICE_CLASSES for s in range(3)]
    for p in instances:
        best, _ = brute_force_mckp(p)
        _check_optimal(p, ob.solve(p, method="core"), best)


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


def test_equal_items_are_merged_by_binary_splitting():
    from orbudget.solvers.numba.mckp_core import _equal_items

    rng = np.random.default_rng(33)
    for trial in range(12):
        kinds = rng.integers(1, 40, (int(rng.integers(2, 6)), 2))  # a few distinct (cost, value) items
        items = kinds[rng.integers(0, len(kinds), 150)]
        costs = np.column_stack([np.zeros(150, np.int64), items[:, 0]])
        values = np.column_stack([np.zeros(150), items[:, 1] + (0.5 if trial % 3 == 0 else 0.0)])
        if trial % 2:  # the take option first, and some groups with one usable option
            costs, values = costs[:, ::-1], values[:, ::-1]
        available = np.ones((150, 2), bool)
        available[rng.choice(150, 10, replace=False), rng.integers(0, 2, 10)] = False
        exact = trial % 4 == 3
        budget = int(costs.max(axis=1).sum() * rng.uniform(0.2, 0.6))
        p = ob.MultipleChoiceKnapsack(values=values, costs=costs, budget=budget, available=available, exact=exact)
        merged = _equal_items(p)
        assert merged is not None and merged[0].n_groups <= 1 + 8 * len(kinds)  # log2(150) parts a kind
        core, dp = ob.solve(p, method="core"), ob.solve(p, method="dp")
        assert core.status is dp.status
        if dp.status is ob.Status.OPTIMAL:
            _check_optimal(p, core, dp.objective)
            assert core.stats["items_after_merging_equal"] == merged[0].n_groups - 1
    # distinct items are left alone
    assert _equal_items(ki.zero_one("uncorrelated", 200, R=10_000, seed=1)) is None


def test_multiples_of_an_item_are_merged_into_one_item_and_expanded_back():
    """Items on one ray g·(c0, v0): one item taken 0..M times when every count can be made (else the equal items
    are merged); the choice in the original groups is rebuilt largest multiple first. dp agrees on the optimum."""
    from orbudget.solvers.numba.mckp_core import _equal_items

    rng = np.random.default_rng(34)
    for trial in range(12):
        bases = rng.integers(1, 30, (int(rng.integers(1, 4)), 2))
        n = 120
        which = rng.integers(0, len(bases), n)
        # multiples 1..10, or (every third trial) only even multiples 2, 4 and 8: counts 1 and 3 cannot be made, so
        # those rays fall back to equal items
        mult = rng.choice([2, 4, 8], n) if trial % 3 == 2 else rng.integers(1, 11, n)
        items = bases[which] * mult[:, None]
        costs = np.column_stack([np.zeros(n, np.int64), items[:, 0]])
        values = np.column_stack([np.zeros(n), items[:, 1].astype(float)])
        exact = trial % 4 == 1
        budget = int(items[:, 0].sum() * rng.uniform(0.2, 0.7))
        p = ob.MultipleChoiceKnapsack(values=values, costs=costs, budget=budget, exact=exact)
        merged = _equal_items(p)
        assert merged is not None and merged[0].n_groups < n // 2
        core, dp = ob.solve(p, method="core"), ob.solve(p, method="dp")
        assert core.status is dp.status, trial
        if dp.status is ob.Status.OPTIMAL:
            _check_optimal(p, core, dp.objective)
    # spanner: the 10,000 items are 20 multiples of 2 base items, merged into about 30 items
    p = ki.zero_one("spanner", 10_000, R=10_000, seed=1)
    assert _equal_items(p)[0].n_groups <= 40
