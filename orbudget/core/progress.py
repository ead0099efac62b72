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

* ``opts.progress``: one progress display per run (see `Display`): a widget in a notebook where ipywidgets is
  installed, a ``tqdm`` text bar in a notebook without it or on a terminal, and otherwise (stderr is a file or a
  pipe) one phase line (``desc: 12/100 cuts, 3.4 s, incumbent 41.5, bound 44``) at most once a second and one at
  the end, without escape codes. ``solve`` opens the run's display; every `Run` inside it (an adapter with two
  phases, a guarded child's, which forwards its steps to the parent) reports to that one display.
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

import contextvars
import importlib.util
import math
import sys
import threading
import time
import warnings

from .result import Limit, better, relative_gap

CALLBACK_STOP_MESSAGE = "stopped by callback"
INFO_KEYS = ("method", "iteration", "total", "unit", "elapsed", "objective", "incumbent", "bound", "gap")


def _tqdm_class():
    """tqdm's plain text bar (never ``tqdm.auto``, which warns without ipywidgets), or ``None`` without tqdm."""
    if importlib.util.find_spec("tqdm") is None:
        return None
    from tqdm.std import tqdm

    return tqdm


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (decided without importing IPython when no kernel is loaded)."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _widget_class():
    """tqdm's notebook widget when running in a kernel with ipywidgets installed, else ``None``."""
    if not _in_notebook() or importlib.util.find_spec("ipywidgets") is None or importlib.util.find_spec("tqdm") is None:
        return None
    from tqdm.notebook import tqdm

    return tqdm


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or odd stream
        return False


class Display:
    """The one progress display of a run (``solve(..., progress=True)``), shown from its first step on: a method
    that finishes without a step shows nothing. Its kind is chosen by where it shows:

    * a Jupyter kernel with ipywidgets: tqdm's notebook widget;
    * a Jupyter kernel without ipywidgets, or a terminal: one tqdm text bar (one line, redrawn in place);
    * anything else (stderr is a file or a pipe, or tqdm is missing): phase lines, at most one a second and one at
      the end, with no escape codes.

    `Run` reports to the display that is active (see `showing`); several runs in a row (an adapter's phases)
    share it, each phase's count shown in turn.
    """

    def __init__(self, desc: str = "", *, stream=None):
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self._bar = None
        self._started = False
        self._last_line = -math.inf
        self._info: dict = {}
        self._lock = threading.RLock()
        self._closed = False

    def _open(self, info: dict) -> None:
        self._started = True
        default_stream = self.stream is sys.stderr
        cls = _widget_class() if default_stream else None
        if cls is None and (_isatty(self.stream) or (default_stream and _in_notebook())):
            cls = _tqdm_class()
        if cls is None:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._bar = cls(
                total=info.get("total"),
                unit=f" {info.get('unit') or 'iterations'}",
                desc=info.get("method") or self.desc or None,
                file=self.stream,
                leave=True,
                position=0,
                dynamic_ncols=True,
            )

    def update(self, info: dict, force: bool = False) -> None:
        """Show the state in ``info`` (the keys of `Run.info`); ``force``: the last state of a phase (a bar shows it
        at once; phase lines keep it for the final line)."""
        with self._lock:
            if self._closed:
                return
            if not self._started:
                self._open(info)
            self._info = dict(info)
            if self._bar is not None:
                bar = self._bar
                total, done = info.get("total"), int(info.get("iteration") or 0)
                if total != bar.total or done < bar.n:  # a new phase: its own count and total
                    bar.reset(total=total)
                    bar.set_description(info.get("method") or self.desc or None, refresh=False)
                post = {}
                if info.get("objective") is not None:
                    post["incumbent"] = f"{info['objective']:.6g}"
                if info.get("bound") is not None:
                    post["bound"] = f"{info['bound']:.6g}"
                if post:
                    bar.set_postfix(post, refresh=False)
                bar.update(done - bar.n)
                if force:
                    bar.refresh()
                return
            if force:
                return
            now = time.perf_counter()
            if now - self._last_line >= 1.0:
                self._last_line = now
                self._line(info)

    def close(self, message: str = "", info: dict | None = None) -> None:
        """End the display with the final state (``info``, else the last shown; nothing when it never started).
        Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            if info is not None:
                if self._bar is not None or not self._started:
                    self._last_line = math.inf  # the final line below is the only one
                    self.update(info)
                self._info = dict(info)
            self._closed = True
            if self._bar is not None:
                self._bar.close()
            elif self._started:
                self._line(self._info, final=message or "done")

    def _line(self, info: dict, final: str = "") -> None:
        total = info.get("total")
        count = f"{info.get('iteration', 0)}" + (f"/{total}" if total is not None else "")
        parts = [f"{info.get('method') or self.desc or 'solve'}: {count} {info.get('unit', 'iterations')}"]
        parts.append(f"{info.get('elapsed', 0.0):.1f} s")
        if info.get("objective") is not None:
            parts.append(f"incumbent {info['objective']:.6g}")
        if info.get("bound") is not None:
            parts.append(f"bound {info['bound']:.6g}")
        if final:
            parts.append(final)
        print(", ".join(parts), file=self.stream, flush=True)


_ACTIVE: contextvars.ContextVar[Display | None] = contextvars.ContextVar("orbudget_progress_display", default=None)


class showing:
    """``with showing(display):`` makes ``display`` the one every `Run` inside the block reports to (``None``: none
    shared, each run that shows opens its own)."""

    def __init__(self, display):
        self.display = display

    def __enter__(self):
        self._token = _ACTIVE.set(self.display)
        return self.display

    def __exit__(self, *exc):
        _ACTIVE.reset(self._token)
        return False


def active_display():
    """The display `Run` reports to now, or ``None``."""
    return _ACTIVE.get()


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
        self._display_to: Display | None = None  # where this run's steps show
        self._owns_display = False
        self._opened = False
        self._closed = False

    # -- context ---------------------------------------------------------------------------------------------
    def open(self) -> Run:
        """Start the run: its clock (the time limit counts from here) and, with ``progress``, its display. Pair it with
        `close` (or use the run as a context manager, which does both). Opening an open run changes nothing: its
        clock keeps running and no second display opens."""
        if self._opened:
            return self
        self._opened = True
        self.start = time.perf_counter()
        if self.show:
            shared = active_display()
            if shared is not None:  # the run's display (opened by solve): one per run, whatever the phases
                self._display_to = shared
            else:
                self._display_to, self._owns_display = Display(self.desc, stream=self.stream), True
        return self

    def __enter__(self) -> Run:
        return self.open()

    def __exit__(self, *exc) -> None:  # an exception passes through
        self.close()

    def close(self) -> None:
        """End the display (a final phase line without tqdm). Called by ``__exit__``; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._display_to is None:
                return
            if self._owns_display:
                self._display_to.close(self.message, self.info())
            elif self.iteration:  # a phase of a shared display: its last state
                self._display_to.update(self.info(), force=True)

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
        if self._display_to is not None:
            self._display_to.update(self.info())
