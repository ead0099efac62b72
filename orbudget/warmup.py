"""``orbudget warmup``: solve a small instance of every family with its default method, so that the numba kernels a
first real solve needs are compiled and cached beside their sources before anyone waits for them.

`scripts/setup.sh` runs it after the install; after ``pip install orbudget``, run ``orbudget warmup`` once (the
kernels are cached in the package's ``__pycache__`` folders, or under ``NUMBA_CACHE_DIR`` when that is set)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def _instances() -> list[tuple[str, Callable]]:
    """``(family, build)``: a small instance per model, drawn by the generator the demo and the docs use (same array
    types, so the same compiled kernels serve the large instances)."""
    import orbudget as ob

    return [
        ("MultipleChoiceKnapsack", lambda: ob.MultipleChoiceKnapsack.random(20, 8, seed=0)),
        ("RolloutAllocation", lambda: ob.RolloutAllocation.synthetic(32, 8, seed=0)),
        ("OnlineAllocation", lambda: ob.online_inputs.iid_matching(500, 5, seed=0)),
        ("BanditsWithKnapsacks", lambda: ob.BanditsWithKnapsacks.random(4, 2, horizon=500, seed=0)),
        ("BiddingCampaign", lambda: ob.BiddingCampaign.synthetic(n_test=2_000, n_train=2_000, seed=0)),
        ("CoupledRMAB", lambda: ob.CoupledRMAB.myopic_trap()),
        ("BudgetedAssignment", lambda: ob.BudgetedAssignment.separable(8, seed=0)),
        ("SampleAllocation", lambda: ob.SampleAllocation.random(10, seed=0)),
        ("ModelRouting", lambda: ob.ModelRouting.random(20, 4, seed=0)),
        ("AgentWorkflow", lambda: ob.AgentWorkflow.chain(3, seed=0)),
        ("StepRouting", lambda: ob.StepRouting.random(4, seed=0)),
        ("TokenBudgetAllocation", lambda: ob.TokenBudgetAllocation.random(8, seed=0)),
    ]


def warmup(families: list[str] | None = None, *, stream=None) -> list[dict]:
    """Solve each family's small instance with its default method (all families, or those named in ``families``) and
    return one record per family: ``family``, ``method``, ``backend``, ``seconds`` (wall), ``compile`` (seconds
    spent compiling), ``status``. A line per family goes to ``stream`` (stderr by default) as it finishes."""
    from .core.errors import BackendNotAvailableError, InvalidProblemError
    from .core.solve import solve

    stream = stream or sys.stderr
    table = _instances()
    known = [name for name, _ in table]
    unknown = sorted(set(families or ()) - set(known))
    if unknown:
        raise InvalidProblemError(f"`families` must name models among {', '.join(known)}; got {unknown[0]!r}")
    records = []
    for name, build in table:
        if families is not None and name not in families:
            continue
        t0 = time.perf_counter()
        try:
            r = solve(build())
        except BackendNotAvailableError as exc:  # a family whose backends are not installed: nothing to compile
            print(f"orbudget warmup: {name:24s} skipped ({exc})", file=stream, flush=True)
            continue
        seconds = time.perf_counter() - t0
        record = {
            "family": name,
            "method": r.method,
            "backend": r.backend,
            "seconds": seconds,
            "compile": r.timings.get("compile", 0.0),
            "status": r.status.value,
        }
        records.append(record)
        print(
            f"orbudget warmup: {name:24s} {r.method} ({r.backend}) {seconds:6.1f} s, compiling {record['compile']:.1f} s",
            file=stream,
            flush=True,
        )
    return records
