"""One run-time helper for every long adapter: progress display, ``callback(info)``, incumbents and the time limit.

An adapter wraps its main loop in a `Run`::

    with Run(opts, total=n_iterations, unit="cuts", desc="hindsight_lp") as run:
        for k in range(n_iterations):
            ...                                   # one iteration / cut / episode / node batch
            run.offer(x, objective)               # a feasible decision (kept for Ctrl-C and time limits)
            if run.step(bound=ub, cuts=k):        # shows progress, calls the callback, checks time_limit
                break                             # run.limit says why: Limit.TIME or Limit.INTERRUPTED
    return Result(..., limit=run.limit, message=run.message)

``opts`` is the `SolveOptions` an adapter receives. The pieces:

* ``opts.progress``: a progress display on **stderr** — a ``tqdm`` bar when ``tqdm`` is installed, otherwise one
  phase line (``desc: 12/100 cuts, 3.4 s, incumbent 41.5, bound 44``) at most once a second and one at the end.
* ``opts.callback``: called as ``callback(info)`` once per `Run.step` with the **info dict** (below). When it
  returns ``True`` the run stops: `Run.step` returns ``True``, ``run.limit`` is ``Limit.INTERRUPTED`` and
  ``run.message`` is ``"stopped by callback"``; the adapter returns its incumbent (``FEASIBLE``) or
  ``NO_SOLUTION``. An exception raised by the callback propagates out of ``solve``.
* ``opts.incumbent``: `Run.offer` passes feasible decisions on, so a Ctrl-C returns the best one.
* ``opts.time_limit``: `Run.out_of_time` / `Run.step` compare the elapsed time with it;
  `Run.remaining` is the time left (for a backend's own limit).

The info dict (every key always present; ``None`` where the method has no value yet):

=============  =============================================================================================
``method``      the ``desc`` given to `Run` (the method's name)
``iteration``   steps done so far (1 on the first call of the callback)
``total``       the planned number of steps, or ``None``
``unit``        what a step is: ``"iterations"``, ``"cuts"``, ``"nodes"``, ``"episodes"``, ``"stages"``, ...
``elapsed``     seconds since the run started
``objective``   the best objective offered so far (the incumbent's), or ``None``
``incumbent``   the same value (alias kept for MIP users)
``bound``       the best proven bound so far (upper for maximisation), or ``None``
``gap``         relative gap between ``objective`` and ``bound``, or ``None``
=============  =============================================================================================

plus any method-specific keys the adapter passes to `Run.step` (documented on the family's page).
"""

from __future__ import annotations

import importlib.util
import math
import sys
import threading
import time

from .result import Limit, better, relative_gap

CALLBACK_STOP_MESSAGE = "stopped by callback"
INFO_KEYS = ("method", "iteration", "total", "unit", "elapsed", "objective", "incumbent", "bound", "gap")


def _tqdm_class():
    if importlib.util.find_spec("tqdm") is None:
        return None
    from tqdm.auto import tqdm

    return tqdm


class Run:
    """Progress, callback, incumbent and time-limit bookkeeping for one adapter call (see the module docs).

    Args:
        opts: the adapter's ``SolveOptions`` (anything with ``progress``, ``callback``, ``time_limit`` and
            ``incumbent`` attributes; ``None`` gives a run that only keeps time).
        total: planned number of steps (for the bar), or ``None``.
        unit: what one step is (shown, and passed in the info dict).
        desc: the method's name (shown, and the info dict's ``method``).
        minimize: the objective is a loss (the incumbent keeps the smallest).
        stream: where progress goes (stderr by default).
    """

    def __init__(
        self,
        opts=None,
        *,
        total: int | None = None,
        unit: str = "iterations",
        desc: str = "",
        minimize: bool = False,
        stream=None,
    ):
        self.opts = opts
        self.total = None if total is None else int(total)
        self.unit, self.desc, self.minimize = unit, desc, bool(minimize)
        self.stream = stream if stream is not None else sys.stderr
        self.time_limit = getattr(opts, "time_limit", None)
        self.callback = getattr(opts, "callback", None)
        self.show = bool(getattr(opts, "progress", False))
        self.incumbent = getattr(opts, "incumbent", None)
        if self.incumbent is not None and minimize:
            self.incumbent.minimize = True
        self.iteration = 0
        self.objective: float | None = None
        self.bound: float | None = None
        self.limit: Limit | None = None
        self.message = ""
        self.callback_stopped = False  # True once the callback asked to stop (told apart from a Ctrl-C)
        self.start = time.perf_counter()
        self._lock = threading.RLock()
        self._bar = None
        self._last_line = -math.inf
        self._closed = False

    # -- context ---------------------------------------------------------------------------------------------
    def __enter__(self) -> Run:
        self.start = time.perf_counter()
        if self.show:
            tqdm = _tqdm_class()
            if tqdm is not None:
                self._bar = tqdm(
                    total=self.total,
                    unit=f" {self.unit}",
                    desc=self.desc or None,
                    file=self.stream,
                    leave=False,
                    dynamic_ncols=True,
                )
        return self

    def __exit__(self, *exc) -> None:  # an exception passes through
        self.close()

    def close(self) -> None:
        """End the display (a final phase line without tqdm). Called by ``__exit__``; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._bar is not None:
                self._bar.close()
            elif self.show:
                self._line(final=True)

    # -- time ------------------------------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def remaining(self) -> float | None:
        """Seconds left before ``time_limit`` (never below 0), or ``None`` without a limit."""
        if self.time_limit is None:
            return None
        return max(0.0, self.time_limit - self.elapsed)

    def out_of_time(self) -> bool:
        """True once ``time_limit`` has passed; sets ``limit=Limit.TIME`` (unless another limit came first)."""
        if self.time_limit is not None and self.elapsed >= self.time_limit:
            if self.limit is None:
                self.limit, self.message = Limit.TIME, f"time limit of {self.time_limit:g} s reached"
            return True
        return False

    @property
    def stopped(self) -> bool:
        """True once the run should stop (time limit passed or the callback asked)."""
        return self.limit is not None

    # -- incumbents ------------------------------------------------------------------------------------------
    def offer(self, x, objective: float, **stats) -> None:
        """A feasible decision with its objective: kept in ``opts.incumbent`` (``x`` is copied) and shown."""
        objective = float(objective)
        with self._lock:
            if better(objective, self.objective, self.minimize):
                self.objective = objective
            if self.incumbent is not None:
                self.incumbent.offer(x, objective, **stats)

    def set_bound(self, bound: float | None) -> None:
        """A proven bound on the optimum (shown, passed in the info dict, kept on the incumbent)."""
        if bound is None or not math.isfinite(float(bound)):
            return
        with self._lock:
            self.bound = float(bound)
            if self.incumbent is not None:
                self.incumbent.bound = self.bound

    # -- the step --------------------------------------------------------------------------------------------
    def info(self, **extra) -> dict:
        """The info dict as the callback would see it now."""
        d = dict(
            method=self.desc,
            iteration=self.iteration,
            total=self.total,
            unit=self.unit,
            elapsed=self.elapsed,
            objective=self.objective,
            incumbent=self.objective,
            bound=self.bound,
            gap=relative_gap(self.objective, self.bound),
        )
        d.update(extra)
        return d

    def step(self, n: int = 1, *, objective: float | None = None, bound: float | None = None, **extra) -> bool:
        """One (or ``n``) steps done: update the display, call the callback, check the time limit.

        ``objective`` (a value already offered, or one without a decision to keep) and ``bound`` update the shown
        and reported values; ``extra`` keys go into the info dict. Returns ``True`` when the adapter should stop:
        the callback returned ``True`` (``limit=Limit.INTERRUPTED``, ``message="stopped by callback"``) or the
        time limit has passed (``limit=Limit.TIME``).
        """
        with self._lock:
            self.iteration += int(n)
            if objective is not None and math.isfinite(float(objective)):
                objective = float(objective)
                if better(objective, self.objective, self.minimize):
                    self.objective = objective
            self.set_bound(bound)
            self._display(n)
            if self.callback is not None:
                stop = self.callback(self.info(**extra))
                if stop is True and self.limit is None:
                    self.limit, self.message = Limit.INTERRUPTED, CALLBACK_STOP_MESSAGE
                    self.callback_stopped = True
            self.out_of_time()
            return self.limit is not None

    # -- display ---------------------------------------------------------------------------------------------
    def _display(self, n: int) -> None:
        if not self.show:
            return
        if self._bar is not None:
            post = {}
            if self.objective is not None:
                post["incumbent"] = f"{self.objective:.6g}"
            if self.bound is not None:
                post["bound"] = f"{self.bound:.6g}"
            if post:
                self._bar.set_postfix(post, refresh=False)
            self._bar.update(n)
            return
        now = time.perf_counter()
        if now - self._last_line >= 1.0:
            self._last_line = now
            self._line()

    def _line(self, final: bool = False) -> None:
        count = f"{self.iteration}" + (f"/{self.total}" if self.total is not None else "")
        parts = [f"{self.desc or 'solve'}: {count} {self.unit}", f"{self.elapsed:.1f} s"]
        if self.objective is not None:
            parts.append(f"incumbent {self.objective:.6g}")
        if self.bound is not None:
            parts.append(f"bound {self.bound:.6g}")
        if final:
            parts.append(self.message or "done")
        print(", ".join(parts), file=self.stream, flush=True)
