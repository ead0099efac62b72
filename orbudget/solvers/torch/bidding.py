"""torch parts of the bidding family: the batched value DP (many campaigns at once, on a GPU when there is one) and
``rlb_nn``: a network approximating the value differences D(t, b), trained on the DP at a small horizon T0 and
used beyond it through the paper's budget/horizon mapping (RLB-NN-MapD: D(t, b) ≈ D(T0, b·T0/t)).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.progress import Run
from ...core.registry import register
from ...core.result import Limit, Result, Status
from ...core.solve import SolveOptions
from ...core.validation import as_choice, as_int_seed, as_scalar, fingerprint, memory_limit
from ...problems.bidding import BiddingCampaign
from ._common import as_device, default_device, read_checkpoint  # noqa: F401 - default_device re-exported (it lived here before)

CHECKPOINT_KIND = "rlb_nn checkpoint"
# float64 arrays per (t, b) cell of the T0 training grid: V, D, t, b, target, 2 features, prediction, table, slack
TRAINING_ARRAYS = 10


def value_tables(
    market_price,
    ctr_mean,
    horizon: int,
    budget: int,
    *,
    stop_loss=None,
    zero_at_empty: bool = True,
    device=None,
    dtype=None,
    windowed: bool | None = None,
):
    """Value tables V (C, T, B+1) for C campaigns at once.

    ``market_price`` (C, δmax+1) and ``ctr_mean`` (C,) give the θ̄-DP (positive-part form, which equals the code's
    break form because g(δ) is nonincreasing); with ``stop_loss`` = (grid (C, G), step (C,)) the CTR-integrated DP
    instead (then ``zero_at_empty`` should be False). A row is one (C, B+1, δmax+1) tensor operation on a GPU, and
    a loop over δ of (C, B+1) operations on the CPU (less memory traffic there); ``windowed`` forces one or the
    other.
    """
    import torch

    from ...core.validation import as_array

    device = as_device("device", device)
    dtype = dtype or torch.float64
    horizon = as_scalar("horizon", horizon, integer=True, minimum=1)
    budget = as_scalar("budget", budget, integer=True, minimum=0)
    pmfs = np.array(as_array("market_price", np.atleast_2d(market_price), ndim=2, nonnegative=True))  # writable
    thetas = np.array(as_array("ctr_mean", np.atleast_1d(ctr_mean), shape=(pmfs.shape[0],), low=0.0, high=1.0))
    need = float(pmfs.shape[0]) * horizon * (budget + 1) * torch.tensor([], dtype=dtype).element_size()
    limit = memory_limit()
    if need > limit:
        raise InvalidProblemError(
            f"`budget` {budget} with `horizon` {horizon} for {pmfs.shape[0]} campaigns needs "
            f"{need / 2**30:.1f} GiB of value tables (limit {limit / 2**30:.1f} GiB)"
        )
    m = torch.as_tensor(pmfs, dtype=dtype, device=device)
    theta = torch.as_tensor(thetas, dtype=dtype, device=device)
    n_camp, width = m.shape
    max_bid = width - 1
    cols = budget + 1
    v = torch.zeros((n_camp, horizon, cols), dtype=dtype, device=device)
    b = torch.arange(cols, device=device)
    d = torch.arange(max_bid, -1, -1, device=device)  # window position j holds δ = δmax − j
    valid = (b[:, None] - d[None, :]) >= 0  # (B+1, δmax+1)
    mw = m[:, d]  # m(δ) in window order
    grid = step = None
    if stop_loss is not None:
        grid = torch.as_tensor(np.atleast_2d(stop_loss[0]), dtype=dtype, device=device)
        step = torch.as_tensor(np.atleast_1d(stop_loss[1]), dtype=dtype, device=device)
    if windowed is None:
        windowed = device.type != "cpu"
    for t in range(1, horizon):
        prev = v[:, t - 1, :]
        if windowed:
            padded = torch.nn.functional.pad(prev, (max_bid, 0))
            cost = prev[:, :, None] - padded.unfold(1, max_bid + 1, 1)  # (C, B+1, δmax+1): V(t−1, b) − V(t−1, b−δ)
            row = prev + (mw[:, None, :] * _gain(cost, theta, grid, step, stop_loss) * valid[None]).sum(-1)
        else:
            row = prev.clone()
            for delta in range(min(max_bid, budget) + 1):
                cost = prev[:, delta:] - prev[:, : cols - delta]
                row[:, delta:] += m[:, delta, None] * _gain(cost, theta, grid, step, stop_loss)
        if zero_at_empty:
            row[:, 0] = 0.0
        v[:, t, :] = row
    return v


def _gain(cost, theta, grid, step, stop_loss):
    """(θ̄ − cost)^+ for the θ̄-DP, or π_F(cost) by linear interpolation of the stop-loss table; cost has the campaign
    axis first and any trailing shape."""
    import torch

    extra = (None,) * (cost.dim() - 1)
    if stop_loss is None:
        return torch.clamp(theta[(slice(None), *extra)] - cost, min=0.0)
    x = cost / step[(slice(None), *extra)]
    top = grid.shape[1] - 1
    k = torch.clamp(x.floor().long(), 0, top - 1)
    w = x - k
    flat = grid.reshape(grid.shape[0], *([1] * (cost.dim() - 2)), top + 1).expand(*cost.shape[:-1], top + 1)
    lo = torch.gather(flat, -1, k)
    hi = torch.gather(flat, -1, k + 1)
    return torch.where(x >= top, torch.zeros_like(x), lo * (1 - w) + hi * w)


def _features(t, b, mean_price):
    import torch

    t = t.clamp(min=1.0)
    return torch.stack([t / 1000.0, torch.clamp(b / (t * mean_price), max=8.0)], dim=-1)


def training_budget(problem: BiddingCampaign, horizon0: int) -> int:
    """B0: the budget range the T0 table must cover for the mapping b·T0/t, plus one full bid of headroom."""
    return int(math.ceil(problem.budget * horizon0 / problem.episode_length)) + problem.max_bid + 1


def train_value_differences(
    problem: BiddingCampaign,
    horizon0: int,
    *,
    steps: int = 1000,
    seed=0,
    checkpoint=None,
    device=None,
    exact: bool = True,
    run=None,
):
    """Fit D(t, b) = V(t, b+1) − V(t, b) of the DP at horizon T0 (the CTR-integrated DP when ``exact`` and the
    campaign has a CTR sample, else the paper's θ̄-DP) with an MLP 2→30→15→1 (tanh), inputs
    (t/1000, b/(t·mean price)), output scaled by θ̄ and clipped at 0 (Cai et al.'s RLB-NN). Returns the table
    D̂(t, b) for t <= T0 and b up to the mapped budget.

    ``checkpoint``: a path written atomically every 500 steps and at the end; training resumes from it (an
    interrupted run continues where it stopped). A checkpoint carries its ``kind``, the campaign's fingerprint and
    the training options (T0, B0, DP, seed); one from another campaign or other options, one that has trained more
    than ``steps``, or a file that is not an rlb_nn checkpoint is refused with InvalidProblemError naming
    ``checkpoint`` and left untouched (it is never silently reused or overwritten).

    ``run``: a `orbudget.core.progress.Run` stepped once per Adam step (info keys ``loss`` and ``step``);
    training stops early when it says so (time limit, or the callback returned True), or on Ctrl-C (then
    ``run.limit`` is ``INTERRUPTED``); the table is built from the network as trained so far, the checkpoint saved
    at the step reached (so a later run resumes there), and ``steps`` in the returned info is that step.
    """
    import torch

    from ..numba.bidding import check_table_size, dp_value_table

    horizon0 = int(as_scalar("horizon0", horizon0, integer=True, minimum=2, maximum=problem.episode_length))
    steps = int(as_scalar("steps", steps, integer=True, minimum=0))
    seed = as_int_seed(seed)
    device = as_device("device", device)
    budget0 = training_budget(problem, horizon0)
    check_table_size(
        problem,
        "rlb_nn",
        (horizon0 + 2) * (budget0 + 2),
        bytes_per_cell=8 * TRAINING_ARRAYS,
        horizon_field="options.horizon0",
        horizon=horizon0,
    )
    dp = "exact" if (exact and problem.ctr_sample is not None) else "mean_ctr"
    identity = {"horizon0": horizon0, "budget0": budget0, "dp": dp, "seed": seed}
    path = None if checkpoint is None else _checkpoint_path(checkpoint)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 30), torch.nn.Tanh(), torch.nn.Linear(30, 15), torch.nn.Tanh(), torch.nn.Linear(15, 1)
    ).to(device=device, dtype=torch.float64)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    start = 0
    if path is not None and path.exists():
        start = _load_checkpoint(path, problem, identity, steps, net, opt, device)
    on_chunk = None
    if run is not None:

        def on_chunk(done, stage):  # the DP's stages are not training steps: only the stop checks
            return run.stopped or run.out_of_time()

    try:
        v = dp_value_table(problem, horizon0 + 1, budget0 + 1, dp == "exact", on_chunk)
    except KeyboardInterrupt:
        if run is None:
            raise
        run.limit, run.message = Limit.INTERRUPTED, "interrupted while building the DP table at T0"
        v = None
    info = {"horizon0": horizon0, "budget0": budget0, "steps": start, "dp": dp, "resumed_at": start}
    if v is None:
        return None, info
    diffs = np.diff(v, axis=1)  # (T0+1, B0+1)
    tt, bb = np.meshgrid(np.arange(1, horizon0 + 1), np.arange(budget0 + 1), indexing="ij")
    target = torch.as_tensor(diffs[1:].ravel() / problem.ctr_mean, dtype=torch.float64, device=device)
    x_all = _features(
        torch.as_tensor(tt.ravel(), dtype=torch.float64, device=device),
        torch.as_tensor(bb.ravel(), dtype=torch.float64, device=device),
        problem.mean_price,
    )

    def save(step):
        import io

        from ...core.io import atomic_write_bytes

        buf = io.BytesIO()
        torch.save(
            {
                "kind": CHECKPOINT_KIND,
                "fingerprint": fingerprint(problem),
                "options": identity,
                "net": net.state_dict(),
                "opt": opt.state_dict(),
                "step": step,
            },
            buf,
        )
        atomic_write_bytes(path, buf.getvalue())

    gen = torch.Generator(device="cpu").manual_seed(seed + start)
    done = start
    rows = x_all.shape[0]
    per_row = 0.0  # seconds per row of one training step (forward and backward): about 3x a forward pass
    try:
        for step in range(start, steps):
            s0 = time.perf_counter()
            idx = torch.randint(0, rows, (4096,), generator=gen).to(device)
            loss = torch.mean((net(x_all[idx]).squeeze(-1) - target[idx]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            done = step + 1
            seconds = (time.perf_counter() - s0) / 4096
            per_row = seconds if per_row == 0.0 else 0.9 * per_row + 0.1 * seconds
            if path is not None and done % 500 == 0:
                save(done)
            if run is not None and run.step(loss=loss.item(), step=done):
                break
            left = None if run is None else run.remaining()
            if left is not None and left < per_row * rows / 3:  # keep the time the table of D̂ takes
                run.limit, run.message = (
                    Limit.TIME,
                    (f"time limit of {run.time_limit:g} s: training stopped early to leave time to tabulate the network"),
                )
                break
    except KeyboardInterrupt:
        if run is None:
            raise
        run.limit, run.message = Limit.INTERRUPTED, f"interrupted after {done} of {steps} training steps"
    if path is not None and start < done:
        save(done)
    info["steps"] = done
    pred = torch.empty(rows, dtype=torch.float64, device=device)
    chunk, last = 1 << 18, 0.0
    try:
        with torch.no_grad():
            for a in range(0, rows, chunk):  # a table that would end well past the limit is given up
                if run is not None and run.time_limit is not None and run.elapsed + last > run.time_limit * 1.1 + 0.8:
                    run.limit, run.message = Limit.TIME, "time limit reached while tabulating the trained network"
                    return None, info
                c0 = time.perf_counter()
                pred[a : a + chunk] = torch.clamp(net(x_all[a : a + chunk]).squeeze(-1), min=0.0) * problem.ctr_mean
                last = time.perf_counter() - c0
    except KeyboardInterrupt:
        if run is None:
            raise
        run.limit, run.message = Limit.INTERRUPTED, "interrupted while tabulating the trained network"
        return None, info
    mse = float(torch.mean((pred / problem.ctr_mean - target) ** 2))
    table = np.zeros((horizon0 + 1, budget0 + 1))
    table[1:] = pred.reshape(horizon0, budget0 + 1).cpu().numpy()
    return table, {"fit_mse": mse, **info}


def _checkpoint_path(checkpoint):
    import os
    from pathlib import Path

    if not isinstance(checkpoint, (str, os.PathLike)) or not str(checkpoint):
        raise InvalidProblemError(f"`checkpoint` must be a file path; got {checkpoint!r}")
    path = Path(checkpoint)
    if path.is_dir():
        raise InvalidProblemError(f"`checkpoint` must be a file path; {path} is a folder")
    return path


def _load_checkpoint(path, problem, identity: dict, steps: int, net, opt, device) -> int:
    """Load ``path`` into ``net`` and ``opt`` after checking it belongs to this campaign and these options; return
    the step it reached."""
    # weights_only: plain tensors, numbers and strings; a file of any other content is refused, not executed
    state = read_checkpoint(
        path,
        device=device,
        kind=CHECKPOINT_KIND,
        fingerprint=fingerprint(problem),
        keys=("net", "opt", "step", "options"),
        weights_only=True,
        what="an rlb_nn",
    )
    if state["options"] != identity:
        raise InvalidProblemError(
            f"`checkpoint` {path} was trained with {state['options']}; this run asks for "
            f"{identity}. Use another checkpoint path (or remove this one) to train anew"
        )
    step = state["step"]
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step:
        raise InvalidProblemError(f"`checkpoint` {path} has a bad step count {step!r}")
    if step > steps:
        raise InvalidProblemError(
            f"`checkpoint` {path} has trained {step} steps, more than `options.steps` = {steps}; "
            f"ask for at least {step} steps or use another checkpoint path"
        )
    try:
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise InvalidProblemError(f"`checkpoint` {path} does not hold this network's weights: {str(exc)[:200]}") from None
    return step


def _rlb_nn_supports(problem: BiddingCampaign):
    if not problem.n_auctions:
        return "the campaign has no auction log to replay"
    if problem.episode_length < 2:
        return "`episode_length` must be at least 2 for rlb_nn (its training horizon T0 is at least 2)"
    return None


@register(
    BiddingCampaign,
    "rlb_nn",
    backend="torch",
    priority=25,
    supports=_rlb_nn_supports,
    options=("horizon0", "steps", "checkpoint", "dp", "device"),
    honours=("time_limit", "threads", "callback", "progress", "seed"),
    long=True,
)
def solve_rlb_nn(problem: BiddingCampaign, opts: SolveOptions):
    """RLB-NN with the MapD mapping: D(t, b) from a torch MLP trained on the DP at T0 (default min(T, 1000)), and
    D(t, b) ≈ D(T0, b·T0/t) for t > T0, so episodes of 10^5..10^6 auctions need no table of size T·B. ``dp``:
    'exact' (default: the CTR-integrated DP) or 'mean' (the paper's θ̄-DP). ``device``: 'cpu', 'cuda' (default: CUDA
    when there is one). ``seed``: int or numpy Generator (one int drawn from it seeds torch).

    ``time_limit``, Ctrl-C and a ``callback`` returning True stop training early; the policy from the network as
    trained so far is then replayed and returned (FEASIBLE with ``limit`` TIME or INTERRUPTED). Under a time limit,
    training stops early enough to leave the time that tabulating D̂ takes. Stopped while the DP at T0 is still
    being built, or while D̂ is tabulated, there is no policy: ``NO_SOLUTION`` with the limit. ``callback(info)``
    is called once per training step with the standard keys plus ``loss`` (the step's mean squared error) and
    ``step``; ``progress=True`` shows the steps on stderr. ``threads``: torch's CPU threads during training
    (default 1: the network is tiny, and more threads only slow it down on a busy machine)."""
    from ..numba.bidding import replay_result
    from ._common import cpu_threads

    horizon0 = as_scalar("options.horizon0", opts.get("horizon0", min(problem.episode_length, 1000)), integer=True, minimum=2)
    if horizon0 > problem.episode_length:
        raise InvalidProblemError(f"`options.horizon0` must be at most the episode length {problem.episode_length}")
    steps = as_scalar("options.steps", opts.get("steps", 1000), integer=True, minimum=0)
    dp = as_choice("options.dp", opts.get("dp", "exact"), ("exact", "mean"))
    device = as_device("options.device", opts.get("device"))
    t0 = time.perf_counter()
    with Run(opts, total=steps, unit="steps", desc="rlb_nn") as run, cpu_threads(device, opts.threads or 1):
        table, info = train_value_differences(
            problem,
            horizon0,
            steps=steps,
            seed=as_int_seed(opts.seed),
            checkpoint=opts.get("checkpoint"),
            device=device,
            exact=dp == "exact",
            run=run,
        )
    t1 = time.perf_counter()
    if table is None:  # stopped before the network could be tabulated: no policy
        return Result(
            status=Status.NO_SOLUTION,
            limit=run.limit,
            stats=info,
            timings={"train": t1 - t0},
            message=f"RLB-NN-MapD (T0 = {horizon0}): {run.message}; no policy (no table of D̂)",
        )
    message = f"RLB-NN-MapD (T0 = {horizon0})"
    if run.limit is not None:
        message += f"; training stopped: {run.message}"
    r = replay_result(problem, 4, dtab=table, t0=horizon0, extra=info, message=message)
    return r.replace(timings={**r.timings, "train": t1 - t0}, limit=run.limit)
