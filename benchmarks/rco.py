"""Budgeted assignment benchmark: RCO against penalty, evolutionary search, the separable-proxy DP and uniform, at
(about) equal loss evaluations, on separable instances (gap to the exact optimum), a quadratic one (gap to brute
force), MLP quantisation (held-out KL) and MoE expert pruning; then RCO's step time against Adam's at N = 256 and
10,000 groups, K = 8.

Run: ``python benchmarks/rco.py`` (``--quick`` for smaller sizes), or ``orbudget bench rco``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

import numpy as np

import orbudget as ob
from orbudget.apps.compression import mlp_quantization, moe_pruning
from orbudget.problems.assignment import BudgetedAssignment

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _table import print_table  # noqa: E402

METHODS = ["rco", "penalty", "evolutionary", "proxy_dp", "uniform"]


def _options(method, steps, samples):
    return {
        "rco": {"steps": steps, "samples": samples},
        "penalty": {"steps": steps, "samples": samples},
        "evolutionary": {"evaluations": steps * samples},
    }.get(method, {})


def _brute_force(p):
    n, k = p.costs.shape
    xs = np.array(list(itertools.product(range(k), repeat=n)))
    ok = p.costs[np.arange(n), xs].sum(axis=1) <= p.budget
    a, m = p.loss.a, p.loss.m
    e = a[np.arange(n), xs[ok]]
    return float((e.sum(axis=1) + np.einsum("ni,ij,nj->n", e, m, e)).min())


def compare(instances, steps, samples):
    rows = []
    for name, p, reference, score in instances:
        row = [name]
        for m in METHODS:
            t0 = time.perf_counter()
            r = ob.solve(p, method=m, seed=0, options=_options(m, steps, samples))
            secs = time.perf_counter() - t0
            if not r.ok:
                row.append(f"{r.status.value} ({secs:.1f} s)")
                continue
            value = score(r.x) if score else r.objective
            text = f"{(value / reference - 1) * 100:+.2f}%" if reference else f"{value:.3g}"
            row.append(f"{text} ({secs:.1f} s, {r.stats.get('loss_evaluations', '-')} ev)")
        rows.append(row)
    print_table(
        f"Gap to the optimum (or the score), wall-clock and loss evaluations; RCO/penalty {steps} steps × "
        f"{samples} samples, evolutionary the same number of evaluations",
        ["instance", *METHODS],
        rows,
    )


def step_times(n, k, steps, threads=1):
    """CPU milliseconds per step of RCO and of torch's Adam on the same loss and logits (one torch thread), and RCO's
    distance to the budget after the steps: ``(rco_ms, adam_ms, rel_error)``."""
    import torch

    from orbudget.solvers.torch.rco import RCO

    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        gen = torch.Generator().manual_seed(0)
        costs = torch.randint(1, 9, (n, k), generator=gen).double()
        budget = float(costs.min(1).values.sum() + 0.4 * (costs.max(1).values.sum() - costs.min(1).values.sum()))
        target = torch.randn(n, k, dtype=torch.float64, generator=gen)
        per = {}
        for name in ("rco", "adam"):
            alpha = torch.zeros(n, k, dtype=torch.float64, requires_grad=True)
            opt = RCO([alpha], costs=costs, budget=budget) if name == "rco" else torch.optim.Adam([alpha], lr=1e-2)
            for _ in range(2):  # warm: first-call allocations
                opt.zero_grad()
                ((alpha - target) ** 2).sum().backward()
                opt.step()
            spent = 0.0
            for _ in range(steps):
                opt.zero_grad()
                ((alpha - target) ** 2).sum().backward()
                t0 = time.process_time()
                opt.step()
                spent += time.process_time() - t0
            per[name] = spent / steps * 1e3
            if name == "rco":
                error = abs(opt.cost() - budget) / budget
    finally:
        torch.set_num_threads(saved)
    return per["rco"], per["adam"], error


def step_time(sizes, steps):
    rows = []
    for n, k in sizes:
        rco_ms, adam_ms, error = step_times(n, k, steps)
        rows.append([f"N = {n:,}, K = {k}", steps, rco_ms, adam_ms, rco_ms / adam_ms, error])
    print_table(
        "RCO optimizer step (project, Adam, retract to 1e-12 by safeguarded Newton, transport) against torch's Adam step "
        "on the same loss; CPU ms per step (process time), one torch thread, float64",
        ["size", "steps", "RCO ms", "Adam ms", "RCO / Adam", "|C - B| / B after"],
        rows,
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (CI smoke run)")
    args = ap.parse_args(argv)
    steps, samples = (60, 2) if args.quick else (200, 4)
    instances = []
    for seed in range(1 if args.quick else 3):
        p = BudgetedAssignment.separable(50, seed=seed)
        instances.append((f"separable N=50 seed {seed}", p, ob.solve(p, method="proxy_dp").objective, None))
    q = BudgetedAssignment.quadratic(8, 4, seed=3)
    instances.append(("quadratic N=8 K=4", q, _brute_force(q), None))
    mlp, holdout = mlp_quantization(seed=0, average_bits=2.5)
    instances.append(("MLP quantisation, held-out KL", mlp, None, holdout))
    instances.append(("MoE pruning 16/64, rel. MSE", moe_pruning(seed=0), None, None))
    compare(instances, steps, samples)
    step_time([(256, 8), (10_000, 8)], 20 if args.quick else 100)


if __name__ == "__main__":
    main()
