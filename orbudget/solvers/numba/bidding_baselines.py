"""The bidding baselines of the RLB paper and after (numba replays): linear (Lin), Mcpc, constant, random, ORTB and
adaptive dual pacing. The DP policies (RLB, SS-MDP) and the replay they share are in ``bidding.py``."""

from __future__ import annotations

import math

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.registry import register, rename_method
from ...core.result import Result
from ...core.solve import SolveOptions
from ...core.validation import as_choice, as_scalar
from ...problems.bidding import BiddingCampaign
from .bidding import _needs_log, _solve_scale, _tune, as_bids, replay_result

for _old, _new in (("lin", "linear"), ("const", "constant"), ("rand", "random")):  # the names before this release
    rename_method(BiddingCampaign, _old, _new)


def lin_bids(problem: BiddingCampaign, base: float, ctr) -> np.ndarray:
    """Lin's bid ⌊b0·θ/θ̄⌋ (product, then division, then truncation, as the official code)."""
    return as_bids(np.asarray(ctr) * base / problem.ctr_mean)


@register(
    BiddingCampaign,
    "linear",
    backend="numba",
    priority=20,
    supports=_needs_log,
    options=("base_bid", "base_bid_from"),
    honours=("time_limit", "seed"),
    renamed_options={"mode": "base_bid_from"},
)
def solve_linear(problem: BiddingCampaign, opts: SolveOptions) -> Result:
    """Linear bidding, Lin (Perlich et al. 2012): ⌊b0·θ/θ̄⌋. b0 given, the official tuned value, tuned on the
    training log, or solved from the model (λ*: model spend = B/T, b0 = θ̄/λ*); ``base_bid_from`` = 'tuned' or
    'solved' forces one."""
    mode = opts.get("base_bid_from")
    b0 = opts.get("base_bid")

    def bids(base, ctr):
        return lin_bids(problem, base, ctr)

    if b0 is not None and mode is not None:
        raise InvalidProblemError(
            "`options.base_bid_from` chooses how b0 is found; it cannot be combined with `options.base_bid`, which gives b0"
        )
    if b0 is None and mode is None and problem.lin_base_bid is not None:
        b0, how = problem.lin_base_bid, "official"
    elif b0 is not None:
        b0, how = as_scalar("options.base_bid", b0, minimum=0.0), "given"
    else:
        mode = as_choice(
            "options.base_bid_from", mode or ("tuned" if problem.train_ctr is not None else "solved"), ("tuned", "solved")
        )
        if mode == "tuned":
            if problem.train_ctr is None:
                raise InvalidProblemError("`options.base_bid_from` 'tuned' needs a training log (`train_ctr`, `train_price`)")
            b0, how = _tune(problem, range(1, 4 * problem.max_bid + 1), bids), "tuned"
        else:
            b0, how = _solve_scale(problem, lambda s, sample: bids(s, sample), hi=1e6), "solved"
    return replay_result(
        problem,
        0,
        fixed=bids(b0, problem.ctr),
        extra={"base_bid": float(b0), "base_bid_from": how},
        message=f"Lin, b0 = {b0:.4g} ({how})",
    )


@register(BiddingCampaign, "mcpc", backend="numba", priority=50, supports=_needs_log, honours=("time_limit", "seed"))
def solve_mcpc(problem: BiddingCampaign, opts: SolveOptions) -> Result:
    """Mcpc: ⌊θ·eCPC_train⌋."""
    return replay_result(
        problem, 0, fixed=as_bids(problem.ctr * problem.ecpc), extra={"ecpc_train": problem.ecpc}, message="Mcpc"
    )


@register(
    BiddingCampaign,
    "constant",
    backend="numba",
    priority=70,
    supports=_needs_log,
    options=("bid",),
    honours=("time_limit", "seed"),
)
def solve_constant(problem: BiddingCampaign, opts: SolveOptions) -> Result:
    """Constant bidding (Const): one bid for every auction, tuned on the training log (else the largest within the
    model's spend rate)."""

    def bids(c, ctr):
        return np.full(ctr.size, int(c), np.int64)

    if opts.get("bid") is not None:
        c, how = as_scalar("options.bid", opts.get("bid"), integer=True, minimum=0, maximum=problem.max_bid), "given"
    elif problem.train_ctr is not None:
        c, how = _tune(problem, range(0, problem.max_bid + 1), bids), "tuned"
    else:
        c, how = int(_solve_scale(problem, lambda s, sample: np.full(sample.size, int(s)), hi=problem.max_bid)), "solved"
    return replay_result(
        problem, 0, fixed=bids(c, problem.ctr), extra={"bid": int(c), "bid_from": how}, message=f"Const {c} ({how})"
    )


@register(
    BiddingCampaign,
    "random",
    backend="numba",
    priority=80,
    supports=_needs_log,
    options=("range",),
    honours=("time_limit", "seed"),
)
def solve_random(problem: BiddingCampaign, opts: SolveOptions) -> Result:
    """Random bidding (Rand): ⌊U·R⌋ with U ~ U[0, 1) (seeded), R tuned on the training log (else solved from the model)."""
    from ...core.validation import as_generator, as_int_seed

    seed = as_int_seed(opts.seed)  # checked before any tuning; a Generator gives one draw shared by every R tried

    def bids(r, ctr):
        return as_bids(as_generator(seed).random(ctr.size) * r)

    if opts.get("range") is not None:
        r, how = as_scalar("options.range", opts.get("range"), minimum=0.0), "given"
    elif problem.train_ctr is not None:
        r, how = _tune(problem, range(2, 501), bids), "tuned"
    else:
        r, how = _solve_scale(problem, lambda s, sample: bids(s, np.zeros(4096)), hi=2.0 * problem.max_bid), "solved"
    return replay_result(
        problem, 0, fixed=bids(r, problem.ctr), extra={"range": float(r), "range_from": how}, message=f"Rand, R = {r:.4g} ({how})"
    )


def win_curve_fit(problem: BiddingCampaign, form: int) -> float:
    """c of ORTB's win curve w(b) = b/(c+b) (form 1) or b²/(c²+b²) (form 2), least squares to P(δ <= b)."""
    b = np.arange(1, problem.max_bid + 1, dtype=float)
    w = np.cumsum(problem.market_price)[1:]
    cs = np.linspace(1, 3 * problem.max_bid, 3000)
    model = (b[None] / (cs[:, None] + b[None])) if form == 1 else (b[None] ** 2 / (cs[:, None] ** 2 + b[None] ** 2))
    return float(cs[np.argmin(((model - w[None]) ** 2).sum(axis=1))])


def ortb_bids(theta, c, lam, form):
    """ORTB1: √(cθ/λ + c²) − c; ORTB2: c·(u^{1/3} − u^{−1/3}), u = (θ + √(c²λ² + θ²))/(cλ) (Zhang et al. 2014)."""
    theta = np.asarray(theta, float)
    if form == 1:
        out = np.sqrt(c * theta / lam + c * c) - c
    else:
        u = (theta + np.sqrt(c * c * lam * lam + theta * theta)) / (c * lam)
        out = c * (np.cbrt(u) - 1 / np.cbrt(u))
    return as_bids(out)


@register(
    BiddingCampaign,
    "ortb",
    backend="numba",
    priority=40,
    supports=_needs_log,
    options=("bid_function", "lam"),
    honours=("time_limit", "seed"),
    renamed_options={"form": "bid_function"},
)
def solve_ortb(problem: BiddingCampaign, opts: SolveOptions) -> Result:
    """ORTB (Zhang, Yuan, Wang 2014), concave bids in θ; c fitted to the win curve, λ tuned on the training log or
    solved so the model spend rate is B/T. ``bid_function`` 1 or 2 (the paper's ORTB1 and ORTB2)."""
    form = opts.get("bid_function", 1)
    if isinstance(form, bool) or form not in (1, 2):
        raise InvalidProblemError(f"`options.bid_function` must be 1 or 2; got {form!r}")
    form = int(form)
    c = win_curve_fit(problem, form)
    if opts.get("lam") is not None:
        lam, how = as_scalar("options.lam", opts.get("lam"), minimum=0.0, strict_minimum=True), "given"
    elif problem.train_ctr is not None:
        grid = problem.ctr_mean * np.logspace(-4, 1, 300) / problem.max_bid
        lam, how = _tune(problem, grid, lambda lam_, ctr: ortb_bids(ctr, c, lam_, form)), "tuned"
    else:
        scale = _solve_scale(problem, lambda s, sample: ortb_bids(sample, c, 1.0 / max(s, 1e-300), form), hi=1e12)
        lam, how = 1.0 / max(scale, 1e-300), "solved"
    return replay_result(
        problem,
        0,
        fixed=ortb_bids(problem.ctr, c, lam, form),
        extra={"c": c, "lam": float(lam), "lam_from": how, "form": form},
        message=f"ORTB{form} ({how})",
    )


def pacing_parameters(problem: BiddingCampaign, scale=0.1, field: str = "scale") -> tuple[float, float, float]:
    """Adaptive pacing's (κ, η, μ₁): κ = δmax/θ̄, η = scale/√T, and μ₁ the fluid multiplier (the solved Lin:
    κθ̄/(1+μ₁) = b0*)."""
    scale = as_scalar(field, scale, minimum=0.0)
    eta = scale / math.sqrt(problem.episode_length)
    kappa = problem.max_bid / problem.ctr_mean
    b0 = _solve_scale(problem, lambda s, sample: lin_bids(problem, s, sample), hi=1e6)
    return kappa, eta, max(0.0, kappa * problem.ctr_mean / max(b0, 1e-12) - 1.0)


@register(
    BiddingCampaign,
    "dual_pacing",
    backend="numba",
    priority=30,
    supports=_needs_log,
    options=("scale",),
    honours=("time_limit", "seed"),
)
def solve_dual_pacing(problem: BiddingCampaign, opts: SolveOptions) -> Result:
    """Adaptive pacing (Balseiro and Gur 2019): bid min(κθ/(1+μ), b) with κ = δmax/θ̄, and the online-allocation
    family's dual step μ ← max(0, μ − η(1 − z_t/ρ)) on spend z_t in units of the target rate ρ = B/T, η = c/√T
    (c = ``scale``, default 0.1). μ starts at the fluid multiplier (the solved Lin: κθ̄/(1+μ₁) = b0*)."""
    kappa, eta, mu0 = pacing_parameters(problem, opts.get("scale", 0.1), field="options.scale")
    return replay_result(
        problem,
        3,
        kappa=kappa,
        eta=eta,
        mu0=mu0,
        extra={"kappa": kappa, "step_size": eta, "initial_dual": mu0},
        message="adaptive pacing (dual descent)",
    )
