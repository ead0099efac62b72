"""The step-by-step `AdaptiveSampler` (samples one at a time, stops a question once its answer is settled) and its
simulation against a `SampleAllocation`."""

from __future__ import annotations

import numpy as np
from scipy.special import betainc, betaln

from ...core.errors import InvalidProblemError
from ...core.validation import (
    as_array,
    as_choice,
    as_generator,
    as_scalar,
    check_state,
    fingerprint,
)
from ._fields import _per_item_ints
from .accuracy import OBJECTIVES
from .samples import SampleAllocation

# -- the adaptive (step-by-step) sampler ---------------------------------------------------------------------------


class AdaptiveSampler:
    """Allocate samples batch by batch from what the samples so far showed (adaptive self-consistency).

    Each round ``counts = sampler.act()`` says how many more samples each question gets (total cost within the
    batch budget and what is left of ``budget``); draw them, then ``sampler.update(observations)``.

    * ``pass_at_k`` (verifier): observations are successes per question. A solved question stops. Unsolved question
      i with f failures has a Beta(a, b + f) posterior; m more samples solve it with probability
      $1 - B(a, b+f+m)/B(a, b+f)$, concave in m, so the batch goes by the marginal-gain greedy (exact for
      equal costs, by gain per cost otherwise).
    * ``majority_vote`` (no verifier): observations are (N, K) answer counts. The posterior is Dirichlet(α + h);
      a question stops once the Beta stopping rule of Adaptive-Consistency (Aggarwal et al. 2023) says the leader
      beats the runner-up with probability >= ``threshold``: $P(X > 1/2)$, $X \\sim
      \\mathrm{Beta}(h_1 + 1, h_2 + 1)$. Each active question gets ``step`` more samples per batch, the least
      confident first while the batch budget lasts.

    Every question first gets its ``min_samples``; none passes ``max_samples``; the spend never passes ``budget``.

    Examples:
        >>> s = AdaptiveSampler(3, budget=12, batch_budget=6, max_samples=8)
        >>> s.act().tolist()
        [2, 2, 2]
        >>> s.update([1, 0, 0]); s.act().tolist()
        [0, 3, 3]
    """

    KIND = "AdaptiveSampler"

    def __init__(
        self,
        n_questions: int,
        budget,
        *,
        objective: str = "pass_at_k",
        n_answers: int | None = None,
        min_samples=1,
        max_samples=32,
        sample_costs=None,
        batch_budget=None,
        prior=None,
        threshold: float = 0.95,
        step: int = 1,
    ):
        self.n_questions = as_scalar("n_questions", n_questions, integer=True, minimum=1)
        self.objective = as_choice("objective", objective, OBJECTIVES)
        n = self.n_questions
        self.min_samples = np.array(_per_item_ints("min_samples", min_samples, n, 0))
        self.max_samples = np.array(_per_item_ints("max_samples", max_samples, n, 1))
        if (self.max_samples < self.min_samples).any():
            raise InvalidProblemError("`max_samples` must be >= `min_samples` for every question")
        self.costs = (
            np.ones(n) if sample_costs is None else np.array(as_array("sample_costs", sample_costs, shape=(n,), low=0.0), float)
        )
        if (self.costs <= 0).any():
            raise InvalidProblemError("`sample_costs` must be positive")
        self.budget = as_scalar("budget", budget, minimum=0.0)
        self.batch_budget = (
            max(self.budget / 8, float(self.costs.max()))
            if batch_budget is None
            else as_scalar("batch_budget", batch_budget, minimum=0.0, strict_minimum=True)
        )
        self.threshold = as_scalar("threshold", threshold, minimum=0.0, maximum=1.0)
        self.step = as_scalar("step", step, integer=True, minimum=1)
        if self.objective == "majority_vote":
            if n_answers is None:
                raise InvalidProblemError("`n_answers` is required for majority vote")
            self.n_answers = as_scalar("n_answers", n_answers, integer=True, minimum=2)
            if prior is None:
                prior = 1.0
            self.prior = (
                np.full(self.n_answers, as_scalar("prior", prior, minimum=0.0))
                if np.ndim(prior) == 0
                else np.array(as_array("prior", prior, shape=(self.n_answers,), low=0.0))
            )
            if (self.prior <= 0).any():
                raise InvalidProblemError("`prior` Dirichlet parameters must be positive")
            self.answer_counts = np.zeros((n, self.n_answers), np.int64)
        else:
            self.n_answers = None
            ab = (1.0, 1.0) if prior is None else prior
            if np.ndim(ab) != 1 or len(ab) != 2:
                raise InvalidProblemError(f"`prior` must be a pair (a, b) of Beta parameters; got {prior!r}")
            self.prior = np.array([as_scalar("prior", v, minimum=0.0, strict_minimum=True) for v in ab])
            self.successes = np.zeros(n, np.int64)
        self.samples = np.zeros(n, np.int64)
        self.spent = 0.0
        self.pending = None

    @classmethod
    def from_problem(cls, problem: SampleAllocation, **kw) -> AdaptiveSampler:
        """A sampler with the problem's size, objective, budget, bounds and costs (not its probabilities)."""
        return cls(
            problem.n_questions,
            problem.budget,
            objective=problem.objective,
            n_answers=problem.n_answers,
            min_samples=problem.min_samples,
            max_samples=problem.max_samples,
            sample_costs=problem.sample_costs,
            **kw,
        )

    # -- estimates ------------------------------------------------------------------------------------------------
    def estimates(self) -> np.ndarray:
        """Posterior means: (N,) success rates, or (N, K) answer distributions."""
        if self.objective == "pass_at_k":
            a, b = self.prior
            return (a + self.successes) / (a + b + self.samples)
        alpha = self.prior[None, :] + self.answer_counts
        return alpha / alpha.sum(axis=1, keepdims=True)

    def confidence(self) -> np.ndarray:
        """Per question: 1 if solved (pass@k), else for majority vote P(leader beats runner-up) (Beta rule)."""
        if self.objective == "pass_at_k":
            return (self.successes > 0).astype(float)
        top = -np.sort(-self.answer_counts, axis=1)
        return 1.0 - betainc(top[:, 0] + 1.0, top[:, 1] + 1.0, 0.5)

    def answers(self) -> np.ndarray:
        """The current answer per question: the plurality answer (ties: lowest index), or 1/0 solved for pass@k."""
        if self.objective == "pass_at_k":
            return (self.successes > 0).astype(np.int64)
        return self.answer_counts.argmax(axis=1)

    # -- the loop -------------------------------------------------------------------------------------------------
    def _fits(self, extra_cost: float, batch_used: float) -> bool:
        return batch_used + extra_cost <= self.batch_budget * (
            1 + 1e-12
        ) and self.spent + batch_used + extra_cost <= self.budget * (1 + 1e-12)

    def act(self) -> np.ndarray:
        """Samples per question for the next batch (zeros when done). Call `update` before acting again."""
        if self.pending is not None:
            raise InvalidProblemError("`update` must be called with the last batch's observations before `act`")
        n = self.n_questions
        counts = np.zeros(n, np.int64)
        used = 0.0
        for i in np.flatnonzero(self.samples < self.min_samples):  # minimums first
            need = int(self.min_samples[i] - self.samples[i])
            take = need
            while take > 0 and not self._fits(take * self.costs[i], used):
                take -= 1
            counts[i] += take
            used += take * self.costs[i]
        active = (self.samples + counts < self.max_samples) & (self.samples + counts >= self.min_samples)
        active &= self.confidence() < (1.0 if self.objective == "pass_at_k" else self.threshold)
        if self.objective == "pass_at_k":
            a, b = self.prior
            base = b + (self.samples - self.successes).astype(float)  # Beta(a, b + failures) for unsolved questions
            while True:
                best = -1
                idx = np.flatnonzero(active & (self.samples + counts < self.max_samples))
                if idx.size == 0:
                    break
                m = counts[idx].astype(float)  # pending samples (minimums included)
                # P(the first success is pending sample m + 1) = [B(a, b+f+m) - B(a, b+f+m+1)] / B(a, b+f)
                gain = np.exp(betaln(a, base[idx] + m) - betaln(a, base[idx])) - np.exp(
                    betaln(a, base[idx] + m + 1) - betaln(a, base[idx])
                )
                ratio = gain / self.costs[idx]
                for j in np.argsort(-ratio, kind="stable"):
                    i = idx[j]
                    if ratio[j] > 0 and self._fits(self.costs[i], used):
                        best = i
                        break
                if best < 0:
                    break
                counts[best] += 1
                used += self.costs[best]
        else:
            order = np.argsort(self.confidence(), kind="stable")
            for i in order:
                if not active[i]:
                    continue
                take = int(min(self.step, self.max_samples[i] - self.samples[i] - counts[i]))
                while take > 0 and not self._fits(take * self.costs[i], used):
                    take -= 1
                counts[i] += take
                used += take * self.costs[i]
        self.pending = counts
        return counts.copy()

    @property
    def done(self) -> bool:
        """True when the last `act` asked for nothing (budget spent, every question stopped or at its max)."""
        return self.pending is not None and not self.pending.any()

    def update(self, observations) -> None:
        """Record the last batch: successes per question (pass@k) or (N, K) answer counts (majority vote)."""
        if self.pending is None:
            raise InvalidProblemError("`observations` came without a batch: call `act` first")
        counts = self.pending
        if self.objective == "pass_at_k":
            s = as_array("observations", observations, shape=(self.n_questions,), dtype=int, low=0)
            over = np.flatnonzero(s > counts)
            if over.size:
                raise InvalidProblemError(
                    f"`observations` has {s[over[0]]} successes for question {over[0]}, which got {counts[over[0]]} samples"
                )
            self.successes += s
        else:
            h = as_array("observations", observations, shape=(self.n_questions, self.n_answers), dtype=int, low=0)
            bad = np.flatnonzero(h.sum(axis=1) != counts)
            if bad.size:
                raise InvalidProblemError(
                    f"`observations` row {bad[0]} counts {h[bad[0]].sum()} answers; the batch "
                    f"gave that question {counts[bad[0]]} samples"
                )
            self.answer_counts += h
        self.samples += counts
        self.spent += float(counts @ self.costs)
        self.pending = None

    # -- checkpoints ----------------------------------------------------------------------------------------------
    def _config(self) -> dict:
        return {
            "n_questions": self.n_questions,
            "objective": self.objective,
            "n_answers": self.n_answers,
            "min_samples": self.min_samples,
            "max_samples": self.max_samples,
            "costs": self.costs,
            "budget": self.budget,
            "batch_budget": self.batch_budget,
            "prior": self.prior,
            "threshold": self.threshold,
            "step": self.step,
        }

    def state_dict(self) -> dict:
        state = {
            "kind": self.KIND,
            "fingerprint": fingerprint(self._config()),
            "samples": self.samples.copy(),
            "spent": self.spent,
            "pending": None if self.pending is None else self.pending.copy(),
        }
        if self.objective == "pass_at_k":
            state["successes"] = self.successes.copy()
        else:
            state["answer_counts"] = self.answer_counts.copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        key = "successes" if self.objective == "pass_at_k" else "answer_counts"
        check_state(state, kind=self.KIND, fingerprint=fingerprint(self._config()), keys=("samples", "spent", "pending", key))
        self.samples = np.array(state["samples"], np.int64)
        self.spent = float(state["spent"])
        self.pending = None if state["pending"] is None else np.array(state["pending"], np.int64)
        setattr(self, key, np.array(state[key], np.int64))


def simulate_adaptive(problem: SampleAllocation, sampler: AdaptiveSampler | None = None, *, seed=None, **kw) -> dict:
    """Run an `AdaptiveSampler` on ``problem``'s true probabilities (a fresh one from the problem when
    ``sampler`` is None; ``kw`` go to it). Returns the realised ``accuracy`` (share of questions answered correctly:
    solved for pass@k; plurality = correct answer for majority vote, ties broken uniformly), ``cost``,
    ``samples`` per question and ``rounds``."""
    rng = as_generator(seed)
    s = AdaptiveSampler.from_problem(problem, **kw) if sampler is None else sampler
    rounds = 0
    while True:
        counts = s.act()
        if not counts.any():
            break
        rounds += 1
        if problem.objective == "pass_at_k":
            s.update(rng.binomial(counts, problem.success_rates))
        else:
            s.update(np.stack([rng.multinomial(c, p) for c, p in zip(counts, problem.answer_probabilities)]))
    if problem.objective == "pass_at_k":
        correct = s.successes > 0
    else:
        h = s.answer_counts
        top = h.max(axis=1, keepdims=True)
        tied = (h == top) & (top > 0)
        pick = np.array([rng.choice(np.flatnonzero(t)) if t.any() else -1 for t in tied])
        correct = pick == problem.correct
    return {"accuracy": float(correct.mean()), "cost": float(s.samples @ s.costs), "samples": s.samples.copy(), "rounds": rounds}
