"""The budgeted-assignment model (orbudget/problems/assignment.py)."""

import orbudget as ob


def test_from_option_costs_scales_each_group():
    costs = ob.BudgetedAssignment.from_option_costs([2, 4], [10, 20], 90, lambda q: q[:, 0].sum()).costs
    assert costs.tolist() == [[20, 40], [40, 80]]
