"""The step-by-step `AdaptiveSampler` (samples one at a time, stops a question once its answer is settled) and its
simulation against a `SampleAllocation`."""

from __future__ import annotations

import heapq
import math
from functools import cached_property

import numpy as np
from scipy.special import betainc, betaln

from ...core.budget import check_spend, float_at_most, same_spend, spend_limit
from ...core.errors import InvalidProblemError
from ...core.validation import (
    as_array,
    as_choice,
    as_generator,
    as_scalar,
    check_state,
    fingerprint,
    state_array,
    state_scalar,
)
from ..knapsack import check_table_size
from ._fields import _per_item_ints
from .accuracy import OBJECTIVES
from .samples import SampleAllocation

# -- the adaptive (step-by-step) sampler ---------------------------------------------------------------------------

PER_QUESTION_ARRAYS = 16  # (N,) arrays of 8 bytes a sampler and one `act` hold at most (bounds, costs, counts, gains)


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
        if self.objective == "majority_vote" and n_answers is None:
            raise InvalidProblemError("`n_answers` is required for majority vote")
        k = 0 if self.objective == "pass_at_k" else as_scalar("n_answers", n_answers, integer=True, minimum=2)
        # checked before any per-question array exists: a handful of (N,) arrays, the (N, K) counts and their sort
        check_table_size(
            "n_questions",
            8 * n * (PER_QUESTION_ARRAYS + 2 * k),
            f"the sampler's per-question arrays ({n} questions{f', {k} answers' if k else ''})",
        )
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
            self.n_answers = k
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
        self.pending: np.ndarray | None = None

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
    @cached_property
    def _caps(self) -> tuple[float, float]:
        """The most a batch and the whole run may spend under the one rule (`orbudget.core.budget`): the budgets
        themselves for whole-number costs and budgets, else ``1e-9`` of each above it; as the largest float within."""
        whole = bool(np.all(self.costs == np.floor(self.costs)))
        return tuple(
            float_at_most(spend_limit(b, whole=whole and float(b).is_integer())) for b in (self.batch_budget, self.budget)
        )

    def _fits(self, extra_cost, batch_used):
        """Whether ``extra_cost`` more (a number or an array of them) still fits the batch and the budget."""
        batch_cap, cap = self._caps
        return (batch_used + extra_cost <= batch_cap) & (self.spent + batch_used + extra_cost <= cap)

    def _largest_fit(self, cost: float, most: int, used: float) -> int:
        """The most samples of ``cost`` (at most ``most``) that still fit, without counting up one by one."""
        room = max(min(self.batch_budget - used, self.budget - self.spent - used), 0.0)
        take = int(min(most, math.floor(room / cost) + 1))  # at most one over (rounding): the checks settle it
        while take > 0 and not self._fits(take * cost, used):
            take -= 1
        while take < most and self._fits((take + 1) * cost, used):
            take += 1
        return take

    def _fill(self, order: np.ndarray, need: np.ndarray, counts: np.ndarray, used: float) -> float:
        """Give the questions ``order``, in that order, up to ``need`` more samples each, every one as many as still
        fit (one that cannot take all takes what fits, and the next ones go on); returns the batch cost so far.
        Vectorised: a run of questions that all fit is one cumulative sum, so the work is O(N) per distinct cost at
        most, however many questions or samples there are."""
        keep = need > 0
        order, need = order[keep], need[keep].astype(np.int64)
        cheapest = float(self.costs.min())
        done = 0  # questions before `done` are settled; a chunk at a time, so a spent budget stops the scan early
        while done < order.size and self._fits(cheapest, used):
            step = max(4096, 2 * done)
            used = self._fill_run(order[done : done + step], need[done : done + step], counts, used)
            done += step
        return used

    def _fill_run(self, order: np.ndarray, need: np.ndarray, counts: np.ndarray, used: float) -> float:
        while order.size:
            c = self.costs[order]
            fits = self._fits(c, used)  # not even one sample fits: never again (the room only shrinks)
            order, need, c = order[fits], need[fits], c[fits]
            if not order.size:
                break
            full = need * c
            before = np.concatenate(([used], used + np.cumsum(full)[:-1]))
            ok = self._fits(full, before)
            k = ok.size if ok.all() else int(np.argmin(ok))
            counts[order[:k]] += need[:k]
            used = float(before[k - 1] + full[k - 1]) if k else used
            if k == order.size:
                break
            take = self._largest_fit(float(c[k]), int(need[k]), used)
            counts[order[k]] += take
            used += take * float(c[k])
            order, need = order[k + 1 :], need[k + 1 :]
        return used

    def _gain(self, base, m):
        """P(the first success of a question with Beta(a, base) is its pending sample m + 1)."""
        a = self.prior[0]
        return np.exp(betaln(a, base + m) - betaln(a, base)) - np.exp(betaln(a, base + m + 1) - betaln(a, base))

    def _greedy(self, idx: np.ndarray, counts: np.ndarray, used: float) -> float:
        """pass@k: one sample at a time to the best gain per cost that still fits (ties: lower index), each question's
        gain shrinking with its pending samples. The questions not chosen yet wait in rank order, sorted a growing
        chunk at a time (a small batch sorts only its top few) and skipped by vectorised search once they no longer
        fit; the chosen ones wait in a heap, and a question keeps the lead for a run of samples found by bisection."""
        base = self.prior[1] + (self.samples - self.successes).astype(float)  # Beta(a, b + failures) if unsolved
        ratio = self._gain(base[idx], counts[idx].astype(float)) / self.costs[idx]
        keep = (ratio > 0) & self._fits(self.costs[idx], used)
        rest, rest_key = idx[keep], -ratio[keep]
        waiting, key, pos = idx[:0], rest_key[:0], 0
        heap: list[tuple[float, int]] = []
        chunk = 1024

        def head(at):  # (-ratio, question) of the waiting question `at` places ahead, sorting more when needed
            nonlocal waiting, key, pos, rest, rest_key, chunk
            while pos + at >= waiting.size and rest.size:
                fits = self._fits(self.costs[rest], used)  # those that no longer fit never will
                rest, rest_key = rest[fits], rest_key[fits]
                take = np.ones(rest.size, bool)
                if rest.size > chunk:
                    kth = np.partition(rest_key, chunk - 1)[chunk - 1]
                    take = rest_key <= kth  # ties with the last one come along: every later one ranks below
                order = np.lexsort((rest[take], rest_key[take]))
                waiting = np.concatenate((waiting[pos:], rest[take][order]))
                key = np.concatenate((key[pos:], rest_key[take][order]))
                pos, rest, rest_key, chunk = 0, rest[~take], rest_key[~take], 2 * chunk
            return (float(key[pos + at]), int(waiting[pos + at])) if pos + at < waiting.size else None

        while True:
            while head(0) is not None:  # skip the waiting ones that no longer fit (never again: the room shrinks)
                ok = np.flatnonzero(self._fits(self.costs[waiting[pos : pos + 4096]], used))
                pos = pos + int(ok[0]) if ok.size else min(pos + 4096, waiting.size)
                if ok.size:
                    break
            while heap and not self._fits(float(self.costs[heap[0][1]]), used):
                heapq.heappop(heap)
            first = head(0)
            if heap and (first is None or heap[0] < first):
                i = heapq.heappop(heap)[1]
                rivals = [r for r in (heap[0] if heap else None, first) if r is not None]
            elif first is not None:
                i, pos = first[1], pos + 1
                rivals = [r for r in (heap[0] if heap else None, head(0)) if r is not None]
            else:
                return used
            rival = min(rivals) if rivals else None
            cost = float(self.costs[i])
            most = self._largest_fit(cost, int(self.max_samples[i] - self.samples[i] - counts[i]), used)

            def leads(t, i=i, cost=cost, rival=rival):  # does the run's sample t + 1 still rank first?
                r = float(self._gain(base[i], float(counts[i] + t))) / cost
                return r > 0 and (rival is None or (-r, i) < rival)

            lo, hi = 1, most  # the first sample leads (it ranked first); find the last that does
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if leads(mid - 1) else (lo, mid - 1)
            counts[i] += lo
            used += lo * cost
            if self.samples[i] + counts[i] < self.max_samples[i]:
                r = float(self._gain(base[i], float(counts[i]))) / cost
                if r > 0:
                    heapq.heappush(heap, (-r, i))

    def act(self) -> np.ndarray:
        """Samples per question for the next batch (zeros when done). Call `update` before acting again."""
        if self.pending is not None:
            raise InvalidProblemError("`update` must be called with the last batch's observations before `act`")
        n = self.n_questions
        counts = np.zeros(n, np.int64)
        short = np.flatnonzero(self.samples < self.min_samples)  # minimums first, in question order
        used = self._fill(short, self.min_samples[short] - self.samples[short], counts, 0.0)
        active = (self.samples + counts < self.max_samples) & (self.samples + counts >= self.min_samples)
        if self.objective == "pass_at_k":
            active &= self.successes == 0
            self._greedy(np.flatnonzero(active), counts, used)
        else:
            confidence = self.confidence()
            active &= confidence < self.threshold
            order = np.argsort(confidence, kind="stable")
            order = order[active[order]]
            self._fill(order, np.minimum(self.step, self.max_samples[order] - self.samples[order] - counts[order]), counts, used)
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
        """Resume from `state_dict`. A state of another sampler, or one that no run of this sampler can reach
        (negative or non-whole counts, more samples than ``max_samples``, more successes than samples, answer counts
        that do not add up, a spend that is negative, above ``budget`` or not the cost of the samples, a pending batch
        over the batch budget), is refused with an InvalidProblemError naming the entry; nothing is loaded then."""
        key = "successes" if self.objective == "pass_at_k" else "answer_counts"
        check_state(state, kind=self.KIND, fingerprint=fingerprint(self._config()), keys=("samples", "spent", "pending", key))
        n = self.n_questions
        samples = state_array(state, "samples", shape=(n,), dtype=int, low=0)
        over = np.flatnonzero(samples > self.max_samples)
        if over.size:
            raise InvalidProblemError(
                f"`state` entry `samples` gives question {over[0]} {samples[over[0]]} samples, above its max_samples "
                f"{self.max_samples[over[0]]}"
            )
        if self.objective == "pass_at_k":
            record = state_array(state, key, shape=(n,), dtype=int, low=0)
            bad = np.flatnonzero(record > samples)
            what = "more successes than samples"
        else:
            record = state_array(state, key, shape=(n, self.n_answers), dtype=int, low=0)
            bad = np.flatnonzero(record.sum(axis=1) != samples)
            what = "answer counts that do not add up to its samples"
        if bad.size:
            raise InvalidProblemError(f"`state` entry `{key}` records {what} for question {bad[0]}")
        spent = state_scalar(state, "spent", minimum=0.0)
        check_spend("spent", spent, self.budget, "the budget")
        cost = float(samples @ self.costs)
        if not same_spend(spent, cost, self.budget):
            raise InvalidProblemError(f"`state` entry `spent` is {spent}, but the samples recorded cost {cost}")
        pending = None
        if state["pending"] is not None:
            pending = state_array(state, "pending", shape=(n,), dtype=int, low=0)
            if (samples + pending > self.max_samples).any():
                raise InvalidProblemError("`state` entry `pending` takes a question past its max_samples")
            batch = float(pending @ self.costs)
            check_spend("pending", batch, self.batch_budget, "the batch budget")
            check_spend("pending", spent + batch, self.budget, "the budget (with what was spent)")
        self.samples = np.array(samples, np.int64)
        self.spent = float(spent)
        self.pending = None if pending is None else np.array(pending, np.int64)
        setattr(self, key, np.array(record, np.int64))


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
