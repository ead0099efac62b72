"""Field checks and file readers the LLM models share."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.validation import as_array, as_choice, as_scalar


def _names(field: str, value, size: int):
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise InvalidProblemError(f"`{field}` must be a sequence of {size} strings; got {value!r:.60}")
    names = tuple(value)
    if len(names) != size or not all(isinstance(s, str) for s in names):
        raise InvalidProblemError(f"`{field}` must be a sequence of {size} strings; got {len(names)} entries")
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:  # a name must say which row it is
            raise InvalidProblemError(f"`{field}` must be distinct; {name!r} is at {seen[name]} and {i}")
        seen[name] = i
    return names


def _per_item_ints(field: str, value, size: int, minimum: int) -> np.ndarray:
    if np.ndim(value) == 0:
        v = as_scalar(field, value, integer=True, minimum=minimum)
        arr = np.full(size, v, np.int64)
        arr.setflags(write=False)
        return arr
    return as_array(field, value, shape=(size,), dtype=int, low=minimum)


def _read_rows(path, file_format) -> list[dict]:
    path = Path(path)
    fmt = file_format or {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}.get(path.suffix.lower())
    fmt = as_choice("file_format", fmt, ("csv", "jsonl"))
    if not path.is_file():
        raise InvalidProblemError(f"`path` {path} is not a file")
    text = path.read_text()
    if fmt == "csv":
        rows = [dict(r) for r in csv.DictReader(text.splitlines())]
    else:
        rows = []
        for i, line in enumerate(text.splitlines()):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidProblemError(f"`path` {path}: line {i + 1} is not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise InvalidProblemError(f"`path` {path}: line {i + 1} is not a JSON object")
            rows.append(row)
    if not rows:
        raise InvalidProblemError(f"`path` {path} has no rows")
    return rows


def _number(path, row: int, key: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidProblemError(f"`{key}` in row {row} of {path} must be a number; got {value!r:.40}") from None
    if not math.isfinite(v):
        raise InvalidProblemError(f"`{key}` in row {row} of {path} must be finite; got {value!r:.40}")
    return v
