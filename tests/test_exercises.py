"""Every exercise's worked solution (solutions/, not shipped) passes its grader; deliberately wrong answers fail with
a useful message; the package itself holds no solution."""

import inspect
import math

import numpy as np
import pytest

import orbudget as ob
from orbudget import exercises
from solutions.bwk_exercises import SOLUTIONS

from .conftest import needs


def _hedge_peeking(costs, eps):  # row t uses the costs of round t too, before they are revealed
    w = np.exp(-eps * np.cumsum(costs, axis=0))
    return w / w.sum(axis=1, keepdims=True)


def _hedge_lagged(costs, eps):  # row t uses the costs of rounds 0..t-2: starts uniform, then lags a round
    cum = np.vstack([np.zeros((2, costs.shape[1])), np.cumsum(costs, axis=0)[:-2]])
    w = np.exp(-eps * cum)
    return w / w.sum(axis=1, keepdims=True)


def _short(d, budget):  # one arm per resource, but T = B: the arms cannot take turns
    return ob.BanditsWithKnapsacks(
        reward_means=np.ones(d), consumption_means=np.eye(d), budgets=np.full(d, budget), horizon=budget
    )


WRONG = {
    "bwk-10.1a": [
        (lambda T, B, N: ([1.0, 0.5], [[B / T], [0.1 * B / T]]), "does fine"),
        (lambda T, B, N: SOLUTIONS["bwk-10.1a"](T, 2 * B, N), "one resource with budget"),
    ],
    "bwk-10.1b": [(lambda T, K: T // 2, "too much exploration"), (lambda T, K: 9, "too little exploration")],
    "bwk-10.2": [
        (lambda d, B: SOLUTIONS["bwk-10.2"](1, B), "must have d=2 resources"),
        (lambda d, B: _short(d, B), "not 2"),  # T too short
    ],
    "bwk-10.3a": [
        (lambda T, B: 0.5, "two regimes"),
        (lambda T, B: 1 - B / T, "two regimes"),  # right only while the supply binds
        (lambda T, B: 1.5, "must lie in [0, 1]"),
    ],
    "bwk-10.3b": [
        (lambda eps, T, B: eps * B / 10, "your bound says"),
        (lambda eps, T, B: T * eps**2 / 4, "your bound says"),  # the smooth case's loss only
        (lambda eps, T, B: float(T), "far from tight"),
    ],
    "hedge": [
        (lambda costs, eps: np.full(costs.shape, 1 / costs.shape[1]), "round 1: "),
        (lambda costs, eps: SOLUTIONS["hedge"](costs, 2 * eps), "round 1: "),  # the wrong step size
        (_hedge_peeking, "round 0 must be uniform"),
        (_hedge_lagged, "round 1: "),
        (lambda costs, eps: SOLUTIONS["hedge"](costs, eps)[:-1], "one distribution per round"),
    ],
    "games-9.3": [
        (lambda A, T: (np.eye(A.shape[0])[0], np.eye(A.shape[1])[0]), "equilibrium"),
        (lambda A, T: (np.full(A.shape[0], 0.5), np.full(A.shape[1], 0.5)), "probability vectors"),
    ],
}
CASES = [(i, k, *case) for i, cases in WRONG.items() for k, case in enumerate(cases)]


def test_every_exercise_has_a_worked_solution_and_wrong_answers():
    ids = [e.id for e in exercises.all_exercises()]
    assert sorted(SOLUTIONS) == sorted(ids) == sorted(WRONG)


@needs("highs")
@pytest.mark.parametrize("ex", exercises.all_exercises(), ids=lambda e: e.id)
def test_the_worked_solution_passes(ex):
    feedback = ex.check(SOLUTIONS[ex.id])
    assert feedback.passed, feedback.message
    assert str(feedback).startswith("PASS: ")


@needs("highs")
@pytest.mark.parametrize(("exercise_id", "k", "answer", "fragment"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_wrong_answers_fail_helpfully(exercise_id, k, answer, fragment):
    feedback = exercises.check(exercise_id, answer)
    assert not feedback.passed
    assert fragment in feedback.message, feedback.message
    assert str(feedback).startswith("NOT YET")


def test_hedge_is_graded_by_its_update_not_by_closeness():
    # a distribution a hair away from Hedge's in one late round is caught: the multiplicative update pins every row
    def almost(costs, eps):
        p = SOLUTIONS["hedge"](costs, eps)
        p[-1] = p[-1] * (1 + 1e-6 * np.arange(costs.shape[1]))
        return p / p.sum(axis=1, keepdims=True)

    feedback = exercises.check("hedge", almost)
    assert not feedback.passed and "round 49: " in feedback.message


def test_the_exercises_hold_no_solution():
    for ex in exercises.all_exercises():
        assert not hasattr(ex, "solution") and not hasattr(ex, "solution_text") and not hasattr(ex, "reference")
        assert "solution" not in inspect.signature(ex.show).parameters
        assert "Solution" not in ex.show()
    assert not hasattr(ob.BanditsWithKnapsacks, "decoy")  # Exercise 10.1(a)'s answer, now in solutions/


def test_a_crashing_answer_is_feedback_not_an_exception():
    feedback = exercises.check("bwk-10.3a", lambda T, B: 1 / 0)
    assert not feedback.passed and "ZeroDivisionError" in feedback.message


def test_too_little_exploration_reports_a_finite_slope():
    feedback = exercises.check("bwk-10.1b", lambda T, K: 9)
    assert math.isfinite(float(feedback.message.split("slope ")[1].split(" ")[0]))


def test_unknown_exercise():
    from orbudget import InvalidProblemError

    with pytest.raises(InvalidProblemError, match="`exercise` must be one of"):
        exercises.get("10.9")
