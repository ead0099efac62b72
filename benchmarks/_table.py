"""Side-by-side tables for the benchmarks: each row names the instance, and each tool gets time and objective;
``ratio`` is the peer's time over ours (>1 means ours is faster)."""

from __future__ import annotations

import time


def timed(fn, repeat: int = 1):
    """Best wall time of ``repeat`` runs and the last return value."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def print_table(title: str, head: list[str], rows: list[list]) -> None:
    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.6g}"
        return str(v)

    cells = [head] + [[fmt(v) for v in r] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    print(f"\n{title}")
    for k, row in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
        if k == 0:
            print("  ".join("-" * w for w in widths))
