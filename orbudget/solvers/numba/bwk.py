"""Bandits with knapsacks: the step-by-step :class:`BwKPolicy` and the numba adapters ``primal_dual``,
``lagrange``, ``best_of_both`` and ``ucb``. The LP-based ``ucb_bwk``, ``explore_first`` and ``opt_lp`` live in
``solvers/highs/bwk.py`` and share :func:`play`.

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
from ...core.registry import register
from ...core.result import Result, Status
from ...core.validation import as_choice, as_scalar
from ...problems.bwk import CHUNK, BanditsWithKnapsacks, split_seed

CODES = {"primal_dual": 0, "lagrange": 1, "best_of_both": 2, "ucb": 3}
LP_METHODS = ("ucb_bwk", "explore_first")
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
        hedge_step, exp3_step, exploration, dual_step: ε of Hedge, η and γ of EXP3, η of the dual step.
        reference: dual mirror map for ``best_of_both`` (``projected_entropy`` default, any of DMD's four).
        explore_rounds: N for ``explore_first`` (default ⌈K^{1/3} T^{2/3}⌉).
        resolve_every: LP re-solve period of ``ucb_bwk`` (default max(1, T // 2000)).

    Example:
        >>> import orbudget as ob
        >>> p = ob.BanditsWithKnapsacks.random(4, 2, horizon=500, seed=0)
        >>> pol, env = ob.BwKPolicy(p, "primal_dual", seed=1), p.environment(seed=2)
        >>> while not pol.done:
        ...     arm = pol.act()
        ...     pol.update(arm, *env.step(arm))
        >>> bool((pol.remaining >= 0).all())
        True
    """

    def __init__(self, problem: BanditsWithKnapsacks, method: str = "primal_dual", *, seed=None, confidence=None,
                 hedge_step=None, exp3_step=None, exploration=None, dual_step=None, reference: str = "projected_entropy",
                 explore_rounds=None, resolve_every=None):
        from ...problems.online import REFERENCES, initial_duals
        from ._online import REFERENCE_CODES

        self.problem = problem
        self.method = as_choice("method", method, (*CODES, *LP_METHODS))
        k, d, horizon = problem.n_arms, problem.n_resources, problem.horizon
        budgets = np.asarray(problem.budgets, float)
        bmin = float(budgets.min())
        c_rad = math.log(k * d * horizon + 1.0) / 4 if confidence is None else confidence
        hedge = (math.sqrt(math.log(d + 1) / bmin) if self.method == "primal_dual"
                 else math.sqrt(math.log(d + 1) / horizon)) if hedge_step is None else hedge_step
        # EXP3 over K + 1 actions (the null arm included) on losses, no uniform mixing: η = 2√(2 ln(K+1) / (T (K+1))),
        # twice the textbook constant, calibrated once (K = 10, d = 3, B = T/4, seeds 0-5 of `random`)
        gamma = 0.0 if exploration is None else exploration
        eta = 2 * math.sqrt(2 * math.log(k + 1) / (horizon * (k + 1))) if exp3_step is None else exp3_step
        # the dual step of the online-allocation family: c/√T with c = 10 for projected entropy, else 1
        dual = (10.0 if reference == "projected_entropy" else 1.0) / math.sqrt(horizon) if dual_step is None else dual_step
        reference = as_choice("reference", reference, REFERENCES)
        self.params = np.array([as_scalar("confidence", c_rad, minimum=0.0), as_scalar("hedge_step", hedge, minimum=0.0),
                                as_scalar("exp3_step", eta, minimum=0.0),
                                as_scalar("exploration", gamma, minimum=0.0, maximum=1.0),
                                as_scalar("dual_step", dual, minimum=0.0), REFERENCE_CODES[reference]], float)
        self.explore_rounds = (min(horizon, math.ceil(k ** (1 / 3) * horizon ** (2 / 3))) if explore_rounds is None
                               else as_scalar("explore_rounds", explore_rounds, integer=True, minimum=0, maximum=horizon))
        self.resolve_every = (max(1, horizon // 2000) if resolve_every is None
                              else as_scalar("resolve_every", resolve_every, integer=True, minimum=1))
        # a Generator is used as is (the caller split it, as solve does); anything else is split here
        self.rng = seed if isinstance(seed, np.random.Generator) else split_seed(seed)[0]
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
        """The arm for this round (-1 = null). Call :meth:`update` with its outcome before the next ``act``."""
        if self.done:
            raise InvalidProblemError("play is over: the horizon is reached or a budget cannot cover another round")
        u = self.rng.random(2)
        from ._bwk import choose

        return int(choose(self.code(), self.t, u, self.counts, self.reward_sum, self.consumption_sum,
                                      self.budgets, float(self.problem.horizon), self.params, self.logw, self.logv,
                                      self.dist))

    def update(self, arm: int, reward: float = 0.0, consumption=None) -> None:
        """Record the round: the arm played, its reward in [0, 1] and its consumption in [0, 1]^d."""
        arm = int(arm)
        d = self.problem.n_resources
        c = np.zeros(d) if arm < 0 else np.asarray(consumption, float).reshape(d)
        from ._bwk import learn

        learn(self.code(), arm, float(reward) if arm >= 0 else 0.0, c, self.counts, self.reward_sum,
                          self.consumption_sum, self.budgets, float(self.problem.horizon), self.params, self.logw,
                          self.logv, self.mu, self.dual_sum)
        if arm >= 0:
            self.counts[arm] += 1
            self.reward_sum[arm] += reward
            self.consumption_sum[arm] += c
            self.remaining -= c
            self.reward += float(reward)
        self.t += 1

    _STATE = ("counts", "reward_sum", "consumption_sum", "remaining", "logw", "logv", "mu", "dual_sum", "dist",
              "params")

    def state_dict(self) -> dict:
        state = {name: getattr(self, name).copy() for name in self._STATE}
        state.update(method=self.method, t=self.t, reward=self.reward, solved_at=self._solved_at,
                     rng=self.rng.bit_generator.state, explore_rounds=self.explore_rounds,
                     resolve_every=self.resolve_every)
        return state

    def load_state_dict(self, state: dict) -> None:
        if state.get("method") != self.method:
            raise InvalidProblemError(f"`state` was saved by a {state.get('method')!r} policy, not {self.method!r}")
        for name in self._STATE:
            setattr(self, name, np.array(state[name], float))
        self.t, self.reward, self._solved_at = int(state["t"]), float(state["reward"]), state["solved_at"]
        self.explore_rounds, self.resolve_every = int(state["explore_rounds"]), int(state["resolve_every"])
        self.rng.bit_generator.state = state["rng"]


def play(problem: BanditsWithKnapsacks, policy: BwKPolicy, env_rng: np.random.Generator, time_limit=None):
    """Play the whole horizon with the numba ``run`` kernel in chunks (sampler environments step in Python).

    Returns ``(arms, reward, stopped_by_budget, interrupted)``."""
    from ._bwk import run

    horizon = problem.horizon
    arms = np.full(horizon, -1, dtype=np.int64)
    d = problem.n_resources
    start = time.perf_counter()
    if problem.distribution == "sampler":
        from ...problems.bwk import Environment

        env = Environment(problem, env_rng)
        while not policy.done:
            arm = policy.act()
            arms[policy.t] = arm
            policy.update(arm, *env.step(arm))
            if time_limit is not None and time.perf_counter() - start > time_limit:
                return arms[:policy.t], policy.reward, False, True
        return arms[:policy.t], policy.reward, bool((policy.remaining < 1).any()), False
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
        t, gained, stopped = run(code, policy.t, policy.t + n, pu, eu, kind, problem.reward_means,
                                    problem.consumption_means, rtab, ctab, policy.counts, policy.reward_sum,
                                    policy.consumption_sum, policy.remaining, policy.budgets, float(horizon),
                                    policy.params, policy.logw, policy.logv, policy.mu, policy.dual_sum, policy.dist,
                                    arms, counter)
        policy.t = int(t)
        policy.reward += gained
        if time_limit is not None and time.perf_counter() - start > time_limit and policy.t < horizon and not stopped:
            return arms[:policy.t], policy.reward, False, True
    return arms[:policy.t], policy.reward, bool(stopped), False


def solve_policy(problem: BanditsWithKnapsacks, opts, method: str) -> Result:
    from ...core.result import Limit

    params = dict(opts.options)
    benchmark = params.pop("benchmark", True)
    policy_rng, env_rng = split_seed(opts.seed)
    policy = BwKPolicy(problem, method, seed=policy_rng, **params)
    t0 = time.perf_counter()
    arms, reward, stopped, interrupted = play(problem, policy, env_rng, opts.time_limit)
    elapsed = time.perf_counter() - t0
    spent = problem.budgets - policy.remaining
    stats = {"rounds": int(policy.t), "pulls": int((arms >= 0).sum()), "spent": spent, "remaining": policy.remaining.copy(),
             "stopped_by": "budget" if stopped else ("time_limit" if interrupted else "horizon"),
             "rounds_per_second": policy.t / max(elapsed, 1e-12)}
    bound = None
    if benchmark:
        from ..highs.bwk import opt_lp_value

        opt = opt_lp_value(problem)[0]
        fixed = problem.opt_fixed_arm()
        stats.update(opt_lp=opt, opt_fixed_arm=fixed, regret=opt - reward, regret_fixed_arm=fixed - reward)
        bound = opt
    return Result(status=Status.FEASIBLE, limit=Limit.TIME if interrupted else None, x=arms, objective=float(reward),
                  bound=bound, stats=stats, timings={"policy": elapsed},
                  message=f"{method} played {policy.t} of {problem.horizon} rounds")


_OPTIONS = ("confidence", "hedge_step", "exp3_step", "exploration", "dual_step", "reference", "benchmark")


def _register(method, priority, doc):
    def adapter(problem, opts):
        return solve_policy(problem, opts, method)

    adapter.__doc__ = doc
    register(BanditsWithKnapsacks, method, backend="numba", priority=priority, options=_OPTIONS)(adapter)


_register("primal_dual", 10, "PrimalDualBwK (Badanidiyuru, Kleinberg, Slivkins): UCB/LCB bang-per-buck with Hedge prices.")
_register("lagrange", 30, "LagrangeBwK (Immorlica et al.): EXP3 primal against a Hedge dual on the Lagrangian.")
_register("best_of_both", 40, "Primal-dual template (Castiglioni, Celli, Kroer): EXP3 primal, dual mirror descent.")
_register("ucb", 60, "UCB1 on rewards, ignoring budgets (the cautionary baseline).")
