"""Shared plumbing of the Pyomo backend: the export table behind ``to_pyomo`` / ``from_pyomo``, the solver factory
(any solver Pyomo can reach, named by ``options["solver"]``), and the one map from each Pyomo results type onto
`Status` and `Limit`.

Three kinds of Pyomo solver interface are reached, chosen by name:

- Pyomo's current interface (``pyomo.contrib.solver``): ``highs`` (highspy), ``scip_direct`` / ``scip_persistent``
  (pyscipopt, the pip route to SCIP), ``gurobi_direct`` / ``gurobi_persistent`` (gurobipy), ``ipopt``, ``gams``,
  ``knitro_direct``. Standard options ``time_limit``, ``rel_gap``, ``threads`` go through its own config.
- APPSI (``appsi_highs``, ``appsi_gurobi``, ``appsi_cplex``, ``appsi_cbc``, ...): ``time_limit`` and ``mip_gap``.
- Every other name Pyomo's ``SolverFactory`` knows (``cbc``, ``glpk``, ``cplex``, ``scip`` (the AMPL shell, which
  needs the ``scip`` binary), ``gurobi``, ``xpress``, ...): the standard options are translated by a table of each
  solver's own option names; a standard option a solver has no entry for is refused by name.

SCIP needs no adapter of ours: Pyomo's ``scip_direct`` drives pyscipopt in-process (``scip`` is accepted as a
shorter name for it).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field

from ...core.errors import BackendNotAvailableError, InvalidProblemError, SolverError
from ...core.result import Limit, Status
from ...core.threads import align_highs
from ...core.validation import as_int_seed

HONOURS = dict(honours=("time_limit", "rel_gap", "threads", "seed"))  # what every pyomo adapter passes on
DEFAULT_SOLVER = "highs"
ALIASES = {"scip": "scip_direct", "gurobi": "gurobi_direct"}
OPTIONS = ("solver", "solver_options")  # what every pyomo adapter accepts in ``options``
INTEGRALITY_TOL = 1e-5  # a binary read back further than this from 0 or 1 is not a whole-number solution

# per solver family: its own names for the standard options (None: it has none)
_NATIVE = {
    "highs": {"seed": "random_seed", "threads": "threads", "time_limit": "time_limit", "rel_gap": "mip_rel_gap"},
    "scip": {
        "seed": "randomization/randomseedshift",
        "threads": "parallel/maxnthreads",
        "time_limit": "limits/time",
        "rel_gap": "limits/gap",
    },
    "gurobi": {"seed": "Seed", "threads": "Threads", "time_limit": "TimeLimit", "rel_gap": "MIPGap"},
    "cplex": {"seed": "randomseed", "threads": "threads", "time_limit": "timelimit", "rel_gap": "mip_tolerances_mipgap"},
    "cbc": {"seed": "randomCbcSeed", "threads": "threads", "time_limit": "sec", "rel_gap": "ratioGap"},
    "glpk": {"time_limit": "tmlim", "rel_gap": "mipgap"},
    "xpress": {"seed": "randomseed", "threads": "threads", "time_limit": "maxtime", "rel_gap": "miprelstop"},
}


# feasibility tolerances tightened to 1e-9 where the solver's option names are known (HiGHS' adapter does the same):
# fewer answers that slip past a budget by a solver's default 1e-6; the user's ``solver_options`` take precedence
_TIGHT = {
    "highs": {"primal_feasibility_tolerance": 1e-9, "mip_feasibility_tolerance": 1e-9},
    "scip": {"numerics/feastol": 1e-9},
    "gurobi": {"FeasibilityTol": 1e-9, "IntFeasTol": 1e-9},
}


def family_of(name: str) -> str | None:
    """``'scip'`` for ``scip_direct``, ``'highs'`` for ``appsi_highs``, ...: the key of `_NATIVE`."""
    base = name.lower().removeprefix("appsi_")
    for fam in _NATIVE:
        if base.startswith(fam):
            return fam
    return None


# -- the export table ------------------------------------------------------------------------------------------------
@dataclass
class Export:
    """What ``to_pyomo`` leaves on a model (as ``model._orbudget``) so that ``from_pyomo`` can read it back."""

    problem: object
    read: object  # read(problem, model) -> (x, stats) ; raises ValueError when a variable has no value
    sense: str  # "max" or "min"
    objective: object  # objective(problem, x) -> float, computed from x (not trusted from the solver)
    check: object  # check(problem, x) -> str | None: why x is not feasible
    integer: bool = True
    kind: str = ""
    extras: dict = field(default_factory=dict)


_EXPORTERS: dict[type, object] = {}


def exporter(problem_type: type):
    """Register ``build(problem, **options) -> (model, Export)`` as the exporter of ``problem_type``."""

    def deco(build):
        _EXPORTERS[problem_type] = build
        return build

    return deco


def require_pyomo():
    from ...core.registry import module_available

    if not module_available("pyomo"):
        raise BackendNotAvailableError("the Pyomo export needs pyomo, which is not installed: pip install 'orbudget[pyomo]'")
    import pyomo.environ as pyo

    return pyo


def to_pyomo(problem, **options):
    """The Pyomo ``ConcreteModel`` of ``problem``'s exact MIP or LP: variables and constraints are named after the
    problem's fields (``model.x[group, option]``, ``model.budget``, ...), so side constraints can be added before
    solving; `from_pyomo` reads the solved model back into a `Result`.

    Families: ``MultipleChoiceKnapsack``, ``RolloutAllocation`` (``relax=True``: the LP relaxation),
    ``OnlineAllocation`` (the hindsight MIP; ``relax=True``: its LP), ``BanditsWithKnapsacks`` (the ``opt_lp`` LP),
    ``CoupledRMAB`` (the action set with a linear objective, ``values=`` (J, A) per-arm level values; or the argmax of
    a ReLU Q-network, ``network=[(W, b), ...]``, ``states=``, ``formulation='interval' | 'bigm' | 'omlt_bigm' |
    'omlt_partition'``), ``BudgetedAssignment`` with a separable loss. Each family's page lists its components.

    Examples:
        >>> import orbudget as ob, pyomo.environ as pyo
        >>> p = ob.MultipleChoiceKnapsack(values=[[0, 3], [0, 2]], costs=[[0, 2], [0, 2]], budget=2)
        >>> m = ob.to_pyomo(p)
        >>> sorted(m.x.keys()), pyo.value(m.budget.upper)
        ([(0, 0), (0, 1), (1, 0), (1, 1)], 2.0)
        >>> m.side = pyo.Constraint(expr=m.x[1, 1] == 1)     # a side constraint of the user's
        >>> r = ob.from_pyomo(p, m, pyo.SolverFactory("appsi_highs").solve(m))
        >>> r.status.value, r.objective, r.x.tolist()
        ('optimal', 2.0, [0, 1])
    """
    require_pyomo()
    from . import assignment, bwk, knapsack, online, rmab  # noqa: F401  (fill the export table)

    for cls in type(problem).__mro__:
        if cls in _EXPORTERS:
            model, export = _EXPORTERS[cls](problem, **options)
            model._orbudget = export
            return model
    known = ", ".join(sorted(c.__name__ for c in _EXPORTERS))
    raise InvalidProblemError(f"`problem` of type {type(problem).__name__} has no Pyomo model; exported: {known}")


def export_of(problem, model) -> Export:
    export = getattr(model, "_orbudget", None)
    if not isinstance(export, Export):
        raise InvalidProblemError("`model` was not made by ob.to_pyomo (it carries no orbudget export record)")
    if export.problem is not problem:
        from ...core.validation import fingerprint

        try:
            same = type(export.problem) is type(problem) and fingerprint(export.problem) == fingerprint(problem)
        except Exception:  # noqa: BLE001 - a problem that cannot be fingerprinted (a BudgetedAssignment's loss)
            same = False
        if not same:
            raise InvalidProblemError("`model` was exported from a different problem than the one given")
    return export


# -- solving ---------------------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """A solve, in orbudget's terms, whichever Pyomo interface ran it."""

    status: Status
    limit: Limit | None
    has_solution: bool
    bound: float | None
    raw: str
    seconds: float = 0.0
    solver: str = ""
    loader: object = None  # call to load the solution into the model's variables
    incumbent: float | None = None


def _finite(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _contrib_names():
    from pyomo.contrib.solver.common.factory import SolverFactory

    return set(SolverFactory._cls)


def solver_name(options: dict) -> str:
    name = options.get("solver", DEFAULT_SOLVER)
    if not isinstance(name, str) or not name:
        raise InvalidProblemError(f"`solver` must be the name of a solver Pyomo can reach, as a string; got {name!r}")
    return ALIASES.get(name, name)


def solver_options(options: dict) -> dict:
    extra = options.get("solver_options", {}) or {}
    if not isinstance(extra, dict) or not all(isinstance(k, str) for k in extra):
        raise InvalidProblemError(f"`solver_options` must be a dict of the solver's own option names; got {extra!r}")
    return dict(extra)


def check_solver_options(name: str, extra: dict) -> None:
    """Refuse `solver_options` names the solver does not have, where its option list can be read (HiGHS, SCIP,
    Gurobi): a misspelt option would otherwise be ignored. Other solvers check their own options when they run."""
    known = _option_checker(family_of(name) or "")
    unknown = [k for k in extra if known is not None and not known(k)]
    if unknown:
        raise InvalidProblemError(f"`solver_options` names {unknown} that solver {name!r} does not have")


@functools.cache
def _option_checker(family: str):
    """``name -> bool`` for a solver family's option names, read once per process (SCIP lists about 3,000)."""
    if family == "highs":
        import highspy

        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        return lambda k: h.getOptionValue(k)[0] != highspy.HighsStatus.kError
    if family == "scip":
        import pyscipopt

        params = frozenset(pyscipopt.Model().getParams())
        return params.__contains__
    if family == "gurobi":
        import gurobipy

        return lambda k: hasattr(gurobipy.GRB.Param, k)
    return None


def _native(name: str, opts, what=("time_limit", "rel_gap", "threads", "seed")) -> dict:
    """The standard options as the solver's own names, with the tight feasibility tolerances of `_TIGHT`; a
    standard option the solver has no name for is refused."""
    table = _NATIVE.get(family_of(name) or "", {})
    out = dict(_TIGHT.get(family_of(name) or "", {}))
    for key in what:
        value = _standard(opts, key)
        if value is None or (key == "rel_gap" and opts.rel_gap is None and key not in table):
            continue  # (exact by default only where the solver's gap option is known)
        if key not in table:
            raise InvalidProblemError(
                f"`{key}` is not known for solver {name!r}: pass it in `solver_options` under the solver's own option name"
            )
        out[table[key]] = value
    return out


def _standard(opts, key):
    if key == "rel_gap":
        return 0.0 if opts.rel_gap is None else float(opts.rel_gap)  # exact by default, as the HiGHS adapters
    if key == "seed":
        return None if opts.seed is None else as_int_seed(opts.seed) % 2**31
    if key == "threads":
        return None if opts.threads is None else int(opts.threads)
    return None if opts.time_limit is None else float(opts.time_limit)


def _contrib_solver(name):
    from pyomo.contrib.solver.common.base import Availability
    from pyomo.contrib.solver.common.factory import SolverFactory

    solver = SolverFactory(name)
    avail = solver.available()
    if avail not in (Availability.FullLicense, Availability.LimitedLicense):
        raise BackendNotAvailableError(
            f"`solver` {name!r} is not available here ({avail.name}); install its package "
            "(highspy, pyscipopt, gurobipy) or name another solver"
        )
    return solver, avail


def solve_model(model, opts, sense: str = "max") -> Outcome:
    """Solve ``model`` with ``opts.options['solver']`` (default ``'highs'``) and the standard options; load the
    solution into the model's variables when there is one."""
    options = opts.options
    name = solver_name(options)
    extra = solver_options(options)
    check_solver_options(name, extra)
    if family_of(name) == "highs":
        # HiGHS keeps one global thread pool and refuses a different `threads` once it has started (its run then
        # ends with model status 'Not Set'): reset it for this run, whose count Pyomo's interface decides
        align_highs(None)
    t0 = time.perf_counter()
    if name in _contrib_names():
        solver, _ = _contrib_solver(name)
        config = dict(tee=bool(opts.verbose), load_solutions=False, raise_exception_on_nonoptimal_result=False)
        if opts.time_limit is not None:
            config["time_limit"] = float(opts.time_limit)
        if "rel_gap" in solver.config:
            config["rel_gap"] = _standard(opts, "rel_gap")
        elif opts.rel_gap is not None:
            raise InvalidProblemError(f"`rel_gap` is not an option of solver {name!r} (it solves no MIPs)")
        if opts.threads is not None:
            config["threads"] = int(opts.threads)
        extra = {**_native(name, opts, ("seed",)), **extra}
        if extra:
            config["solver_options"] = extra
        try:
            results = solver.solve(model, **config)
        except Exception as exc:  # noqa: BLE001 - the solver's own failure, kept with its message
            raise SolverError(f"{name}: {type(exc).__name__}: {exc}") from exc
        out = outcome_of(results, sense)
    elif name.startswith("appsi_"):
        from pyomo.contrib.appsi.base import SolverFactory as AppsiFactory

        base = name.removeprefix("appsi_")
        try:
            solver = AppsiFactory(base)
        except Exception:  # noqa: BLE001 - an unknown name is reported below, with the names Pyomo knows
            solver = None
        if solver is None:  # Pyomo's factory answers None for a name it has no class for
            known = ", ".join(f"'appsi_{k}'" for k in sorted(AppsiFactory._cls)) or "none"
            raise InvalidProblemError(f"`options.solver` {name!r} is not an APPSI solver Pyomo knows; APPSI solvers: {known}")
        if not solver.available():
            raise BackendNotAvailableError(f"`solver` {name!r} is not available here ({solver.available()})")
        solver.config.load_solution = False
        solver.config.stream_solver = bool(opts.verbose)
        if opts.time_limit is not None:
            solver.config.time_limit = float(opts.time_limit)
        if hasattr(solver.config, "mip_gap"):
            solver.config.mip_gap = _standard(opts, "rel_gap")
        native = {**_native(name, opts, ("threads", "seed")), **extra}
        holder = f"{base}_options"
        if native:
            if not hasattr(solver, holder):
                raise InvalidProblemError(f"`solver_options` cannot be passed to {name!r}")
            setattr(solver, holder, {**getattr(solver, holder), **native})
        try:
            results = solver.solve(model)
        except Exception as exc:  # noqa: BLE001
            raise SolverError(f"{name}: {type(exc).__name__}: {exc}") from exc
        out = outcome_of(results, sense)
    else:
        import pyomo.environ as pyo
        from pyomo.opt.base.solvers import UnknownSolver

        solver = pyo.SolverFactory(name)
        if solver is None or isinstance(solver, UnknownSolver):
            known = ", ".join(sorted(_contrib_names() | {"appsi_highs", "appsi_gurobi", "scip", "gurobi"}))
            raise InvalidProblemError(f"`solver` {name!r} is not a solver Pyomo knows; for example: {known}")
        if not solver.available(exception_flag=False):
            raise BackendNotAvailableError(
                f"`solver` {name!r} is known to Pyomo but not available here (its executable or package is missing)"
            )
        native = {**_native(name, opts), **extra}
        try:
            results = solver.solve(model, tee=bool(opts.verbose), load_solutions=False, options=native)
        except Exception as exc:  # noqa: BLE001
            raise SolverError(f"{name}: {type(exc).__name__}: {exc}") from exc
        out = outcome_of(results, sense, model=model)
    out.seconds = time.perf_counter() - t0
    out.solver = name
    if out.has_solution and out.loader is not None:
        out.loader()
    return out


def outcome_of(results, sense: str = "max", model=None) -> Outcome:
    """Map a Pyomo results object (current interface, APPSI or legacy ``SolverResults``) onto an `Outcome`:
    the one status map of this backend."""
    if isinstance(results, Outcome):
        return results
    from pyomo.contrib.appsi import base as appsi
    from pyomo.contrib.solver.common import results as contrib
    from pyomo.opt import SolverResults

    if isinstance(results, contrib.Results):
        T, S = contrib.TerminationCondition, contrib.SolutionStatus
        tc, ss = results.termination_condition, results.solution_status
        has = ss in (S.feasible, S.optimal) and results.solution_loader is not None
        limits = {
            T.maxTimeLimit: Limit.TIME,
            T.iterationLimit: Limit.ITERATION,
            T.objectiveLimit: Limit.GAP,
            T.interrupted: Limit.INTERRUPTED,
        }
        infeasible = (T.provenInfeasible, T.locallyInfeasible, T.infeasibleOrUnbounded)
        status, limit = _classify(
            tc == T.convergenceCriteriaSatisfied and ss == S.optimal,
            tc == T.convergenceCriteriaSatisfied,
            limits.get(tc),
            tc in infeasible,
            tc == T.unbounded,
            has,
        )
        loader = results.solution_loader.load_vars if has else None
        return Outcome(
            status,
            limit,
            has,
            _finite(results.objective_bound),
            f"{tc.name}, {ss.name}",
            loader=loader,
            incumbent=_finite(results.incumbent_objective),
        )
    if isinstance(results, appsi.Results):
        T = appsi.TerminationCondition
        tc = results.termination_condition
        has = results.best_feasible_objective is not None
        limits = {
            T.maxTimeLimit: Limit.TIME,
            T.maxIterations: Limit.ITERATION,
            T.objectiveLimit: Limit.GAP,
            T.interrupted: Limit.INTERRUPTED,
        }
        status, limit = _classify(
            tc == T.optimal,
            tc == T.optimal,
            limits.get(tc),
            tc in (T.infeasible, T.infeasibleOrUnbounded),
            tc == T.unbounded,
            has,
        )
        loader = results.solution_loader.load_vars if has else None
        return Outcome(
            status,
            limit,
            has,
            _finite(results.best_objective_bound),
            tc.name,
            loader=loader,
            incumbent=_finite(results.best_feasible_objective),
        )
    if isinstance(results, SolverResults):
        from pyomo.opt import TerminationCondition as T

        tc = results.solver.termination_condition
        # solvers that load their solution straight into the model (APPSI's and the current interface's legacy
        # wrappers) leave ``results.solution`` empty: then the model's values are read, and none means no solution
        has = len(results.solution) > 0 or tc in (
            T.optimal,
            T.globallyOptimal,
            T.locallyOptimal,
            T.feasible,
            T.maxTimeLimit,
            T.maxIterations,
            T.maxEvaluations,
            T.userInterrupt,
        )
        limits = {
            T.maxTimeLimit: Limit.TIME,
            T.maxIterations: Limit.ITERATION,
            T.maxEvaluations: Limit.ITERATION,
            T.minFunctionValue: Limit.GAP,
            T.userInterrupt: Limit.INTERRUPTED,
        }
        status, limit = _classify(
            tc in (T.optimal, T.globallyOptimal),
            tc in (T.optimal, T.globallyOptimal),
            limits.get(tc),
            tc in (T.infeasible, T.infeasibleOrUnbounded),
            tc == T.unbounded,
            has,
        )
        bound = results.problem.upper_bound if sense == "max" else results.problem.lower_bound
        loader = None
        if len(results.solution) > 0 and model is not None:
            loader = lambda: model.solutions.load_from(results)  # noqa: E731
        return Outcome(status, limit, has, _finite(bound), str(tc), loader=loader)
    raise InvalidProblemError(f"`results` must be what a Pyomo solver's solve() returned; got {type(results).__name__}")


def _classify(optimal, converged, limit, infeasible, unbounded, has):
    if optimal:
        return Status.OPTIMAL, None
    if converged:  # converged without an optimal solution status: a solution, not proven optimal
        return (Status.FEASIBLE, None) if has else (Status.NO_SOLUTION, None)
    if limit is not None:
        return (Status.FEASIBLE if has else Status.NO_SOLUTION), limit
    if infeasible:
        return Status.INFEASIBLE, None
    if unbounded:
        return Status.UNBOUNDED, None
    return (Status.FEASIBLE, None) if has else (Status.ERROR, None)
