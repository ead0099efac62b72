"""Solvers side by side on the same instances: our direct HiGHS models, the same problems exported with
``ob.to_pyomo`` and solved through Pyomo by HiGHS, SCIP (pyscipopt) and Gurobi (gurobipy, within its size-limited
pip licence), and CP-SAT.

1. **Multiple-choice knapsack** (N groups × K = 10 options, correlated, whole-number costs, budget halfway):
   ``build`` is model building (ours: the HiGHS matrix; Pyomo: ``to_pyomo``; CP-SAT: its model), ``solve`` the
   solver call (for Pyomo this includes Pyomo's translation of the model to the solver).
2. **Q-network argmax** over a plain budget (J = 8, 20 arms, B = 3, 5; an untrained [16, 32] ReLU net as torch
   initialises it; median over states): our HiGHS MIP (built once, bounds updated per state), our interval
   formulation rebuilt per state through Pyomo (HiGHS, SCIP, Gurobi), OMLT's big-M encoding through Pyomo + SCIP,
   and enumeration (each Pyomo solve stops at ``--time-limit``, 20 s; a solve stopped there is left out of the
   comparison and counted in ``note``). CP-SAT has no model here: it takes integer coefficients only, and the
   network's weights are real numbers, so a scaled model would not give the exact argmax.

``agree`` says whether every tool found the same optimum (1e-6 relative). Run: ``python benchmarks/solvers.py``
(``--quick``: one state per size); the output of a full run is kept in ``benchmarks/results/solvers.txt``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

import orbudget as ob
from orbudget.core.registry import module_available
from orbudget.core.solve import SolveOptions
from orbudget.problems.rmab import CoupledRMAB
from orbudget.solvers import _relu

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _table import print_table  # noqa: E402

GUROBI_LIMIT = 2000  # variables and linear constraints allowed by the pip wheel's licence
PYOMO_SOLVERS = [
    ("HiGHS via Pyomo", "highs", "highspy"),
    ("SCIP via Pyomo", "scip", "pyscipopt"),
    ("Gurobi via Pyomo", "gurobi_direct", "gurobipy"),
]


def _fits(model, solver: str) -> bool:
    return not solver.startswith("gurobi") or max(model.nvariables(), model.nconstraints()) <= GUROBI_LIMIT


def _pyomo_mckp(p, solver):
    from orbudget.solvers.pyomo._common import solve_model

    t0 = time.perf_counter()
    model = ob.to_pyomo(p)
    build = time.perf_counter() - t0
    if not _fits(model, solver):
        return build, None, None, f"{model.nvariables()} variables: beyond the size-limited licence"
    out = solve_model(model, SolveOptions(threads=1, options={"solver": solver}))
    r = ob.from_pyomo(p, model, out)
    return build, out.seconds, r.objective, ""


def mckp(sizes):
    rows = []
    for n in sizes:
        p = ob.MultipleChoiceKnapsack.random(n, 10, seed=n)
        ref = ob.solve(p).objective
        found = []
        tools = []
        r = ob.solve(p, method="mip", backend="highs", threads=1)
        tools.append(("our HiGHS", r.timings.get("build"), r.timings.get("solve"), r.objective, ""))
        for label, solver, module in PYOMO_SOLVERS:
            if not module_available(module):
                tools.append((label, None, None, None, f"{module} not installed"))
                continue
            tools.append((label, *_pyomo_mckp(p, solver)))
        r = ob.solve(p, method="cpsat", threads=1)
        tools.append(("CP-SAT", r.timings.get("build"), r.timings.get("solve"), r.objective, ""))
        for label, build, solve, obj, note in tools:
            if obj is not None:
                found.append(obj)
            rows.append([f"N={n}", label, build, solve, obj, note])
        agree = all(abs(v - ref) <= 1e-6 * max(1.0, abs(ref)) for v in found)
        rows.append([f"N={n}", "agree" if agree else "DISAGREE", None, None, ref, f"{len(found)} tools"])
    print_table(
        "Multiple-choice knapsack, K = 10 (seconds; build = model building, solve = the solver call)",
        ["instance", "tool", "build", "solve", "objective", "note"],
        rows,
    )


def qnetwork(n_states: int, time_limit: float):
    from orbudget.solvers.highs.rmab import QNetworkMIP
    from orbudget.solvers.pyomo import rmab as pyomo_rmab
    from orbudget.solvers.pyomo._common import from_pyomo, solve_model

    rows = []
    for J, B in ((8, 3), (20, 5)):
        p = CoupledRMAB.budget(J, B, seed=0)
        layers = _relu.random_network(J * (1 + p.n_states), seed=J)
        states = np.random.default_rng(J).integers(0, p.n_states, (n_states, J))
        values: dict[str, dict] = {}  # tool -> {state index: argmax value}
        t0 = time.perf_counter()
        ours = QNetworkMIP(p, layers)
        built = time.perf_counter() - t0
        times = []
        for i, s in enumerate(states):
            t0 = time.perf_counter()
            _, q, _ = ours.argmax(s)
            times.append(time.perf_counter() - t0)
            values.setdefault("our HiGHS", {})[i] = q
        rows.append([f"J={J} B={B}", "our HiGHS (interval)", built, statistics.median(times), ""])
        variants = [(label, solver, module, "interval") for label, solver, module in PYOMO_SOLVERS]
        variants.append(("OMLT big-M, SCIP", "scip", "pyscipopt", "omlt_bigm"))
        for label, solver, module, formulation in variants:
            if not module_available(module) or (formulation.startswith("omlt") and not module_available("omlt")):
                rows.append([f"J={J} B={B}", label, None, None, "package not installed"])
                continue
            builds, solves, note, limited = [], [], "", 0
            for i, s in enumerate(states):
                t0 = time.perf_counter()
                model = ob.to_pyomo(p, network=layers, states=s, formulation=formulation)
                builds.append(time.perf_counter() - t0)
                if not _fits(model, solver):
                    note = "beyond the size-limited licence"
                    break
                out = solve_model(model, SolveOptions(threads=1, time_limit=time_limit, options={"solver": solver}))
                solves.append(out.seconds)
                r = from_pyomo(p, model, out)
                if r.status is ob.Status.OPTIMAL:
                    values.setdefault(label, {})[i] = r.objective
                else:
                    limited += 1
            if limited:
                note = f"time limit {time_limit:g} s on {limited}/{len(states)} states (not compared)"
            if formulation == "interval" and label.startswith("HiGHS"):
                label = "ours via Pyomo, HiGHS"
            elif formulation == "interval":
                label = "ours via Pyomo, " + label.split()[0]
            rows.append([f"J={J} B={B}", label, statistics.median(builds), statistics.median(solves) if solves else None, note])
        if p.count_actions() is not None:
            times = []
            for i, s in enumerate(states):
                t0 = time.perf_counter()
                _, q = pyomo_rmab.enumerate_argmax(p, layers, s)
                times.append(time.perf_counter() - t0)
                values.setdefault("enumeration", {})[i] = q
            rows.append([f"J={J} B={B}", "enumeration", None, statistics.median(times), f"|C| = {p.count_actions()}"])
        rows.append([f"J={J} B={B}", "CP-SAT", None, None, "n/a: integer coefficients only"])
        ref = values["our HiGHS"]
        agree = all(abs(q - ref[i]) <= 1e-6 * max(1.0, abs(ref[i])) for v in values.values() for i, q in v.items())
        rows.append([f"J={J} B={B}", "agree" if agree else "DISAGREE", None, None, f"{len(values)} tools x {n_states} states"])
    print_table(
        f"Q-network argmax, budget family, [16, 32] ReLU net (median seconds over {n_states} states; ours "
        "builds once, Pyomo models are built per state)",
        ["instance", "tool", "build", "solve", "note"],
        rows,
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one state per size instead of three")
    ap.add_argument("--time-limit", type=float, default=20.0, help="seconds per Pyomo solve of the Q-network (20)")
    args = ap.parse_args(argv)
    import pyomo

    print(
        f"pyomo {pyomo.__version__}; solvers: "
        + ", ".join(
            f"{m}={'yes' if module_available(m) else 'no'}" for m in ("highspy", "pyscipopt", "gurobipy", "ortools", "omlt")
        )
    )
    ob.to_pyomo(ob.MultipleChoiceKnapsack(values=[[1.0]], costs=[[1]], budget=1))  # Pyomo's first-use imports, untimed
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (timings are wall clock, one thread per solver)")
    mckp((8, 20, 100))
    qnetwork(1 if args.quick else 3, args.time_limit)


if __name__ == "__main__":
    main()
