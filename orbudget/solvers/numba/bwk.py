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

import math
import time

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.progress import Run
from ...core.registry import register
from ...core.result import Result, Status
from ...core.validation import SeedLike, as_array, as_choice, as_scalar, check_state, fingerprint, memory_limit
from ...problems.bwk import CHUNK, BanditsWithKnapsacks, split_seed

CODES = {"primal_dual": 0, "lagrange": 1, "best_of_both": 2, "ucb": 3}
LP_METHODS = ("ucb_bwk", "explore_first")
# the tuning options each method reads (anything else given to it is refused by name, not silently ignored)
METHOD_OPTIONS = {
    "primal_dual": ("confidence", "hedge_step"),
    "lagrange": ("hedge_step", "exp3_step", "exploration"),
    "best_of_both": ("exp3_step", "exploration", "dual_step", "reference"),
    "ucb": (),
    "ucb_bwk": ("confidence", "resolve_every"),
    "explore_first": ("confidence", "explore_rounds"),
}
KINDS = {"bernoulli": 0, "bounded": 1, "adversarial": 2}
_EMPTY_R = np.zeros((1, 1))
_EMPTY_C = np.zeros((1, 1, 1))


class BwKPolicy:
    """A bandits-with-knapsacks policy for step-by-step play (``act`` / ``update`` / ``state_dict``).

    Args:
        problem: the instance (the policy reads only K, d, budgets and T from it).
        method: ``primal_dual``, ``lagrange``, ``best_of_both``, ``ucb``, ``ucb_bwk`` or ``explore_first``.
        seed: the policy's own randomness (EXP3 and LP sampling).
        confidence: C_rad of the confidence radius √(C ν/N) + C/N (default ln(K d T) / 4, calibrated once on random
            instances; the theory's Θ(log dKT) constant is not specified).
        hedge_step: ε of Hedge.
        exp3_step: η of EXP3.
        exploration: γ of EXP3.
        dual_step: η of the dual step.
        reference: dual mirror map for ``best_of_both`` (``projected_entropy`` default, any of DMD's four).
        explore_rounds: N for ``explore_first`` (default ⌈K^{1/3} T^{2/3}⌉).
        resolve_every: LP re-solve period of ``ucb_bwk`` (default max(1, T // 2000)).

    Examples:
        >>> import orbudget as ob
        >>> p = ob.BanditsWithKnapsacks.random(4, 2, horizon=500, seed=0)
        >>> pol, env = ob.BwKPolicy(p, "primal_dual", seed=1), p.env(seed=2)
        >>> while not pol.done:
        ...     arm = pol.act()
        ...     _, reward, terminated, truncated, info = env.step(arm)
        ...     pol.update(arm, reward, info["consumption"])
        >>> bool((pol.remaining >= 0).all())
        True
    """

    def __init__(
        self,
        problem: BanditsWithKnapsacks,
        method: str = "primal_dual",
        *,
        seed: SeedLike = None,
        confidence: float | None = None,
        hedge_step: float | None = None,
        exp3_step: float | None = None,
        exploration: float | None = None,
        dual_step: float | None = None,
        reference: str | None = None,
        explore_rounds: int | None = None,
        resolve_every: int | None = None,
    ):
        from ...problems.dual_mirror_descent import REFERENCES, initial_duals
        from ._online import REFERENCE_CODES

        if not isinstance(problem, BanditsWithKnapsacks):
            raise InvalidProblemError(f"`problem` must be a BanditsWithKnapsacks; got {type(problem).__name__}")
        self.problem = problem
        self.method = as_choice("method", method, (*CODES, *LP_METHODS))
        given = {
            "confidence": confidence,
            "hedge_step": hedge_step,
            "exp3_step": exp3_step,
            "exploration": exploration,
            "dual_step": dual_step,
            "reference": reference,
            "explore_rounds": explore_rounds,
            "resolve_every": resolve_every,
        }
        for name, value in given.items():
            if value is not None and name not in METHOD_OPTIONS[self.method]:
                accepted = ", ".join(f"`{o}`" for o in METHOD_OPTIONS[self.method]) or "none"
                raise InvalidProblemError(
                    f"`{name}` is not an option of method {self.method!r} (it would be ignored); its options: {accepted}"
                )
        reference = "projected_entropy" if reference is None else as_choice("reference", reference, REFERENCES)
        k, d, horizon = problem.n_arms, problem.n_resources, problem.horizon
        budgets = np.asarray(problem.budgets, float)
        bmin = float(budgets.min())
        c_rad = math.log(k * d * horizon + 1.0) / 4 if confidence is None else confidence
        hedge = (
            (math.sqrt(math.log(d + 1) / bmin) if self.method == "primal_dual" else math.sqrt(math.log(d + 1) / horizon))
            if hedge_step is None
            else hedge_step
        )
        # EXP3 over K + 1 actions (the null arm included) on losses, no uniform mixing: η = 2√(2 ln(K+1) / (T (K+1))),
        # twice the textbook constant, calibrated once (K = 10, d = 3, B = T/4, seeds 0-5 of `random`)
        gamma = 0.0 if exploration is None else exploration
        eta = 2 * math.sqrt(2 * math.log(k + 1) / (horizon * (k + 1))) if exp3_step is None else exp3_step
        # the dual step of the online-allocation family: c/√T with c = 10 for projected entropy, else 1
        dual = (10.0 if reference == "projected_entropy" else 1.0) / math.sqrt(horizon) if dual_step is None else dual_step
        self.params = np.array(
            [
                as_scalar("confidence", c_rad, minimum=0.0),
                as_scalar("hedge_step", hedge, minimum=0.0),
                as_scalar("exp3_step", eta, minimum=0.0),
                as_scalar("exploration", gamma, minimum=0.0, maximum=1.0),
                as_scalar("dual_step", dual, minimum=0.0),
                REFERENCE_CODES[reference],
            ],
            float,
        )
        self.explore_rounds = (
            min(horizon, math.ceil(k ** (1 / 3) * horizon ** (2 / 3)))
            if explore_rounds is None
            else as_scalar("explore_rounds", explore_rounds, integer=True, minimum=0, maximum=horizon)
        )
        self.resolve_every = (
            max(1, horizon // 2000)
            if resolve_every is None
            else as_scalar("resolve_every", resolve_every, integer=True, minimum=1)
        )
        # a Generator is used as is (the caller split it, as solve does); anything else is split here
        self.rng = seed if isinstance(seed, np.random.Generator) else split_seed(check_seed(seed))[0]
        self.budgets = budgets
        self.counts = np.zeros(k)
        self.reward_sum = np.zeros(k)
        self.consumption_sum = np.zeros((k, d))
        self.remaining = budgets.copy()
        self.logw = np.zeros(k + 1)  # EXP3 weights over the arms and the null arm
        self.logv = np.zeros(d + 1)
        self.mu = initial_duals(reference, budgets / horizon)
        self.dual_sum = np.zeros(d)
        self.dist = np.zeros(k)
        self.t = 0
        self.reward = 0.0
        self._solved_at = None
        self._lp = None

    @property
    def done(self) -> bool:
        """True once the horizon is over or a budget can no longer cover a round."""
        return self.t >= self.problem.horizon or bool((self.remaining < 1.0).any())

    def code(self) -> int:
        """The kernel's policy code for the current round (re-solving the LP first when one is due)."""
        if self.method in CODES:
            return CODES[self.method]
        if self.method == "explore_first":
            if self.t < self.explore_rounds:
                return 5
            if self._solved_at is None:
                self._solve_lp(shrink=True)
            return 4
        if self._solved_at is None or self.t - self._solved_at >= self.resolve_every:
            self._solve_lp(shrink=False)
        return 4

    def rounds_until_resolve(self) -> int:
        if self.method == "ucb_bwk":
            return self.resolve_every - (self.t - self._solved_at)
        if self.method == "explore_first" and self.t < self.explore_rounds:
            return self.explore_rounds - self.t
        return CHUNK

    def _solve_lp(self, shrink: bool) -> None:
        from ..highs.bwk import BwKLP
        from ._bwk import optimistic_means

        if self._lp is None:
            self._lp = BwKLP(self.problem.n_arms, self.problem.n_resources)
        k, d = self.problem.n_arms, self.problem.n_resources
        ucb, lcb = np.empty(k), np.empty((k, d))
        optimistic_means(self.counts, self.reward_sum, self.consumption_sum, self.params[0], ucb, lcb)
        left = self.problem.horizon - self.t
        budget = self.remaining * (1 - math.sqrt(k / self.problem.horizon)) if shrink else self.remaining
        self.dist = self._lp.solve(ucb, lcb, np.maximum(budget, 0.0) / max(left, 1))[1]
        self._solved_at = self.t

    def act(self) -> int:
        """The arm for this round (-1 = null). Call `update` with its outcome before the next ``act``."""
        if self.done:
            raise InvalidProblemError("play is over: the horizon is reached or a budget cannot cover another round")
        u = self.rng.random(2)
        from ._bwk import choose

        return int(
            choose(
                self.code(),
                self.t,
                u,
                self.counts,
                self.reward_sum,
                self.consumption_sum,
                self.budgets,
                float(self.problem.horizon),
                self.params,
                self.logw,
                self.logv,
                self.dist,
            )
        )

    def update(self, arm: int, reward: float = 0.0, consumption=None) -> None:
        """Record the round: the arm played (-1 = null), its reward in [0, 1] and its consumption in [0, 1]^d.

        Everything is checked before any state changes (the numba kernels index by ``arm`` unchecked): an arm
        outside -1..K-1, a reward or consumption outside [0, 1], an outcome for the null arm, or a round after play
        is over raises InvalidProblemError naming the argument, and the policy is left as it was.
        """
        p = self.problem
        k, d = p.n_arms, p.n_resources
        if isinstance(arm, (bool, np.bool_)) or not isinstance(arm, (int, np.integer, float, np.floating)):
            raise InvalidProblemError(f"`arm` must be a whole number in -1..{k - 1}; got {arm!r}")
        if not (math.isfinite(float(arm)) and float(arm) == int(arm) and -1 <= int(arm) < k):
            raise InvalidProblemError(f"`arm` must be a whole number in -1..{k - 1} (-1 = the null arm); got {arm!r}")
        arm = int(arm)
        if self.done:
            raise InvalidProblemError(
                f"`arm` cannot be recorded: play is over (round {self.t} of {p.horizon}, "
                f"remaining budgets {self.remaining.tolist()}); `update` follows an `act`"
            )
        reward = as_scalar("reward", reward, minimum=0.0, maximum=1.0)
        if consumption is None:
            if arm >= 0:
                raise InvalidProblemError(f"`consumption` (d = {d} values in [0, 1]) is required for arm {arm}")
            c = np.zeros(d)
        else:
            c = as_array("consumption", consumption, low=0.0, high=1.0, allow_empty=True)
            if c.size != d:
                raise InvalidProblemError(f"`consumption` must hold d = {d} values; got shape {c.shape}")
            c = np.array(c, dtype=float).reshape(d)
        if arm < 0 and (reward != 0.0 or c.any()):
            raise InvalidProblemError(f"`consumption` and `reward` of the null arm (-1) must be 0; got {reward}, {c.tolist()}")
        from ._bwk import learn

        learn(
            self.code(),
            arm,
            reward,
            c,
            self.counts,
            self.reward_sum,
            self.consumption_sum,
            self.budgets,
            float(p.horizon),
            self.params,
            self.logw,
            self.logv,
            self.mu,
            self.dual_sum,
        )
        if arm >= 0:
            self.counts[arm] += 1
            self.reward_sum[arm] += reward
            self.consumption_sum[arm] += c
            self.remaining -= c
            self.reward += float(reward)
        self.t += 1

    _STATE = ("counts", "reward_sum", "consumption_sum", "remaining", "logw", "logv", "mu", "dual_sum", "dist", "params")
    KIND = "BwKPolicy"

    def state_dict(self) -> dict:
        """The policy's whole state (copies), with its ``kind`` and the ``fingerprint`` of the problem it plays."""
        state = {name: getattr(self, name).copy() for name in self._STATE}
        state.update(
            kind=self.KIND,
            fingerprint=problem_fingerprint(self.problem),
            method=self.method,
            t=self.t,
            reward=self.reward,
            solved_at=self._solved_at,
            rng=self.rng.bit_generator.state,
            explore_rounds=self.explore_rounds,
            resolve_every=self.resolve_every,
        )
        return state

    def load_state_dict(self, state: dict) -> None:
        """Load a `state_dict` of a policy of the same method for the same problem.

        A state of another kind or problem (its fingerprint differs), of another method, with missing entries or
        entries of the wrong shape or range raises InvalidProblemError naming ``state``; nothing is loaded then.
        """
        p = self.problem
        check_state(
            state,
            kind=self.KIND,
            fingerprint=problem_fingerprint(p),
            keys=(*self._STATE, "method", "t", "reward", "solved_at", "rng", "explore_rounds", "resolve_every"),
        )
        if state["method"] != self.method:
            raise InvalidProblemError(f"`state` was saved by a {state['method']!r} policy, not {self.method!r}")
        k, d, horizon = p.n_arms, p.n_resources, p.horizon
        try:
            loaded = _checked_state(state, k, d, horizon, np.asarray(p.budgets, float))
            if not isinstance(state["rng"], dict):
                raise InvalidProblemError(f"`rng` must be the state of a {type(self.rng.bit_generator).__name__}")
            rng = np.random.Generator(type(self.rng.bit_generator)())  # the policy's own kind of bit generator
            try:
                rng.bit_generator.state = state["rng"]
            except (TypeError, ValueError, KeyError) as exc:
                raise InvalidProblemError(f"`rng` is not a generator state: {exc}") from None
        except InvalidProblemError as exc:
            raise InvalidProblemError(f"`state` is not a valid {self.method} {self.KIND} state for this problem: {exc}") from None
        for name, value in loaded.items():
            setattr(self, name, value)
        self.rng.bit_generator.state = state["rng"]


def check_seed(seed):
    """``seed`` if it is None, a numpy Generator or a whole number >= 0; else InvalidProblemError naming `seed`."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise InvalidProblemError(f"`seed` must be an int >= 0, a numpy.random.Generator or None; got {seed!r}")
    return int(as_scalar("seed", seed, integer=True, minimum=0))


def problem_fingerprint(problem: BanditsWithKnapsacks) -> str:
    """The fingerprint a BwK state carries: every field but ``sampler`` (code, which has no content digest)."""
    import dataclasses

    return fingerprint(
        {
            "kind": type(problem).__name__,
            **{f.name: getattr(problem, f.name) for f in dataclasses.fields(problem) if f.name != "sampler"},
        }
    )


def _checked_state(state: dict, k: int, d: int, horizon: int, budgets: np.ndarray) -> dict:
    """The arrays and counters of a BwK state, checked against the problem's shapes and ranges (writable copies)."""
    out = {}
    shapes = {
        "counts": (k,),
        "reward_sum": (k,),
        "consumption_sum": (k, d),
        "remaining": (d,),
        "logw": (k + 1,),
        "logv": (d + 1,),
        "mu": (d,),
        "dual_sum": (d,),
        "dist": (k,),
        "params": (6,),
    }
    for name, shape in shapes.items():
        kw = {"nonnegative": True} if name in ("counts", "reward_sum", "consumption_sum", "mu", "dist") else {}
        out[name] = np.array(as_array(name, state[name], shape=shape, **kw), dtype=float)
    if (out["counts"] != np.round(out["counts"])).any():
        raise InvalidProblemError("`counts` must be whole numbers")
    if (out["reward_sum"] > out["counts"] + 1e-9).any() or (out["consumption_sum"] > out["counts"][:, None] + 1e-9).any():
        raise InvalidProblemError("`reward_sum` and `consumption_sum` must be at most `counts` (outcomes lie in [0, 1])")
    if (out["remaining"] < 0).any() or (out["remaining"] > budgets).any():
        raise InvalidProblemError(
            f"`remaining` must lie between 0 and the budgets {budgets.tolist()}; got {out['remaining'].tolist()}"
        )
    if out["dist"].sum() > 1 + 1e-9:
        raise InvalidProblemError(f"`dist` must sum to at most 1; got {out['dist'].sum()}")
    params = out["params"]
    for i, name in enumerate(("confidence", "hedge_step", "exp3_step", "exploration", "dual_step")):
        as_scalar(name, params[i], minimum=0.0, maximum=1.0 if name == "exploration" else None)
    from ._online import REFERENCE_CODES

    if params[5] not in REFERENCE_CODES.values():
        raise InvalidProblemError(f"`params` has an unknown reference code {params[5]}")
    t = as_scalar("t", state["t"], integer=True, minimum=0, maximum=horizon)
    if out["counts"].sum() > t:
        raise InvalidProblemError(f"`counts` add up to {out['counts'].sum():g} pulls in {t} rounds")
    out["t"] = int(t)
    out["reward"] = float(as_scalar("reward", state["reward"], minimum=0.0, maximum=t))
    solved = state["solved_at"]
    out["_solved_at"] = None if solved is None else int(as_scalar("solved_at", solved, integer=True, minimum=0, maximum=t))
    out["explore_rounds"] = int(as_scalar("explore_rounds", state["explore_rounds"], integer=True, minimum=0, maximum=horizon))
    out["resolve_every"] = int(as_scalar("resolve_every", state["resolve_every"], integer=True, minimum=1))
    return out


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
    def adapter(problem, opts):
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
