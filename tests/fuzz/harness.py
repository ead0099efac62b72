"""Run malformed-input cases in a child interpreter so that a crash (segfault, abort) is a test failure.

A family's fuzz module lists :class:`Case` objects and takes its tests from :func:`suite`::

    CASES = [Case("negative budget", "ob.MultipleChoiceKnapsack(values=[[1]], costs=[[1]], budget=-1)",
                  field="budget"), ...]
    outcomes, test_malformed, test_summary = suite(CASES, "knapsack")   # one child process for the list

A case's ``code`` runs with ``ob`` (orbudget), ``np`` and ``tmp`` (a fresh temporary folder) in scope. It passes when:

* ``field`` is given: the code raises ``error`` (by class name, ``InvalidProblemError`` by default) and the
  message names the field in backticks (`` `field` ``), or contains ``field`` verbatim when ``field`` has a space;
* ``status`` is given: the code sets ``result`` to an ``ob.Result`` whose status name is one of ``status``;
* neither: the code runs to the end without an exception (it makes its own ``assert``s).

The child dies only on a real crash; the case running then fails with the exit code, and the rest still run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass

CASE_TIMEOUT = 240.0  # seconds one case may take before it counts as hung

_CHILD = r"""
import json, sys, tempfile, traceback
import numpy as np
import orbudget as ob
cases = json.loads(sys.stdin.read())
for name, code in cases:
    print("START " + json.dumps(name), flush=True)
    ns = {"ob": ob, "np": np, "tmp": tempfile.mkdtemp(prefix="orbudget-fuzz-")}
    out = {"name": name}
    try:
        exec(compile(code, "<case " + name + ">", "exec"), ns)
        out["outcome"] = "returned"
        r = ns.get("result")
        if isinstance(r, ob.Result):
            out["status"] = r.status.name
            out["message"] = str(r.message)[:500]
    except BaseException as exc:  # noqa: BLE001 - a case reports every exception back to the parent
        out["outcome"] = "raised"
        out["type"] = type(exc).__name__
        out["mro"] = [c.__name__ for c in type(exc).__mro__]
        out["message"] = str(exc)[:2000]
        out["traceback"] = traceback.format_exc()[-3000:]
    print("END " + json.dumps(out), flush=True)
"""


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    field: str | None = None
    error: str = "InvalidProblemError"
    status: tuple[str, ...] | None = None


def _run_child(batch: list[tuple[str, str]]) -> tuple[dict[str, dict], str | None, int | None, str]:
    """Run ``batch`` in one child; return finished outcomes, the case in progress when it died, its code, stderr."""
    env = dict(os.environ, PYTHONFAULTHANDLER="1", MPLBACKEND="Agg")
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    proc.stdin.write(json.dumps(batch))
    proc.stdin.close()
    done: dict[str, dict] = {}
    current = None
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + CASE_TIMEOUT * 2  # first case also pays for the import
    buf = ""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            proc.kill()
            proc.wait()
            return done, current, -9, f"hung for more than {CASE_TIMEOUT:.0f} s"
        if not sel.select(timeout=min(remaining, 5.0)):
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(proc.stdout.fileno(), 65536).decode()
        if not chunk:
            break
        buf += chunk
        while "\n" in buf:
            line, buf = buf.split("\n", 1)
            if line.startswith("START "):
                current = json.loads(line[6:])
                deadline = time.monotonic() + CASE_TIMEOUT
            elif line.startswith("END "):
                out = json.loads(line[4:])
                done[out["name"]] = out
                current = None
    proc.wait()
    err = proc.stderr.read()
    return done, current, proc.returncode, err


def run_cases(cases: list[Case]) -> dict[str, dict]:
    """Outcome per case name; a case that killed its child gets ``outcome='crashed'`` and the rest go on."""
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        raise ValueError("fuzz case names must be unique")
    todo = [(c.name, textwrap.dedent(c.code)) for c in cases]
    outcomes: dict[str, dict] = {}
    while todo:
        done, current, code, err = _run_child(todo)
        outcomes.update(done)
        if current is None:
            missing = [n for n, _ in todo if n not in outcomes]
            if missing:  # died between cases (at import): every remaining case fails with that reason
                for n in missing:
                    outcomes[n] = {"name": n, "outcome": "crashed", "returncode": code, "stderr": err[-3000:]}
            break
        outcomes[current] = {"name": current, "outcome": "crashed", "returncode": code, "stderr": err[-3000:]}
        idx = [n for n, _ in todo].index(current)
        todo = todo[idx + 1 :]
    return outcomes


def check(case: Case, outcomes: dict[str, dict]) -> None:
    """Assert that ``case`` ended as it expects (see the module docstring)."""
    out = outcomes[case.name]
    if out["outcome"] == "crashed":
        raise AssertionError(f"{case.name}: the interpreter died (exit {out['returncode']}):\n{out['stderr']}")
    if case.field is not None:
        assert out["outcome"] == "raised", f"{case.name}: expected {case.error} naming `{case.field}`, got {out}"
        assert case.error in out["mro"], (
            f"{case.name}: expected {case.error}, got {out['type']}: {out['message']}\n{out['traceback']}"
        )
        needle = case.field if " " in case.field else f"`{case.field}`"
        assert needle in out["message"], f"{case.name}: the message does not name {needle}: {out['message']}"
        return
    assert out["outcome"] == "returned", f"{case.name}: raised {out.get('type')}: {out.get('message')}\n{out.get('traceback')}"
    if case.status is not None:
        assert out.get("status") in case.status, f"{case.name}: status {out.get('status')}, expected {case.status}"


def summary(cases: list[Case], outcomes: dict[str, dict]) -> dict[str, int]:
    """Counts for the closing note: tried, clear errors, documented statuses, crashes."""
    return {
        "tried": len(cases),
        "clear_errors": sum(1 for c in cases if c.field and outcomes[c.name]["outcome"] == "raised"),
        "statuses_or_checks": sum(1 for c in cases if not c.field and outcomes[c.name]["outcome"] == "returned"),
        "crashes": sum(1 for c in cases if outcomes[c.name]["outcome"] == "crashed"),
    }


def suite(cases: list[Case], label: str):
    """The three module-level pieces every fuzz module needs, so a module is its list of cases plus its properties::

        outcomes, test_malformed, test_summary = suite(CASES, "knapsack")

    ``outcomes`` runs the cases once per module (in child interpreters); ``test_malformed`` checks each case;
    ``test_summary`` prints the counts for the closing note and requires at least 25 malformed inputs, no crash,
    and every case accounted for."""
    import pytest

    @pytest.fixture(scope="module")
    def outcomes():
        out = run_cases(cases)
        print(f"\n{label} fuzz:", summary(cases, out))
        return out

    @pytest.mark.parametrize("case", cases, ids=lambda c: c.name)
    def test_malformed(case, outcomes):
        check(case, outcomes)

    def test_summary(outcomes):
        counts = summary(cases, outcomes)
        assert sum(1 for c in cases if c.field) >= 25, counts
        assert counts["crashes"] == 0, counts
        assert counts["clear_errors"] + counts["statuses_or_checks"] == counts["tried"], counts

    return outcomes, test_malformed, test_summary
