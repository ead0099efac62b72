"""Overhead of every registered method (issue 15), measured with two busy background processes on the machine.

Per registered (family, method, backend):

- ``warm``: the best of three calls on a small instance once the method has run in the process;
- ``first``: the first call in a fresh process (one per family, after ``import orbudget``, whose time is
  printed per family): numba's on-disk cache, torch and solver imports not already loaded by the family's earlier
  methods;
- for the long methods (registered ``long=True``): how far past ``time_limit`` (2 s by default) the call returned
  on a large instance (warm), with the status and limit it gave back.

Then before/after figures for the three defaults issue 15 changed: the default online benchmark on second-price
auctions, one ``ob.RCO.step()`` on a 5x4 problem, and ``RolloutAllocation`` at n = 4,096 (with the number of value
table builds). "Before" runs the code of ``--before`` (a git commit, checked out into a temporary worktree and
removed afterwards) in a subprocess.

The small and large instances are the contract catalogue's (``tests/contract/test_keywords.py``), so a new method is
measured the day it is registered. Run from a source checkout::

    python benchmarks/overhead.py [--limit 2] [--before 9fdd2f7] [--only mip,cpsat] [--no-before]

It takes about ten minutes on two busy cores; the output of one run is kept in benchmarks/results/overhead.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIRST_CALL = r"""
import json, pickle, sys, time
t0 = time.perf_counter()
import orbudget as ob
print(json.dumps({"import": time.perf_counter() - t0}), flush=True)
with open(sys.argv[1], "rb") as f:
    cases = pickle.load(f)
for p, method, backend, options in cases:  # one family per process: a method's first call pays what it alone loads
    kw = dict(method=method, backend=backend, options=options)
    t0 = time.perf_counter()
    try:
        ob.solve(p, **kw)
    except Exception as exc:
        print(json.dumps({"case": [method, backend], "error": f"{type(exc).__name__}: {exc}"[:100]}), flush=True)
        continue
    first = time.perf_counter() - t0
    warm = []
    for _ in range(3):
        t0 = time.perf_counter(); ob.solve(p, **kw); warm.append(time.perf_counter() - t0)
    print(json.dumps({"case": [method, backend], "first": first, "warm": min(warm)}), flush=True)
"""

PAST_LIMIT = r"""
import json, sys, time
import numpy as np
import orbudget as ob
cases, limit = json.loads(sys.argv[1])
for method, backend, options, quick, build, small in cases:  # imports and compilation are not timed
    try:
        ob.solve(eval(small), method=method, backend=backend, options=quick)
    except Exception:
        pass
built = {}
for method, backend, options, quick, build, small in cases:
    if build not in built:
        ns = {"ob": ob, "np": np}
        exec(build, ns)
        built[build] = ns["p"]
    t0 = time.perf_counter()
    try:
        r = ob.solve(built[build], method=method, backend=backend, options=options, time_limit=limit)
        out = {"seconds": time.perf_counter() - t0, "status": r.status.value, "limit": r.limit.value if r.limit else None}
    except Exception as exc:
        out = {"error": f"{type(exc).__name__}: {exc}"[:100]}
    print(json.dumps({"case": [method, backend], **out}), flush=True)
"""

AUCTION = r"""
import json, sys, time
import orbudget as ob
T = int(sys.argv[1])
ob.solve(ob.online_inputs.random_auctions(200, seed=0, budget_rate=0.05))  # compilation not timed
p = ob.online_inputs.random_auctions(T, seed=0, budget_rate=0.05)
t0 = time.perf_counter()
r = ob.solve(p)
print(json.dumps({"total": time.perf_counter() - t0, "policy": r.timings.get("policy"),
                  "kind": r.stats.get("hindsight_kind"), "hindsight": r.stats.get("hindsight")}))
"""

RCO_STEP = r"""
import json, time
import torch
import orbudget as ob
g = torch.Generator().manual_seed(0)
costs = torch.tensor([[1.0, 2.0, 3.0, 4.0]] * 5, dtype=torch.float64)
alpha = torch.zeros(5, 4, dtype=torch.float64, requires_grad=True)
opt = ob.RCO([alpha], costs=costs, budget=12.5, lr=0.1)
target = torch.randn(5, 4, generator=g, dtype=torch.float64)
times = []
for i in range(40):
    opt.zero_grad()
    loss = ((torch.softmax(alpha, -1) - torch.softmax(target, -1)) ** 2).sum()
    loss.backward()
    t0 = time.perf_counter(); opt.step(); times.append(time.perf_counter() - t0)
times = sorted(times[5:])
print(json.dumps({"median": times[len(times) // 2], "threads": torch.get_num_threads()}))
"""

ROLLOUTS = r"""
import json, time
import orbudget as ob
import orbudget.problems.rollouts as rollouts
calls = []
real = rollouts.value_table
rollouts.value_table = lambda *a, **k: calls.append(1) or real(*a, **k)
p = ob.RolloutAllocation.synthetic(4096, 8, seed=0)
ob.solve(ob.RolloutAllocation.synthetic(64, 8, seed=0))
times = []
for _ in range(7):
    calls.clear()
    t0 = time.perf_counter(); ob.solve(p); times.append(time.perf_counter() - t0)
print(json.dumps({"median": sorted(times)[3], "builds": len(calls)}))
"""


def child_lines(code: str, args: list[str], env=None, timeout: float = 60.0) -> tuple[list[dict], str | None]:
    """The JSON lines a child printed (all of them, or those before ``timeout``) and an error, if any."""
    error = None
    try:
        out = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=tempfile.gettempdir(),
        )
        stdout, stderr = out.stdout, out.stderr
        if out.returncode != 0:
            error = ((stderr or "").strip().splitlines() or [f"exit {out.returncode}"])[-1][:100]
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        error = f"no answer within {timeout:.0f} s"
    return [json.loads(ln) for ln in stdout.splitlines() if ln.startswith("{")], error


def child(code: str, args: list[str], env=None, timeout: float = 60.0) -> dict:
    lines, error = child_lines(code, args, env, timeout)
    return lines[-1] if lines else {"error": error or "no output"}


def busy_processes(n: int = 2) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def fmt(v, unit="s") -> str:
    if v is None:
        return "-"
    if v < 1e-3:
        return f"{v * 1e6:.0f} µs"
    if v < 1:
        return f"{v * 1e3:.1f} ms"
    return f"{v:.2f} {unit}"


def per_method(limit: float, only: set | None) -> None:
    from tests.contract import test_keywords as C

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    header = f"{'family':22} {'method':14} {'backend':8} {'first':>9} {'warm':>9}  past limit ({limit:g} s) [status, limit]"
    print(header)
    print("-" * len(header), flush=True)
    families: dict[str, list] = {}
    for spec in C.SPECS:
        if not only or spec.method in only:
            families.setdefault(spec.problem.__name__, []).append(spec)
    with tempfile.TemporaryDirectory() as tmp:
        for name, specs in families.items():
            rows, cases, long_cases = {}, [], []
            for spec in specs:
                key = (spec.method, spec.backend)
                rows[key] = f"{name:22} {spec.method:14} {spec.backend:8}"
                if not spec.available:
                    rows[key] += " backend not installed"
                    continue
                p = next((q for q in C._small_instances(name) if spec.reason_unsupported(q) is None), None)
                if p is None:
                    rows[key] += " no small instance it supports"
                    continue
                cases.append((p, spec.method, spec.backend, C._quick(spec)))
                if spec.long and "time_limit" not in (spec.honours or ()):
                    rows[key] += "\0  - (long, but takes no time_limit)"
                elif spec.long and name in C.SMALL_CODE:
                    long_cases.append(
                        [
                            spec.method,
                            spec.backend,
                            C.LARGE_OPTIONS.get((name, spec.method), {}),
                            C._quick(spec),
                            C._large_code(spec),
                            C._small_code(spec),
                        ]
                    )
            path = Path(tmp) / "cases.pkl"
            path.write_bytes(pickle.dumps(cases))
            lines, error = child_lines(FIRST_CALL, [str(path)], env=env, timeout=40 + 20 * len(cases))
            imported = next((ln["import"] for ln in lines if "import" in ln), None)
            done = {tuple(ln["case"]): ln for ln in lines if "case" in ln}
            for _, method, backend, _ in cases:
                ln = done.get((method, backend))
                row, _, note = rows[(method, backend)].partition("\0")
                rows[(method, backend)] = (
                    row
                    + (
                        f" {ln['error']}"
                        if ln and "error" in ln
                        else f" {fmt(ln['first']):>9} {fmt(ln['warm']):>9}"
                        if ln
                        else f" {error or 'no result'}"
                    )
                    + note
                )
            if long_cases:
                code = PAST_LIMIT
                lines, error = child_lines(
                    code, [json.dumps([long_cases, limit])], env=env, timeout=30 + len(long_cases) * (2 * limit + 10)
                )
                done = {tuple(ln["case"]): ln for ln in lines if "case" in ln}
                for method, backend, *_ in long_cases:
                    ln = done.get((method, backend))
                    rows[(method, backend)] += (
                        f"  {ln['error']}"
                        if ln and "error" in ln
                        else f"  {ln['seconds'] - limit:+.2f} s [{ln['status']}, {ln['limit']}]"
                        if ln
                        else f"  {error or 'no result'}"
                    )
            print(f"# {name}: import orbudget {fmt(imported)} in a fresh process")
            for row in rows.values():
                print(row, flush=True)


def before_after(before: str | None) -> None:
    print("\nbefore/after (issue 15), median or single run as stated; before = " + (before or "not run"))
    now = dict(os.environ, PYTHONPATH=str(ROOT))
    worktree = None
    if before:
        worktree = Path(tempfile.mkdtemp(prefix="orbudget_before_"))
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(worktree), before], check=True, capture_output=True
        )
    try:
        then = dict(os.environ, PYTHONPATH=str(worktree)) if worktree else None
        for label, env in (("after", now), ("before", then)):
            if env is None:
                continue
            for T, cap in ((30_000, 240), (100_000, 60 if label == "before" else 240)):
                r = child(AUCTION, [str(T)], env=env, timeout=cap)
                what = (
                    r["error"]
                    if "error" in r
                    else f"total {fmt(r['total'])}, policy {fmt(r['policy'])}, benchmark "
                    f"{fmt(r['total'] - (r['policy'] or 0))} ({r['kind']}, {r['hindsight']:.6g})"
                )
                print(f"  {label:6} solve(random_auctions({T:,})) default benchmark: {what}", flush=True)
            r = child(RCO_STEP, [], env=env)
            what = r.get("error") or f"median {fmt(r['median'])} (torch threads after: {r['threads']})"
            print(f"  {label:6} RCO.step() 5x4: {what}", flush=True)
            r = child(ROLLOUTS, [], env=env)
            what = r.get("error") or f"median solve {fmt(r['median'])}, value table built {r['builds']}x per solve"
            print(f"  {label:6} RolloutAllocation n=4,096 default solve: {what}", flush=True)
    finally:
        if worktree:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], capture_output=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=float, default=2.0, help="time_limit given to the long methods (s)")
    ap.add_argument("--before", default="9fdd2f7", help="commit for the 'before' figures")
    ap.add_argument("--no-before", action="store_true")
    ap.add_argument("--only", help="comma-separated methods (default: all)")
    ap.add_argument("--no-methods", action="store_true", help="only the before/after figures")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="no before figures (no worktree of the old commit) and a 1 s limit (`orbudget bench --quick`)",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.no_before, args.limit = True, min(args.limit, 1.0)
    busy = busy_processes(2)
    t0 = time.perf_counter()
    try:
        print(
            f"orbudget overhead, {os.cpu_count()} CPUs, two busy background processes "
            f"(pids {', '.join(str(b.pid) for b in busy)})\n",
            flush=True,
        )
        if not args.no_methods:
            per_method(args.limit, set(args.only.split(",")) if args.only else None)
        before_after(None if args.no_before else args.before)
    finally:
        for b in busy:
            b.kill()
            b.wait()
    print(f"\nwall time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
