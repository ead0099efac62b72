"""The solver registry: adapters declare what they solve, what they need, and in which order to prefer them.

Checking whether a backend is installed never imports it (``importlib.util.find_spec``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from .errors import BackendNotAvailableError, InvalidProblemError

# backend name -> (modules it needs, the extra that installs them)
BACKENDS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "python": ((), None),
    "numba": (("numba",), None),
    "scipy": (("scipy",), None),
    "highs": (("highspy",), "mip"),
    "ortools": (("ortools",), "mip"),
    "cvxpy": (("cvxpy",), "convex"),
    "pyomo": (("pyomo",), "pyomo"),
    "torch": (("torch",), "torch"),
}


@cache
def module_available(name: str) -> bool:
    """True if ``name`` can be imported, decided without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def backend_available(backend: str) -> bool:
    modules, _ = BACKENDS[backend]
    return all(module_available(m) for m in modules)


@dataclass(frozen=True)
class SolverSpec:
    """One adapter: ``func(problem, options: SolveOptions) -> Result``.

    ``supports(problem)`` returns ``None`` or the reason the adapter cannot solve that instance;
    ``preferred(problem)`` says whether ``solve`` may pick it when no method is named (for example
    ``greedy`` is preferred only where it is exact). ``options`` lists backend-specific option names.
    """

    problem: type
    method: str
    backend: str
    func: Callable
    priority: int
    supports: Callable | None = None
    preferred: Callable | None = None
    options: tuple[str, ...] = ()
    description: str = ""

    @property
    def available(self) -> bool:
        return backend_available(self.backend)

    def reason_unsupported(self, problem) -> str | None:
        return None if self.supports is None else self.supports(problem)

    def is_preferred(self, problem) -> bool:
        return self.reason_unsupported(problem) is None and (self.preferred is None or self.preferred(problem))


_REGISTRY: list[SolverSpec] = []


def register(problem: type, method: str, *, backend: str, priority: int, supports=None, preferred=None,
             options: tuple[str, ...] = (), description: str = ""):
    """Decorator that registers an adapter function for ``problem`` under ``method``."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}")

    def deco(func):
        _REGISTRY.append(SolverSpec(problem, method, backend, func, priority, supports, preferred,
                                    tuple(options), description or (func.__doc__ or "").strip().split("\n")[0]))
        _REGISTRY.sort(key=lambda s: (s.problem.__name__, s.priority))
        return func

    return deco


def _load_adapters() -> None:
    from .. import solvers  # noqa: F401  (importing registers every adapter; adapters import backends lazily)


def specs_for(problem_or_type) -> list[SolverSpec]:
    _load_adapters()
    cls = problem_or_type if isinstance(problem_or_type, type) else type(problem_or_type)
    return [s for s in _REGISTRY if issubclass(cls, s.problem)]


def available_solvers(problem) -> list[tuple[str, str, bool]]:
    """``[(method, backend, available), ...]`` for a problem (instance or class), in preference order."""
    return [(s.method, s.backend, s.available) for s in specs_for(problem)]


def methods(problem) -> list[str]:
    """Method names for a problem, in preference order, without repeats."""
    seen: list[str] = []
    for s in specs_for(problem):
        if s.method not in seen:
            seen.append(s.method)
    return seen


def pick(problem, method: str | None, backend: str | None) -> SolverSpec:
    """Choose the adapter for a solve call; raise a clear error if none fits."""
    specs = specs_for(problem)
    name = type(problem).__name__
    if not specs:
        raise InvalidProblemError(f"no solver is registered for {name}")
    if method is None:
        candidates = [s for s in specs if (backend is None or s.backend == backend)]
        for s in candidates:
            if s.available and s.is_preferred(problem):
                return s
        for s in candidates:
            if s.available and s.reason_unsupported(problem) is None:
                return s
        raise BackendNotAvailableError(
            f"no installed solver can handle this {name}; install an extra: pip install 'orbudget[all]'")
    known = methods(problem)
    if method not in known:
        raise InvalidProblemError(f"`method` must be one of {', '.join(map(repr, known))} for {name}; got {method!r}")
    candidates = [s for s in specs if s.method == method and (backend is None or s.backend == backend)]
    if not candidates:
        backends = sorted({s.backend for s in specs if s.method == method})
        raise InvalidProblemError(f"`backend` must be one of {backends} for method {method!r}; got {backend!r}")
    reasons = [s.reason_unsupported(problem) for s in candidates]
    usable = [s for s, r in zip(candidates, reasons) if r is None]
    if not usable:
        raise InvalidProblemError(f"method {method!r} cannot solve this {name}: {reasons[0]}")
    for s in usable:
        if s.available:
            return s
    extras = sorted({BACKENDS[s.backend][1] or "" for s in usable} - {""})
    hint = f"pip install 'orbudget[{extras[0]}]'" if extras else "pip install the missing package"
    missing = ", ".join(m for s in usable for m in BACKENDS[s.backend][0] if not module_available(m))
    raise BackendNotAvailableError(f"method {method!r} needs {missing}, which is not installed: {hint}")
