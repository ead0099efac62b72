"""The thread pools a solve uses, capped for the duration of the call (DESIGN rule 7: ``threads=`` caps every pool).

numba, torch and OpenBLAS each size their pool to the machine when they start; beside other jobs that oversubscribes
the cores (a 2-core share of a 16-core machine still ran 16 BLAS threads). `solve` runs every adapter inside
`limit_threads`:

* ``threads=n``: every pool below is capped at ``n`` (a pool already smaller is left alone); HiGHS and CP-SAT take
  ``n`` through their own options (``threads``, ``num_workers``).
* ``threads=None``: the default, `default_threads` — the cores this process may use (``os.sched_getaffinity``), never
  more; pools larger than that are capped to it.

Every pool is restored when the call returns (or raises). The pools:

=========  ==========================================================================================================
numba      ``numba.set_num_threads`` (the calling thread's ``prange`` pool), when numba is imported
torch      ``torch.set_num_threads`` (intra-op), when torch is imported or the method's backend is ``torch``
OpenBLAS   every OpenBLAS that is loaded (numpy's and scipy's bundled copies), through its own
           ``openblas_set_num_threads`` entry point (found by ``ctypes`` in ``/proc/self/maps``, Linux only)
=========  ==========================================================================================================

BLAS libraries other than OpenBLAS (MKL, BLIS, Accelerate) are not capped here.
"""

from __future__ import annotations

import ctypes
import os
import sys

_OPENBLAS: list[tuple] | None = None  # (get, set) entry points of the OpenBLAS copies loaded, found once per module set
_SEEN_MODULES = -1


def usable_cores() -> int:
    """The cores this process may run on: ``len(os.sched_getaffinity(0))`` where the OS has it, else ``os.cpu_count()``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """The ``threads`` a solve uses when none is given: every core the process may use (`usable_cores`), never more."""
    return usable_cores()


def _openblas() -> list[tuple]:
    """``(get, set)`` of each OpenBLAS loaded in this process (numpy and scipy bundle their own copies). Looked up
    again only when modules were imported since (a new extension may have brought a new copy)."""
    global _OPENBLAS, _SEEN_MODULES
    if _OPENBLAS is not None and len(sys.modules) == _SEEN_MODULES:
        return _OPENBLAS
    _SEEN_MODULES = len(sys.modules)
    found: list[tuple] = []
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.rsplit("/", 1)[-1].lower()})
    except OSError:  # pragma: no cover - not Linux
        paths = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:  # pragma: no cover - a mapping that is not a library
            continue
        for prefix in ("scipy_", ""):
            for suffix in ("64_", "_64", ""):
                get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype, get.argtypes = ctypes.c_int, []
                    put.restype, put.argtypes = None, [ctypes.c_int]
                    found.append((get, put))
                    break
            else:
                continue
            break
    _OPENBLAS = found
    return found


def pools(backend_modules: tuple[str, ...] = ()) -> dict[str, tuple]:
    """The pools a solve would cap now: ``{name: (get, set)}``; torch is included when it is imported or named in
    ``backend_modules`` (the method's backend, which is about to import it)."""
    out: dict[str, tuple] = {}
    if "numba" in sys.modules:
        import numba

        out["numba"] = (numba.get_num_threads, numba.set_num_threads)
    if "torch" in sys.modules or "torch" in backend_modules:
        import torch

        out["torch"] = (torch.get_num_threads, torch.set_num_threads)
    for i, (get, put) in enumerate(_openblas()):
        out[f"openblas{i}"] = (get, put)
    return out


class limit_threads:
    """``with limit_threads(n):`` caps every pool of `pools` at ``n`` (``None``: `default_threads`) and restores
    each one afterwards. A pool already at or below the cap is left alone."""

    def __init__(self, n: int | None = None, backend_modules: tuple[str, ...] = ()):
        self.n = n
        self.backend_modules = tuple(backend_modules)
        self._saved: list[tuple] = []

    def __enter__(self) -> limit_threads:
        cap = int(self.n) if self.n is not None else default_threads()
        self._saved = []
        for get, put in pools(self.backend_modules).values():
            before = int(get())
            if before > cap:
                put(cap)
                self._saved.append((put, before))
        return self

    def __exit__(self, *exc) -> None:
        while self._saved:
            put, before = self._saved.pop()
            put(before)


_HIGHS_THREADS: int | None = None  # the thread count HiGHS' global scheduler runs with, when known


def align_highs(threads: int | None) -> None:
    """Make HiGHS' one global thread pool fit a run with ``threads`` (None: a run whose count is not known, such as
    one through Pyomo, or a pool made unknown by a fork). HiGHS refuses a run whose `threads` differs from the pool's
    (its model status is then 'Not Set'), so the pool is reset unless it already has that count. Called right before
    every HiGHS run, also of a model kept and re-solved across calls."""
    global _HIGHS_THREADS
    if threads is None or threads != _HIGHS_THREADS:
        import highspy

        highspy.Highs.resetGlobalScheduler(True)
    _HIGHS_THREADS = threads
