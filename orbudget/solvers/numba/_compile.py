"""Numba compiles kernels on first use (and caches them beside their sources): `CompileWatch` measures how long a solve
spent compiling, for ``timings["compile"]``, and says so on one line of stderr once a compile passes a second, so that a
cold first call is not a silent wait. ``orbudget warmup`` compiles every family's default kernels ahead."""

from __future__ import annotations

import sys
import threading
import time

NOTICE_AFTER = 1.0  # seconds of compiling before the one-line notice


class CompileWatch:
    """``with CompileWatch(method) as w: ...``: ``w.seconds`` is the wall time spent in numba compiles inside the block
    (outermost compiles only: a kernel that compiles the kernels it calls counts once). A compile still running after
    `NOTICE_AFTER` seconds prints one line on ``stream`` (stderr by default), once per block. Compiles in other threads
    during the block count too (numba's compile events are process-wide)."""

    def __init__(self, method: str = "", *, stream=None, notice_after: float = NOTICE_AFTER):
        self.method = method
        self.stream = stream
        self.notice_after = notice_after
        self.seconds = 0.0
        self.noticed = False
        self._depth = 0
        self._started = 0.0
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._listener: object | None = None

    def _notice(self) -> None:
        with self._lock:
            if self.noticed or self._depth == 0:
                return
            self.noticed = True
        what = f" for method {self.method!r}" if self.method else ""
        print(
            f"orbudget: compiling numba kernels{what} on first use (once; cached for later runs; "
            "`orbudget warmup` compiles every family's ahead) ...",
            file=self.stream or sys.stderr,
            flush=True,
        )

    def _start(self) -> None:
        with self._lock:
            self._depth += 1
            if self._depth > 1:
                return
            self._started = time.perf_counter()
            if not self.noticed and self._timer is None:
                self._timer = threading.Timer(max(self.notice_after - self.seconds, 0.0), self._notice)
                self._timer.daemon = True
                self._timer.start()

    def _end(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                self.seconds += time.perf_counter() - self._started
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
        if self.seconds > self.notice_after:  # several short compiles that add up
            self._notice()

    def __enter__(self) -> CompileWatch:
        try:
            from numba.core import event  # the adapters have imported numba by now: no cost
        except ImportError:  # numba is not installed: nothing compiles
            return self
        watch = self

        class _Listener(event.Listener):
            def on_start(self, ev):
                watch._start()

            def on_end(self, ev):
                watch._end()

        self._listener = _Listener()
        event.register("numba:compile", self._listener)
        return self

    def __exit__(self, *exc) -> None:
        if self._listener is None:
            return
        from numba.core import event

        event.unregister("numba:compile", self._listener)
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._depth > 0:  # an exception inside a compile: count what ran
                self.seconds += time.perf_counter() - self._started
                self._depth = 0
