"""``orbudget demo`` (issue 15): quick by default, rows printed as they finish with a progress line before each,
solve/benchmark/other times that add up to the wall time; ``--full`` for the large instances."""

import subprocess
import sys
import time

from orbudget.demos import DEMOS, format_totals, run_demos

from .conftest import needs


def test_rows_stream_with_progress_and_times_that_add_up(capsys):
    seen = []
    t0 = time.perf_counter()
    rows = run_demos("knapsack", progress=True, on_row=lambda row: seen.append((row, time.perf_counter())))
    wall = time.perf_counter() - t0
    assert [r for r, _ in seen] == rows and len(rows) >= 8
    assert all(len(r) == 10 and min(r[6], r[7], r[8]) >= 0 for r in rows)
    # rows finish one after another (not all at the end), and their times cover the wall time
    stamps = [t for _, t in seen]
    assert stamps[-1] - stamps[0] > 0.5 * sum(r[6] + r[7] + r[8] for r in rows[1:])
    total = sum(r[6] + r[7] + r[8] for r in rows)
    assert abs(total - wall) <= 0.03 * wall + 0.05
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("[demo] knapsack:")]
    assert len(lines) == len(rows)  # one progress line per row, before its work
    assert "total:" in format_totals(rows, wall) and f"over {len(rows)} rows" in format_totals(rows)


def test_quick_is_the_default():
    assert DEMOS  # every family registered
    # the default (quick) instances are the small ones; quick=True is the same run
    assert [r[1] for r in run_demos("rco", quick=True)][:1] == [r[1] for r in run_demos("rco")][:1]


def test_online_rows_split_policy_and_benchmark():
    rows = run_demos("online")
    first = rows[0]
    assert first[2] == "dmd" and first[4] is not None and "baseline =" in first[9]
    assert first[7] > 0  # the benchmark's time is reported apart from the policy's
    assert all(r[7] < 1.0 for r in rows[1:] if r[2] != "dmd")  # later methods reuse the benchmark


def test_cli_help_lists_families_and_full():
    out = subprocess.run([sys.executable, "-m", "orbudget.cli", "demo", "--help"], capture_output=True, text=True)
    if out.returncode != 0:  # no __main__ guard: go through main()
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from orbudget.cli import main; sys.argv = ['orbudget', 'demo', '--help']; main()",
            ],
            capture_output=True,
            text=True,
        )
    text = " ".join(out.stdout.split())
    assert "--full" in text and "deprecated" in text
    for name in DEMOS:
        assert name in text


@needs("torch")
def test_demo_rows():
    from orbudget.demos import run_demos

    rows = run_demos("rmab", quick=True)
    methods = [r[2] for r in rows]
    assert methods == ["exact_dp", "sequoia", "index", "myopic", "sampling", "random"]
    by = {r[2]: r for r in rows}
    assert by["sequoia"][5] < 0.1 and by["myopic"][5] > 0.5  # gap to the exact DP
