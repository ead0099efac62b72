"""The bandits-with-knapsacks policies step by step (`BwKPolicy`: ``act``, ``update``, ``state_dict``), the same
decisions as ``solve`` makes; the adapters that play them over the horizon are in ``bwk.py``."""

from __future__ import annotations

import math

import numpy as np

from ...core.budget import FLOAT_BUDGET_TOL as SPEND_TOL
from ...core.errors import InvalidProblemError
from ...core.validation import SeedLike, as_array, as_choice, as_scalar, check_state, fingerprint
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
    drift = np.abs(budgets - out["consumption_sum"].sum(axis=0) - out["remaining"])
    if (drift > SPEND_TOL * budgets).any():  # what is left is the budget less what the pulls consumed
        j = int(np.argmax(drift - SPEND_TOL * budgets))
        raise InvalidProblemError(
            f"`remaining` {out['remaining'][j]} of resource {j} is not its budget {budgets[j]} less the "
            f"{out['consumption_sum'][:, j].sum()} that `consumption_sum` records"
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
