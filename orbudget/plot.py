"""matplotlib figures from sweep records: frontiers (a value against a budget) and regret curves (log-log, with the
fitted slope in the legend). Points are averaged over seeds with standard-error bars; failed points are skipped."""

from __future__ import annotations

import numpy as np

from .batch import summarize


def _lines(records, x, y, by):
    rows = summarize(records, [x] + ([by] if by else []), y)
    groups: dict = {}
    for r in rows:
        groups.setdefault(r.get(by) if by else None, []).append(r)
    for key in groups:
        groups[key].sort(key=lambda r: r[x])
    return groups


def frontier(records, x: str, y: str, *, by: str | None = None, ax=None, label_format: str = "{}"):
    """Plot mean ``y`` against ``x`` (e.g. value against budget), one line per ``by`` value; returns the Axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    for key, rows in _lines(records, x, y, by).items():
        xs = [r[x] for r in rows]
        ys = [r[f"{y}_mean"] for r in rows]
        err = [r[f"{y}_se"] or 0.0 for r in rows]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=2, label=label_format.format(key) if by else None)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if by:
        ax.legend(title=by, fontsize=8)
    return ax


def regret_curve(records, x: str = "horizon", y: str = "regret", *, by: str | None = "method", ax=None):
    """Log-log plot of mean ``y`` against ``x`` per ``by``, each labelled with its fitted slope; returns the Axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(5, 3.5))[1]
    for key, rows in _lines(records, x, y, by).items():
        xs = np.array([r[x] for r in rows], float)
        ys = np.array([r[f"{y}_mean"] for r in rows], float)
        keep = (xs > 0) & (ys > 0)
        slope = np.polyfit(np.log(xs[keep]), np.log(ys[keep]), 1)[0] if keep.sum() >= 2 else float("nan")
        ax.loglog(xs[keep], ys[keep], "o-", label=f"{key} (slope {slope:.2f})" if by else f"slope {slope:.2f}")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(fontsize=8)
    return ax
