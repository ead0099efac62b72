import numpy as np
import pytest

import orbudget as ob
from orbudget.core.validation import as_choice


@pytest.mark.parametrize("bad", [np.array([1, 2]), [1, 2], {"a": 1}, ("bernoulli",)])
def test_as_choice_names_the_field_for_containers(bad):
    with pytest.raises(ob.InvalidProblemError, match="`distribution`"):
        as_choice("distribution", bad, ("bernoulli", "gaussian"))


def test_bwk_distribution_given_an_array_names_the_field():
    with pytest.raises(ob.InvalidProblemError, match="`distribution`"):
        ob.BanditsWithKnapsacks(
            reward_means=[0.5, 0.4], consumption_means=[[0.5], [0.2]], budgets=[10], horizon=100, distribution=np.array([1, 2])
        )


def test_as_array_copies_what_others_can_write_and_keeps_read_only_owned_arrays():
    from orbudget.core.validation import as_array

    mine = np.arange(6.0)
    out = as_array("x", mine)
    assert out is not mine and not out.flags.writeable
    mine[0] = 9.0
    assert out[0] == 0.0  # the caller's later writes do not reach the model
    view = out[1:]  # read-only, but a view of another array: copied
    assert as_array("x", view) is not view
    assert as_array("x", out) is out  # read-only and owned: nothing can write to it, so no copy
    assert as_array("x", out, dtype=np.int64) is not out  # another dtype: converted
    p = ob.MultipleChoiceKnapsack(values=[[1.0, 2.0]], costs=[[1, 2]], budget=2)
    q = ob.MultipleChoiceKnapsack(values=p.values, costs=p.costs, budget=3)
    assert q.values is p.values and q.costs is p.costs


def test_check_spend_allows_rounding_relative_to_the_budget_only():
    from orbudget.core.validation import check_spend

    check_spend("spent", 100.0 * (1 + 1e-12), 100.0)
    with pytest.raises(ob.InvalidProblemError, match="`state` entry `spent`"):
        check_spend("spent", 1e-12, 0.0)  # no absolute slack: a budget of 0 allows nothing
    with pytest.raises(ob.InvalidProblemError, match="`spent`"):
        check_spend("spent", 100.0 * (1 + 1e-8), 100.0)
