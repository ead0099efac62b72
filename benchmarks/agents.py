"""Agents family benchmark: MCPP against the best static baseline and the exact DP over a 4 x 4 grid of budgets and
deadlines on code-like and proof-like workflows; token allocation's joint gain over the rollouts-only and
length-only allocations per budget; the time of 10^4 prompts with 8 x 8 options.

    python benchmarks/agents.py [--quick]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import orbudget as ob
from orbudget.solvers.numba.agents import WorkflowDP, dp_unsupported

QUICK = "--quick" in sys.argv
EPISODES = 100 if QUICK else 400
BASELINES = ("static", "cheapest", "strongest", "greedy")
FRACTIONS = (0.2, 0.3, 0.45, 0.6)


def grid(make, seed=0):
    print(f"\n{make.__name__}: completion (95% interval), {EPISODES} episodes per method")
    print("budget  deadline | mcpp                 | best static          | exact DP | mcpp-DP | verdict")
    for fb in FRACTIONS:
        for ft in FRACTIONS:
            w = make(seed=seed, budget_fraction=fb, deadline_fraction=ft)
            m = ob.solve(w, method="mcpp", seed=1, options={"episodes": EPISODES, "candidates": 8, "rollouts": 48})
            base = max(
                (ob.solve(w, method=b, seed=1, options={"episodes": EPISODES}) for b in BASELINES), key=lambda r: r.objective
            )
            dp = WorkflowDP(w).value if dp_unsupported(w) is None else float("nan")
            s, b = m.stats, base.stats
            clear = s["ci_high"] < b["ci_low"]
            verdict = (
                "mcpp below" if clear else ("ok" if np.isnan(dp) or abs(s["completion"] - dp) <= 0.02 else "ok (DP gap > 0.02)")
            )
            print(
                f"{w.budget:6} {w.deadline:7.0f}  | {s['completion']:.3f} [{s['ci_low']:.3f},{s['ci_high']:.3f}] | "
                f"{b['completion']:.3f} [{b['ci_low']:.3f},{b['ci_high']:.3f}] {base.method:9} | {dp:.4f}   | "
                f"{s['completion'] - dp:+.3f}  | {verdict}"
            )


def tokens():
    print("\ntoken allocation: value at equal tokens (mean over 5 instances of 500 prompts, 8 x 8 options)")
    print("budget fraction | joint    | rollouts-only | length-only | gain vs rollouts | gain vs length")
    opts = dict(rollout_counts=tuple(range(2, 18, 2)), length_caps=tuple(512 * i for i in range(1, 9)))
    for frac in (0.05, 0.1, 0.2, 0.3, 0.5):
        vals = np.array(
            [
                [ob.solve(p, method=m).objective for m in ("mckp", "rollouts_only", "length_only")]
                for p in (ob.TokenBudgetAllocation.random(500, budget_fraction=frac, seed=s, **opts) for s in range(5))
            ]
        )
        j, r, ln = vals.mean(axis=0)
        assert (vals[:, 0] >= vals[:, 1:].max(axis=1) - 1e-12).all()
        print(f"{frac:15} | {j:8.3f} | {r:13.3f} | {ln:11.3f} | {100 * (j / r - 1):+15.1f}% | {100 * (j / ln - 1):+13.1f}%")
    p = ob.TokenBudgetAllocation.random(10_000, budget_fraction=0.2, seed=0, **opts)
    ob.solve(p)
    t = time.perf_counter()
    r = ob.solve(p)
    print(f"\n10^4 prompts x {p.n_options} options: {time.perf_counter() - t:.3f} s ({r.method}, {r.status.name})")


if __name__ == "__main__":
    tokens()
    grid(ob.AgentWorkflow.code_like)
    grid(ob.AgentWorkflow.proof_like)
