"""First contact: what a new user waits for, in CPU seconds of a fresh child process (interpreter start included),
against the targets of issue 28 side by side. ``--cold`` also runs every family's first default solve with an empty
numba cache (``NUMBA_CACHE_DIR`` pointed at a new folder, so nothing of the install's cache is touched), and a cold
``time_limit=2`` call; without it, the install's cache as it is (warm after ``orbudget warmup``).

Run: ``python benchmarks/first_contact.py [--cold]``, or ``orbudget bench first_contact``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _table import print_table  # noqa: E402

FAMILIES = {  # model -> the expression that builds the warmup's instance (see orbudget/warmup.py)
    "MultipleChoiceKnapsack": "ob.MultipleChoiceKnapsack.random(20, 8, seed=0)",
    "RolloutAllocation": "ob.RolloutAllocation.synthetic(32, 8, seed=0)",
    "OnlineAllocation": "ob.online_inputs.iid_matching(500, 5, seed=0)",
    "BanditsWithKnapsacks": "ob.BanditsWithKnapsacks.random(4, 2, horizon=500, seed=0)",
    "BiddingCampaign": "ob.BiddingCampaign.synthetic(n_test=2_000, n_train=2_000, seed=0)",
    "CoupledRMAB": "ob.CoupledRMAB.myopic_trap()",
    "SampleAllocation": "ob.SampleAllocation.random(10, seed=0)",
    "ModelRouting": "ob.ModelRouting.random(20, 4, seed=0)",
    "AgentWorkflow": "ob.AgentWorkflow.chain(3, seed=0)",
}


def child(code: str, env: dict | None = None, args: list[str] | None = None) -> tuple[float, float, str]:
    """``(cpu seconds, wall seconds, stdout)`` of ``python -c code`` (or ``python args``) in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, *(args or ["-c", code])], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return cpu, wall, out.stdout.strip()


def first_solve(model: str, env=None) -> tuple[float, float, str]:
    code = (
        "import time; t0 = time.process_time(); import orbudget as ob\n"
        f"p = {FAMILIES[model]}; t1 = time.process_time(); r = ob.solve(p)\n"
        "print(f'{r.method} solve {time.process_time() - t1:.2f} s CPU, compile {r.timings.get(\"compile\", 0):.1f} s')"
    )
    return child(code, env)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cold", action="store_true", help="also the first solves with an empty numba cache (minutes)")
    ap.add_argument("--quick", action="store_true", help="accepted for `orbudget bench --quick`; the same runs")
    args = ap.parse_args(argv)
    rows = []
    cpu, wall, _ = child("", args=["-m", "orbudget.cli", "--version"])
    rows.append(["orbudget --version", cpu, wall, 0.3, ""])
    cpu, wall, _ = child("import orbudget")
    rows.append(["import orbudget", cpu, wall, 0.4, ""])
    for model in FAMILIES:
        cpu, wall, note = first_solve(model)
        rows.append([f"first solve, cache as installed: {model}", cpu, wall, None, note])
    if args.cold:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            for model in FAMILIES:
                cpu, wall, note = first_solve(model, env)
                target = 5.0 if model == "MultipleChoiceKnapsack" else 8.0
                rows.append([f"first solve, empty cache: {model}", cpu, wall, target, note])
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            code = (
                "import time; import orbudget as ob; p = ob.MultipleChoiceKnapsack.random(60, 8, seed=0)\n"
                "t0 = time.perf_counter(); r = ob.solve(p, time_limit=2)\n"
                "print(f'{r.status.value} after {time.perf_counter() - t0:.2f} s wall')"
            )
            cpu, wall, note = child(code, env)
            rows.append(["cold call with time_limit=2", cpu, wall, None, note + " (target: an answer within 3.2 s)"])
    print_table(
        "First contact: CPU seconds of a fresh process, interpreter start and imports included (the wall time beside "
        "it; target: the issue's bound on CPU seconds)",
        ["what", "CPU s", "wall s", "target CPU s", "note"],
        rows,
    )


if __name__ == "__main__":
    main()
