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
    """A statement, a grader and a worked solution (kept out of the statement)."""

    id: str
    title: str
    source: str
    statement: str
    answer_format: str
    grader: Callable
    reference: Callable
    solution_text: str

    def show(self, solution: bool = False) -> str:
        name = self.answer_format.split()[2].split("(")[0] if self.answer_format.startswith("a function ") else None
        bind = f" (for example `answer = {name}` after defining it)" if name else ""
        text = (
            f"{self.id}: {self.title}\n({self.source})\n\n{self.statement}\n\nAnswer: {self.answer_format}\n\n"
            f"To hand it in: a Python file that binds it to the name `answer`{bind}, graded with "
            f"`orbudget exercises check {self.id} FILE.py` (or in Python: "
            f"`orbudget.exercises.get({self.id!r}).check(answer)`)."
        )
        if solution:
            text += f"\n\nSolution:\n{self.solution_text}"
        return text

    def check(self, answer) -> Feedback:
        """Grade ``answer``; a crash inside the student's code is reported, not raised."""
        try:
            return self.grader(answer)
        except Exception as exc:  # noqa: BLE001 - a student's bug is feedback, not a crash
            return Feedback(False, f"your answer raised {type(exc).__name__}: {exc}")

    def solution(self):
        """The reference answer (a function or a number) that passes `check`."""
        return self.reference()
