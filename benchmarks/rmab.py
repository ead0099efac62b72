"""Coupled restless bandits benchmark.

1. **Argmax of a Q-network over C** (budget family, J ∈ {8, 20, 40}, B = 3, 5, 10; an untrained [16, 32] ReLU net
   initialised as torch does; median over states): our HiGHS MIP with per-state interval bounds, the reference
   code's formulation (M = 10⁵ for every neuron, the peer) and enumeration of C (a numpy forward pass over every
   feasible action; n/a beyond 2·10⁵ actions). ``leak`` = max |q_MIP − f(x*)|, the gap between the MIP's value and
   the network evaluated at the action the MIP returned.
2. **Normalised reward of every method** on the four environments of the paper and the plain budget at small
   sizes: (V − V_null) / (V_ref − V_null), with V_ref the Lagrangian upper bound (or the exact DP value where the
   joint state space is small), V_null the value of never acting; same evaluation randomness for every method.

Run: ``python benchmarks/rmab.py`` (``--quick``: fewer states and a shorter horizon), or ``orbudget bench rmab``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import orbudget as ob
from orbudget.core.registry import backend_available
from orbudget.core.solve import SolveOptions
from orbudget.problems.rmab import CoupledRMAB
from orbudget.solvers import _relu

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _table import print_table  # noqa: E402


def argmax_times(n_states: int, time_limit: float):
    from orbudget.solvers.highs.rmab import QNetworkMIP

    rows = []
    for J, B in ((8, 3), (20, 5), (40, 10)):
        p = CoupledRMAB.budget(J, B, seed=0)
        layers = _relu.random_network(J * (1 + p.n_states), seed=J)
        states = np.random.default_rng(J).integers(0, p.n_states, (n_states, J))
        row = [f"J={J}, B={B}", p.count_actions() or "> 2e5"]
        values = {}
        for mode in ("interval", "bigm"):
            mip = QNetworkMIP(p, layers, mode, SolveOptions(threads=1, time_limit=time_limit))
            times, vals = [], []
            for s in states:
                t0 = time.perf_counter()
                _, q, info = mip.argmax(s)
                times.append(time.perf_counter() - t0)
                vals.append(q)
            values[mode] = np.array(vals)
            row += [float(np.median(times)), f"{mip.max_fidelity_error:.1e}"]
        acts = p.count_actions()
        if acts is not None:
            A = p.feasible_actions()
            times, vals = [], []
            for s in states:
                t0 = time.perf_counter()
                X = np.c_[A, np.tile(_relu.encode_states(s, p.n_states), (len(A), 1))]
                vals.append(_relu.forward(layers, X).max())
                times.append(time.perf_counter() - t0)
            row.append(float(np.median(times)))
            row.append(f"{np.abs(values['interval'] - np.array(vals)).max():.1e}")
        else:
            row += [None, None]
        row.append(f"{row[4] / row[2]:.1f}")
        rows.append(row)
    print_table(
        f"Exact argmax over C of a [16, 32] ReLU Q-network, budget family, median of {n_states} states, 1 thread (seconds)",
        ["instance", "|C|", "MIP tight", "leak", "MIP big-M (ref.)", "leak", "enumerate", "|tight − enum|", "big-M / tight"],
        rows,
    )


def environments(horizon: int, episodes: int):
    kw = dict(horizon=horizon, episodes=episodes)
    return [
        ("budget J=10 B=3", CoupledRMAB.budget(10, 3, seed=0, **kw)),
        ("path London J=20 B=3", CoupledRMAB.path(20, 3, seed=0, **kw)),
        ("matching J=10 W=B=3", CoupledRMAB.matching(10, 3, seed=0, **kw)),
        ("capacity J=10 W=3", CoupledRMAB.capacity(10, 3, seed=0, **kw)),
        ("interventions J=10 N=6 B=3", CoupledRMAB.multiple_interventions(10, 6, 3, seed=0, **kw)),
    ]


METHODS = ["random", "sampling", "myopic", "index", "sequoia"]


def rewards(horizon: int, episodes: int):
    rows = []
    for name, p in environments(horizon, episodes):
        row = [name, p.count_actions() or "> 2e5"]
        seconds = []
        ref_kind = None
        for m in METHODS:
            if m == "sequoia" and not backend_available("torch"):
                row.append(None)
                continue
            t0 = time.perf_counter()
            r = ob.solve(p, method=m, seed=0)
            seconds.append(f"{m} {time.perf_counter() - t0:.0f}s")
            row.append(f"{r.stats['normalized']:.3f}")
            ref_kind = r.stats["reference_kind"]
        row += [ref_kind, ", ".join(seconds)]
        rows.append(row)
        print(f"  done: {name}", flush=True)
    print_table(
        f"Normalised reward (V − V_null)/(V_ref − V_null), H = {horizon}, {episodes} evaluation episodes, seed 0",
        ["environment", "|C|", *METHODS, "V_ref", "time"],
        rows,
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer states, shorter horizon (smoke run)")
    args = ap.parse_args(argv)
    if not backend_available("highs"):
        print("(HiGHS not installed: the MIP argmax comparison is skipped)")
    elif args.quick:
        argmax_times(2, 60.0)
    else:
        argmax_times(5, 120.0)
    if args.quick:
        rewards(horizon=10, episodes=20)
    else:
        rewards(horizon=20, episodes=50)


if __name__ == "__main__":
    main()
