"""CompileWatch: the compile time of a block, and one line on stderr once a compile passes the notice threshold;
`solve` reports it as timings["compile"]."""

import io
from dataclasses import dataclass

import numba
import numpy as np

import orbudget as ob
from orbudget.core.registry import register
from orbudget.core.result import Result, Status
from orbudget.solvers.numba._compile import CompileWatch


def _fresh_kernel(offset: int):
    """A numba function nobody compiled yet (no cache): calling it compiles."""

    @numba.njit(cache=False)
    def kernel(x):
        total = 0
        for i in range(x):
            total += i + offset
        return total

    return kernel


def test_a_compile_is_timed_and_said_once_on_one_line():
    out = io.StringIO()
    with CompileWatch("toy", stream=out, notice_after=0.0) as watch:
        assert _fresh_kernel(1)(10) == 55
        assert _fresh_kernel(2)(10) == 65  # a second compile in the same block: no second line
    lines = out.getvalue().splitlines()
    assert watch.seconds > 0 and watch.noticed
    assert len(lines) == 1 and "compiling numba kernels for method 'toy'" in lines[0] and "orbudget warmup" in lines[0]


def test_a_block_that_compiles_nothing_reports_zero_and_says_nothing():
    kernel = _fresh_kernel(3)
    kernel(5)  # compiled before the block
    out = io.StringIO()
    with CompileWatch("toy", stream=out, notice_after=0.0) as watch:
        kernel(6)
        np.arange(3).sum()
    assert watch.seconds == 0.0 and not watch.noticed and out.getvalue() == ""


def test_a_short_compile_below_the_threshold_is_timed_but_not_said():
    out = io.StringIO()
    with CompileWatch("toy", stream=out, notice_after=3600.0) as watch:
        _fresh_kernel(4)(3)
    assert watch.seconds > 0 and out.getvalue() == ""


@dataclass(frozen=True)
class Compiles:
    """A toy model whose method compiles a fresh kernel on every call."""

    n: int = 4


@register(Compiles, "jit", backend="numba", priority=0, honours=())
def _solve_jit(problem, opts):
    return Result(status=Status.OPTIMAL, objective=float(_fresh_kernel(5)(problem.n)), x=np.zeros(1))


@register(Compiles, "plain", backend="numpy", priority=1, honours=())
def _solve_plain(problem, opts):
    return Result(status=Status.OPTIMAL, objective=1.0, x=np.zeros(1))


def test_solve_reports_the_compile_in_timings_only_when_something_compiled(capsys):
    r = ob.solve(Compiles(), method="jit")
    assert r.objective == 26.0 and 0 < r.timings["compile"] <= r.timings["total"]
    assert "compile" not in ob.solve(Compiles(), method="plain").timings
    capsys.readouterr()
