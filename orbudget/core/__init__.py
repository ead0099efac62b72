"""Core: results, statuses, errors, validation, the solver registry, ``solve`` and IO."""

from .errors import BackendNotAvailableError, InvalidProblemError, NoSolutionError, SolverError
from .io import load, register_kind, save
from .registry import available_solvers, register
from .result import Limit, Result, Status
from .solve import SolveOptions, solve

__all__ = [
    "BackendNotAvailableError",
    "InvalidProblemError",
    "NoSolutionError",
    "SolverError",
    "Limit",
    "Result",
    "Status",
    "SolveOptions",
    "available_solvers",
    "load",
    "register",
    "register_kind",
    "save",
    "solve",
]
