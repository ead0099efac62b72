"""The core solver of the multiple-choice knapsack (orbudget/solvers/numba/mckp_core.py and _mckp_core.py): brute force
and HiGHS differentials over every instance class, huge integer costs, infeasible budgets, limits, merged equal
items; its LP; and the instance generators."""

import time

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems import knapsack_instances as ki
from orbudget.solvers.numba import _mckp_core as kernels
from orbudget.solvers.numba import _mckp_lp as lp_kernels

from ...conftest import brute_force_mckp, needs
from ..conftest import random_mckp


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


def test_random_masks_exact_budgets_and_float_values_equal_brute_force():
    rng = np.random.default_rng(11)
    for _ in range(150):
        p = random_mckp(rng)
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
        p = random_mckp(rng)
        if p.exact or p.infeasibility_reason():
            continue
        a, b = ob.solve(p, method="lp"), ob.solve(p, method="lp", backend="numpy")
        assert a.backend == "numba"
        assert a.objective == pytest.approx(b.objective, rel=1e-12, abs=1e-12)
        assert np.allclose(a.x.sum(axis=1), 1) and (a.x >= 0).all()
        assert (a.x * p.costs).sum() <= p.budget + 1e-9
        best, _ = brute_force_mckp(p)
        assert a.objective >= best - 1e-9


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


def test_common_divisors_of_costs_and_values_keep_the_optimum():
    """Whole-number values with a common divisor raise the improvement step; costs with one lower the budget to a
    multiple (an exact budget that is not one is infeasible)."""
    rng = np.random.default_rng(21)
    for _ in range(60):
        p = random_mckp(rng)
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


def test_search_with_the_cardinality_bound_from_the_first_class_equals_brute_force(monkeypatch):
    monkeypatch.setattr(kernels, "CARD_AFTER", 0)  # the bound is computed at once, and every search may stop on it
    rng = np.random.default_rng(32)
    instances = [random_mckp(rng) for _ in range(150)]
    instances += [ki.zero_one(kind, 11, R=100, seed=s) for kind in ki.ZERO_ONE_CLASSES for s in range(3)]
    instances += [ki.multiple_choice(kind, 5, 4, R=100, seed=s) for kind in ki.MULTIPLE_CHOICE_CLASSES for s in range(3)]
    for p in instances:
        best, _ = brute_force_mckp(p)
        _check_optimal(p, ob.solve(p, method="core"), best)


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
