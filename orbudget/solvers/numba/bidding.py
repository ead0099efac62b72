"""numba adapters for real-time bidding: the DP policies (``rlb``, ``rlb_exact``, ``ss_mdp``) and the baselines
(``lin``, ``mcpc``, ``const``, ``rand``, ``ortb``, ``dual_pacing``), each evaluated by replaying the campaign's log in
episodes of T auctions with the budget reset every episode.

``stats``: ``clicks`` (logged clicks won), ``expected_clicks`` (Σ true CTR of won auctions, synthetic logs),
``impressions``, ``cost``, ``win_rate``, ``cpm`` (cost per impression, price units), ``ecpc`` ((cost/1000)/clicks),
``episodes``, ``max_episode_spend`` (never above ``budget``), and the tuned parameter where one is tuned.
"""

from __future__ import annotations

import time

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.progress import Run
from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions
from ...core.validation import memory_limit
from ...problems.bidding import BiddingCampaign

GRID_POINTS = 4096
_NO_TABLE = np.zeros((1, 1))
_BID_CEILING = 2.0**62  # bids are capped at min(b, δmax) in the replay; this only keeps the int64 cast exact


def as_bids(values) -> np.ndarray:
    """⌊values⌋ as int64 bids: NaN and negatives become 0 and huge values a large finite bid (the replay caps every
    bid at min(b, δmax)), so no float outside int64 wraps to a negative or garbage bid when cast."""
    v = np.floor(np.asarray(values, dtype=float))
    v = np.nan_to_num(v, nan=0.0, posinf=_BID_CEILING, neginf=0.0)
    return np.clip(v, 0.0, _BID_CEILING).astype(np.int64)


def check_table_size(
    problem: BiddingCampaign,
    method: str,
    cells: float,
    *,
    bytes_per_cell: int = 8,
    horizon_field: str = "episode_length",
    horizon: int | None = None,
) -> None:
    """Refuse a DP whose tables (``cells`` entries of ``bytes_per_cell`` bytes) would need more than
    `memory_limit`."""
    need = float(cells) * bytes_per_cell
    limit = memory_limit()
    if need > limit:
        horizon = problem.episode_length if horizon is None else horizon
        raise InvalidProblemError(
            f"`budget` {problem.budget} with `{horizon_field}` {horizon} is too large for {method!r}: its value tables "
            f"need {need / 2**30:.1f} GiB (limit {limit / 2**30:.1f} GiB); use 'rlb_nn' (a short `horizon0`), "
            "'linear' or 'dual_pacing', which need no T×B table"
        )


def _needs_log(problem: BiddingCampaign):
    return None if problem.n_auctions else "the campaign has no auction log to replay (`ctr` and `price`)"


def stop_loss_grid(ctr_sample: np.ndarray, points: int = GRID_POINTS) -> tuple[np.ndarray, float]:
    """π_F(c) = E[(θ − c)^+] for the empirical F of ``ctr_sample`` on c = 0..max θ (``points`` nodes): exact at the
    nodes, so exact everywhere when every θ lies on a node."""
    theta = np.sort(np.asarray(ctr_sample, float))
    top = float(theta[-1])
    if top <= 0:
        return np.zeros(2), 1.0
    step = top / (points - 1)
    c = np.arange(points) * step
    suffix = np.concatenate([np.cumsum(theta[::-1])[::-1], [0.0]])
    k = np.searchsorted(theta, c, side="right")
    grid = (suffix[k] - (theta.size - k) * c) / theta.size
    grid[-1] = 0.0
    return np.maximum(grid, 0.0), step


def rlb_table(problem: BiddingCampaign, exact: bool, method: str = "rlb", run=None) -> np.ndarray | None:
    """The DP value table V(t, b): the θ̄-DP, or with ``exact`` the CTR-integrated one. With a
    `Run`, the stages are computed in chunks of about 0.1 s, each one ``run.step``
    (``unit="stages"``, extra key ``stage``); a Ctrl-C is seen between chunks, and ``None`` is returned when the run
    says stop (time limit, callback). The rows are the same as in one call."""
    check_table_size(problem, method, problem.episode_length * (problem.budget + 1.0))
    on_chunk = None if run is None else (lambda done, stage: run.step(done, stage=stage))
    return dp_value_table(problem, problem.episode_length, problem.budget, exact, on_chunk)


def rlb_bid(table: np.ndarray, t: int, b: int, theta: float, max_bid: int) -> int:
    """RLB's bid with ``t`` auctions left and budget ``b`` for an impression of CTR ``theta``, from a value table
    ``table`` = V(t, b) (`rlb_table`): the largest δ <= min(b, max_bid) with θ + V(t−1, b−δ) − V(t−1, b) >= 0,
    scanning up from 1 and stopping at the first δ that fails (the paper's rule)."""
    from ._bidding import dp_bid

    if not 1 <= int(t) <= table.shape[0] or not 0 <= int(b) < table.shape[1]:
        raise InvalidProblemError(
            f"`t` must be in 1..{table.shape[0]} and `b` in 0..{table.shape[1] - 1} for this table; got t={t}, b={b}"
        )
    return int(dp_bid(table, int(t), int(b), float(theta), int(max_bid)))


def dp_value_table(problem: BiddingCampaign, horizon: int, budget: int, exact: bool, on_chunk=None):
    """V(t, b) for t < ``horizon`` and b <= ``budget`` on the campaign's price distribution: the θ̄-DP, or with
    ``exact`` the CTR-integrated DP (on ``ctr_sample``, or the mean CTR alone without one). With ``on_chunk``, the
    stages run in chunks of about 0.1 s and ``on_chunk(stages_done, last_stage)`` is called after each: a True
    answer stops the build and ``None`` is returned (a Ctrl-C surfaces between chunks). The rows are the same as
    in one call."""
    from ._bidding import value_table, value_table_exact, value_table_exact_rows, value_table_rows

    pmf = np.ascontiguousarray(problem.market_price)
    if exact:
        sample = problem.ctr_sample if problem.ctr_sample is not None else np.array([problem.ctr_mean])
        grid, step = stop_loss_grid(sample)
    if on_chunk is None:
        if not exact:
            return value_table(horizon, budget, pmf, problem.ctr_mean, True)
        return value_table_exact(horizon, budget, pmf, grid, step)
    v = np.zeros((horizon, budget + 1))
    t, vmax, chunk = 1, 0.0, 1
    while t < horizon:
        stop = min(horizon, t + chunk)
        c0 = time.perf_counter()
        if exact:
            vmax = value_table_exact_rows(v, t, stop, vmax, pmf, grid, step)
        else:
            vmax = value_table_rows(v, t, stop, vmax, pmf, problem.ctr_mean, True)
        seconds = time.perf_counter() - c0
        done, t = stop - t, stop
        if on_chunk(done, t - 1) and t < horizon:  # a stop after the last stage still has the whole table
            return None
        # aim at chunks of about 0.1 s: a Ctrl-C, the time limit and the callback are seen between them
        chunk = max(1, min(4 * chunk, int(chunk * 0.1 / seconds))) if seconds > 0 else 4 * chunk
    return v


def run_replay(
    problem: BiddingCampaign,
    code: int,
    *,
    fixed=None,
    table=None,
    dtab=None,
    t0=0,
    kappa=0.0,
    eta=0.0,
    mu0=0.0,
    ctr=None,
    price=None,
    value=None,
    click=None,
):
    """Replay a log (the test log by default) and return ``(bids, per-episode array)``."""
    from ._bidding import replay

    ctr = problem.ctr if ctr is None else ctr
    price = problem.price if price is None else price
    if value is None:
        value = (
            problem.true_ctr
            if problem.true_ctr is not None
            else (problem.click.astype(float) if problem.click is not None else ctr)
        )
    if click is None:
        click = problem.click.astype(float) if problem.click is not None else np.zeros(ctr.size)
    horizon = problem.episode_length
    bids = np.empty(ctr.size, dtype=np.int64)
    episodes = np.zeros((-(-ctr.size // horizon), 5))
    fixed = np.zeros(1, np.int64) if fixed is None else np.ascontiguousarray(fixed, dtype=np.int64)
    replay(
        code,
        horizon,
        problem.budget,
        problem.max_bid,
        np.ascontiguousarray(ctr, dtype=np.float64),
        np.ascontiguousarray(price, dtype=np.int64),
        np.ascontiguousarray(click, dtype=np.float64),
        np.ascontiguousarray(value, dtype=np.float64),
        fixed,
        _NO_TABLE if table is None else table,
        _NO_TABLE if dtab is None else dtab,
        int(t0),
        problem.ctr_mean,
        float(kappa),
        float(eta),
        float(mu0),
        bids,
        episodes,
    )
    return bids, episodes


def result_from(problem: BiddingCampaign, bids, episodes, elapsed, extra=None, message="") -> Result:
    clicks, gained, imps, cost = (float(episodes[:, k].sum()) for k in range(4))
    expected = problem.true_ctr is not None
    stats = {
        "clicks": clicks,
        "expected_clicks": gained if expected else None,
        "impressions": imps,
        "cost": cost,
        "win_rate": imps / max(problem.n_auctions, 1),
        "cpm": cost / imps if imps else None,
        "ecpc": (cost / 1000) / clicks if clicks else None,
        "episodes": int(episodes.shape[0]),
        "max_episode_spend": float(problem.budget - episodes[:, 4].min()),
        "budget": problem.budget,
        **(extra or {}),
    }
    return Result(
        status=Status.FEASIBLE,
        x=bids,
        objective=gained if expected else clicks,
        stats=stats,
        timings={"policy": elapsed},
        message=message or "log replay in episodes",
    )


def _train_view(problem: BiddingCampaign):
    """The training log as (ctr, price, value), or None."""
    if problem.train_ctr is None:
        return None
    return problem.train_ctr, problem.train_price, problem.train_ctr


def _tune(problem: BiddingCampaign, candidates, make_bids):
    """Best candidate by replaying the training log (expected clicks), in the test's episodes and budget."""
    ctr, price, value = _train_view(problem)
    best, best_value = None, -1.0
    for c in candidates:
        _, ep = run_replay(problem, 0, fixed=make_bids(c, ctr), ctr=ctr, price=price, value=value, click=np.zeros(ctr.size))
        score = float(ep[:, 1].sum())
        if score > best_value + 1e-12:
            best, best_value = c, score
    return best


def spend_per_auction(problem: BiddingCampaign, bids_for_sample) -> float:
    """Model spend per auction E[δ·1{δ <= bid}] with bids from the CTR sample (fluid, no budget cap)."""
    c = np.cumsum(np.arange(problem.market_price.size) * problem.market_price)
    bids = np.clip(bids_for_sample, 0, problem.max_bid).astype(np.int64)
    return float(c[bids].mean())


def _solve_scale(problem: BiddingCampaign, bid_of_scale, lo=0.0, hi=1e9) -> float:
    """Largest scale s whose model spend per auction is at most B/T (bisection; spend is nondecreasing in s)."""
    target = problem.budget / problem.episode_length
    sample = problem.ctr_sample if problem.ctr_sample is not None else np.array([problem.ctr_mean])
    if spend_per_auction(problem, bid_of_scale(hi, sample)) <= target:
        return hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if spend_per_auction(problem, bid_of_scale(mid, sample)) <= target:
            lo = mid
        else:
            hi = mid
    return lo


def replay_result(problem, code, extra=None, message="", **kw):
    """Replay a policy over the campaign's episodes with the numba replay (`run_replay`: ``code`` 0 fixed bids,
    1 RLB, 2 SS-MDP, 3 dual pacing, 4 a DP table from a network) and build the family's `Result`, timed."""
    t0 = time.perf_counter()
    bids, ep = run_replay(problem, code, **kw)
    return result_from(problem, bids, ep, time.perf_counter() - t0, extra, message)


# -- DP policies --------------------------------------------------------------------------------------------------
def _dp_policy(problem: BiddingCampaign, exact: bool, message: str, opts, code: int = 1, method: str = "rlb") -> Result:
    """Build the DP table under a Run, then replay its bids (``code`` 1 = RLB, 2 = SS-MDP).

    The DP runs stage by stage in chunks: ``time_limit``, ``callback`` (one call per chunk of stages; ``iteration``
    counts the stages done, extra key ``stage``) and Ctrl-C are honoured between chunks. Stopped before the table
    is complete, it returns ``NO_SOLUTION`` with the limit (``TIME``, or ``INTERRUPTED`` for a callback's stop or a
    Ctrl-C): the bids replay the whole table, and a partial one is no policy of these methods."""
    t0 = time.perf_counter()
    with Run(opts, total=problem.episode_length - 1, unit="stages", desc=method) as run:
        v = rlb_table(problem, exact=exact, method=method, run=run)
    if v is None:  # the bids replay a complete table: a partial one is no policy of this method
        return Result(
            status=Status.NO_SOLUTION,
            limit=run.limit,
            timings={"dp": time.perf_counter() - t0},
            stats={"stages_done": run.iteration, "stages": problem.episode_length - 1},
            message=f"{run.message} after {run.iteration} of {problem.episode_length - 1} DP stages; "
            "the policy needs the whole table (no bids)",
        )
    t1 = time.perf_counter()
    extra = {"value": float(v[-1, -1])} if code == 1 else None
    r = replay_result(problem, code, table=v, extra=extra, message=message)
    return r.replace(timings={**r.timings, "dp": t1 - t0})


@register(
    BiddingCampaign,
    "rlb",
    backend="numba",
    priority=10,
    supports=_needs_log,
    honours=("seed", "time_limit", "callback", "progress"),
    long=True,
)
def solve_rlb(problem: BiddingCampaign, opts: SolveOptions) -> Result:
    """RLB as the paper's code does it: the θ̄-DP (V(t, 0) = 0), bids with the impression's CTR.

    ``time_limit``, ``callback`` and Ctrl-C are honoured between chunks of DP stages; stopped before the table is
    complete it returns ``NO_SOLUTION`` with the limit (see ``_dp_policy``)."""
    return _dp_policy(problem, False, "RLB (θ̄-DP, paper's code)", opts)


@register(
    BiddingCampaign,
    "rlb_exact",
    backend="numba",
    priority=15,
    supports=_needs_log,
    honours=("seed", "time_limit", "callback", "progress"),
    long=True,
)
def solve_rlb_exact(problem: BiddingCampaign, opts: SolveOptions) -> Result:
    """RLB with the CTR-integrated DP: the optimal policy when CTRs are i.i.d. from ``ctr_sample`` (F).

    ``time_limit``, ``callback`` and Ctrl-C are honoured between chunks of DP stages; stopped before the table is
    complete it returns ``NO_SOLUTION`` with the limit (see ``_dp_policy``)."""
    return _dp_policy(problem, True, "RLB (CTR-integrated DP)", opts, method="rlb_exact")


@register(
    BiddingCampaign,
    "ss_mdp",
    backend="numba",
    priority=60,
    supports=_needs_log,
    honours=("seed", "time_limit", "callback", "progress"),
    long=True,
)
def solve_ss_mdp(problem: BiddingCampaign, opts: SolveOptions) -> Result:
    """SS-MDP (Amin et al. 2012): the same θ̄-DP table, bidding with θ̄ for every impression (ignores features).

    ``time_limit``, ``callback`` and Ctrl-C are honoured between chunks of DP stages; stopped before the table is
    complete it returns ``NO_SOLUTION`` with the limit (see ``_dp_policy``)."""
    return _dp_policy(problem, False, "SS-MDP", opts, code=2, method="ss_mdp")


# -- baselines ------------------------------------------------------------------------------------------------------
