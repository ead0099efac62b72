"""orbudget/core/budget.py: the one budget arithmetic (exact spends, the tolerance rule, range guards, the integer
form), and the check that no model or adapter compares a spend with a budget on its own."""

import ast
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import orbudget as ob
from orbudget.core import budget as B

PACKAGE = Path(ob.__file__).parent


def test_exact_sums_never_round_or_overflow():
    assert B.exact_total([0.1, 0.2]) == Fraction(0.1) + Fraction(0.2)
    assert B.exact_total(np.array([2**62] * 3)) == 3 * 2**62
    assert B.exact_dot([1e19, 3], [2, 5]) == 2 * 10**19 + 15
    assert B.float_at_most(Fraction(1, 3)) <= Fraction(1, 3) < np.nextafter(B.float_at_most(Fraction(1, 3)), 1)


def test_the_tolerance_is_relative_to_the_budget_never_absolute():
    assert not B.fits(1.06e-12, 5.3e-13)  # an absolute 1e-9 let this through at twice the budget
    assert not B.fits(3.9e-13, 0)  # a zero budget has no slack
    assert B.fits(Fraction(0.1) + Fraction(0.2), 0.3)  # float rounding of the user's own numbers is absorbed
    assert not B.fits(0.3 * (1 + 2e-9), 0.3)
    assert B.fits(7, 7) and not B.fits(8, 7)  # whole numbers: exactly
    low, high = B.spend_window(10, whole=True, exact=True)
    assert low == high == 10
    low, high = B.spend_window(1.0, whole=False, exact=True)
    assert low < 1 < high and high - 1 == Fraction(1e-9)


def test_check_spend_allows_rounding_relative_to_the_budget_only():
    B.check_spend("spent", 100.0 * (1 + 1e-12), 100.0)
    with pytest.raises(ob.InvalidProblemError, match="`state` entry `spent`"):
        B.check_spend("spent", 1e-12, 0.0)  # no absolute slack: a budget of 0 allows nothing
    with pytest.raises(ob.InvalidProblemError, match="`spent`"):
        B.check_spend("spent", 100.0 * (1 + 1e-8), 100.0)


def test_costs_are_kept_exact_or_refused_by_name():
    assert B.cost_array("costs", [[1, 2]]).dtype == np.int64
    big = B.cost_array("costs", [[1e18, 1e19]])
    assert big.dtype == np.float64 and (big > 0).all()  # never wrapped to INT64_MIN
    assert B.cost_array("costs", [[10**19]])[0, 0] == 1e19  # an int a float holds exactly
    with pytest.raises(ob.InvalidProblemError, match="`costs`"):
        B.cost_array("costs", [[2**64 + 1]])
    with pytest.raises(ob.InvalidProblemError, match="`costs`"):
        B.cost_array("costs", [[-1.0]])
    with pytest.raises(ob.InvalidProblemError, match="`sample_costs` times the counts"):
        B.level_costs("sample_costs", np.array([3.0 * 2**62 + 2**11]), np.arange(4))
    assert B.level_costs("c", np.array([2, 3]), np.arange(3)).tolist() == [[0, 2, 4], [0, 3, 6]]


def test_integer_form_divides_by_the_gcd_and_caps_the_budget():
    costs = np.array([[4, 8, 100], [6, 10, 2]])
    f = B.integer_form(costs, np.ones((2, 3), bool), 17, exact=False)
    assert f.divisor == 2 and f.budget == 8 and not f.scaled  # 17 -> floor(17 / 2)
    assert f.usable.tolist() == [[True, True, False], [True, True, True]] and f.costs[0, 2] == f.budget + 1
    capped = B.integer_form(costs, np.ones((2, 3), bool), 10**30, exact=False)
    assert capped.budget == (100 + 10) // 2  # the dearest total, not 10^30
    assert B.integer_form(costs, np.ones((2, 3), bool), 9, exact=True).infeasible  # an odd total from even costs
    with pytest.raises(ob.InvalidProblemError, match="scale"):
        B.integer_form(costs * 0.3, np.ones((2, 3), bool), 9, exact=False)
    scaled = B.integer_form(np.array([[0.15, 0.3]]), np.ones((1, 2), bool), 0.3, exact=False, scale=10)
    assert scaled.scaled and scaled.budget * scaled.divisor <= 3


def test_every_exact_engine_consumes_the_same_integer_form():
    p = ob.MultipleChoiceKnapsack(values=[[1, 5, 9], [2, 4, 7]], costs=[[4, 8, 100], [6, 10, 2]], budget=17)
    assert p.integer_form().budget == 8
    objectives = {m: ob.solve(p, method=m).objective for m in ("core", "dp", "mip", "cpsat")}
    assert len(set(objectives.values())) == 1, objectives


# -- no copy of the rule elsewhere ------------------------------------------------------------------------------------
# Comparisons of a spend (a name with cost, spen or total) with a budget (a name with budget) outside this module. The
# places listed compare within an integer form the module produced (kernels and solver models in its units) or a
# family's own exact per-unit check; each says why. A new comparison anywhere else fails this test.
ALLOWED = {
    "solvers/_assignment.py": "the cost-unit DP works on whole-number units made by the family's exact cost units",
    "solvers/ortools/knapsack.py": "the CP-SAT budget row, in the integer form's units",
    "solvers/pyomo/assignment.py": "fixes options that alone exceed the budget before the Pyomo model is solved",
    "solvers/numba/bidders.py": "a live bidder's integer budget against an integer price",
    "solvers/numba/_mckp_core.py": "the core search kernel, in the integer form's units",
    "solvers/numba/assignment.py": "the evolutionary search's integer cost units",
    "solvers/numba/mckp_core.py": "kernel inputs in the integer form's units (budget against the dearest total)",
    "solvers/highs/online.py": "the online family's per-resource repair of a HiGHS answer, on its exact consumption",
    "solvers/cvxpy/online.py": "a cvxpy constraint of the relaxation (a model row, not a check)",
    "solvers/pyomo/online.py": "fixes actions whose consumption alone exceeds a budget before the Pyomo model is solved",
    "solvers/_agents.py": "a workflow planner's own share of what is left (feasibility itself is AgentWorkflow.fits)",
}


def spend_budget_comparisons(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == "core/budget.py":
            continue
        src = path.read_text()
        for node in ast.walk(ast.parse(src)):
            if not (isinstance(node, ast.Compare) and any(isinstance(o, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) for o in node.ops)):
                continue
            sides = [(ast.get_source_segment(src, part) or "").lower() for part in (node.left, *node.comparators)]
            if any("budget" in s for s in sides) and any(
                any(w in s for w in ("cost", "spen", "total", "consum", "used")) and "budget" not in s for s in sides
            ):
                found.append(f"{rel}:{node.lineno}")
    return found


def test_no_model_or_adapter_compares_a_spend_with_a_budget_itself():
    outside = [f for f in spend_budget_comparisons(PACKAGE) if f.split(":")[0] not in ALLOWED]
    assert not outside, f"compare spends through orbudget.core.budget (fits, spend_window), not by hand: {outside}"


def test_the_comparison_check_sees_one(tmp_path):
    (tmp_path / "m.py").write_text("def f(cost, budget):\n    return cost <= budget * (1 + 1e-9)\n")
    assert spend_budget_comparisons(tmp_path) == ["m.py:2"]
    assert math.isclose(B.FLOAT_BUDGET_TOL, 1e-9)
