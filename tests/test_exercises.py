"""Every exercise's reference solution passes its own check; typical wrong answers fail with a useful message."""

import math

import numpy as np
import pytest

from orbudget import exercises

from .conftest import needs

WRONG = {
    "bwk-10.1a": (lambda T, B, N: ([1.0, 0.5], [[B / T], [0.1 * B / T]]), "does fine"),
    "bwk-10.1b": (lambda T, K: T // 2, "too much exploration"),
    "bwk-10.2": (lambda d, B: exercises.get("bwk-10.2").solution()(1, B), "must have d=2 resources"),
    "bwk-10.3a": (lambda T, B: 0.5, "two regimes"),
    "bwk-10.3b": (lambda eps, T, B: eps * B / 10, "your bound says"),
    "hedge": (lambda costs, eps: np.full(costs.shape, 1 / costs.shape[1]), "round 1: expected"),
    "games-9.3": (lambda A, T: (np.eye(A.shape[0])[0], np.eye(A.shape[1])[0]), "approximate"),
}


@needs("highs")
@pytest.mark.parametrize("ex", exercises.all_exercises(), ids=lambda e: e.id)
def test_reference_solution_passes(ex):
    feedback = ex.check(ex.solution())
    assert feedback.passed, feedback.message
    assert "Solution" not in ex.show() and ex.solution_text in ex.show(solution=True)


@needs("highs")
@pytest.mark.parametrize("exercise_id", sorted(WRONG))
def test_wrong_answers_fail_helpfully(exercise_id):
    answer, fragment = WRONG[exercise_id]
    feedback = exercises.check(exercise_id, answer)
    assert not feedback.passed
    assert fragment in feedback.message or (exercise_id == "games-9.3" and "equilibrium" in feedback.message)
    assert str(feedback).startswith("NOT YET")


def test_a_crashing_answer_is_feedback_not_an_exception():
    feedback = exercises.check("bwk-10.3a", lambda T, B: 1 / 0)
    assert not feedback.passed and "ZeroDivisionError" in feedback.message


def test_too_little_exploration_is_named():
    feedback = exercises.check("bwk-10.1b", lambda T, K: 9)
    assert not feedback.passed and "too little exploration" in feedback.message
    assert math.isfinite(float(feedback.message.split("slope ")[1].split(" ")[0]))


def test_a_vacuous_bound_is_called_loose():
    feedback = exercises.check("bwk-10.3b", lambda eps, T, B: float(T))
    assert not feedback.passed and "far from tight" in feedback.message


def test_unknown_exercise():
    from orbudget import InvalidProblemError

    with pytest.raises(InvalidProblemError, match="`exercise` must be one of"):
        exercises.get("10.9")
