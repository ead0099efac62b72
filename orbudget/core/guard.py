"""Run a third-party solver in a forked child that the caller can always stop.

HiGHS, CP-SAT, cvxpy and Pyomo each have phases that check no clock and no interrupt: HiGHS' MIP set-up, CP-SAT's
model loading, cvxpy's compilation, a Pyomo model build. A time limit or a Ctrl-C that lands there used to wait for
the phase to end (47 s once, at a 1 s limit). `run_guarded` runs such an adapter in a child made by ``fork``, and
the parent stays in charge:

* every incumbent the child offers reaches the parent's ``opts.incumbent`` as it is found;
* ``callback(info)`` runs in the parent (so its side effects stay with the caller), and its answer goes back;
* ``time_limit``: when the child has not answered by ``1.1 * time_limit + 0.5`` s, it is killed and the parent
  returns the incumbent with ``limit=Limit.TIME`` (``NO_SOLUTION`` when there is none);
* Ctrl-C reaches the parent alone (the child has its own process group), which passes it on: a solver that checks
  for it (HiGHS' callbacks) answers with its own incumbent and bound, as in the calling process; one that has not
  answered within `INTERRUPT_GRACE` s is ended, and `solve` returns the streamed incumbent with
  ``limit=Limit.INTERRUPTED``. The child also ends when the parent dies.

Only where ``fork`` is safe to use (Linux); elsewhere, and inside a guarded child, adapters run in the calling
process as before. ``ORBUDGET_NO_FORK=1`` turns the guard off.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time

from .errors import SolverError
from .progress import INFO_KEYS, active_display, showing

_HEADER = struct.Struct("<Q")
# what a guarded backend's adapters import when they run: imported in the parent first, so that a child does not
# import them again on every solve (a fresh CP-SAT import costs 0.3 s)
PRELOAD = {
    "highs": ("highspy",),
    "ortools": ("ortools.sat.python.cp_model",),
    "cvxpy": ("cvxpy",),
    "pyomo": ("pyomo.environ", "pyomo.contrib.appsi.base", "pyomo.contrib.solver.common.factory"),
}
_IN_CHILD = False  # True in a guarded child: solves inside it run in place
INTERRUPT_GRACE = 1.0  # seconds a child has to answer a Ctrl-C passed on to it before it is ended


def available() -> bool:
    """Whether adapters can run in a guarded child here."""
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "fork")
        and not _IN_CHILD
        and os.environ.get("ORBUDGET_NO_FORK", "") not in ("1", "true", "yes")
    )


_WRITING = False  # in a child: a message is being written (a Ctrl-C waits for its end: no half message)
_PENDING = False  # in a child: a Ctrl-C came during a write


def child_sigint(signum, frame):
    """A guarded child's SIGINT handler: Python's own (raise KeyboardInterrupt), except that a Ctrl-C during a
    message to the parent is raised once the message is whole."""
    global _PENDING
    if _WRITING:
        _PENDING = True
        return
    raise KeyboardInterrupt


def _write(fd: int, obj) -> None:
    global _WRITING, _PENDING
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    _WRITING = True
    try:
        while view:
            view = view[os.write(fd, view) :]
    finally:
        _WRITING = False
    if _PENDING:
        _PENDING = False
        raise KeyboardInterrupt


def _read_exactly(fd: int, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read(fd: int):
    """The next message, or None when the writer has gone."""
    head = _read_exactly(fd, _HEADER.size)
    if head is None:
        return None
    body = _read_exactly(fd, _HEADER.unpack(head)[0])
    return None if body is None else pickle.loads(body)


class _ForwardingDisplay:
    """The child's progress display: sends the run's state to the parent, which shows the one display (at most ten
    times a second, and the last state of each phase)."""

    def __init__(self, fd: int):
        self._fd = fd
        self._last = -1.0

    def update(self, info: dict, force: bool = False) -> None:
        now = time.perf_counter()
        if force or now - self._last >= 0.1:
            self._last = now
            _write(self._fd, ("progress", {k: info.get(k) for k in INFO_KEYS}))

    def close(self, message: str = "", info: dict | None = None) -> None:  # the parent closes its display
        pass


class _ForwardingIncumbent:
    """The child's ``opts.incumbent``: keeps the best like `Incumbent` and sends each improvement to the parent."""

    def __init__(self, fd: int, minimize: bool):
        from .solve import Incumbent

        self._fd = fd
        self._inner = Incumbent()
        self._inner.minimize = minimize

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def __setattr__(self, name, value):
        if name in ("_fd", "_inner"):
            object.__setattr__(self, name, value)
            return
        setattr(self._inner, name, value)
        if name == "bound":
            _write(self._fd, ("bound", value))
        elif name == "minimize":
            _write(self._fd, ("minimize", value))

    def offer(self, x, objective: float, **stats) -> None:
        before = self._inner.x
        self._inner.offer(x, objective, **stats)
        if self._inner.x is not before:  # kept: a new copy of x
            _write(self._fd, ("offer", (self._inner.x, self._inner.objective, self._inner.stats)))


def _reset_after_fork() -> None:
    """Libraries with a global thread pool need it rebuilt in a child made by fork (its threads did not come)."""
    if sys.modules.get("highspy") is not None:
        from .threads import align_highs

        try:
            align_highs(None)  # rebuilt, and its count unknown until the next run fits it
        except Exception:  # pragma: no cover - an older highspy without it
            pass


def _child(func, problem, opts, to_parent: int, from_parent: int, parent: int) -> None:
    global _IN_CHILD
    _IN_CHILD = True
    signal.signal(signal.SIGINT, child_sigint)
    try:
        # a terminal's Ctrl-C goes to the parent alone (its own process group), which passes one SIGINT on; the
        # child ends with the parent
        os.setpgid(0, 0)
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:  # noqa: BLE001 - not Linux's libc: the parent still ends the child on every exit path
            pass
        if os.getppid() != parent:
            os._exit(1)
        _reset_after_fork()
        callback = None
        if opts.callback is not None:

            def callback(info):
                _write(to_parent, ("callback", info))
                return _read(from_parent)

        child_opts = dataclasses.replace(
            opts, callback=callback, incumbent=_ForwardingIncumbent(to_parent, opts.incumbent.minimize)
        )
        # the parent shows the run's one progress display: the child's runs send it their steps
        with showing(_ForwardingDisplay(to_parent) if opts.progress else None):
            result = func(problem, child_opts)
        _write(to_parent, ("result", result))
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        try:
            pickle.loads(pickle.dumps(exc))  # an error that pickles but does not unpickle would hide the real one
        except Exception:  # noqa: BLE001
            exc = SolverError(f"{type(exc).__name__}: {exc}")
        _write(to_parent, ("error", exc))


_FORKING = threading.Lock()  # a child made by another thread must not inherit this call's pipe ends


def run_guarded(func, problem, opts, method: str = "", backend: str = ""):
    """``func(problem, opts)`` in a forked child (see the module docs); returns its Result, or the incumbent with
    ``limit=Limit.TIME`` when the child had to be ended at the time limit. A Ctrl-C is passed on to the child; its
    answer is returned, or, after `INTERRUPT_GRACE` s, the child is ended and KeyboardInterrupt raised. The child's
    exceptions are raised again here."""
    from .result import Limit
    from .solve import limited_result

    for name in PRELOAD.get(backend, ()):
        importlib.import_module(name)
    start = time.perf_counter()
    kill_at = None if opts.time_limit is None else start + 1.1 * float(opts.time_limit) + 0.5
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = None
    fds: list[int] = []
    done = partial = owed = False

    def listen(until, after_ctrl_c: bool = False):
        """Handle the child's messages until its answer (returned) or the time ``until`` (None). After a Ctrl-C, a
        child that ends without an answer is no answer (None), not an error."""
        nonlocal done, partial, owed
        while True:
            wait = None if until is None else until - time.perf_counter()
            if wait is not None and wait <= 0:
                return None
            ready, _, _ = select.select([up_r], [], [], wait)
            if not ready:
                continue
            partial = True  # a Ctrl-C inside a message leaves the stream unreadable
            message = _read(up_r)
            partial = False
            if message is None:
                if after_ctrl_c:
                    return None
                raise SolverError(f"{method or 'the solver'} ended without an answer (its process died)")
            kind, payload = message
            if kind == "offer":
                x, objective, stats = payload
                opts.incumbent.offer(x, objective, **stats)
            elif kind == "bound":
                opts.incumbent.bound = payload
            elif kind == "minimize":
                opts.incumbent.minimize = payload
            elif kind == "progress":
                display = active_display()
                if display is not None:
                    display.update(payload)
            elif kind == "callback":
                owed = True
                answer = opts.callback(payload)
                owed = False
                try:
                    _write(down_w, answer)
                except BrokenPipeError:
                    raise SolverError(f"{method or 'the solver'} ended while its callback ran (its process died)") from None
            elif kind == "result":
                done = True
                return payload
            elif kind == "error":
                done = True
                raise payload

    try:
        with _FORKING:
            up_r, up_w = os.pipe()
            fds += [up_r, up_w]
            down_r, down_w = os.pipe()
            fds += [down_r, down_w]
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child (covered by the contract tests' subprocesses)
                code = 0
                try:
                    os.close(up_r)
                    os.close(down_w)
                    _child(func, problem, opts, up_w, down_r, parent)
                except BaseException:  # noqa: BLE001
                    code = 1
                finally:
                    for stream in (sys.stdout, sys.stderr):  # progress lines and logs still in Python's buffers
                        try:
                            stream.flush()
                        except Exception:  # noqa: BLE001 - a closed or odd stream
                            pass
                    os._exit(code)
            for fd in (up_w, down_r):
                fds.remove(fd)
                os.close(fd)
        try:
            result = listen(kill_at)
        except KeyboardInterrupt:
            if done or partial:  # answered, or the stream is cut mid-message: the child is ended as it is
                raise
            # pass the Ctrl-C on: a solver that checks for it stops with its own incumbent and bound (HiGHS), as in
            # the calling process; one stuck in a phase that does not is ended after a second
            if owed:  # the child waits for the callback's answer: let it go on to see the Ctrl-C
                owed = False
                try:
                    _write(down_w, False)
                except OSError:  # it has ended meanwhile
                    pass
            os.kill(pid, signal.SIGINT)
            result = listen(time.perf_counter() + INTERRUPT_GRACE, after_ctrl_c=True)
            if result is None:
                raise
            return result  # solve() counted the Ctrl-C and reads the result as interrupted
        if result is None:
            return limited_result(
                problem,
                opts.incumbent,
                Limit.TIME,
                f"time limit of {opts.time_limit:g} s: {method or 'the solver'} did not stop within it and was ended",
            )
        return result
    finally:
        _end(pid, done, fds)


def _end(pid, done: bool, fds: list) -> None:
    """End (unless it answered) and reap the child, and close the pipe ends; a second Ctrl-C meanwhile is raised
    once that is done."""
    interrupted = False
    try:
        if pid and not done:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        while pid:
            try:
                os.waitpid(pid, 0)
                break
            except KeyboardInterrupt:
                interrupted = True
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            except ChildProcessError:
                break
    if interrupted:
        raise KeyboardInterrupt
