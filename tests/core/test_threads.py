"""Thread pools (orbudget/core/threads.py): `solve` caps numba, torch and OpenBLAS at ``threads`` (default: the cores
this process may use) for the call, and restores them after."""

import os

import numba
import pytest

import orbudget as ob
from orbudget.core import threads
from orbudget.core.threads import default_threads, limit_threads, pools

try:
    import torch  # noqa: F401 - imported so that its pool is one of those capped
except ImportError:  # pragma: no cover - torch is an extra
    torch = None


def sizes() -> dict:
    return {name: int(get()) for name, (get, _) in pools().items()}


def test_default_is_the_cores_this_process_may_use():
    assert default_threads() == len(os.sched_getaffinity(0)) <= (os.cpu_count() or 1)


def test_pools_cover_numba_torch_and_the_loaded_openblas():
    names = set(sizes())
    assert "numba" in names and any(n.startswith("openblas") for n in names)  # numpy's and scipy's copies
    assert ("torch" in names) == (torch is not None)


def test_limit_threads_caps_every_pool_and_restores_it():
    before = sizes()
    with limit_threads(1):
        inside = sizes()
    assert inside == {name: 1 for name in before}
    assert sizes() == before
    with pytest.raises(RuntimeError), limit_threads(1):  # restored on an exception too
        raise RuntimeError
    assert sizes() == before


def test_a_pool_below_the_cap_is_left_alone():
    numba.set_num_threads(1)
    try:
        with limit_threads(64):
            assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def rmab():
    return ob.CoupledRMAB.budget(4, 1, seed=0, horizon=3, episodes=2)


def test_solve_runs_with_every_pool_at_threads_and_restores_them():
    before = sizes()
    seen = []
    r = ob.solve(rmab(), method="index", seed=0, threads=1, callback=lambda info: seen.append(sizes()))
    assert r.ok and seen and all(s == {name: 1 for name in before} for s in seen)
    assert sizes() == before


def test_default_never_exceeds_the_usable_cores(monkeypatch):
    before = sizes()
    monkeypatch.setattr(threads, "usable_cores", lambda: 1)  # a process pinned to one core of a larger machine
    seen = []
    ob.solve(rmab(), method="index", seed=0, callback=lambda info: seen.append(sizes()))
    assert seen and all(max(s.values()) == 1 for s in seen)
    assert sizes() == before
