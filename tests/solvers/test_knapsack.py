"""The knapsack family's shared start (orbudget/solvers/_knapsack.py): a feasible choice and a Lagrangian bound,
checked against the exact optimum."""

import numpy as np

import orbudget as ob
from orbudget.solvers._knapsack import starting_choice

from ..conftest import brute_force_mckp


def test_start_fits_and_brackets_the_optimum():
    for seed in range(25):
        p = ob.MultipleChoiceKnapsack.random(6, 3, seed=seed)
        best, _ = brute_force_mckp(p)
        x, bound = starting_choice(p)
        assert x is not None and p.is_feasible(x), seed
        assert p.value_of(x) <= best + 1e-9 <= bound + 2e-9, (seed, p.value_of(x), best, bound)


def test_start_on_real_costs_and_a_hard_instance_is_near_the_lp():
    rng = np.random.default_rng(3)
    p = ob.MultipleChoiceKnapsack(values=rng.random((40, 4)), costs=rng.uniform(0, 2, (40, 4)), budget=20.0)
    x, bound = starting_choice(p)
    assert p.is_feasible(x) and bound >= ob.solve(p, method="lp").objective - 1e-9
    hard = ob.knapsack_instances.multiple_choice("strongly_correlated", 3000, 10, R=10000, seed=1)
    x, bound = starting_choice(hard)
    lp = ob.solve(hard, method="lp").objective
    assert hard.is_feasible(x) and hard.value_of(x) >= 0.999 * lp and lp - 1e-6 <= bound <= 1.001 * lp
    assert np.array_equal(x, starting_choice(hard)[0])  # deterministic: the same start every time


def test_no_start_for_exact_budgets_or_when_nothing_fits():
    assert starting_choice(ob.MultipleChoiceKnapsack.random(6, 3, seed=0, exact=True)) == (None, None)
    p = ob.MultipleChoiceKnapsack(values=[[1.0, 2.0]], costs=[[3, 4]], budget=2)
    assert starting_choice(p) == (None, None)


def test_budget_that_fits_the_best_option_everywhere_takes_it():
    p = ob.MultipleChoiceKnapsack(values=[[0, 3, 1], [2, 0, 5]], costs=[[0, 2, 1], [1, 0, 2]], budget=100)
    x, bound = starting_choice(p)
    assert x.tolist() == [1, 2] and bound == 8.0
