"""orbudget.core.progress.Run: callback info dict, early stop, incumbents, time limit and the progress display."""

import io
import time

import numpy as np
import pytest

from orbudget.core import progress
from orbudget.core.progress import CALLBACK_STOP_MESSAGE, INFO_KEYS, Run
from orbudget.core.result import Limit
from orbudget.core.solve import Incumbent, SolveOptions


def test_callback_gets_documented_info_and_early_stop():
    seen = []

    def cb(info):
        seen.append(info)
        return info["iteration"] == 3

    opts = SolveOptions(callback=cb)
    with Run(opts, total=10, unit="cuts", desc="demo") as run:
        for k in range(10):
            run.offer(np.array([k]), float(k))
            if run.step(bound=20.0, cuts=k):
                break
    assert len(seen) == 3
    assert set(INFO_KEYS) <= set(seen[0]) and seen[0]["cuts"] == 0
    assert seen[-1]["iteration"] == 3 and seen[-1]["objective"] == 2.0 and seen[-1]["incumbent"] == 2.0
    assert seen[-1]["bound"] == 20.0 and seen[-1]["gap"] == pytest.approx(9.0)
    assert seen[0]["method"] == "demo" and seen[0]["unit"] == "cuts" and seen[0]["total"] == 10
    assert run.limit is Limit.INTERRUPTED and run.message == CALLBACK_STOP_MESSAGE and run.callback_stopped
    assert opts.incumbent.objective == 2.0 and opts.incumbent.x.tolist() == [2] and opts.incumbent.bound == 20.0


def test_callback_returning_falsy_values_does_not_stop():
    opts = SolveOptions(callback=lambda info: 1)  # only True stops
    with Run(opts) as run:
        assert not any(run.step() for _ in range(5))
    assert run.limit is None and not run.callback_stopped


def test_minimize_keeps_the_smallest():
    inc = Incumbent()
    with Run(SolveOptions(incumbent=inc), minimize=True) as run:
        run.offer([1], 5.0)
        run.offer([2], 3.0)
        run.offer([3], 4.0)
    assert inc.minimize and inc.objective == 3.0 and run.objective == 3.0


def test_time_limit():
    with Run(SolveOptions(time_limit=0.05)) as run:
        assert not run.out_of_time() and 0 < run.remaining() <= 0.05
        time.sleep(0.06)
        assert run.step() and run.limit is Limit.TIME and run.remaining() == 0.0
    assert "time limit" in run.message
    assert Run(None).remaining() is None and not Run(None).out_of_time()


def test_phase_lines_without_tqdm(monkeypatch):
    monkeypatch.setattr(progress, "_tqdm_class", lambda: None)
    out = io.StringIO()
    with Run(SolveOptions(progress=True), total=1000, unit="nodes", desc="mip", stream=out) as run:
        for _ in range(1000):
            run.step(bound=7.0)
        run.offer([0], 6.0)
    lines = out.getvalue().splitlines()
    assert 2 <= len(lines) <= 3  # the first step, (maybe one a second later,) the final line
    assert lines[0].startswith("mip: 1/1000 nodes") and lines[-1].startswith("mip: 1000/1000 nodes")
    assert "incumbent 6" in lines[-1] and "bound 7" in lines[-1] and lines[-1].endswith("done")


def test_tqdm_bar_goes_to_the_stream():
    pytest.importorskip("tqdm")
    out = io.StringIO()
    with Run(SolveOptions(progress=True), total=5, unit="episodes", desc="rl", stream=out) as run:
        for _ in range(5):
            run.step()
    assert "rl" in out.getvalue()


def test_no_display_without_progress():
    out = io.StringIO()
    with Run(SolveOptions(), total=5, stream=out) as run:
        run.step()
    assert out.getvalue() == ""


def test_callback_exception_propagates():
    def cb(info):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"), Run(SolveOptions(callback=cb)) as run:
        run.step()


def test_runs_inside_one_display_share_it():
    # an adapter's phases (a build, then the search) show as one display, not one bar each
    out = io.StringIO()
    display = progress.Display("mip", stream=out)
    with progress.showing(display):
        for _ in range(2):
            with Run(SolveOptions(progress=True), total=3, unit="events", desc="mip") as run:
                for _ in range(3):
                    run.step()
    assert out.getvalue().count("\n") == 1  # the first step; the rest within the second
    display.close("done")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[-1].startswith("mip: 3/3 events") and lines[-1].endswith("done")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_one_bar_on_a_terminal_and_no_escape_codes_in_a_file():
    pytest.importorskip("tqdm")
    tty = _Terminal()
    display = progress.Display("mip", stream=tty)
    with progress.showing(display):
        for total in (2, 5):
            with Run(SolveOptions(progress=True), total=total, unit="events", desc="mip") as run:
                for _ in range(total):
                    run.step(objective=1.5)
    display.close()
    text = tty.getvalue()
    assert "mip" in text and "5/5" in text and "\x1b[A" not in text  # one bar, redrawn in place
    assert text.count("\n") == 1  # left on screen once, at the end
    plain = io.StringIO()  # not a terminal: lines only
    with Run(SolveOptions(progress=True), total=3, desc="dmd", stream=plain) as run:
        run.step()
    assert "\x1b" not in plain.getvalue() and "\r" not in plain.getvalue()


def test_a_display_without_steps_shows_nothing():
    out = io.StringIO()
    display = progress.Display("dp", stream=out)
    display.close("optimal")
    assert out.getvalue() == ""


def test_opening_an_open_run_keeps_its_clock_and_no_dunder_call_is_left_in_the_package():
    """The HiGHS knapsack adapter entered its Run by hand before the model build and again around the solve: the
    second entry restarted the clock (the build fell outside the time limit) and opened a second display."""
    import re
    import time
    from pathlib import Path

    from orbudget.core.progress import Run
    from orbudget.core.solve import SolveOptions

    run = Run(SolveOptions(time_limit=10.0)).open()
    first = run.start
    time.sleep(0.01)
    with run:  # a second entry: nothing restarts
        assert run.start == first
    import orbudget

    package = Path(orbudget.__file__).parent
    calls = [str(p) for p in package.rglob("*.py") if re.search(r"\.__enter__\(\)", p.read_text())]
    assert not calls, f"use `with run:` or run.open()/run.close(), not __enter__(): {calls}"
