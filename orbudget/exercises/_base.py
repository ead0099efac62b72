"""The exercise and feedback types shared by every exercise module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Feedback:
    """The grade of one answer: ``passed`` and a message that says what was measured and what to look at."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return ("PASS: " if self.passed else "NOT YET: ") + self.message


@dataclass(frozen=True)
class Exercise:
    """A statement and a grader. The worked solutions are not shipped with the package: the graders check answers
    against properties and independent computations, and instructors find the solutions in the repository's
    ``solutions/`` folder."""

    id: str
    title: str
    source: str
    statement: str
    answer_format: str
    grader: Callable

    def show(self) -> str:
        """The statement, the answer format and how to hand the answer in."""
        name = self.answer_format.split()[2].split("(")[0] if self.answer_format.startswith("a function ") else None
        bind = f" (for example `answer = {name}` after defining it)" if name else ""
        return (
            f"{self.id}: {self.title}\n({self.source})\n\n{self.statement}\n\nAnswer: {self.answer_format}\n\n"
            f"To hand it in: a Python file that binds it to the name `answer`{bind}, graded with "
            f"`orbudget exercises check {self.id} FILE.py` (or in Python: "
            f"`orbudget.exercises.get({self.id!r}).check(answer)`)."
        )

    def check(self, answer) -> Feedback:
        """Grade ``answer``; a crash inside the student's code is reported, not raised."""
        try:
            return self.grader(answer)
        except Exception as exc:  # noqa: BLE001 - a student's bug is feedback, not a crash
            return Feedback(False, f"your answer raised {type(exc).__name__}: {exc}")
