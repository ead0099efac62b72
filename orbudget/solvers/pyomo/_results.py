"""Reading a solved Pyomo model back into orbudget: arrays of variable values, whole-number checks, the `Result`
(`from_pyomo`, `read_result`), and exporting, solving and reading in one call (`solve_exported`)."""

from __future__ import annotations

import time

import numpy as np

from ...core.result import Limit, Result, Status
from ._common import INTEGRALITY_TOL, Export, Outcome, export_of, outcome_of, require_pyomo, solve_model, to_pyomo


# -- reading back ----------------------------------------------------------------------------------------------------
def value_array(var, keys, default=None) -> np.ndarray:
    """Values of ``var[k]`` for ``keys`` as floats; ``ValueError`` when one has no value."""
    out = np.empty(len(keys))
    for i, k in enumerate(keys):
        v = var[k].value
        if v is None:
            if default is None:
                raise ValueError(f"{var.name}[{k}] has no value")
            v = default
        out[i] = v
    return out


def whole(values: np.ndarray, what: str) -> np.ndarray:
    """Binary values rounded, refusing (ValueError) any further than `INTEGRALITY_TOL` from 0 or 1."""
    r = np.rint(values)
    bad = np.abs(values - r) > INTEGRALITY_TOL
    if bad.any():
        raise ValueError(f"{what} holds a fractional value {values[bad][0]!r}: the model was solved as an LP")
    return r.astype(np.int64)


def from_pyomo(problem, model, results=None) -> Result:
    """Read a solved `to_pyomo` model back into a `Result`.

    ``x`` is read from the model's variables and checked by the problem's own feasibility check; ``objective`` is
    computed by orbudget from ``x``. ``results`` (what the solver's ``solve()`` returned: Pyomo's current interface,
    APPSI or a legacy ``SolverResults``) gives the status, the limit that stopped it and the bound; without it the
    status is ``FEASIBLE`` when every variable has a value (nothing proves optimality) and ``NO_SOLUTION`` otherwise.
    """
    require_pyomo()
    export = export_of(problem, model)
    if results is None:
        outcome = Outcome(Status.FEASIBLE, None, True, None, "no solver results given: optimality not known")
    else:
        outcome = outcome_of(results, export.sense, model=model)
    # the method is the solver Pyomo ran (unknown without its results): a user's own solve, shown as such
    return read_result(problem, model, export, outcome, {}).replace(method=outcome.solver or "from_pyomo", backend="pyomo")


def read_result(problem, model, export: Export, outcome: Outcome, timings: dict, rel_gap=None) -> Result:
    raw = f"{outcome.solver + ': ' if outcome.solver else ''}{outcome.raw}"
    if not outcome.has_solution:
        return Result(
            status=outcome.status if outcome.status is not Status.OPTIMAL else Status.ERROR,
            limit=outcome.limit,
            bound=outcome.bound,
            timings=timings,
            message=raw,
        )
    try:
        x, stats = export.read(problem, model)
    except ValueError as exc:
        if outcome.loader is not None:  # solved with load_solutions=False: load, then read
            outcome.loader()
            outcome.loader = None
            return read_result(problem, model, export, outcome, timings, rel_gap)
        return Result(
            status=Status.NO_SOLUTION,
            limit=outcome.limit,
            timings=timings,
            message=f"{raw}; the model's variables hold no solution ({exc})",
        )
    why = export.check(problem, x)
    if why:
        return Result(
            status=Status.ERROR, timings=timings, message=f"{raw}; the solver's solution fails orbudget's own check: {why}"
        )
    objective = float(export.objective(problem, x))
    status, limit = outcome.status, outcome.limit
    repaired = stats.pop("_downgrade", None)
    if repaired:  # orbudget moved the solver's choice back within the budget: no longer proven optimal
        status = Status.FEASIBLE if status is Status.OPTIMAL else status
        raw += repaired
    bound = outcome.bound
    if bound is not None and export.integer:
        # a maximisation's bound is never below a feasible value (nor a minimisation's above it)
        bound = max(bound, objective) if export.sense == "max" else min(bound, objective)
    if status is Status.OPTIMAL and export.integer and bound is not None and rel_gap:
        gap = abs(bound - objective) / max(abs(objective), 1e-9)
        if gap > 1e-9:
            status, limit = Status.FEASIBLE, Limit.GAP
    if not export.integer and status is Status.OPTIMAL:
        bound = objective
    return Result(status=status, limit=limit, x=x, objective=objective, bound=bound, stats=stats, timings=timings, message=raw)


def solve_exported(problem, opts, build_options: dict | None = None) -> Result:
    """The body of every ``pyomo`` adapter: export, solve with the chosen solver, read back."""
    t0 = time.perf_counter()
    model = to_pyomo(problem, **(build_options or {}))
    export = model._orbudget
    export.extras["repair"] = True  # orbudget's own, unedited model: a budget slipped by tolerance may be repaired
    t1 = time.perf_counter()
    outcome = solve_model(model, opts, export.sense)
    timings = {"build": t1 - t0, "solve": outcome.seconds}
    return read_result(problem, model, export, outcome, timings, opts.rel_gap)
