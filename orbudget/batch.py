"""Solve many at once: ``solve_many`` over a list of problems and ``sweep`` over a parameter grid, on any
``concurrent.futures.Executor`` (a local process pool by default, a Dask ``distributed.Client``, a Ray pool), with
sweeps written incrementally to a JSON-lines file so a killed sweep resumes where it stopped.

Examples:
    >>> import orbudget as ob
    >>> ps = [ob.MultipleChoiceKnapsack.random(6, 3, seed=s) for s in range(3)]
    >>> results = ob.solve_many(ps, executor="serial", progress=False)
    >>> all(r.objective == ob.solve(p).objective for r, p in zip(results, ps))
    True
"""

from __future__ import annotations

import itertools
import json
import math
import os
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._executors import _as_completed, _cancel, _finished, _progress, _stop_pool, make_executor
from .core.errors import InvalidProblemError
from .core.result import Limit, Result, Status
from .core.validation import Callback, SeedLike, canonical_digest


# -- solve_many ------------------------------------------------------------------------------------------------------
def _solve_one(problem, method, kwargs) -> Result:
    from .core.solve import solve

    try:
        return solve(problem, method, **kwargs)
    except Exception as exc:  # noqa: BLE001 - one failing problem must not stop the others
        return Result(status=Status.ERROR, message=f"{type(exc).__name__}: {exc}")


def _not_started() -> Result:
    return Result(status=Status.NO_SOLUTION, limit=Limit.INTERRUPTED, message="interrupted before this problem started")


def _solve_batched(problems, method) -> list[Result] | None:
    """The results of the first method (``method``, or any in preference order when ``None``) whose registered
    batch function takes these problems in one call, or ``None`` when none does."""
    from .core.registry import specs_for

    if not problems or len({type(p) for p in problems}) != 1:
        return None
    for spec in specs_for(problems[0]):
        if spec.batch is None or (method is not None and spec.method != method) or not spec.available:
            continue
        results = spec.batch(problems)
        if results is not None:
            return results
    return None


def _check_solve_keywords(problems: list, method, solve_kwargs: dict) -> None:
    """Raise at the call, as `orbudget.solve` would, for a keyword `solve` does not take or an `options` key the
    method (of the first problem) does not declare: not once per problem as an ERROR result each."""
    import inspect

    from .core.registry import pick
    from .core.solve import solve

    params = inspect.signature(solve).parameters
    for key in solve_kwargs:
        if key not in params or key in ("problem", "method"):
            raise TypeError(f"solve_many() got an unexpected keyword argument `{key}` (ob.solve takes no keyword of that name)")
    options = solve_kwargs.get("options")
    if options is not None and not isinstance(options, Mapping):
        raise InvalidProblemError(f"`options` must be a dict of option names; got {type(options).__name__}")
    if options and problems:
        spec = pick(problems[0], method, solve_kwargs.get("backend"))
        renamed = spec.renamed_options or {}
        unknown = sorted(set(options) - set(spec.options) - set(renamed))
        if unknown and "*" not in spec.options:
            accepted = ", ".join(f"`{o}`" for o in spec.options) or "none"
            raise InvalidProblemError(
                f"`options` has unknown key `{unknown[0]}` for method {spec.method!r} ({spec.backend}); accepted: {accepted}"
            )


def _check_picklable(problems, solve_kwargs) -> None:
    """Problems and keywords travel to the workers by pickling: one that cannot (a lambda or a local function in a
    field, say) is refused here, naming it, instead of a PicklingError from inside the pool."""
    import pickle

    for name, value in [*((f"problems[{i}]", p) for i, p in enumerate(problems)), *solve_kwargs.items()]:
        try:
            pickle.dumps(value)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise InvalidProblemError(
                f"`{name}` cannot be sent to a worker process ({exc}); define its functions at module level, or "
                "use executor='serial'"
            ) from None


def solve_many(
    problems: Iterable,
    method: str | None = None,
    *,
    executor: Any = None,
    progress: bool = True,
    seeds: Iterable[SeedLike] | None = None,
    batch: bool | None = None,
    on_result: Callback | None = None,
    **solve_kwargs: Any,
) -> list[Result]:
    """Solve every problem; results come back in input order.

    Args:
        problems: any iterable of problems.
        method: passed to `orbudget.solve` for every problem.
        executor: ``None``/``'process'`` (local process pool), ``'serial'``, a Dask ``distributed.Client``, or any
            executor with ``submit``. Problems and results travel by pickling.
        progress: problems done / total on stderr (a tqdm bar when installed, else a line at most once a second).
        seeds: one seed per problem (a sequence), or an int from which per-problem seeds are spawned.
        on_result: ``on_result(info)`` once per finished problem, in the order they finish, with the keys of
            `orbudget.core.progress` (``unit`` ``'problems'``, ``iteration`` = problems done) plus ``index`` (the
            problem's position) and ``result``; returning True stops the batch: the problems not finished come
            back as ``NO_SOLUTION`` with ``limit=Limit.INTERRUPTED`` (``callback`` in ``solve_kwargs`` is passed
            to each solve instead).
        batch: solve the problems in one call of a method's batch function (registered with the method; today
            ``dp`` on multiple-choice knapsacks of one shape with whole-number costs, one numba call); default: when
            they qualify and no executor is given; results equal the one-by-one solves of that method.
        solve_kwargs: ``time_limit``, ``options``, ... as for `orbudget.solve`.

    A problem whose solve raises comes back as ``Status.ERROR`` with the exception in ``message``. A Ctrl-C stops the
    batch and still returns one result per problem: the finished ones, the interrupted one (its best solution so far,
    ``limit=Limit.INTERRUPTED``) and ``NO_SOLUTION`` with ``limit=Limit.INTERRUPTED`` for those not started.
    """
    problems = list(problems)
    if seeds is not None:
        if isinstance(seeds, (str, bytes, bool, np.bool_)) or not isinstance(seeds, (int, np.integer, Iterable)):
            raise InvalidProblemError(f"`seeds` must be an int or a sequence of ints or None, one per problem; got {seeds!r}")
        if isinstance(seeds, (int, np.integer)):
            seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(int(seeds)).spawn(len(problems))]
        seeds = list(seeds)
        if len(seeds) != len(problems):
            raise InvalidProblemError(f"`seeds` must have one seed per problem ({len(problems)}); got {len(seeds)}")
    _check_solve_keywords(problems, method, solve_kwargs)
    use_batch = batch if batch is not None else (executor is None and seeds is None and not solve_kwargs and on_result is None)
    batched = _solve_batched(problems, method) if use_batch else None
    if batched is not None:
        return batched
    if batch:
        raise InvalidProblemError(
            "`batch=True` needs problems that a method's batch function takes in one call (for "
            "example multiple-choice knapsacks of one shape with whole-number costs, method None "
            "or 'dp'); these do not qualify"
        )
    from .core.solve import interrupt_count

    if executor != "serial":
        _check_picklable(problems, solve_kwargs)
    bar = _progress(len(problems), progress, "solve_many", on_result)
    pool, owned = make_executor(executor)
    results: list[Any] = [None] * len(problems)
    futures: list = []
    index: dict[int, int] = {}
    interrupted = False
    try:
        for i, p in enumerate(problems):
            kw = dict(solve_kwargs)
            if seeds is not None:
                kw["seed"] = seeds[i]
            futures.append(pool.submit(_solve_one, p, method, kw))
            index[id(futures[-1])] = i
        seen = interrupt_count()
        for f in _as_completed(futures):
            i = index[id(f)]
            results[i] = f.result()
            if bar.step(index=i, result=results[i]):  # on_result returned True
                raise KeyboardInterrupt
            if interrupt_count() != seen:  # a solve in this process caught a Ctrl-C and returned its incumbent
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        interrupted = True
        for f in futures:  # keep whatever finished in the pool before the interrupt
            if results[index[id(f)]] is None and _finished(f):
                results[index[id(f)]] = f.result()
    finally:
        bar.close()
        if interrupted:
            _stop_pool(pool) if owned else _cancel(futures)
        elif owned:
            pool.shutdown(wait=True)
    return [r if r is not None else _not_started() for r in results]


# -- sweep -------------------------------------------------------------------------------------------------------------
def grid_points(grid, seeds=None) -> list[dict]:
    """The points of a grid: a dict of lists (cartesian product, in key order) or a list of dicts; ``seeds`` (an int
    count or a list) adds a ``seed`` parameter to every point."""
    if isinstance(grid, Mapping):
        keys = list(grid)
        for k in keys:
            if isinstance(grid[k], (str, bytes)) or not isinstance(grid[k], Iterable):
                raise InvalidProblemError(f"`grid[{k!r}]` must be a list of values; got {grid[k]!r}")
        points = [dict(zip(keys, combo)) for combo in itertools.product(*(list(grid[k]) for k in keys))]
    elif isinstance(grid, (str, bytes)) or not isinstance(grid, Iterable):
        raise InvalidProblemError(f"`grid` must be a dict of lists or a list of dicts; got {type(grid).__name__}")
    else:
        points = list(grid)
        for i, p in enumerate(points):
            if not isinstance(p, Mapping):
                raise InvalidProblemError(f"`grid[{i}]` must be a dict of parameters; got {p!r}")
        points = [dict(p) for p in points]
    if seeds is not None:
        if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
            if seeds < 0:
                raise InvalidProblemError(f"`seeds` must be a count >= 0 or a list of seeds; got {seeds}")
            seed_list = list(range(seeds))
        elif isinstance(seeds, (list, tuple, np.ndarray)):
            seed_list = list(seeds)
        else:
            raise InvalidProblemError(f"`seeds` must be a count or a list of seeds; got {seeds!r}")
        points = [{**p, "seed": s} for p in points for s in seed_list]
    return points


def point_key(params: dict) -> str:
    """A stable identity for a grid point: ``sha256:`` and the SHA-256 of its full canonical value
    (`canonical_digest`: arrays by dtype, shape and every byte), so two points that
    differ anywhere, even in the 17th entry of an array, get different keys."""
    return "sha256:" + canonical_digest(dict(params))


def _legacy_key(params: dict) -> str:
    """The key orbudget wrote before keys were hashes (JSON of the parameters; arrays of more than 16 entries cut to
    ``array(shape)``): read to reuse records of old sweep files, only where it names one point without doubt."""
    return json.dumps(_plain(params), sort_keys=True)


def _exact_in_legacy_key(value) -> bool:
    """True when the legacy key spells ``value`` out in full (no array cut short, no repr of an object)."""
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _exact_in_legacy_key(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_exact_in_legacy_key(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.size <= 16 and value.dtype.kind in "biuf" and bool(np.isfinite(value).all())
    if isinstance(value, (np.integer, np.bool_)):
        return True
    if isinstance(value, (float, np.floating)):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int, bool))


def _plain(value):
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 16 else f"array{value.shape}"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _metrics(out, method, params) -> dict:
    """Turn what a sweep function returned into flat metrics: a dict as is, a number as ``value``, a Result by its
    objective, status and scalar stats, and a problem by solving it (``method``, ``seed`` from the point)."""
    from .core.solve import solve
    from .problems.base import Problem

    if isinstance(out, Problem):
        out = solve(out, method, seed=params.get("seed"))
    if isinstance(out, Result):
        row = {"status": out.status.value, "objective": out.objective, "method": out.method}
        for k, v in out.stats.items():
            if isinstance(v, (int, float, np.integer, np.floating, str, bool)) or v is None:
                row[k] = _plain(v)
        row["seconds"] = out.timings.get("total")
        return row
    if isinstance(out, Mapping):
        return {str(k): _plain(v) for k, v in out.items()}
    if isinstance(out, (int, float, np.integer, np.floating)):
        return {"value": _plain(out)}
    raise InvalidProblemError(f"a sweep function must return a dict, a number, a Result or a problem; got {type(out).__name__}")


def _run_point(fn, params, method):
    from .core.solve import interrupt_count

    seen = interrupt_count()
    try:
        metrics = _metrics(fn(**params), method, params)
        if interrupt_count() != seen:  # a solve inside caught a Ctrl-C: the metrics are partial, not a finished point
            raise KeyboardInterrupt
        return {**_plain(params), **metrics, "error": None}
    except Exception as exc:  # noqa: BLE001 - reported with its parameters; the sweep goes on
        return {**_plain(params), "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=5)}


def read_records(path) -> list[dict]:
    """Records of a sweep file (JSON lines); a line cut short by a kill is ignored. A line that is whole JSON but not a
    record (not an object) means the file is not a sweep file: InvalidFileError naming the file and the line."""
    from .core.io import InvalidFileError

    path = Path(path)
    if not path.exists():
        return []
    records = []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.decode("utf-8", errors="replace").strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                continue  # a partial write from a killed run
            if not isinstance(rec, dict):
                raise InvalidFileError(f"{path}: line {number} is not a sweep record (a JSON object); got {line[:40]!r}")
            records.append(rec)
    return records


def _append(path: Path, record: dict) -> None:
    """Append one record as one line with one write, flushed to disk before the next point counts as done."""
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def sweep(
    fn: Callable,
    grid: Mapping[str, Iterable] | Iterable[Mapping],
    *,
    seeds: int | Iterable | None = None,
    method: str | None = None,
    executor: Any = None,
    path: str | os.PathLike | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    as_frame: bool | None = None,
    on_result: Callback | None = None,
):
    """Run ``fn(**point)`` for every point of ``grid`` (× ``seeds``) and return a tidy table.

    Args:
        fn: a module-level function (picklable for process pools and clusters) returning a dict of metrics, a number,
            a `Result`, or a problem (then solved with ``method`` and the point's ``seed``).
            Points are keyed by a hash of their full parameters (`point_key`).
        grid: dict of lists (cartesian product) or a list of dicts.
        seeds: an int count or a list; adds a ``seed`` parameter.
        executor: as for `solve_many`.
        path: a JSON-lines file. Each finished point is appended (one line, fsync) as it completes; on restart the
            points already in the file are not run again (failed ones too, unless ``retry_failed``).
        as_frame: return a pandas DataFrame (default: when pandas is installed), else a list of dicts.
        progress: points done / total on stderr (a tqdm bar when installed, else a line at most once a second).
        on_result: ``on_result(info)`` once per point finished in this call, with the keys of
            `orbudget.core.progress` (``unit`` ``'points'``) plus ``point`` (its parameters) and ``record``;
            returning True stops the sweep early: the points not finished are not run (nor written), and the table
            holds only the finished points (a later run resumes the rest from ``path``).

    Ctrl-C stops the sweep: the points that finished are on disk (with ``path``), the interrupted ones are not, and
    ``KeyboardInterrupt`` is raised; running the same sweep again resumes. The workers of the pool it owns die with
    it, even when it is killed.

    Every record holds the point's parameters, its metrics, and ``error`` (``None``, or the exception for a failing
    point, which does not stop the others).
    """
    points = grid_points(grid, seeds)
    done: dict[str, dict] = {}
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        legacy: dict[str, dict] = {}
        for rec in read_records(path):
            key = rec.get("_key")
            if not isinstance(key, str) or (retry_failed and rec.get("error") is not None):
                continue
            (done if key.startswith("sha256:") else legacy)[key] = rec
        if legacy:  # a file from before hashed keys: reuse a record only where its old key names one point exactly
            by_old: dict[str, list[dict]] = {}
            for p in points:
                by_old.setdefault(_legacy_key(p), []).append(p)
            for old_key, rec in legacy.items():
                matches = by_old.get(old_key, [])
                if len(matches) == 1 and _exact_in_legacy_key(matches[0]):
                    done.setdefault(point_key(matches[0]), rec)
    keys = [point_key(p) for p in points]  # each point hashed once (a full SHA-256 of its content)
    todo = [(p, k) for p, k in zip(points, keys) if k not in done]
    bar = _progress(len(todo), progress, "sweep", on_result, unit="points")
    pool, owned = make_executor(executor)
    fresh: dict[str, dict] = {}
    futures: list = []
    params: dict[int, tuple[dict, str]] = {}  # future -> (point, its key)

    def record(f, rec):
        rec["_key"] = params[id(f)][1]
        fresh[rec["_key"]] = rec
        if path is not None:
            _append(path, rec)
        return bar.step(point=params[id(f)][0], record=rec)

    interrupted = False
    try:
        for p, k in todo:
            try:
                futures.append(pool.submit(_run_point, fn, p, method))
            except Exception as exc:  # pickling a lambda for a process pool, for example
                raise InvalidProblemError(
                    f"could not send the sweep function to the executor ({exc}); use a "
                    "module-level function, or executor='serial'"
                ) from exc
            params[id(futures[-1])] = (p, k)
        for f in _as_completed(futures):
            try:
                rec = f.result()
            except Exception as exc:  # the executor itself failed (a worker died, pickling): report, keep going
                hint = "; use a module-level function, or executor='serial'" if "pickl" in str(exc).lower() else ""
                rec = {**_plain(params[id(f)][0]), "error": f"{type(exc).__name__}: {exc}{hint}"}
            if record(f, rec):  # on_result asked to stop
                interrupted = True
                break
    except KeyboardInterrupt:
        # Ctrl-C: keep every point that finished (in the pool, perhaps not yet collected), never the interrupted
        # ones, and stop; running the sweep again resumes from the file
        interrupted = True
        for f in futures:
            if params[id(f)][1] not in fresh and _finished(f):
                record(f, f.result())
        raise
    finally:
        bar.close()
        if interrupted:
            _stop_pool(pool) if owned else _cancel(futures)
        elif owned:
            pool.shutdown(wait=True)
    records = []
    for k in keys:
        if k not in fresh and k not in done:  # stopped early by on_result: not run
            continue
        rec = dict(fresh.get(k) or done[k])
        rec.pop("_key", None)
        rec.pop("traceback", None)
        records.append(rec)
    if as_frame is None:
        from .core.registry import module_available

        as_frame = module_available("pandas")
    if as_frame:
        import pandas as pd

        return pd.DataFrame.from_records(records)
    return records


def summarize(records, by: list[str], value: str) -> list[dict]:
    """Mean, standard error and count of ``value`` per group of ``by`` (records or a DataFrame), failed points
    excluded."""
    if hasattr(records, "to_dict"):
        records = records.to_dict("records")
    groups: dict[tuple, list[float]] = {}
    for r in records:
        if r.get("error") is not None or r.get(value) is None:
            continue
        groups.setdefault(tuple(r.get(k) for k in by), []).append(float(r[value]))
    out = []
    for key, vals in groups.items():
        arr = np.array(vals)
        se = float(arr.std(ddof=1) / math.sqrt(arr.size)) if arr.size > 1 else None
        out.append({**dict(zip(by, key)), f"{value}_mean": float(arr.mean()), f"{value}_se": se, "count": int(arr.size)})
    return out
