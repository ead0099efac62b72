"""The executors behind `orbudget.solve_many` and `orbudget.sweep`: a serial stand-in, a local process pool whose
workers ignore Ctrl-C and die with their parent, adapters for ``multiprocessing`` pools and Dask clients, waiting
on futures, and stopping them on an interrupt."""

from __future__ import annotations

import os

from .core.errors import InvalidProblemError
from .core.threads import usable_cores


# -- executors -------------------------------------------------------------------------------------------------------
class _Serial:
    """An in-process stand-in with the ``submit`` / ``result`` shape of an executor. Work runs when its result is
    asked for, so a sweep records each point before the next one starts."""

    class _Lazy:
        def __init__(self, fn, args):
            self.fn, self.args, self.ran, self.value = fn, args, False, None

        def result(self):
            if not self.ran:
                self.value, self.ran = self.fn(*self.args), True
            return self.value

    def submit(self, fn, *args):
        return self._Lazy(fn, args)

    def shutdown(self, wait=True):
        pass


def make_executor(executor):
    """``(executor, owned)``: ``None`` or ``'process'`` = a local process pool sized to the machine (closed after
    use), ``'serial'`` = in this process, a ``dask.distributed.Client`` (its ``submit`` is used), any object with
    ``submit(fn, *args) -> future`` (a ``concurrent.futures.Executor``), or a ``multiprocessing.Pool``-style object
    with ``apply_async`` (the stdlib pool, or Ray's ``ray.util.multiprocessing.Pool``)."""
    if executor is None or executor == "process":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")  # numba and torch are not fork-safe
        return ProcessPoolExecutor(
            max_workers=usable_cores(), mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
        ), True
    if executor == "serial":
        return _Serial(), False
    if isinstance(executor, str):
        raise InvalidProblemError(f"`executor` must be None, 'process', 'serial' or an executor object; got {executor!r}")
    if hasattr(executor, "submit"):
        return executor, False
    if hasattr(executor, "apply_async"):  # the multiprocessing.Pool API (also Ray's ray.util.multiprocessing.Pool)
        return _PoolAdapter(executor), False
    raise InvalidProblemError(f"`executor` must have submit(fn, *args) or apply_async(fn, args); got {type(executor).__name__}")


def _worker_init(parent_pid: int) -> None:
    """Run in every worker of the process pool that ``solve_many`` and ``sweep`` own: the worker dies with its
    parent, and leaves Ctrl-C to it.

    On Linux the kernel kills the worker when the parent dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); everywhere a
    watchdog thread exits the worker within a second of its parent pid changing (the parent died and the worker was
    re-parented). SIGINT is ignored: a Ctrl-C in a terminal reaches the whole process group, and the parent records
    the finished points and stops the workers itself.
    """
    import signal
    import sys
    import threading
    import time

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl: the watchdog still works
            pass
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="orbudget-parent-watchdog", daemon=True).start()


def _cancel(futures) -> None:
    """Cancel the futures that have not started (on an executor the caller owns, after a Ctrl-C)."""
    for f in futures:
        cancel = getattr(f, "cancel", None)
        if cancel is not None:
            try:
                cancel()
            except Exception:  # noqa: BLE001 - best effort: a future that cannot be cancelled runs to its end
                pass


def _stop_pool(pool) -> None:
    """Stop an owned process pool now: cancel what has not started and end the workers (after a Ctrl-C)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        proc.terminate()  # workers ignore SIGINT, not SIGTERM
    for proc in processes:
        proc.join(timeout=5)
    if manager is not None:
        manager.join(timeout=5)


class _PoolAdapter:
    """``submit`` on top of a ``multiprocessing.Pool``-style ``apply_async`` (stdlib, or Ray's drop-in pool)."""

    class _Async:
        def __init__(self, handle):
            self.handle = handle

        def result(self):
            return self.handle.get()

    def __init__(self, pool):
        self.pool = pool

    def submit(self, fn, *args):
        return self._Async(self.pool.apply_async(fn, args))

    def shutdown(self, wait=True):
        pass


def _progress(total: int, enabled: bool, desc: str, on_result=None, unit: str = "problems"):
    """A `Run` for a batch: points done / total on stderr (a tqdm bar, else phase
    lines) when ``enabled``, and ``on_result(info)`` once per finished point (True stops the batch)."""
    from types import SimpleNamespace

    from .core.progress import Run

    if on_result is not None and not callable(on_result):
        raise InvalidProblemError(f"`on_result` must be callable; got {on_result!r}")
    opts = SimpleNamespace(progress=bool(enabled), callback=on_result, time_limit=None, incumbent=None)
    return Run(opts, total=total, unit=unit, desc=desc).open()


def _as_completed(futures):
    """Yield futures as they finish (``concurrent.futures`` and Dask futures), or in order for other kinds."""
    try:
        from concurrent.futures import Future, as_completed

        if futures and all(isinstance(f, Future) for f in futures):
            yield from as_completed(futures)
            return
    except ImportError:  # pragma: no cover
        pass
    try:
        from distributed import Future as DaskFuture
        from distributed import as_completed as dask_completed

        if futures and all(isinstance(f, DaskFuture) for f in futures):
            yield from dask_completed(futures)
            return
    except ImportError:
        pass
    yield from futures


def _finished(future) -> bool:
    """True for a future that holds a result (not an exception, not cancelled), without waiting."""
    try:
        return bool(future.done()) and not future.cancelled() and future.exception(timeout=0) is None
    except Exception:  # noqa: BLE001 - futures of other libraries, or lazy serial ones: not finished
        return False
