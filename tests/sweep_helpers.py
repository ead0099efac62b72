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

    return sweep(
        counted,
        {"x": list(range(n)), "calls": [calls], "kill_at": [3]},
        seeds=1,
        executor="serial",
        path=path,
        progress=False,
        as_frame=False,
    )


def calls_of(calls) -> list[str]:
    return Path(calls).read_text().split()


def keyed(values, calls=None):
    """A point whose parameter is an array; records which arrays ran (their last entry) in ``calls``."""
    import numpy as np

    values = np.asarray(values)
    if calls is not None:
        with open(calls, "a") as fh:
            fh.write(f"{values[-1]}\n")
    return {"last": float(values[-1]), "total": float(values.sum())}


def sleeper(x, pids, quick=(0, 1)):
    """Finish at once for ``quick`` points; otherwise note this worker's pid in the folder ``pids`` and sleep."""
    import time

    if x in quick:
        return {"value": x}
    Path(pids, str(os.getpid())).write_text(str(x))
    time.sleep(120)
    return {"value": x}


def run_pool_sweep(path, pids, n=4):
    """A sweep on a process pool this process owns (run by the kill tests in a child interpreter)."""
    from orbudget import sweep

    print("started", flush=True)
    return sweep(sleeper, {"x": list(range(n)), "pids": [pids]}, executor="process", path=path, progress=False, as_frame=False)


def hard_knapsack(n=300):
    """A multiple-choice knapsack that HiGHS takes minutes to prove (values close to costs)."""
    import numpy as np

    import orbudget as ob

    rng = np.random.default_rng(0)
    c = rng.integers(10**5, 10**6, (n, 10))
    v = c + rng.integers(0, 100, (n, 10))
    return ob.MultipleChoiceKnapsack(values=v.astype(float), costs=c, budget=int(c.mean(axis=1).sum()))


def sigint_in(seconds):
    """Send this process a SIGINT (a Ctrl-C) after ``seconds``, from a timer thread."""
    import threading

    t = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    t.daemon = True
    t.start()
    return t


def interrupted_mip(x, marker, calls):
    """Point 2 runs a real HiGHS solve that a Ctrl-C interrupts (once: ``marker`` notes it); the others are quick."""
    import orbudget as ob

    with open(calls, "a") as fh:
        fh.write(f"{x}\n")
    if x == 2 and not os.path.exists(marker):
        Path(marker).write_text("interrupted once")
        sigint_in(1.0)
        return ob.solve(hard_knapsack(), method="mip", threads=1)
    return {"value": x}


def run_interrupted_sweep(path, marker, calls):
    from orbudget import sweep

    return sweep(
        interrupted_mip,
        {"x": [0, 1, 2, 3], "marker": [marker], "calls": [calls]},
        executor="serial",
        path=path,
        progress=False,
        as_frame=False,
    )
