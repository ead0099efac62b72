"""Input checking shared by every problem model (one place, messages name the field in backticks)."""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable

import numpy as np

from .errors import InvalidProblemError

SeedLike = int | np.random.Generator | None
"""What every ``seed`` takes: an int, a Generator (used as given) or None."""
Callback = Callable[[dict], bool | None]
"""``callback(info) -> True to stop``: called once per iteration by long methods."""


def _fail(name: str, expected: str, got) -> InvalidProblemError:
    if isinstance(got, np.ndarray):
        got = f"an array of shape {got.shape}"
    return InvalidProblemError(f"`{name}` must be {expected}; got {got}")


def _row_lengths(value) -> list[int] | None:
    """The lengths of ``value``'s rows when it is a ragged list of lists (rows of different lengths), else None."""
    if isinstance(value, np.ndarray) or not isinstance(value, (list, tuple)):
        return None
    try:
        lengths = [len(row) for row in value]
    except TypeError:
        return None
    return lengths if len(set(lengths)) > 1 else None


def as_array(
    name: str,
    value,
    *,
    ndim: int | None = None,
    shape: tuple | None = None,
    dtype=float,
    finite: bool = True,
    nonnegative: bool = False,
    low: float | None = None,
    high: float | None = None,
    allow_empty: bool = False,
) -> np.ndarray:
    """Coerce ``value`` to a read-only numpy array and check it; raise InvalidProblemError naming ``name``.

    ``shape`` may hold ``None`` for a free axis. ``dtype=int`` accepts floats that are whole numbers.

    The result is a copy, except for an array that is already read-only, owns its data and has the wanted dtype
    (another model's field, or a table a model built): nothing can write to it, so it is used as it is.
    """
    if value is None:
        raise _fail(name, "an array", None)
    try:
        raw = value if isinstance(value, np.ndarray) else np.asarray(value)
        if raw.dtype.kind == "c" and np.dtype(float if dtype is int else dtype).kind != "c":
            raise _fail(name, "real numbers", "complex values")  # numpy would keep only the real part, silently
        want = np.dtype(float if dtype is int else dtype)
        if raw is value and not raw.flags.writeable and raw.base is None and raw.dtype == want:
            arr = raw  # read-only and owned: no copy needed (large tables are not copied twice)
        else:
            arr = np.array(raw, dtype=want)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InvalidProblemError):
            raise
        lengths = _row_lengths(value)
        if lengths is not None:
            raise InvalidProblemError(
                f"`{name}` must be a rectangular array (every row the same length); got rows of lengths "
                f"{lengths[:8]}{'...' if len(lengths) > 8 else ''}: pad the short rows to the longest (any value) and "
                "mark the padding as missing (for a knapsack's options, `available=` with False there)"
            ) from exc
        raise _fail(name, "numeric", repr(value)[:60]) from exc
    if ndim is not None and arr.ndim != ndim:
        raise _fail(name, f"{ndim}-dimensional", f"{arr.ndim} dimensions (shape {arr.shape})")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            expected = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise _fail(name, f"of shape {expected}", f"shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise _fail(name, "non-empty", f"shape {arr.shape}")
    if arr.dtype.kind in "fc" and (finite or dtype is int):
        bad = ~np.isfinite(arr)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise _fail(name, "finite (no NaN or inf)", f"{arr[where]} at index {where}")
    if dtype is int:
        if arr.size and not np.all(arr == np.round(arr)):
            where = tuple(int(i) for i in np.argwhere(arr != np.round(arr))[0])
            raise _fail(name, "whole numbers", f"{arr[where]} at index {where}")
        arr = arr.astype(np.int64)
    if nonnegative and arr.size and (arr < 0).any():
        where = tuple(int(i) for i in np.argwhere(arr < 0)[0])
        raise _fail(name, "non-negative", f"{arr[where]} at index {where}")
    if low is not None and arr.size and (arr < low).any():
        where = tuple(int(i) for i in np.argwhere(arr < low)[0])
        raise _fail(name, f">= {low}", f"{arr[where]} at index {where}")
    if high is not None and arr.size and (arr > high).any():
        where = tuple(int(i) for i in np.argwhere(arr > high)[0])
        raise _fail(name, f"<= {high}", f"{arr[where]} at index {where}")
    arr.setflags(write=False)
    return arr


def as_probabilities(name: str, value, **kw) -> np.ndarray:
    """An array of probabilities in [0, 1]."""
    return as_array(name, value, low=0.0, high=1.0, **kw)


def as_scalar(
    name: str,
    value,
    *,
    integer: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
):
    """A finite real (or whole-number) scalar within bounds; numpy scalars accepted."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.number)):
        raise _fail(name, "a whole number" if integer else "a real number", repr(value))
    v = float(value)
    if not np.isfinite(v):
        raise _fail(name, "finite", value)
    if integer:
        if v != round(v):
            raise _fail(name, "a whole number", value)
        v = int(round(v))
    if minimum is not None and (v <= minimum if strict_minimum else v < minimum):
        raise _fail(name, f"{'>' if strict_minimum else '>='} {minimum}", value)
    if maximum is not None and v > maximum:
        raise _fail(name, f"<= {maximum}", value)
    return v


def as_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(name, "True or False", repr(value))
    return bool(value)


def as_choice(name: str, value, choices) -> str:
    # containers first: `array in choices` raises numpy's "truth value ... is ambiguous" instead of naming the field
    if isinstance(value, (np.ndarray, list, tuple, dict, set)) or value not in choices:
        raise _fail(name, "one of " + ", ".join(repr(c) for c in choices), repr(value))
    return value


def is_integral(arr: np.ndarray) -> bool:
    """True when every entry of ``arr`` is a whole number (integer dtype, or floats equal to their rounding)."""
    return arr.dtype.kind in "iub" or bool(np.all(arr == np.round(arr)))


def as_generator(seed) -> np.random.Generator:
    """``seed: int | numpy.random.Generator | None`` -> a Generator (the one convention used everywhere)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (numbers.Integral, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(None if seed is None else int(seed))
    raise _fail("seed", "an int, a numpy.random.Generator or None", repr(seed))


def as_int_seed(seed) -> int:
    """A non-negative 31-bit int for backends that take an integer seed (drawn from a Generator if given one)."""
    if seed is None:
        return 0
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**31 - 1))
    return int(as_scalar("seed", seed, integer=True, minimum=0)) % (2**31 - 1)


def split_seed(seed) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent generators for the policy and the environment from one seed (same seed, same run): ``solve``
    gives the first to the policy and the second to the environment."""
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(0, 2**63 - 1))
    policy, env = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(policy), np.random.default_rng(env)


def canonical_digest(value) -> str:
    """A SHA-256 hex digest of ``value``'s full content (arrays by dtype, shape and bytes; dicts by sorted key).

    Two values get the same digest only when they are equal in content, whatever their size (no truncated
    repr): used for sweep keys and for the fingerprint a state dict carries of the problem it belongs to.
    """
    import hashlib

    h = hashlib.sha256()

    def feed(v) -> None:
        if hasattr(v, "to_dict") and not isinstance(v, (np.ndarray, np.generic)):
            h.update(b"O" + type(v).__name__.encode())
            feed(v.to_dict())
        elif isinstance(v, np.ndarray):
            a = np.ascontiguousarray(v)
            if a.dtype == object:
                h.update(b"L%d:" % a.size + repr(a.shape).encode())
                for item in a.ravel():
                    feed(item)
                return
            h.update(b"A" + a.dtype.str.encode() + repr(a.shape).encode() + a.tobytes())
        elif isinstance(v, dict):
            h.update(b"D%d:" % len(v))
            for k in sorted(v, key=repr):
                feed(k)
                feed(v[k])
        elif isinstance(v, (list, tuple)):
            h.update((b"T" if isinstance(v, tuple) else b"L") + b"%d:" % len(v))
            for item in v:
                feed(item)
        elif isinstance(v, np.generic):
            feed(v.item())
        elif v is None or isinstance(v, (bool, int, float, str, bytes)):
            h.update(type(v).__name__.encode() + b":" + repr(v).encode() + b";")
        elif hasattr(v, "value") and hasattr(type(v), "__members__"):  # an Enum
            h.update(b"E" + type(v).__name__.encode() + repr(v.value).encode())
        else:
            h.update(b"R" + type(v).__name__.encode() + repr(v).encode())

    feed(value)
    return h.hexdigest()


def fingerprint(problem) -> str:
    """The fingerprint a policy's ``state_dict()`` carries of the problem it was made for (16 hex digits)."""
    return canonical_digest(problem)[:16]


def check_state(state, *, kind: str, fingerprint: str | None = None, keys=(), field: str = "state") -> dict:
    """Check a ``state_dict()`` before loading it: a dict of the right ``kind`` for the same problem with ``keys``.

    Raises InvalidProblemError naming ``field``: a state of another kind, of another problem (fingerprint
    differs), or missing entries is refused instead of being loaded into the wrong policy.
    """
    if not isinstance(state, dict):
        raise _fail(field, f"a dict from {kind}.state_dict()", type(state).__name__)
    if state.get("kind", kind) != kind:
        raise _fail(field, f"a state of a {kind}", f"a state of a {state.get('kind')!r}")
    missing = [k for k in keys if k not in state]
    if missing:
        raise _fail(
            field, f"a {kind} state with entries {', '.join(map(repr, keys))}", f"a dict missing {', '.join(map(repr, missing))}"
        )
    got = state.get("fingerprint")
    if fingerprint is not None and got is not None and got != fingerprint:
        raise InvalidProblemError(
            f"`{field}` belongs to another problem (fingerprint {got}, this problem's is {fingerprint}); "
            "a state can only be loaded into a policy for the same problem"
        )
    if fingerprint is not None and got is None:
        raise _fail(field, f"a {kind} state carrying the problem's `fingerprint`", "a state without one")
    return state


def state_array(state: dict, key: str, *, field: str = "state", **kw) -> np.ndarray:
    """Entry ``key`` of a loaded ``state`` checked as `as_array` checks it; errors name both: `` `state` entry `key` ``."""
    try:
        return as_array(key, state[key], **kw)
    except InvalidProblemError as exc:
        raise InvalidProblemError(f"`{field}` entry {exc}") from None


def state_scalar(state: dict, key: str, *, field: str = "state", **kw):
    """Entry ``key`` of a loaded ``state`` checked as `as_scalar` checks it; errors name both: `` `state` entry `key` ``."""
    try:
        return as_scalar(key, state[key], **kw)
    except InvalidProblemError as exc:
        raise InvalidProblemError(f"`{field}` entry {exc}") from None


TABLE_MEMORY_LIMIT = 8 * 2**30  # bytes: no single table or record larger than this (nor than half the free memory)


def available_memory() -> int:
    """Bytes of memory the OS reports as available (MemAvailable), or a large number when it cannot tell."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**62


def memory_limit() -> int:
    """Bytes one table or record of a method may take: ``TABLE_MEMORY_LIMIT`` or half the available memory,
    whichever is smaller. Every size check (DP tables, value tables, replay buffers, arm records) uses this one rule,
    before anything is allocated."""
    return min(TABLE_MEMORY_LIMIT, available_memory() // 2)
