"""The ``orbudget`` command: ``demo``, ``solve``, ``bench``, ``info``. Errors print one line and exit 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _cmd_demo(args) -> int:
    from .demos import format_table, run_demos

    print(format_table(run_demos(args.family, args.quick)))
    return 0


def _cmd_solve(args) -> int:
    from .core.io import load, save, to_json
    from .core.solve import solve

    problem = load(args.file)
    print(f"orbudget: solving {type(problem).__name__} from {args.file} "
          f"(method {args.method or 'default'})", file=sys.stderr)
    result = solve(problem, args.method, time_limit=args.time_limit, progress=True)
    bits = [f"status {result.status.value}"]
    if result.limit is not None:
        bits.append(f"limit {result.limit.value}")
    if result.objective is not None:
        bits.append(f"objective {result.objective:.10g}")
    if result.gap is not None:
        bits.append(f"gap {result.gap:.3g}")
    bits.append(f"method {result.method} ({result.backend}), {result.timings['total']:.3f} s")
    print("orbudget: " + ", ".join(bits) + (f" — {result.message}" if result.message else ""), file=sys.stderr)
    if args.output:
        save(result, args.output)
        print(f"orbudget: result written to {args.output}", file=sys.stderr)
    else:
        print(to_json(result))
    return 0 if result.ok else 1


def _find_benchmarks() -> Path | None:
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (base / "benchmarks").is_dir():
            return base / "benchmarks"
    return None


def _cmd_bench(args) -> int:
    import runpy

    folder = _find_benchmarks()
    if folder is None:
        raise FileNotFoundError("no benchmarks/ folder here or beside the package; run from a source checkout")
    names = sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
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
    dists = {"numba": "numba", "highs": "highspy", "ortools": "ortools", "cvxpy": "cvxpy", "pyomo": "pyomo",
             "torch": "torch", "scipy": "scipy", "python": "numpy"}
    for backend, (_, extra) in BACKENDS.items():
        dist = dists[backend]
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = None
        state = version if backend_available(backend) and version else "not installed"
        hint = f"  (pip install 'orbudget[{extra}]')" if state == "not installed" and extra else ""
        print(f"  {backend:8s} {dist:9s} {state}{hint}")
    return 0


def _load_function(spec: str):
    import importlib

    if ":" not in spec:
        raise ValueError(f"`function` must look like 'package.module:function'; got {spec!r}")
    module, name = spec.split(":", 1)
    fn = getattr(importlib.import_module(module), name, None)
    if fn is None:
        raise ValueError(f"`function` {spec!r}: module {module} has no attribute {name!r}")
    return fn


def _cmd_sweep(args) -> int:
    """Run a sweep from a JSON config: function, grid, seeds, method, output, executor, summary."""
    from .batch import summarize, sweep

    config = json.loads(Path(args.config).read_text())
    unknown = sorted(set(config) - {"function", "grid", "seeds", "method", "output", "executor", "summary"})
    if unknown:
        raise ValueError(f"{args.config}: unknown key `{unknown[0]}`")
    if "function" not in config or "grid" not in config:
        raise ValueError(f"{args.config}: `function` and `grid` are required")
    fn = _load_function(config["function"])
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
        records = sweep(fn, config["grid"], seeds=config.get("seeds"), method=config.get("method"), executor=executor,
                        path=output, progress=not args.no_progress, as_frame=False)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    failed = [r for r in records if r.get("error")]
    print(f"orbudget: {len(records)} points, {len(failed)} failed" + (f"; records in {output}" if output else ""),
          file=sys.stderr)
    for r in failed[:5]:
        params = {k: v for k, v in r.items() if k in set(config["grid"]) | {"seed"}}
        print(f"  failed {params}: {r['error']}", file=sys.stderr)
    summary = config.get("summary") or {}
    value = summary.get("value")
    if value:
        by = summary.get("by") or [k for k in config["grid"]]
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
    ex = exercises.get(args.id)
    if args.action == "show":
        print(ex.show(solution=args.solution))
        return 0
    if args.file is None:
        raise ValueError("`exercises check` needs a Python file that defines `answer`")
    namespace = runpy.run_path(args.file)
    if "answer" not in namespace:
        raise ValueError(f"{args.file} must define `answer` ({ex.answer_format})")
    feedback = ex.check(namespace["answer"])
    print(feedback)
    return 0 if feedback else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orbudget", description="Budget-constrained allocation toolkit.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="solve every family's default instance and print a table")
    p.add_argument("--family", help="only this family")
    p.add_argument("--quick", action="store_true", help="smaller instances")
    p.set_defaults(func=_cmd_demo)
    p = sub.add_parser("solve", help="solve a problem saved with orbudget.save")
    p.add_argument("file")
    p.add_argument("--method")
    p.add_argument("--time-limit", type=float)
    p.add_argument("-o", "--output", help="write the result here (JSON) instead of stdout")
    p.set_defaults(func=_cmd_solve)
    p = sub.add_parser("bench", help="run the benchmarks (all, or one family)")
    p.add_argument("family", nargs="?")
    p.add_argument("--quick", action="store_true")
    p.set_defaults(func=_cmd_bench)
    p = sub.add_parser("sweep", help="run a parameter sweep from a JSON config (resumable with `output`)")
    p.add_argument("config")
    p.add_argument("-o", "--output", help="JSON-lines file for the records (overrides the config's `output`)")
    p.add_argument("--workers", type=int, default=2, help="workers of the local Dask cluster (executor 'dask')")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_sweep)
    p = sub.add_parser("exercises", help="textbook exercises: list, show ID [--solution], check ID FILE.py")
    p.add_argument("action", choices=("list", "show", "check"))
    p.add_argument("id", nargs="?")
    p.add_argument("file", nargs="?", help="for check: a Python file defining `answer`")
    p.add_argument("--solution", action="store_true", help="with show: print the worked solution too")
    p.set_defaults(func=_cmd_exercises)
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
    except (ValueError, ImportError, OSError, RuntimeError, json.JSONDecodeError, TypeError) as exc:
        print(f"orbudget: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
