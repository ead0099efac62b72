"""CP-SAT for the knapsack family (orbudget/solvers/ortools/knapsack.py): the start it is hinted with and returns when
a limit comes first."""

import numpy as np
import pytest

import orbudget as ob

from ...conftest import brute_force_mckp, needs


def hard():
    return ob.knapsack_instances.multiple_choice("strongly_correlated", 3000, 10, R=10000, seed=1)


@needs("ortools")
@pytest.mark.parametrize("limit", [0.01, 0.5])
def test_cpsat_has_an_incumbent_and_a_gap_from_the_start(limit):
    p = hard()
    r = ob.solve(p, method="cpsat", time_limit=limit, threads=1)
    assert r.status is ob.Status.FEASIBLE and r.limit is ob.Limit.TIME, (r.status, r.message)
    assert p.is_feasible(r.x) and r.objective == p.value_of(r.x)
    assert r.bound >= ob.solve(p, method="lp").objective - 1e-6 and 0 <= r.gap < 1e-3


@needs("ortools")
def test_cpsat_with_its_start_still_finds_the_optimum():
    for seed in range(5):
        p = ob.MultipleChoiceKnapsack.random(7, 3, seed=seed)
        best, _ = brute_force_mckp(p)
        r = ob.solve(p, method="cpsat", threads=1, seed=0)
        assert r.status is ob.Status.OPTIMAL and r.objective == pytest.approx(best)


@needs("ortools")
def test_cpsat_keeps_an_infeasible_warm_start_out_of_the_answer():
    p = ob.MultipleChoiceKnapsack.random(7, 3, seed=1)
    dearest = np.where(p.mask, p.costs, -1).argmax(axis=1)
    assert not p.is_feasible(dearest)
    r = ob.solve(p, method="cpsat", threads=1, warm_start=dearest)
    assert r.status is ob.Status.OPTIMAL and p.is_feasible(r.x)
