"""Textbook-style exercises with graded answers (Slivkins, *Introduction to Multi-Armed Bandits*, ch. 5, 9, 10).

Each exercise has a statement and a ``check(answer)`` that grades a student's function or number and says what is
wrong. The graders hold no reference answer: they check properties and independent computations (the HiGHS LP value,
a policy's measured regret, a numerical maximum, the invariants of Hedge). The worked solutions are not shipped with
the package; instructors find them in the source repository's ``solutions/`` folder.

Examples:
    >>> from orbudget import exercises
    >>> ids = list(e.id for e in exercises.all_exercises())
    >>> ids[0], ids[1]
    ('bwk-10.1a', 'bwk-10.1b')
    >>> feedback = exercises.check("bwk-10.3a", lambda T, B: 0.5)
    >>> feedback.passed, feedback.message.split(":")[0]
    (False, 'T=1000, B=100')
"""

from __future__ import annotations

from ._base import Exercise, Feedback
from .bwk import EXERCISES as _BWK
from .hedge import EXERCISES as _HEDGE

_ALL: dict[str, Exercise] = {e.id: e for e in (*_BWK, *_HEDGE)}


def all_exercises() -> list[Exercise]:
    """Every exercise, in book order."""
    return list(_ALL.values())


def get(exercise_id: str) -> Exercise:
    """The exercise with this id (``orbudget exercises list`` shows them)."""
    if exercise_id not in _ALL:
        from ..core.errors import InvalidProblemError

        raise InvalidProblemError(f"`exercise` must be one of {', '.join(_ALL)}; got {exercise_id!r}")
    return _ALL[exercise_id]


def check(exercise_id: str, answer) -> Feedback:
    """Grade ``answer`` for the exercise ``exercise_id``."""
    return get(exercise_id).check(answer)


__all__ = ["Exercise", "Feedback", "all_exercises", "check", "get"]
