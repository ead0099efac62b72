"""``orbudget demo``: every family on an embedded default instance, as rows of one table.

A family registers a function ``fn(quick)`` that yields rows ``(family, problem, method, objective, baseline, gap,
seconds, note)``; ``gap`` is relative to ``baseline`` (the exact optimum, or the benchmark the family reports
regret against) and ``seconds`` is ``(solve, benchmark)``: the method's own run (the policy run for online
methods) and the time spent computing the benchmark the gap is measured against. `run_demos` adds a third
time, ``other``: everything else since the previous row (building the instance, imports, validation), so the rows'
times add up to the wall time. ``quick`` (the default, ``orbudget demo``) keeps the whole table under about a
minute on two cores; ``orbudget demo --full`` runs the larger instances.
"""

from __future__ import annotations

import numbers
import sys
import time
from collections.abc import Callable, Iterator

DEMOS: dict[str, Callable[[bool], Iterator[tuple]]] = {}
_STATE = {"family": None, "progress": False}


def _announce(what: str) -> None:
    """A progress line on stderr before a row's work starts (``orbudget demo`` prints them)."""
    if _STATE["progress"]:
        print(f"[demo] {_STATE['family']}: {what} ...", file=sys.stderr, flush=True)


def demo(name: str):
    def deco(fn):
        DEMOS[name] = fn
        return fn

    return deco


def _run(problem, method, split: bool = False, **kw):
    """Solve once; returns ``(result, (solve seconds, benchmark seconds), note)``. With ``split`` (families whose
    result carries its own benchmark: the online hindsight bound, BwK's OPT_LP), the policy run
    (``timings['policy']``) is the solve time and the rest of the call the benchmark time; otherwise the whole call
    (tuning, training, simulation) is the solve time."""
    from .core.errors import BackendNotAvailableError
    from .core.solve import solve

    _announce(f"{method or 'default method'} on {type(problem).__name__}")
    t0 = time.perf_counter()
    try:
        r = solve(problem, method=method, **kw)
    except BackendNotAvailableError as exc:
        return None, (0.0, 0.0), str(exc).split(":")[-1].strip()
    wall = time.perf_counter() - t0
    policy = r.timings.get("policy") if split else None
    times = (wall, 0.0) if policy is None else (policy, max(wall - policy, 0.0))
    return r, times, r.status.value if not r.ok else ""


def _gap(obj, base):
    if obj is None or base is None:
        return None
    return (base - obj) / max(abs(base), 1e-12)


@demo("knapsack")
def knapsack_demo(quick: bool) -> Iterator[tuple]:
    from .apps.grpo import simulate_grpo
    from .core.registry import honoured
    from .problems.knapsack import MultipleChoiceKnapsack
    from .problems.rollouts import RolloutAllocation

    p = MultipleChoiceKnapsack.random(60 if quick else 300, 8, seed=0)
    name = f"MCKP N={p.n_groups} K=8 B={p.budget}"
    exact, t, note = _run(p, "dp")
    base = exact.objective
    yield ("knapsack", name, "dp", base, base, 0.0, t, note)
    for m in ("mip", "cpsat", "greedy", "lp"):
        r, t, note = _run(p, m, **honoured(p, m, threads=1, time_limit=10))  # greedy and lp take no thread count
        obj = r.objective if r is not None and r.ok else None
        yield ("knapsack", name, m, obj, base, _gap(obj, base), t, note or ("upper bound" if m == "lp" else ""))
    q = RolloutAllocation.synthetic(256, 8, seed=0)
    name = "Rollouts n=256 W=2048"
    exact, t, note = _run(q, "greedy")
    base = exact.objective
    yield ("knapsack", name, "greedy", base, base, 0.0, t, "exact (concave)")
    for m in ("dp", "mip", "knapsackrl", "uniform", "convex"):
        if quick and m in ("dp", "mip"):
            continue
        r, t, note = _run(q, m)
        obj = r.objective if r is not None and r.ok else None
        extra = {"convex": "continuous bound", "knapsackrl": "official code"}.get(m, "")
        yield ("knapsack", name, m, obj, base, _gap(obj, base), t, note or extra)
    steps = 40 if quick else 120
    for alloc in ("knapsack", "uniform"):
        _announce(f"GRPO toy with {alloc} allocation")
        t0 = time.perf_counter()
        s = simulate_grpo(alloc, n_prompts=1000, steps=steps, seed=0).summary(skip=steps // 3)
        yield (
            "knapsack",
            f"GRPO toy, {steps} steps",
            alloc,
            s["effective_gradient_ratio"],
            None,
            None,
            (time.perf_counter() - t0, 0.0),
            "effective-gradient ratio",
        )


@demo("online")
def online_demo(quick: bool) -> Iterator[tuple]:
    from .problems import online_inputs as gen

    horizon = 20_000 if quick else 200_000
    instances = [
        (f"iid matching T={horizon:,} m=10", gen.iid_matching(horizon, 10, seed=0)),
        ("NRM T=2,000 m=100 d=10", gen.network_revenue_management(2000, 100, 10, seed=0)),
        (f"second-price auctions T={horizon:,}", gen.random_auctions(horizon, seed=0)),
    ]
    for name, p in instances:
        base = None
        kind = None
        for method in ("dmd", "greedy", "fluid"):
            # the first run computes the benchmark (quick: the default, exact when small, else the dual bound
            # within a small multiple of the policy; full: the LP bound), the others reuse it
            which = ("auto" if quick else "hindsight_lp") if base is None else "none"
            r, t, note = _run(p, method, split=True, options={"benchmark": which})
            if r is None:
                yield ("online", name, method, None, None, None, t, note)
                continue
            if base is None:
                base, kind = r.stats["hindsight"], r.stats["hindsight_kind"]
            yield (
                "online",
                name,
                method,
                r.objective,
                base,
                _gap(r.objective, base),
                t,
                note or f"baseline = {kind.replace('_', ' ')}",
            )


@demo("bwk")
def bwk_demo(quick: bool) -> Iterator[tuple]:
    from .problems.bwk import BanditsWithKnapsacks

    horizon = 20_000 if quick else 200_000
    p = BanditsWithKnapsacks.random(10, 3, horizon=horizon, seed=0)
    name = f"BwK K=10 d=3 B=T/4 T={horizon:,}"
    for method in ("primal_dual", "ucb_bwk", "lagrange", "best_of_both", "explore_first", "ucb"):
        r, t, note = _run(p, method, split=True, seed=0)
        if r is None:
            yield ("bwk", name, method, None, None, None, t, note)
            continue
        base = r.stats["opt_lp"]
        yield (
            "bwk",
            name,
            method,
            r.objective,
            base,
            _gap(r.objective, base),
            t,
            note or f"baseline = OPT_LP; {r.stats['rounds']:,} rounds, stopped by {r.stats['stopped_by']}",
        )
    pricing = BanditsWithKnapsacks.dynamic_pricing(5_000 if quick else 20_000, supply=500 if quick else 2_000)
    r, t, note = _run(pricing, "primal_dual", split=True, seed=0)
    if r is not None:
        yield (
            "bwk",
            "dynamic pricing, 10 prices, supply T/10",
            "primal_dual",
            r.objective,
            r.stats["opt_lp"],
            _gap(r.objective, r.stats["opt_lp"]),
            t,
            note or "sampler environment (Python loop)",
        )


@demo("bidding")
def bidding_demo(quick: bool) -> Iterator[tuple]:
    from .problems.bidding import BiddingCampaign

    n = 50_000 if quick else 200_000
    base = BiddingCampaign.synthetic(n_test=n, n_train=100_000, ctr_spread=1.0, seed=0)
    methods = ["linear", "rlb_exact", "rlb", "ortb", "dual_pacing", "mcpc", "constant"]
    for fraction in (1 / 32,) if quick else (1 / 32, 1 / 8):
        c = base.with_budget(fraction=fraction)
        name = f"synthetic market, {n // 1000} episodes of T=1000, c0=1/{round(1 / fraction)}"
        base_value = None
        for method in methods + (["rlb_nn"] if not quick and fraction == 1 / 32 else []):  # lin first: the baseline
            r, t, note = _run(c, method, seed=0)
            obj = r.objective if r is not None else None
            if method == "linear":
                base_value = obj
            yield (
                "bidding",
                name,
                method,
                obj,
                base_value,
                _gap(obj, base_value),
                t,
                note or "expected clicks; baseline = tuned Lin (negative gap = better)",
            )


@demo("rmab")
def rmab_demo(quick: bool) -> Iterator[tuple]:
    from .problems.rmab import CoupledRMAB

    instances = [("myopic trap J=2 B=1 H=20", CoupledRMAB.myopic_trap())]
    if not quick:
        instances.append(("budget J=6 B=2 H=10", CoupledRMAB.budget(6, 2, seed=0, horizon=10, episodes=100)))
    for name, p in instances:
        exact, t, note = _run(p, "exact_dp", seed=0)
        base = exact.objective
        yield ("rmab", name, "exact_dp", base, base, 0.0, t, note or "optimal policy (joint-state DP)")
        for method in ("sequoia", "index", "myopic", "sampling", "random"):
            r, t, note = _run(p, method, seed=0, options={"episodes": 30} if quick and method == "sequoia" else None)
            obj = r.objective if r is not None and r.ok else None
            yield (
                "rmab",
                name,
                method,
                obj,
                base,
                _gap(obj, base),
                t,
                note or ("mean expected reward per step, same randomness for every method" if method == "sequoia" else ""),
            )


@demo("rco")
def rco_demo(quick: bool) -> Iterator[tuple]:
    from .problems.assignment import BudgetedAssignment

    p = BudgetedAssignment.separable(50, seed=0)
    name = "separable N=50, bits {2,3,4,8}, 3.5 avg"
    exact, t, note = _run(p, "proxy_dp")
    base = exact.objective if exact is not None else None
    yield ("rco", name, "proxy_dp", base, base, 0.0 if base else None, t, note or "exact optimum (DP)")
    for method in ("rco", "evolutionary", "penalty", "uniform"):
        r, t, note = _run(p, method, seed=0, options={"steps": 100 if quick else 300} if method in ("rco", "penalty") else None)
        obj = r.objective if r is not None and r.ok else None
        yield (
            "rco",
            name,
            method,
            obj,
            base,
            _gap(-obj, -base) if obj is not None and base else None,
            t,
            note or ("" if obj is not None else (r.message if r is not None else "")),
        )
    if not quick:
        from .apps.compression import mlp_quantization

        mlp, holdout = mlp_quantization(seed=0, average_bits=2.5)
        for method in ("rco", "proxy_dp", "evolutionary", "uniform"):
            r, t, note = _run(mlp, method, seed=0)
            yield (
                "rco",
                "MLP quantisation 2.5 avg bits",
                method,
                holdout(r.x) if r is not None and r.ok else None,
                None,
                None,
                t,
                note or "held-out KL to the full-precision MLP (lower is better)",
            )


@demo("llm")
def llm_demo(quick: bool) -> Iterator[tuple]:
    from .problems.llm import ModelRouting, SampleAllocation

    for objective in ("pass_at_k", "majority_vote"):
        p = SampleAllocation.random(60 if quick else 200, objective=objective, seed=0)
        name = f"{objective} N={p.n_questions} B={p.budget}"
        exact, t, note = _run(p, None)
        base = exact.objective
        yield ("llm", name, exact.method, base, base, 0.0, t, note or f"exact ({exact.stats['exact_by']})")
        for method in ("uniform", "proportional"):
            r, t, note = _run(p, method)
            yield ("llm", name, method, r.objective, base, _gap(r.objective, base), t, note or "expected accuracy")
    q = ModelRouting.random(150 if quick else 500, 4, seed=0)
    name = f"routing Q={q.n_queries} M=4"
    exact, t, note = _run(q, "mckp", threads=1)
    base = exact.objective if exact is not None and exact.ok else None
    yield ("llm", name, "mckp", base, base, 0.0 if base else None, t, note or "exact (multiple-choice knapsack)")
    for method in ("dmd", "cheapest", "lp"):
        r, t, note = _run(q, method, options={"benchmark": "none"} if method == "dmd" else None)
        obj = r.objective if r is not None and r.ok else None
        extra = {"dmd": "online, queries in order", "lp": "upper bound"}.get(method, "")
        yield ("llm", name, method, obj, base, _gap(obj, base), t, note or extra)


HEAD = ("family", "instance", "method", "objective", "baseline", "gap", "solve [s]", "bench [s]", "other [s]", "note")
WIDTHS = (8, 40, 16, 10, 10, 8, 9, 9, 9, 0)  # for rows printed as they finish


def run_demos(
    family: str | None = None, quick: bool = True, *, on_row: Callable[[tuple], None] | None = None, progress: bool = False
) -> list[tuple]:
    """Run the demos (all families, or ``family``) and return their rows
    ``(family, instance, method, objective, baseline, gap, solve_s, benchmark_s, other_s, note)``.

    The quick instances are the default; ``quick=False`` runs the large ones (``orbudget demo --full``). ``on_row(row)`` is
    called as each row finishes; ``progress`` prints a line on stderr before each row's work starts. ``other_s``
    is the time since the previous row not spent in the solve or the benchmark (instance building, imports), so
    the rows' three times add up to the wall time of the run."""
    from .core.errors import InvalidProblemError

    if family is not None and family not in DEMOS:
        raise InvalidProblemError(f"`family` must be one of {', '.join(sorted(DEMOS))}; got {family!r}")
    quick = bool(quick)
    rows = []
    saved = dict(_STATE)
    _STATE["progress"] = progress
    try:
        for name, fn in DEMOS.items():
            if family is not None and name != family:
                continue
            _STATE["family"] = name
            last = time.perf_counter()
            for row in fn(quick):
                now = time.perf_counter()
                solve_s, bench_s = row[6]
                full_row = (*row[:6], solve_s, bench_s, max(now - last - solve_s - bench_s, 0.0), row[7])
                last = now
                rows.append(full_row)
                if on_row is not None:
                    on_row(full_row)
    finally:
        _STATE.update(saved)
    return rows


def _cell(i, v):
    if v is None:
        return "-"
    if i == 5:
        return f"{v:.2%}"
    if i in (6, 7, 8):
        return f"{v:.3f}"
    if isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral):  # float or numpy float
        return f"{v:.6g}"
    return str(v)


def format_row(row: tuple, widths=WIDTHS) -> str:
    """One row with fixed column widths (for printing rows as they finish)."""
    return "  ".join(_cell(i, v).ljust(w) for i, (v, w) in enumerate(zip(row, widths))).rstrip()


def format_header(widths=WIDTHS) -> str:
    return "\n".join(
        [
            "  ".join(h.ljust(w) for h, w in zip(HEAD, widths)).rstrip(),
            "  ".join("-" * max(w, len(h)) for h, w in zip(HEAD, widths)),
        ]
    )


def format_totals(rows: list[tuple], wall: float | None = None) -> str:
    """``total: solve …, benchmark …, other … = … s`` (and the measured wall time when given)."""
    solve_s, bench_s, other_s = (sum(r[i] for r in rows) for i in (6, 7, 8))
    line = (
        f"total: solve {solve_s:.1f} s + benchmark {bench_s:.1f} s + set-up/other {other_s:.1f} s "
        f"= {solve_s + bench_s + other_s:.1f} s over {len(rows)} rows"
    )
    return line + (f"; wall time {wall:.1f} s" if wall is not None else "")
