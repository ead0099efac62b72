"""The solver registry: adapters declare what they solve, what they need, and in which order to prefer them.

Checking whether a backend is installed never imports it (``importlib.util.find_spec``). The adapters themselves are
imported the first time the registry is asked about them (`load_adapters`), not when ``orbudget`` is imported: the
package registers a loader with `on_first_use`.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from .errors import BackendNotAvailableError, InvalidProblemError, warn_renamed

# The keywords of ``ob.solve`` that a method must declare before it accepts a non-default value for them (see
# docs/concepts.md, "Declared support"). ``verbose`` is not among them: every method may ignore it.
STANDARD_KEYWORDS = ("time_limit", "rel_gap", "threads", "warm_start", "callback", "progress", "seed")

# backend name -> (modules it needs, the extra that installs them); each backend package under orbudget/solvers/
# declares itself with `register_backend` when it is imported (before its adapters register)
BACKENDS: dict[str, tuple[tuple[str, ...], str | None]] = {}

# third-party solvers with phases that check neither the clock nor an interrupt (see SolverSpec.guarded)
GUARDED_BACKENDS: set[str] = set()

# backend name -> compile_watch(method): a context manager `solve` wraps around every call, whose ``seconds`` after the
# call are the time the backend spent compiling (numba's just-in-time kernels); `solve` reports it as timings["compile"]
COMPILE_WATCHES: dict[str, Callable] = {}


def register_backend(
    name: str,
    *,
    modules: tuple[str, ...] = (),
    extra: str | None = None,
    guarded: bool = False,
    compile_watch: Callable | None = None,
) -> None:
    """Declare a backend: the modules it needs (checked without importing them), the extra of ``pip install
    orbudget[extra]`` that installs them, and whether its long methods run in a child process that `solve` can
    stop (``guarded``: a third-party solver whose set-up phases check neither the clock nor an interrupt).
    ``compile_watch(method)``: for a backend that compiles on first use, a context manager whose ``seconds`` attribute
    is the compile time inside it (`solve` wraps every call in it, whatever the method's backend: kernels are
    shared)."""
    if isinstance(modules, str):
        raise ValueError("`modules` is a tuple of module names, not a string")
    BACKENDS[name] = (tuple(modules), extra)
    if guarded:
        GUARDED_BACKENDS.add(name)
    if compile_watch is not None:
        COMPILE_WATCHES[name] = compile_watch


# what to run before the registry (or the file kinds of orbudget.core.io) is first read: orbudget/__init__.py adds
# the import of the models and the adapters; a loader runs once, under a lock, so concurrent first solves wait for it
_LOADERS: list[Callable[[], None]] = []
_LOADING = threading.RLock()


def on_first_use(loader: Callable[[], None]) -> None:
    """Run ``loader`` (once) before the registry is first read; ``orbudget`` uses it to import its adapters late."""
    with _LOADING:
        _LOADERS.append(loader)


def load_adapters() -> None:
    """Run the loaders given to `on_first_use` that have not run yet (importing every adapter module, which
    registers its methods). Cheap once done; re-entrant (an adapter that reads the registry while it is imported sees
    what is registered so far)."""
    if not _LOADERS:
        return
    with _LOADING:
        while _LOADERS:
            loader = _LOADERS.pop(0)
            try:
                loader()
            except BaseException:  # an import that failed (or Ctrl-C) is tried again next time
                _LOADERS.insert(0, loader)
                raise


def registered() -> list[SolverSpec]:
    """Every registered adapter (the adapters are imported first if they were not yet), in preference order per
    model."""
    load_adapters()
    return list(_REGISTRY)


@cache
def module_available(name: str) -> bool:
    """True if ``name`` can be imported, decided without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def backend_available(backend: str) -> bool:
    if backend not in BACKENDS:  # the backends declare themselves as the adapters are imported
        load_adapters()
    if backend not in BACKENDS:
        raise InvalidProblemError(f"`backend` must be one of {sorted(BACKENDS)}; got {backend!r}")
    modules, _ = BACKENDS[backend]
    return all(module_available(m) for m in modules)


@dataclass(frozen=True)
class SolverSpec:
    """One adapter: ``func(problem, options: SolveOptions) -> Result``.

    ``supports(problem)`` returns ``None`` or the reason the adapter cannot solve that instance;
    ``preferred(problem)`` says whether ``solve`` may pick it when no method is named (for example
    ``greedy`` is preferred only where it is exact). ``options`` lists the method's own option names (``"*"``:
    any, passed through to the backend); ``honours`` the standard keywords of `STANDARD_KEYWORDS` it
    honours (``None``: not declared, so not checked; tests/contract/test_keywords.py requires a declaration);
    ``long`` marks a method that can run for more than about a second on a realistic instance (it must then honour
    ``time_limit``, Ctrl-C, ``progress`` and ``callback``). ``batch(problems) -> list[Result] | None``, optional:
    solves many instances of the family in one call (`orbudget.solve_many` uses it), or returns ``None`` when
    these instances do not qualify; its results equal the one-by-one solves'. ``renamed_options``: old option name ->
    new, accepted with a DeprecationWarning for one release after a rename.
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
    honours: tuple[str, ...] | None = None
    long: bool = False
    batch: Callable | None = None
    renamed_options: dict[str, str] | None = field(default=None, compare=False)  # not hashed: a dict

    @property
    def available(self) -> bool:
        return backend_available(self.backend)

    def reason_unsupported(self, problem) -> str | None:
        return None if self.supports is None else self.supports(problem)

    @property
    def guarded(self) -> bool:
        """A long method on a third-party solver (HiGHS, OR-Tools, cvxpy, Pyomo), whose set-up phases check no clock
        and no interrupt: `solve` runs it in a child process it can stop (`orbudget.core.guard`)."""
        return self.long and self.backend in GUARDED_BACKENDS

    @property
    def accepted(self) -> tuple[str, ...]:
        """The standard keywords ``solve`` lets through to this adapter (all of them while it declares none)."""
        return STANDARD_KEYWORDS if self.honours is None else self.honours

    def is_preferred(self, problem) -> bool:
        return self.reason_unsupported(problem) is None and (self.preferred is None or self.preferred(problem))


_REGISTRY: list[SolverSpec] = []


def register(
    problem: type,
    method: str,
    *,
    backend: str,
    priority: int,
    supports=None,
    preferred=None,
    options: tuple[str, ...] = (),
    description: str = "",
    honours: tuple[str, ...] | None = None,
    long: bool = False,
    batch: Callable | None = None,
    renamed_options: dict[str, str] | None = None,
):
    """Decorator that registers an adapter function for ``problem`` under ``method``.

    ``honours``: the standard keywords (`STANDARD_KEYWORDS`) the adapter honours; `solve`
    refuses a non-default value of any other, naming the keyword and the method. ``options``: the method's own
    option names. ``long``: the method can run for more than about a second (see `SolverSpec`). ``batch``: an
    optional function that solves many instances in one call (see `SolverSpec`). ``renamed_options``: old option
    names still accepted, with a DeprecationWarning, as the new ones (see `SolverSpec`).
    """
    if backend not in BACKENDS:
        load_adapters()  # the backends declare themselves when orbudget's adapters are imported
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}")
    if isinstance(options, str) or (honours is not None and isinstance(honours, str)):
        raise ValueError("`options` and `honours` are tuples of names, not a string")
    if honours is not None:
        unknown = sorted(set(honours) - set(STANDARD_KEYWORDS))
        if unknown:
            raise ValueError(f"`honours` names unknown keywords {unknown} for {method!r}; known: {STANDARD_KEYWORDS}")
        honours = tuple(k for k in STANDARD_KEYWORDS if k in honours)
    clash = sorted(set(options) & set(STANDARD_KEYWORDS))
    if clash:
        raise ValueError(f"`options` of {method!r} repeats standard keywords {clash}; declare them in `honours`")

    def deco(func):
        _REGISTRY.append(
            SolverSpec(
                problem,
                method,
                backend,
                func,
                priority,
                supports,
                preferred,
                tuple(options),
                description or (func.__doc__ or "").strip().split("\n")[0],
                honours,
                bool(long),
                batch,
                dict(renamed_options or {}) or None,
            )
        )
        _REGISTRY.sort(key=lambda s: (s.problem.__name__, s.priority))
        return func

    return deco


def specs_for(problem_or_type) -> list[SolverSpec]:
    load_adapters()
    cls = problem_or_type if isinstance(problem_or_type, type) else type(problem_or_type)
    return [s for s in _REGISTRY if issubclass(cls, s.problem)]


def available_solvers(problem, details: bool = False) -> list:
    """``[(method, backend, available), ...]`` for a problem (instance or class), in preference order.

    With ``details=True``, one dict per adapter instead: ``method``, ``backend``, ``available``, ``honours`` (the
    standard keywords it honours), ``options`` (its own option names; ``"*"`` passes any through to the backend),
    ``long`` (can run for more than about a second), ``guarded`` (runs in a child process `solve` can always stop:
    see `orbudget.core.guard`) and ``description``.

    Examples:
        >>> import orbudget as ob
        >>> p = ob.MultipleChoiceKnapsack(values=[[0, 3], [0, 2]], costs=[[0, 2], [0, 2]], budget=2)
        >>> greedy = next(d for d in ob.available_solvers(p, details=True) if d["method"] == "greedy")
        >>> greedy["honours"]
        ('time_limit', 'seed')
    """
    if not details:
        return [(s.method, s.backend, s.available) for s in specs_for(problem)]
    return [
        {
            "method": s.method,
            "backend": s.backend,
            "available": s.available,
            "honours": s.honours or (),
            "options": s.options,
            "long": s.long,
            "guarded": s.guarded,
            "description": s.description,
        }
        for s in specs_for(problem)
    ]


def honoured(problem, method: str | None, backend: str | None = None, **keywords) -> dict:
    """``keywords`` (standard keywords of ``solve``) less those the adapter that ``solve`` picks does not honour.

    For library code that asks for a setting only where it applies, such as ``threads=1`` for a reproducible MIP
    when the method may be a one-thread DP: ``solve(p, method=m, **honoured(p, m, threads=1))``. A user's own
    keywords are never filtered this way: ``solve`` refuses them by name.
    """
    spec = pick(problem, method, backend)
    accepted = spec.accepted
    return {k: v for k, v in keywords.items() if k in accepted}


def methods(problem) -> list[str]:
    """Method names for a problem, in preference order, without repeats."""
    seen: list[str] = []
    for s in specs_for(problem):
        if s.method not in seen:
            seen.append(s.method)
    return seen


# (model class, old method name) -> new name: names kept for one release after a rename (see `rename_method`)
RENAMED_METHODS: dict[tuple[type, str], str] = {}


def rename_method(problem: type, old: str, new: str) -> None:
    """Keep ``old`` working as a deprecated name of ``new`` for ``problem``'s methods: `solve` (and `pick`) map it to
    ``new`` with a DeprecationWarning; `available_solvers` lists only ``new``."""
    RENAMED_METHODS[problem, old] = new


def current_name(problem, method: str | None) -> str | None:
    """``method``, or its new name (with a DeprecationWarning) when it is a deprecated name for this model."""
    cls = problem if isinstance(problem, type) else type(problem)
    for klass in cls.__mro__:
        new = RENAMED_METHODS.get((klass, method))  # type: ignore[arg-type]
        if new is not None:
            warn_renamed(f"method {method!r} of {cls.__name__}", repr(new), stacklevel=4)  # the caller of solve
            return new
    return method


# old backend name -> new: names kept for one release after a rename
RENAMED_BACKENDS: dict[str, str] = {"python": "numpy"}


def current_backend(backend: str | None) -> str | None:
    """``backend``, or its new name (with a DeprecationWarning) when it is a deprecated backend name."""
    new = RENAMED_BACKENDS.get(backend)  # type: ignore[arg-type]
    if new is None:
        return backend
    warn_renamed(f"backend {backend!r}", repr(new), stacklevel=4)  # the caller of solve
    return new


def pick(problem, method: str | None, backend: str | None) -> SolverSpec:
    """Choose the adapter for a solve call; raise a clear error if none fits."""
    specs = specs_for(problem)
    backend = current_backend(backend)
    name = type(problem).__name__
    if not specs:
        raise InvalidProblemError(f"no solver is registered for {name}")
    method = current_name(problem, method)
    if method is None:
        candidates = [s for s in specs if (backend is None or s.backend == backend)]
        for s in candidates:
            if s.available and s.is_preferred(problem):
                return s
        for s in candidates:
            if s.available and s.reason_unsupported(problem) is None:
                return s
        raise BackendNotAvailableError(
            f"no installed solver can handle this {name}; install an extra: pip install 'orbudget[all]'"
        )
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
