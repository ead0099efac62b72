"""Bandits with knapsacks: the step-by-step `BwKPolicy` and the numba adapters ``primal_dual``,
``lagrange``, ``best_of_both`` and ``ucb``. The LP-based ``ucb_bwk``, ``explore_first`` and ``opt_lp`` live in
``solvers/highs/bwk.py`` and share `play`.

Policies (K arms, d resources, budgets B, horizon T; all costs normalised so every budget equals B_min and time
costs B_min/T per round, as in the book):

* ``primal_dual`` — PrimalDualBwK (Badanidiyuru, Kleinberg, Slivkins): pull each arm once; Hedge weights over the
  d + 1 resources with ε = √(ln(d+1)/B_min); play argmax UCB reward / (LCB cost · prices); multiply each resource's
  weight by (1+ε)^{LCB cost of the arm played}.
* ``lagrange`` — LagrangeBwK (Immorlica et al.): EXP3 over arms maximises the Lagrangian
  L = r + Σ_i λ_i (1 − (T/B_i) c_i), rescaled to [0, 1]; Hedge over resources (λ ∈ Δ_{d+1}) minimises it.
* ``best_of_both`` — the primal-dual template of Castiglioni, Celli, Kroer (2022): EXP3 on r − μᵀ(c − ρ), and dual
  mirror descent on μ with the online-allocation family's step (reference ``projected_entropy`` by default).
* ``ucb`` — UCB1 on rewards alone: ignores the budgets (the cautionary baseline) and stops when one runs out.
* ``ucb_bwk`` — UcbBwK (Agrawal, Devanur): sample from the optimistic LP (UCB rewards, LCB costs), re-solved every
  ``resolve_every`` rounds on the remaining budget per remaining round.
* ``explore_first`` — round-robin for N rounds, then sample from the optimistic LP with budgets shrunk by
  (1 − √(K/T)) (Slivkins, Exercise 10.1).
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
from ...problems.bwk import CHUNK, BanditsWithKnapsacks, split_seed
from .bwk_policy import _EMPTY_C, _EMPTY_R, KINDS, METHOD_OPTIONS, BwKPolicy, check_seed


def play(problem: BanditsWithKnapsacks, policy: BwKPolicy, env_rng: np.random.Generator, time_limit=None, progress=None):
    """Play the whole horizon with the numba ``run`` kernel in chunks (sampler environments step in Python).

    With a `Run` (``progress``), each chunk of rounds (up to the next LP re-solve for
    ``ucb_bwk``; 256 rounds for sampler environments) is one ``progress.step`` (``unit="rounds"``; extra keys
    ``round``, ``reward``, ``remaining``), ending the play when it says stop (time limit, callback); a Ctrl-C
    between chunks ends it too. Returns ``(arms, reward, stopped_by_budget, interrupted)``; ``interrupted`` is
    ``False`` or the `Limit` that ended the play early."""
    from ...core.result import Limit
    from ._bwk import run

    try:
        return _play(problem, policy, env_rng, time_limit, progress, run)
    except KeyboardInterrupt:  # between chunks: the rounds played so far are the result
        return arms_so_far(policy), policy.reward, False, Limit.INTERRUPTED


def arms_so_far(policy: BwKPolicy):
    arms = getattr(policy, "_arms", None)
    return np.zeros(0, np.int64) if arms is None else arms[: policy.t]


def _play(problem, policy, env_rng, time_limit, progress, run):
    from ...core.result import Limit

    horizon = problem.horizon
    arms = np.full(horizon, -1, dtype=np.int64)
    policy._arms = arms
    d = problem.n_resources
    start = time.perf_counter()

    def stop(n) -> bool:
        return progress is not None and progress.step(
            n, objective=policy.reward, round=policy.t, reward=policy.reward, remaining=policy.remaining.copy()
        )

    if problem.distribution == "sampler":
        from ...problems.bwk import Environment

        env = Environment(problem, env_rng)
        while not policy.done:
            arm = policy.act()
            arms[policy.t] = arm
            policy.update(arm, *env.step(arm))
            if time_limit is not None and time.perf_counter() - start > time_limit:
                return arms[: policy.t], policy.reward, False, Limit.TIME
            if policy.t % 256 == 0 and not policy.done and stop(256):
                return arms[: policy.t], policy.reward, False, progress.limit
        stop(policy.t % 256)  # the last rounds are reported too
        return arms[: policy.t], policy.reward, bool((policy.remaining < 1).any()), False
    kind = KINDS[problem.distribution]
    rtab = problem.rewards if kind == 2 else _EMPTY_R
    ctab = problem.consumptions if kind == 2 else _EMPTY_C
    counter = np.zeros(1)
    stopped = False
    while policy.t < horizon and not stopped:
        code = policy.code()
        n = min(policy.rounds_until_resolve(), CHUNK, horizon - policy.t)
        pu = policy.rng.random((n, 2))
        eu = env_rng.random((n, 1 + d))
        t, gained, stopped = run(
            code,
            policy.t,
            policy.t + n,
            pu,
            eu,
            kind,
            problem.reward_means,
            problem.consumption_means,
            rtab,
            ctab,
            policy.counts,
            policy.reward_sum,
            policy.consumption_sum,
            policy.remaining,
            policy.budgets,
            float(horizon),
            policy.params,
            policy.logw,
            policy.logv,
            policy.mu,
            policy.dual_sum,
            policy.dist,
            arms,
            counter,
        )
        before, policy.t = policy.t, int(t)
        policy.reward += gained
        if time_limit is not None and time.perf_counter() - start > time_limit and policy.t < horizon and not stopped:
            return arms[: policy.t], policy.reward, False, Limit.TIME
        if stop(policy.t - before) and policy.t < horizon and not stopped:  # the last chunk is reported too
            return arms[: policy.t], policy.reward, False, progress.limit
    return arms[: policy.t], policy.reward, bool(stopped), False


def solve_policy(problem: BanditsWithKnapsacks, opts, method: str) -> Result:
    from ...core.result import Limit

    params = dict(opts.options)
    from ...core.validation import as_bool

    benchmark = as_bool("options.benchmark", params.pop("benchmark", True))
    need = 8 * problem.horizon  # solve() keeps the arm of every round
    limit = memory_limit()
    if need > limit:
        raise InvalidProblemError(
            f"`horizon` {problem.horizon} is too large for {method!r}: the arm of every round "
            f"needs {need / 2**30:.1f} GiB (limit {limit / 2**30:.1f} GiB); play it step by "
            "step with BwKPolicy instead"
        )
    policy_rng, env_rng = split_seed(check_seed(opts.seed))
    policy = BwKPolicy(problem, method, seed=policy_rng, **params)
    t0 = time.perf_counter()
    if opts.callback is not None or opts.progress:
        with Run(opts, total=problem.horizon, unit="rounds", desc=method) as run:
            arms, reward, stopped, interrupted = play(problem, policy, env_rng, opts.time_limit, run)
    else:
        run = None
        arms, reward, stopped, interrupted = play(problem, policy, env_rng, opts.time_limit)
    elapsed = time.perf_counter() - t0
    spent = problem.budgets - policy.remaining
    stats = {
        "rounds": int(policy.t),
        "pulls": int((arms >= 0).sum()),
        "spent": spent,
        "remaining": policy.remaining.copy(),
        "stopped_by": "budget"
        if stopped
        else {Limit.TIME: "time_limit", Limit.INTERRUPTED: "interrupted", False: "horizon"}[interrupted],
        "rounds_per_second": policy.t / max(elapsed, 1e-12),
    }
    bound = None
    if benchmark:
        from ..highs.bwk import opt_lp_value

        opt = opt_lp_value(problem)[0]
        fixed = problem.opt_fixed_arm()
        stats.update(opt_lp=opt, opt_fixed_arm=fixed, regret=opt - reward, regret_fixed_arm=fixed - reward)
        bound = opt
    why = (
        ""
        if not interrupted
        else f"; {run.message}"
        if run is not None and run.limit is not None
        else ("; interrupted" if interrupted is Limit.INTERRUPTED else "")
    )
    return Result(
        status=Status.FEASIBLE,
        limit=interrupted or None,
        x=arms,
        objective=float(reward),
        bound=bound,
        stats=stats,
        timings={"policy": elapsed},
        message=f"{method} played {policy.t} of {problem.horizon} rounds{why}",
    )


def _register(method, priority, doc):
    def adapter(problem, opts: SolveOptions):
        return solve_policy(problem, opts, method)

    adapter.__doc__ = doc
    register(
        BanditsWithKnapsacks,
        method,
        backend="numba",
        priority=priority,
        options=(*METHOD_OPTIONS[method], "benchmark"),
        honours=("time_limit", "seed", "callback", "progress"),
    )(adapter)


_register("primal_dual", 10, "PrimalDualBwK (Badanidiyuru, Kleinberg, Slivkins): UCB/LCB bang-per-buck with Hedge prices.")
_register("lagrange", 30, "LagrangeBwK (Immorlica et al.): EXP3 primal against a Hedge dual on the Lagrangian.")
_register("best_of_both", 40, "Primal-dual template (Castiglioni, Celli, Kroer): EXP3 primal, dual mirror descent.")
_register("ucb", 60, "UCB1 on rewards, ignoring budgets (the cautionary baseline).")
