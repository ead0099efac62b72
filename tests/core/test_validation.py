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
        ob.BanditsWithKnapsacks(reward_means=[0.5, 0.4], consumption_means=[[0.5], [0.2]], budgets=[10], horizon=100,
                                distribution=np.array([1, 2]))
