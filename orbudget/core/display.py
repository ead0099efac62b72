"""Short, readable text for models and results: what ``repr(problem)``, ``Result.summary()`` and the notebook view
(``Result._repr_html_``) print. Arrays are shown by shape and dtype (small ones in full), never element by
element, so a model of 500 prompts prints on one line."""

from __future__ import annotations

import dataclasses
import html
import math
import numbers

import numpy as np

SMALL_ARRAY = 6  # arrays of at most this many elements are printed in full
MAX_STATS = 8  # scalar stats shown by summary(); the rest stay in ``result.stats``


def short_value(v) -> str:
    """One short line for a field value: arrays by shape and dtype (small ones in full), long lists by length."""
    if isinstance(v, np.ndarray):
        if v.size <= SMALL_ARRAY:
            return np.array2string(v, separator=", ", threshold=SMALL_ARRAY).replace("\n", "")
        shape = "×".join(str(s) for s in v.shape)
        return f"<{shape} {v.dtype} array>"
    if isinstance(v, (list, tuple)) and len(v) > SMALL_ARRAY:
        return f"<{type(v).__name__} of {len(v)}>"
    if isinstance(v, float):
        return f"{v:.6g}"
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_default(f: dataclasses.Field, v) -> bool:
    if f.default is not dataclasses.MISSING:
        d = f.default
    elif f.default_factory is not dataclasses.MISSING:
        d = f.default_factory()
    else:
        return False
    if isinstance(v, np.ndarray) or isinstance(d, np.ndarray):
        return False
    try:
        return bool(v == d)
    except (TypeError, ValueError):
        return False


def model_repr(obj) -> str:
    """``Name(field=value, ...)`` for a dataclass model: sizes and scalars, not arrays; fields left at their
    default are left out."""
    parts = []
    for f in dataclasses.fields(obj):
        if not f.repr:
            continue
        v = getattr(obj, f.name)
        if _is_default(f, v):
            continue
        parts.append(f"{f.name}={short_value(v)}")
    return f"{type(obj).__name__}(" + ", ".join(parts) + ")"


def _number(v) -> str:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return str(v)
    if isinstance(v, numbers.Integral):
        return f"{int(v):,}".replace(",", "_") if abs(int(v)) >= 10**5 else str(int(v))
    return f"{float(v):.6g}" if math.isfinite(float(v)) else str(float(v))


def _seconds(s: float) -> str:
    return f"{s * 1000:.3g} ms" if s < 1 else f"{s:.3g} s"


def summary_rows(result) -> list[tuple[str, str]]:
    """(label, text) rows of `Result.summary`: status and limit, objective, bound and gap, method,
    timings, the scalar stats (at most ``MAX_STATS``) and the message."""
    status = result.status.value + (f" (stopped by the {result.limit.value} limit)" if result.limit else "")
    rows = [("status", status)]
    if result.objective is not None:
        rows.append(("objective", _number(result.objective)))
    if result.bound is not None:
        gap = "" if result.gap is None else f"   gap {result.gap:.3g}"
        rows.append(("bound", _number(result.bound) + gap))
    method = str(result.method) + (f" ({result.backend})" if result.backend else "")
    rows.append(("method", method))
    t = dict(result.timings)
    if t:
        total = t.pop("total", None)
        parts = [f"{k} {_seconds(float(v))}" for k, v in t.items() if isinstance(v, numbers.Real)]
        text = (
            (_seconds(total) + " total" if total is not None else "")
            + ("; " if total is not None and parts else "")
            + ", ".join(parts)
        )
        rows.append(("time", text))
    scalars = [
        (k, v)
        for k, v in result.stats.items()
        if isinstance(v, (numbers.Number, str, bool, np.generic)) and not isinstance(v, complex)
    ]
    if scalars:
        shown = ", ".join(f"{k} {_number(v)}" for k, v in scalars[:MAX_STATS])
        more = len(result.stats) - min(len(scalars), MAX_STATS)
        rows.append(("stats", shown + (f" (+{more} more in .stats)" if more else "")))
    if result.message:
        rows.append(("message", result.message))
    return rows


def summary_text(result) -> str:
    rows = summary_rows(result)
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


class Summary(str):
    """What `Result.summary` returns: the table as text (a ``str``, so ``print``, ``splitlines`` and ``in`` work as
    before) that also shows as a table where it is displayed: as HTML in a notebook (``_repr_html_``), as the
    text itself in IPython and the REPL (``__repr__``/``_repr_pretty_``), never as an escaped one-line string."""

    _html: str

    def __new__(cls, text: str, html_text: str = ""):
        self = super().__new__(cls, text)
        self._html = html_text
        return self

    def __repr__(self) -> str:
        return str.__str__(self)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str.__str__(self))

    def _repr_html_(self) -> str:
        return self._html or f"<pre>{html.escape(str.__str__(self))}</pre>"


def summary_html(result) -> str:
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(v)}</td></tr>"
        for k, v in summary_rows(result)
    )
    return f"<table><caption style='text-align:left'><b>orbudget Result</b></caption>{body}</table>"
