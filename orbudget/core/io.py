"""``orbudget.save`` / ``orbudget.load``: JSON with a ``kind`` and a format ``version``; large arrays go to a
``.npz`` file beside it. Every write is atomic (temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import enum
import io as _io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_VERSION = 1
LARGE_ARRAY = 4096  # arrays with more elements than this are stored in the .npz beside the JSON

_KINDS: dict[str, type] = {}


def register_kind(cls: type) -> type:
    """Class decorator: make ``cls`` loadable by ``orbudget.load`` (needs ``to_dict`` and ``from_dict``)."""
    _KINDS[cls.__name__] = cls
    return cls


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _encode(value: Any, arrays: dict | None) -> Any:
    """JSON-ready form of ``value``; large arrays go to ``arrays`` (all inline when ``arrays`` is None)."""
    if isinstance(value, np.ndarray):
        if arrays is not None and value.size > LARGE_ARRAY:
            key = f"a{len(arrays)}"
            arrays[key] = value
            return {"__npz__": key}
        return {"__array__": value.tolist(), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _encode(v, arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "to_dict"):
        return _encode(value.to_dict(), arrays)
    raise TypeError(f"cannot save a value of type {type(value).__name__}")


def _decode(value: Any, arrays) -> Any:
    if isinstance(value, dict):
        if "__array__" in value:
            return np.array(value["__array__"], dtype=value["dtype"]).reshape(value["shape"])
        if "__npz__" in value:
            if arrays is None:
                raise ValueError("the JSON refers to arrays in a .npz file that is missing")
            return arrays[value["__npz__"]]
        if "__float__" in value:
            return float(value["__float__"])
        return {k: _decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    return value


def _npz_path(path: Path) -> Path:
    return path.with_suffix(".npz")


def save(obj, path: str | os.PathLike) -> Path:
    """Save a problem or a result to ``path`` (JSON; a ``.npz`` beside it holds large arrays)."""
    path = Path(path)
    d = obj.to_dict()
    if "kind" not in d:
        raise TypeError(f"{type(obj).__name__}.to_dict() has no `kind`")
    arrays: dict[str, np.ndarray] = {}
    payload = {"kind": d["kind"], "version": FORMAT_VERSION, "data": _encode(d, arrays)}
    if arrays:
        buf = _io.BytesIO()
        np.savez_compressed(buf, **arrays)
        payload["arrays"] = _npz_path(path).name
        atomic_write_bytes(_npz_path(path), buf.getvalue())
    atomic_write_bytes(path, json.dumps(payload, indent=1).encode())
    return path


def load(path: str | os.PathLike):
    """Load what :func:`save` wrote; the ``kind`` field says which class to rebuild."""
    from ..problems import _register_all  # noqa: F401  (problem classes register their kinds on import)

    path = Path(path)
    payload = json.loads(path.read_text())
    if not isinstance(payload, dict) or "kind" not in payload or "data" not in payload:
        raise ValueError(f"{path} is not an orbudget file (no `kind`/`data`)")
    if payload.get("version", 0) > FORMAT_VERSION:
        raise ValueError(f"{path} has format version {payload['version']}; this orbudget reads up to {FORMAT_VERSION}")
    kind = payload["kind"]
    if kind not in _KINDS:
        raise ValueError(f"{path}: unknown kind {kind!r}; known: {', '.join(sorted(_KINDS))}")
    arrays = None
    if "arrays" in payload:
        with np.load(path.parent / payload["arrays"]) as npz:
            arrays = {k: npz[k] for k in npz.files}
    data = _decode(payload["data"], arrays)
    data.pop("kind", None)
    return _KINDS[kind].from_dict(data)


def values_equal(a, b) -> bool:
    """Structural equality that treats numpy arrays by value (used by ``__eq__`` of models and results)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and \
            bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f" and b.dtype.kind == "f"))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


def _register_result() -> None:
    from .result import Result

    register_kind(Result)


_register_result()


def to_json(obj) -> str:
    """A problem or result as one JSON document with every array inline (for stdout)."""
    d = obj.to_dict()
    return json.dumps({"kind": d["kind"], "version": FORMAT_VERSION, "data": _encode(d, None)})
