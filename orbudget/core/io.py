"""``orbudget.save`` / ``orbudget.load``: JSON with a ``kind`` and a format ``version``; large arrays go to a
``.npz`` file beside it.

A save is atomic as one unit: the arrays are written first, to a file named by their content hash
(``p.<hash>.npz``), and the JSON manifest last, naming that file and its SHA-256. Each write is a temporary file
in the same folder, then ``os.replace``. A reader therefore sees the old pair or the new pair: a save killed
between the two writes leaves the old manifest (and its own arrays) in place, and a manifest whose arrays file is
missing or differs from its digest is refused, never mixed. Files get the mode the user's umask allows (0644 under
umask 022), like any file a program creates.

``load`` checks everything it reads and raises `InvalidFileError` (an ``InvalidProblemError``) whose message
starts with the file's path and names what is wrong (a field in backticks), never a bare ``KeyError``.
"""

from __future__ import annotations

import enum
import hashlib
import inspect
import io as _io
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidProblemError
from .registry import load_adapters

FORMAT_VERSION = 1
LARGE_ARRAY = 4096  # arrays with more elements than this are stored in the .npz beside the JSON
_ARRAY_KINDS = "biufU"  # dtypes a file may hold: bool, integers, floats, strings (never complex or objects)

_KINDS: dict[str, Any] = {}  # kind name -> a class with from_dict


class InvalidFileError(InvalidProblemError):
    """A file ``orbudget.load`` cannot read: the message is ``<path>: <what is wrong>`` (``path`` is kept too)."""

    path: str | None = None


class DuplicateKeyError(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _no_duplicate_keys(pairs: list) -> dict:
    """``json``'s object hook: the object, or DuplicateKeyError naming a key given twice."""
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(key)
        out[key] = value
    return out


def _bad(path, what: str) -> InvalidFileError:
    err = InvalidFileError(f"{path}: {what}")
    err.path = str(path)
    return err


def register_kind(cls: type) -> type:
    """Class decorator: make ``cls`` loadable by ``orbudget.load`` (needs ``to_dict`` and ``from_dict``)."""
    _KINDS[cls.__name__] = cls
    return cls


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a torn one.

    The temporary file is created with mode 0o666, so the kernel applies the umask as for ``open`` (``mkstemp``
    would force 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:  # pragma: no cover - a 64-bit name collision
            continue
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


def _encode(value: Any, arrays: dict | None, where: str = "data") -> Any:
    """JSON-ready form of ``value``; large arrays go to ``arrays`` (all inline when ``arrays`` is None).

    ``where`` is the field path, named when a value cannot be saved (complex numbers are refused, not cut to their
    real part)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "c":
            raise InvalidProblemError(f"`{where}` holds complex numbers; orbudget saves real arrays only")
        if arrays is not None and value.size > LARGE_ARRAY:
            key = f"a{len(arrays)}"
            arrays[key] = value
            return {"__npz__": key}
        return {"__array__": value.tolist(), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (complex, np.complexfloating)):
        raise InvalidProblemError(f"`{where}` is a complex number ({value}); orbudget saves real values only")
    if isinstance(value, np.generic):
        return _encode(value.item(), arrays, where)
    if isinstance(value, dict):
        return {str(k): _encode(v, arrays, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) and not np.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "to_dict"):
        return _encode(value.to_dict(), arrays, where)
    raise TypeError(f"cannot save `{where}`: a value of type {type(value).__name__}")


def _json_type(value) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _decode(value: Any, arrays, path, where: str) -> Any:
    """Rebuild what `_encode` wrote, checking every marker; errors name the file and the field path."""
    if isinstance(value, dict):
        if "__array__" in value:
            return _decode_array(value, path, where)
        if "__npz__" in value:
            key = value["__npz__"]
            if arrays is None:
                raise _bad(path, f"`{where}` refers to the arrays file, but the file names none (no `arrays`)")
            if not isinstance(key, str) or key not in arrays:
                raise _bad(
                    path,
                    f"`{where}` refers to array {key!r}, which the arrays file does not hold "
                    f"(it holds {', '.join(sorted(arrays)) or 'none'})",
                )
            arr = arrays[key]
            if arr.dtype.kind not in _ARRAY_KINDS:
                kind = "complex numbers" if arr.dtype.kind == "c" else f"dtype {arr.dtype}"
                raise _bad(path, f"`{where}` holds {kind}; orbudget files hold real arrays only")
            return arr
        if "__float__" in value:
            text = value["__float__"]
            if not isinstance(text, str) or text.strip().lower() not in ("inf", "-inf", "+inf", "nan"):
                raise _bad(path, f"`{where}` must be 'inf', '-inf' or 'nan' in `__float__`; got {text!r}")
            return float(text)
        return {k: _decode(v, arrays, path, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays, path, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _decode_array(value: dict, path, where: str) -> np.ndarray:
    missing = [k for k in ("dtype", "shape") if k not in value]
    if missing:
        raise _bad(path, f"`{where}` is an array without `{missing[0]}` (an encoded array has `__array__`, `dtype` and `shape`)")
    extra = sorted(set(value) - {"__array__", "dtype", "shape"})
    if extra:
        raise _bad(path, f"`{where}` is an array with an unknown key `{extra[0]}`")
    try:
        dtype = np.dtype(value["dtype"]) if isinstance(value["dtype"], str) else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in _ARRAY_KINDS:
        what = "complex numbers" if dtype is not None and dtype.kind == "c" else repr(value["dtype"])
        raise _bad(path, f"`{where}.dtype` must name a real numeric, boolean or string dtype; got {what}")
    shape = value["shape"]
    if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise _bad(path, f"`{where}.shape` must be a list of non-negative whole numbers; got {shape!r}")
    try:
        arr = np.array(value["__array__"], dtype=dtype)
        return arr.reshape(shape)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _bad(path, f"`{where}` does not hold a {value['dtype']} array of shape {tuple(shape)}: {exc}") from None


def _arrays_name(path: Path, digest: str) -> str:
    return f"{path.stem}.{digest[:16]}.npz"


def _referenced_arrays(path: Path) -> str | None:
    """The arrays file named by the manifest now at ``path`` (to remove once a new save replaced it), if any."""
    try:
        payload = json.loads(path.read_text())
        name = payload.get("arrays") if isinstance(payload, dict) else None
    except (OSError, ValueError):
        return None
    return name if isinstance(name, str) and name == Path(name).name else None


def save(obj, path: str | os.PathLike) -> Path:
    """Save a problem or a result to ``path`` (JSON; a ``.npz`` beside it holds large arrays).

    The arrays file is written first under a name made of its content hash, and the JSON last, naming it with its
    SHA-256: the pair is replaced as one unit (see the module docstring). Complex values are refused naming the
    field."""
    path = Path(path)
    if not callable(getattr(obj, "to_dict", None)):
        hint = (
            "; for a policy, save its state with torch.save(obj.state_dict(), path) or pickle"
            if callable(getattr(obj, "state_dict", None))
            else ""
        )
        raise TypeError(f"`obj`: ob.save writes problems and results (objects with to_dict()); got a {type(obj).__name__}{hint}")
    d = obj.to_dict()
    if "kind" not in d:
        raise TypeError(f"{type(obj).__name__}.to_dict() has no `kind`")
    arrays: dict[str, np.ndarray] = {}
    payload = {"kind": d["kind"], "version": FORMAT_VERSION, "data": _encode(_fields_of(d), arrays)}
    previous = _referenced_arrays(path)
    if arrays:
        buf = _io.BytesIO()
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as its `allow_pickle`
        blob = buf.getvalue()
        digest = hashlib.sha256(blob).hexdigest()
        payload["arrays"] = _arrays_name(path, digest)
        payload["arrays_sha256"] = digest
        atomic_write_bytes(path.parent / payload["arrays"], blob)  # first: readers of the old manifest never see it
    atomic_write_bytes(path, json.dumps(payload, indent=1).encode())  # last: the commit point of the save
    if previous is not None and previous != payload.get("arrays"):
        try:
            (path.parent / previous).unlink()
        except OSError:
            pass
    return path


def _read_arrays(path: Path, payload: dict) -> dict[str, np.ndarray]:
    name = payload["arrays"]
    if not isinstance(name, str) or not name or name != Path(name).name or name in (".", ".."):
        raise _bad(path, f"`arrays` must be the name of a .npz file in the same folder; got {name!r}")
    digest = payload.get("arrays_sha256")
    if digest is not None and not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
        raise _bad(path, f"`arrays_sha256` must be 64 hex digits; got {digest!r}")
    npz = path.parent / name
    try:
        blob = npz.read_bytes()
    except FileNotFoundError:
        raise _bad(path, f"its arrays file {name} is missing (an interrupted save, or the JSON was copied without it)") from None
    except OSError as exc:
        raise _bad(path, f"cannot read its arrays file {name}: {exc.strerror or exc}") from None
    if digest is not None and hashlib.sha256(blob).hexdigest() != digest:
        raise _bad(
            path,
            f"its arrays file {name} does not match `arrays_sha256` (a torn or mixed save: the JSON and "
            "the .npz come from different saves); save the problem again",
        )
    try:
        with np.load(_io.BytesIO(blob), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as exc:  # noqa: BLE001 - zipfile, zlib and numpy each raise their own kind for a corrupt .npz
        raise _bad(path, f"its arrays file {name} is not a readable .npz ({type(exc).__name__}: {exc})") from None


def keyword_fields(cls: type) -> list:
    """The keyword parameters of ``cls`` (a dataclass's init fields): what a file's ``data`` may hold for it."""
    return [p for p in inspect.signature(cls).parameters.values() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def file_schema() -> dict:
    """The JSON Schema (draft 2020-12) of the files `save` writes and `load` reads, built from the loadable kinds:
    the envelope (``kind``, ``version``, ``data``, and ``arrays``/``arrays_sha256`` beside large arrays) and, per
    kind, the fields ``data`` may hold (those without a default required; no others). Values are left open: the
    models check them when the file is loaded. ``docs/orbudget-file.schema.json`` is this schema."""
    load_adapters()  # the models register their kinds when they are imported
    per_kind = []
    for name, cls in sorted(_KINDS.items()):
        params = keyword_fields(cls)
        data = {
            "type": "object",
            "properties": {"kind": {"const": name}, **{p.name: {} for p in params}},
            "required": [p.name for p in params if p.default is p.empty],
            "additionalProperties": False,
        }
        per_kind.append({"if": {"properties": {"kind": {"const": name}}}, "then": {"properties": {"data": data}}})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "orbudget problem or result file",
        "type": "object",
        "required": ["kind", "version", "data"],
        "properties": {
            "kind": {"enum": sorted(_KINDS)},
            "version": {"const": FORMAT_VERSION},
            "data": {"type": "object"},
            "arrays": {"type": "string"},
            "arrays_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        },
        "additionalProperties": False,
        "allOf": per_kind,
    }


def check_fields(cls: type, data: dict, where: str = "data") -> None:
    """Refuse keys that ``cls`` does not take and required ones that are missing, naming them (one generic check
    for every kind: the keyword parameters of ``cls``, i.e. a dataclass's init fields)."""
    if any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls).parameters.values()):
        return
    params = keyword_fields(cls)
    names = [p.name for p in params]
    unknown = sorted(set(data) - set(names) - {"kind"})
    if unknown:
        raise InvalidProblemError(
            f"`{unknown[0]}` in `{where}` is not a field of {cls.__name__} (a typo?); its fields are {', '.join(names)}"
        )
    missing = [p.name for p in params if p.default is p.empty and p.name not in data]
    if missing:
        raise InvalidProblemError(f"`{missing[0]}` is missing from `{where}` (a {cls.__name__} needs it)")


def read_json(path: str | os.PathLike):
    """The JSON value in ``path``; an empty, cut-short, binary or invalid file raises `InvalidFileError`
    naming the file and the line (a missing file raises ``FileNotFoundError``)."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(
            path, "not a JSON file: not UTF-8 text (orbudget files are JSON; a .npz is read through the JSON that names it)"
        ) from None
    if not text.strip():
        raise _bad(path, "the file is empty")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except DuplicateKeyError as exc:
        raise _bad(path, f"key `{exc.key}` appears twice in one object (JSON keeps one silently; orbudget refuses)") from None
    except json.JSONDecodeError as exc:
        cut = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        raise _bad(
            path,
            f"not valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno})" + ("; the file looks cut short" if cut else ""),
        ) from None
    except RecursionError:
        raise _bad(path, "not valid JSON: nested too deeply") from None


def load(path: str | os.PathLike):
    """Load what `save` wrote; the ``kind`` field says which class to rebuild.

    Raises `InvalidFileError` (an ``InvalidProblemError``) whose message starts with ``path`` and says what
    is wrong: not JSON, cut short, not an orbudget file, an unknown kind or version, a malformed array, an unknown
    or missing field, a missing or mismatched arrays file, or a field the model refuses. A missing file raises
    ``FileNotFoundError``."""
    path = Path(path)
    payload = read_json(path)
    if not isinstance(payload, dict):
        raise _bad(
            path, f"not an orbudget file: expected a JSON object with `kind`, `version` and `data`; got {_json_type(payload)}"
        )
    for key in ("kind", "version", "data"):
        if key not in payload:
            raise _bad(path, f"not an orbudget file (no `{key}`)")
    extra = sorted(set(payload) - {"kind", "version", "data", "arrays", "arrays_sha256"})
    if extra:
        raise _bad(
            path,
            f"unknown key `{extra[0]}` at the top level (expected `kind`, `version`, `data`, and "
            "`arrays`/`arrays_sha256` with large arrays)",
        )
    version = payload["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _bad(path, f"`version` must be a whole number >= 1; got {version!r}")
    if version > FORMAT_VERSION:
        raise _bad(path, f"has format version {version}; this orbudget reads up to {FORMAT_VERSION} (upgrade orbudget)")
    kind = payload["kind"]
    if not isinstance(kind, str):
        raise _bad(path, f"`kind` must be a string; got {_json_type(kind)}")
    if kind not in _KINDS:
        load_adapters()  # the models register their kinds when they are imported
    if kind not in _KINDS:
        raise _bad(path, f"unknown kind {kind!r}; known: {', '.join(sorted(_KINDS))}")
    if not isinstance(payload["data"], dict):
        raise _bad(path, f"`data` must be an object with the {kind}'s fields; got {_json_type(payload['data'])}")
    arrays = _read_arrays(path, payload) if "arrays" in payload else None
    data = _decode(payload["data"], arrays, path, "data")
    inner = data.pop("kind", kind)
    if inner != kind:
        raise _bad(path, f"`data.kind` is {inner!r} but the file's `kind` is {kind!r}")
    cls = _KINDS[kind]
    try:
        check_fields(cls, data)
        return cls.from_dict(data)
    except InvalidFileError:
        raise
    except InvalidProblemError as exc:
        raise _bad(path, str(exc)) from exc
    except (TypeError, ValueError) as exc:  # a model whose own checks missed a value of the wrong type
        raise _bad(path, f"`data` does not describe a valid {kind}: {type(exc).__name__}: {exc}") from exc


def values_equal(a, b) -> bool:
    """Structural equality that treats numpy arrays by value (used by ``__eq__`` of models and results)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f" and b.dtype.kind == "f"))
        )
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
    return json.dumps({"kind": d["kind"], "version": FORMAT_VERSION, "data": _encode(_fields_of(d), None)})


def _fields_of(d: dict) -> dict:
    """``to_dict()`` without its top-level ``kind``, which the file says once, beside ``data`` (nested objects keep
    theirs; `load` still reads files that repeat it)."""
    return {k: v for k, v in d.items() if k != "kind"}
