"""SEQUOIA (Xu et al., ICLR 2025): Q-learning for coupled restless bandits whose greedy step is an exact argmax of the
Q-network over the combinatorial action set C: a HiGHS MIP with the ReLU network embedded
(`orbudget.solvers.highs.rmab.QNetworkMIP`) or, when C is small, a batched forward pass over every feasible
action (the enumeration oracle; the same argmax, ≈100× cheaper at that size).

Training (``SequoiaPolicy.fit``):

1. *Warm start*: regress Q(x, s) on the one-step expected reward r̄(s, x) over random states and random feasible
   actions (the paper's "myopic" network).
2. *DQN*: ε-greedy episodes (exploration draws a random *feasible* action), uniform replay, ``updates_per_step``
   (2) Adam steps per environment step on the Huber loss against y = (1−γ)·r + γ·max_{x'∈C} Q_target(x', s'), a
   target network copied from the online one every ``target_every`` (25) steps; 200 episodes by default.

Departures from the reference code, each deliberate: the target network *tracks* (the code's soft update τ = 10⁻⁶
left it at the myopic net for the whole run); the learning rate decays linearly to 10% of ``lr`` over the run (the
code's per-episode decay 0.9 drove it to ≈ 0 within a few dozen episodes); replay is uniform (the code's
prioritised buffer never updated its priorities, so it was uniform anyway); targets are scaled by (1−γ) so Q stays
on the scale of a per-step reward (same argmax, better conditioned);
the path rows are used in training too (the code dropped them there); states are one-hot inputs (the code fed raw
integers). Episodes are truncated by the horizon, not terminated, so targets bootstrap at the last step (as in the
code; correct for a time limit). The MIP argmax is exact (gap 0) with interval bounds; the code used a 2% gap and
M = 10⁵.
"""

from __future__ import annotations

import time

from ...core.progress import Run
from ...core.registry import register
from ...core.result import Limit
from ...core.solve import SolveOptions
from ...core.validation import as_int_seed, as_scalar
from ...problems.rmab import CoupledRMAB
from ._common import cpu_threads
from .sequoia import SequoiaPolicy

_OPTIONS = (
    "episodes",
    "hidden",
    "lr",
    "batch_size",
    "replay",
    "target_every",
    "updates_per_step",
    "n_step",
    "warm_steps",
    "warm_samples",
    "argmax",
    "bounds",
    "checkpoint",
    "checkpoint_every",
    "train_initial",
    "device",
    "mip_time_limit",
)
TRAIN_SHARE = 0.8  # of a time limit: training stops there, the evaluation episodes get the rest
EVAL_AFTER_CTRL_C = 1.0  # seconds of evaluation episodes after a Ctrl-C stopped training (at least one episode)


@register(
    CoupledRMAB,
    "sequoia",
    backend="torch",
    priority=50,
    options=_OPTIONS,
    honours=("time_limit", "rel_gap", "threads", "warm_start", "callback", "progress", "seed"),
    long=True,
)
def solve_sequoia(problem: CoupledRMAB, opts: SolveOptions):
    """Train SEQUOIA (warm start + DQN with the exact argmax over C), then evaluate its greedy policy.
    ``warm_start``: a `SequoiaPolicy` or its ``state_dict()`` to start from (``episodes=0``: evaluate only).

    ``time_limit``: training stops at 80% of it (checked after every environment step), the evaluation episodes
    stop once the rest has passed (after at least one); the result then has ``limit=TIME``. Ctrl-C or a callback
    returning True during training stop it and evaluate the network as trained so far (``limit=INTERRUPTED``);
    after a Ctrl-C that evaluation is cut to about a second (at least one episode; ``stats["episodes"]`` says how
    many), and a second Ctrl-C ends it at once.
    ``callback(info)`` once per training episode (see `SequoiaPolicy.fit` for the keys); ``progress=True``
    shows the episodes on stderr. ``threads``: the MIP's threads and torch's CPU threads (default 1)."""
    from ...core.solve import SolveOptions
    from .._rmab import check_evaluation_size, evaluate, memo

    check_evaluation_size(problem)

    mip_limit = opts.get("mip_time_limit")
    if mip_limit is not None:
        mip_limit = as_scalar("options.mip_time_limit", mip_limit, minimum=0.0, strict_minimum=True)
    mip_opts = SolveOptions(threads=opts.threads or 1, time_limit=mip_limit, rel_gap=opts.rel_gap)
    policy = SequoiaPolicy(
        problem,
        hidden=opts.get("hidden", (32, 32)),
        argmax=opts.get("argmax", "auto"),
        bounds=opts.get("bounds", "interval"),
        seed=as_int_seed(opts.seed),
        device=opts.get("device"),
        mip_options=mip_opts,
        threads=opts.threads or 1,
    )
    ws = opts.warm_start
    if ws is not None:
        policy.load_state_dict(ws.state_dict() if isinstance(ws, SequoiaPolicy) else ws, field="warm_start")
    fit_keys = (
        "episodes",
        "lr",
        "batch_size",
        "replay",
        "target_every",
        "updates_per_step",
        "n_step",
        "warm_steps",
        "warm_samples",
        "checkpoint",
        "checkpoint_every",
        "train_initial",
    )
    kw = {k: opts.get(k) for k in fit_keys if opts.get(k) is not None}
    if ws is not None:
        kw.setdefault("warm_steps", 0)
    start = time.perf_counter()
    train_opts = SolveOptions(
        time_limit=None if opts.time_limit is None else TRAIN_SHARE * opts.time_limit,
        callback=opts.callback,
        progress=opts.progress,
        incumbent=opts.incumbent,
    )
    with Run(train_opts, total=kw.get("episodes", 200), unit="episodes", desc="sequoia") as run:
        info = policy.fit(run=run, **kw)
    t1 = time.perf_counter()
    act = memo(lambda s, t: policy.act(s), stationary=True)
    left = None if opts.time_limit is None else max(opts.time_limit - (t1 - start), 1e-3)
    ctrl_c = info["stopped"] is Limit.INTERRUPTED and not run.callback_stopped
    if ctrl_c:  # the user asked to stop: a short evaluation (at least one episode), not all of `episodes`
        left = EVAL_AFTER_CTRL_C if left is None else min(left, EVAL_AFTER_CTRL_C)
    eval_opts = SolveOptions(seed=opts.seed, time_limit=left)
    base = f"SEQUOIA: DQN with the exact argmax over C ({policy.argmax_kind})"
    with cpu_threads(policy.device, policy.threads):
        r = evaluate(
            problem,
            act,
            eval_opts,
            method="sequoia",
            stats={
                **{k: v for k, v in info.items() if k != "stopped"},
                "argmax": policy.argmax_kind,
                "mip": dict(policy.mip_stats),
            },
            message=base,
        )
    if ctrl_c:  # the evaluation's own "time limit" is the cut after the Ctrl-C, not a limit the user set
        r = r.replace(
            limit=Limit.INTERRUPTED,
            message=f"{base}; training stopped: {run.message}; evaluated on "
            f"{r.stats.get('episodes', 0)} of {problem.episodes} episodes only "
            "(Ctrl-C)",
        )
    elif info["stopped"] is not None:
        r = r.replace(limit=info["stopped"], message=f"{r.message}; training stopped: {run.message}")
    elif r.limit is Limit.TIME:
        r = r.replace(message=f"{r.message}; evaluation stopped by the time limit after {r.stats['episodes']} episodes")
    return r.replace(timings={**r.timings, "train": info["train_seconds"], "total_eval": time.perf_counter() - t1})
