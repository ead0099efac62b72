"""Exceptions raised by orbudget.

Infeasibility is never an exception: it is `orbudget.Status.INFEASIBLE` with a message.
"""

from __future__ import annotations


class InvalidProblemError(ValueError):
    """A problem (or an option) was given a bad value; the message names the field in backticks."""


class BackendNotAvailableError(ImportError):
    """The solver needs a package that is not installed; the message names the extra to install."""


class SolverError(RuntimeError):
    """A backend crashed or answered something orbudget cannot interpret; carries the backend's message."""


class NoSolutionError(RuntimeError):
    """Raised when reading the solution of a result that has none (infeasible, time limit before any)."""


def warn_renamed(old: str, new: str, stacklevel: int = 2, *, note: str = "") -> None:
    """The one deprecation notice of a rename: ``old`` is now ``new`` (``note`` adds what else changed), and the old
    name goes in the next release. ``stacklevel`` counts from the caller of this function, as for `warnings.warn`."""
    import warnings

    warnings.warn(
        f"{old} is renamed {new}{note}; the old name goes in the next release", DeprecationWarning, stacklevel=stacklevel + 1
    )
