"""The ``orbudget`` command: ``demo``, ``solve``, ``bench``, ``sweep``, ``exercises``, ``info``, ``warmup``.

Bad input (a corrupt, cut-short or foreign file, a bad config, an unknown option) prints one line,
``orbudget: error: <file>: <what>`` (or ``orbudget: error: <what>`` when no file is involved), and exits with code 2,
without a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _cmd_demo(args) -> int:
    import time

    from .demos import format_header, format_row, format_totals, run_demos

    t0 = time.perf_counter()
    started = _process_age()  # interpreter start-up and imports, before this line
    print(format_header(), flush=True)
    first = ("-", "start-up (interpreter, imports)", "-", None, None, None, 0.0, 0.0, started, "")
    print(format_row(first), flush=True)
    rows = run_demos(args.family, quick=not args.full, progress=True, on_row=lambda row: print(format_row(row), flush=True))
    print(format_totals([first, *rows], started + time.perf_counter() - t0), flush=True)
    return 0


def _process_age() -> float:
    """Seconds since this process started (Linux: /proc; elsewhere 0, the start-up row then reads 0)."""
    import os

    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return 0.0


def _cmd_solve(args) -> int:
    from .core.io import InvalidFileError, load, save, to_json
    from .core.solve import solve
    from .problems.base import Problem

    problem = load(args.file)
    if not isinstance(problem, Problem):
        raise InvalidFileError(f"{args.file}: holds a {type(problem).__name__}, not a problem to solve")
    print(f"orbudget: solving {type(problem).__name__} from {args.file} (method {args.method or 'default'})", file=sys.stderr)
    # one progress display where the method has steps to show (every method accepts it); a --time-limit is the
    # user's and is refused by name where the method does not keep it
    result = solve(problem, args.method, time_limit=args.time_limit, progress=True)
    print("\n".join("orbudget: " + line for line in result.summary().splitlines()), file=sys.stderr)
    if args.output:
        save(result, args.output)
        print(f"orbudget: result written to {args.output}", file=sys.stderr)
    else:
        print(to_json(result))
    return 0 if result.ok else 1


def _cmd_warmup(args) -> int:
    import time

    from .warmup import warmup

    t0 = time.perf_counter()
    records = warmup(args.family)
    compiled = sum(r["compile"] for r in records)
    print(
        f"orbudget warmup: {len(records)} families in {time.perf_counter() - t0:.1f} s, {compiled:.1f} s of it compiling "
        "(the kernels are cached now: later first solves load them)",
        file=sys.stderr,
    )
    return 0


def _find_benchmarks() -> Path | None:
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (base / "benchmarks").is_dir():
            return base / "benchmarks"
    return None


def _benchmark_names(folder: Path | None) -> list[str]:
    """The benchmarks in ``folder`` (``benchmarks/*.py`` without the private helpers), sorted."""
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")) if folder else []


def _cmd_bench(args) -> int:
    import runpy

    folder = _find_benchmarks()
    if folder is None:
        raise FileNotFoundError("no benchmarks/ folder here or beside the package; run from a source checkout")
    names = _benchmark_names(folder)
    chosen = names if args.family is None else [args.family]
    for name in chosen:
        if name not in names:
            raise ValueError(f"`family` must be one of {', '.join(names)}; got {name!r}")
        print(f"== benchmarks/{name}.py", flush=True)
        sys.argv = [str(folder / f"{name}.py")] + (["--quick"] if args.quick else [])
        runpy.run_path(str(folder / f"{name}.py"), run_name="__main__")
    return 0


def _cmd_info(args) -> int:
    from importlib import metadata

    from . import __version__
    from .core.registry import BACKENDS, backend_available

    print(f"orbudget {__version__} (Python {sys.version.split()[0]})")
    dists = {
        "numba": "numba",
        "highs": "highspy",
        "ortools": "ortools",
        "cvxpy": "cvxpy",
        "pyomo": "pyomo",
        "torch": "torch",
        "scipy": "scipy",
        "numpy": "numpy",
    }
    for backend, (_, extra) in BACKENDS.items():
        dist = dists[backend]
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = None
        state = version if backend_available(backend) and version else "not installed"
        hint = f"  (pip install 'orbudget[{extra}]')" if state == "not installed" and extra else ""
        print(f"  {backend:8s} {dist:9s} {state}{hint}")
    _print_methods()
    return 0


def _print_methods() -> None:
    """Per family, each method with the standard keywords it honours and its own options (``long``: it can run for
    more than about a second, and honours time limits, Ctrl-C, progress and callbacks as they are declared;
    ``guarded``: it runs in a child process that a time limit or Ctrl-C can always end)."""
    from .core.registry import registered

    families: dict = {}
    for s in registered():
        families.setdefault(s.problem.__name__, []).append(s)
    print(
        "methods (honours: standard keywords of ob.solve; options: the method's own; * passes any to the backend;"
        " long: can run for more than about a second, so it keeps time_limit and Ctrl-C (returning its best so far)"
        " and shows progress and calls callbacks; guarded: runs in a child process a time limit or Ctrl-C can always"
        " end)"
    )
    for family in sorted(families):
        print(f"  {family}")
        for s in families[family]:
            name = f"{s.method} ({s.backend})" + (" long" if s.long else "") + (" guarded" if s.guarded else "")
            mark = "" if s.available else "  [not installed]"
            honours = ", ".join(s.honours) if s.honours else "-"
            options = ", ".join(s.options) or "-"
            print(f"    {name:28s} honours: {honours}; options: {options}{mark}")


def _load_function(spec, where: str):
    import importlib

    from .core.io import InvalidFileError

    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise InvalidFileError(f"{where}: `function` must look like 'package.module:function'; got {spec!r}")
    module, name = spec.split(":", 1)
    # as `python -m` would: an experiment module next to the config file, or in the current folder, imports
    # without PYTHONPATH=. (the console script's sys.path starts at its own bin folder)
    for folder in (str(Path(where).resolve().parent), os.getcwd()):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise InvalidFileError(f"{where}: `function` {spec!r}: cannot import {module} ({exc})") from None
    fn = getattr(mod, name, None)
    if not callable(fn):
        raise InvalidFileError(f"{where}: `function` {spec!r}: module {module} has no function {name!r}")
    return fn


_CONFIG_KEYS = ("function", "grid", "seeds", "method", "output", "executor", "summary")


def _read_config(where: str) -> dict:
    """The sweep config in ``where``, checked key by key; every error names the file."""
    from .batch import grid_points
    from .core.errors import InvalidProblemError
    from .core.io import InvalidFileError, read_json

    def bad(what):
        return InvalidFileError(f"{where}: {what}")

    config = read_json(where)
    if not isinstance(config, dict):
        raise bad(f"a sweep config must be a JSON object with `function` and `grid`; got {type(config).__name__}")
    unknown = sorted(set(config) - set(_CONFIG_KEYS))
    if unknown:
        raise bad(f"unknown key `{unknown[0]}` (known: {', '.join(_CONFIG_KEYS)})")
    for key in ("function", "grid"):
        if key not in config:
            raise bad(f"`{key}` is required (a config needs `function` and `grid`)")
    try:
        grid_points(config["grid"], config.get("seeds"))
    except InvalidProblemError as exc:
        raise bad(str(exc)) from None
    for key in ("method", "output", "executor"):
        if config.get(key) is not None and not isinstance(config[key], str):
            raise bad(f"`{key}` must be a string; got {config[key]!r}")
    executor = config.get("executor")
    if executor is not None and executor not in ("process", "serial", "dask") and not executor.startswith("tcp://"):
        raise bad(f"`executor` must be 'process', 'serial', 'dask' or a scheduler address 'tcp://...'; got {executor!r}")
    summary = config.get("summary")
    if summary is not None:
        names = set(config["grid"]) if isinstance(config["grid"], dict) else {k for p in config["grid"] for k in p}
        if not isinstance(summary, dict) or set(summary) - {"by", "value"}:
            raise bad(f"`summary` must be an object with `value` and optionally `by`; got {summary!r}")
        if summary.get("value") is not None and not isinstance(summary["value"], str):
            raise bad(f"`summary.value` must be a metric name; got {summary['value']!r}")
        by = summary.get("by")
        if by is not None and (not isinstance(by, list) or not all(isinstance(b, str) for b in by)):
            raise bad(f"`summary.by` must be a list of parameter names; got {by!r}")
        missing = [b for b in by or () if b not in names | {"seed"}]
        if missing:
            raise bad(f"`summary.by` names {missing[0]!r}, which is not a grid parameter")
    config["function"] = _load_function(config["function"], where)
    return config


def _cmd_sweep(args) -> int:
    """Run a sweep from a JSON config: function, grid, seeds, method, output, executor, summary."""
    from .batch import summarize, sweep

    config = _read_config(args.config)
    fn = config["function"]
    output = args.output or config.get("output")
    executor = config.get("executor", "process")
    client = cluster = None
    if isinstance(executor, str) and (executor == "dask" or executor.startswith("tcp://")):
        from distributed import Client, LocalCluster

        if executor == "dask":
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True)
            client = Client(cluster)
        else:
            client = Client(executor)
        executor = client
    try:
        records = sweep(
            fn,
            config["grid"],
            seeds=config.get("seeds"),
            method=config.get("method"),
            executor=executor,
            path=output,
            progress=not args.no_progress,
            as_frame=False,
        )
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    failed = [r for r in records if r.get("error")]
    print(
        f"orbudget: {len(records)} points, {len(failed)} failed" + (f"; records in {output}" if output else ""), file=sys.stderr
    )
    for r in failed[:5]:
        names = set(config["grid"]) if isinstance(config["grid"], dict) else {k for p in config["grid"] for k in p}
        params = {k: v for k, v in r.items() if k in names | {"seed"}}
        print(f"  failed {params}: {r['error']}", file=sys.stderr)
    summary = config.get("summary") or {}
    value = summary.get("value")
    if value:
        by = summary.get("by") or (list(config["grid"]) if isinstance(config["grid"], dict) else ["seed"])
        rows = summarize(records, by, value)
        head = [*by, f"{value}_mean", f"{value}_se", "count"]
        print("  ".join(f"{h:>14s}" for h in head))
        for row in rows:
            print("  ".join(f"{row[h]:14.6g}" if isinstance(row[h], float) else f"{row[h]!s:>14}" for h in head))
    else:
        print(json.dumps(records, default=str))
    return 1 if failed and len(failed) == len(records) else 0


def _cmd_exercises(args) -> int:
    import runpy

    from . import exercises

    if args.action == "list":
        for ex in exercises.all_exercises():
            print(f"{ex.id:10s} {ex.title}  ({ex.source})")
        return 0
    if args.id is None:
        raise ValueError(f"`exercises {args.action}` needs an exercise id (see `orbudget exercises list`)")
    if args.solution:
        raise ValueError(
            "the worked solutions are not shipped with orbudget (the graders check answers without them); "
            "instructors find them in the source repository's solutions/ folder"
        )
    ex = exercises.get(args.id)
    if args.action == "show":
        print(ex.show())
        return 0
    if args.file is None:
        raise ValueError("`exercises check` needs a Python file that defines `answer`")
    from .core.io import InvalidFileError

    if not Path(args.file).is_file():
        raise InvalidFileError(f"{args.file}: no such file")
    try:
        namespace = runpy.run_path(args.file)
    except SyntaxError as exc:
        raise InvalidFileError(f"{args.file}: not valid Python: {exc.msg} (line {exc.lineno})") from None
    except Exception as exc:  # noqa: BLE001 - the student's file is arbitrary code; what it raised is the answer
        raise InvalidFileError(f"{args.file}: running it raised {type(exc).__name__}: {exc}") from None
    if "answer" not in namespace:
        raise InvalidFileError(f"{args.file}: defines no `answer` (expected {ex.answer_format})")
    feedback = ex.check(namespace["answer"])
    print(feedback)
    return 0 if feedback else 1


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="orbudget", description="Budget-constrained allocation toolkit.")
    parser.add_argument("--version", action="version", version=f"orbudget {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    from .demos import DEMOS

    families = ", ".join(DEMOS)
    p = sub.add_parser(
        "demo",
        help="solve every family's default instance and print a table",
        description="Solve every family's default instance; each row is printed as it finishes "
        "(a progress line on stderr before it starts) with the solve (policy) time, "
        "the benchmark time and the set-up time apart, which add up to the wall time. "
        f"Families: {families}. The default run takes about a minute on two cores; "
        "--full runs the larger instances (many minutes).",
    )
    p.add_argument("--family", help=f"only this family (one of: {families})")
    p.add_argument("--full", action="store_true", help="the larger instances (many minutes)")
    p.add_argument("--quick", action="store_true", help="deprecated: the quick instances are now the default (kept as an alias)")
    p.set_defaults(func=_cmd_demo)
    p = sub.add_parser("solve", help="solve a problem saved with orbudget.save")
    p.add_argument("file")
    p.add_argument("--method")
    p.add_argument("--time-limit", type=float)
    p.add_argument("-o", "--output", help="write the result here (JSON) instead of stdout")
    p.set_defaults(func=_cmd_solve)
    benches = _benchmark_names(_find_benchmarks())
    listed = ", ".join(benches) if benches else "none found (run from a source checkout)"
    p = sub.add_parser(
        "bench",
        help="run the benchmarks (all, or one family)",
        description=f"Run benchmarks/*.py, printing ours against peers side by side with ratios. Benchmarks: {listed}.",
    )
    p.add_argument("family", nargs="?", help=f"one benchmark: {listed}")
    p.add_argument("--quick", action="store_true", help="the smaller instances")
    p.set_defaults(func=_cmd_bench)
    p = sub.add_parser("sweep", help="run a parameter sweep from a JSON config (resumable with `output`)")
    p.add_argument("config")
    p.add_argument("-o", "--output", help="JSON-lines file for the records (overrides the config's `output`)")
    p.add_argument("--workers", type=int, default=2, help="workers of the local Dask cluster (executor 'dask')")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_sweep)
    p = sub.add_parser("exercises", help="textbook exercises: list, show ID, check ID FILE.py")
    p.add_argument("action", choices=("list", "show", "check"))
    p.add_argument("id", nargs="?")
    p.add_argument("file", nargs="?", help="for check: a Python file defining `answer`")
    # not shipped: the flag stays only to say where instructors find the solutions
    p.add_argument("--solution", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_exercises)
    p = sub.add_parser(
        "warmup",
        help="compile and cache every family's default numba kernels (run once after installing)",
        description="Solve a small instance of every family with its default method, so that the numba kernels are "
        "compiled and cached before a first real solve waits for them (a minute or two from cold, about ten seconds "
        "once cached). scripts/setup.sh runs it; after `pip install orbudget`, run it once.",
    )
    p.add_argument("--family", action="append", help="only this model (repeatable), e.g. MultipleChoiceKnapsack")
    p.set_defaults(func=_cmd_warmup)
    p = sub.add_parser("info", help="installed backends and versions")
    p.set_defaults(func=_cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("orbudget: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"orbudget: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except (ValueError, ImportError, RuntimeError, TypeError) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the message holds
        print(f"orbudget: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
