"""Module-level functions for the sweep tests (process pools and Dask workers import them by name)."""

import os
import signal
from pathlib import Path


def counted(x, seed=0, calls=None, kill_at=None):
    """Record each call in ``calls`` (a file); kill this very process at point ``kill_at`` (a crash mid-sweep)."""
    if calls is not None:
        with open(calls, "a") as fh:
            fh.write(f"{x},{seed}\n")
    if kill_at is not None and x == kill_at and os.environ.get("ORBUDGET_TEST_KILL") == "1":
        os.kill(os.getpid(), signal.SIGKILL)
    return {"square": x * x + seed}


def fails_on_three(x, seed=0):
    if x == 3:
        raise ValueError("three is not allowed")
    return {"value": float(x)}


def run_counted_sweep(path, calls, n=6):
    from orbudget import sweep

    return sweep(counted, {"x": list(range(n)), "calls": [calls], "kill_at": [3]}, seeds=1, executor="serial",
                 path=path, progress=False, as_frame=False)


def calls_of(calls) -> list[str]:
    return Path(calls).read_text().split()
