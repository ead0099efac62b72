"""Core: results, statuses, errors, validation, the solver registry, ``solve`` and IO.

Importing ``orbudget.core`` imports only the registry and the errors; the other names (`solve`, `Result`, `load`,
...) and submodules load on first use, so that ``import orbudget`` and ``orbudget --version`` stay fast."""

import importlib
import importlib.util
import sys as _sys
import types
from typing import TYPE_CHECKING

from . import errors, registry  # noqa: F401  (submodules other modules reach as orbudget.core.registry)
from .errors import BackendNotAvailableError, InvalidProblemError, NoSolutionError, SolverError
from .registry import available_solvers, register

if TYPE_CHECKING:  # for type checkers and the API reference, which read the code without running it
    from .io import load, register_kind, save
    from .result import Limit, Result, Status
    from .solve import SolveOptions, solve

_LAZY = {
    "load": "io",
    "register_kind": "io",
    "save": "io",
    "Limit": "result",
    "Result": "result",
    "Status": "result",
    "SolveOptions": "solve",
    "solve": "solve",
}


class _Core(types.ModuleType):
    """``orbudget.core.solve`` stays the function (as it was when this package imported it eagerly), even after the
    submodule of the same name is imported: the import system then sets the attribute to the module."""

    def __setattr__(self, name, value):
        if name == "solve" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    elif importlib.util.find_spec(f"{__name__}.{name}") is not None:  # a submodule: orbudget.core.validation
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


_sys.modules[__name__].__class__ = _Core

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
