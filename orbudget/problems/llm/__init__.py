"""Budgets for LLM inference: test-time sample allocation and model routing.

**Sample allocation** (self-consistency, best-of-n with a verifier). Question i gets $n_i$ samples at
$c_i$ tokens each. With a success probability $p_i$ and a verifier the question is solved when any
sample is correct (pass@k): $a_i(n) = 1 - (1 - p_i)^n$. With a categorical answer distribution
$\\pi_i$ (correct answer $y_i$) and no verifier the answer is the plurality vote of the samples, ties
broken uniformly at random; $a_i(n)$ is the probability that the vote returns $y_i$ (computed exactly by
`majority_vote_table`). The allocation solves

$$
\\max_{n} \\frac1N \\sum_i a_i(n_i) \\quad\\text{s.t.}\\quad \\sum_i c_i n_i \\le B,\\qquad
n^{\\min}_i \\le n_i \\le n^{\\max}_i,\\; n_i \\in \\mathbb{Z}.
$$

**Model routing.** Query q may go to model m with predicted quality $Q_{qm}$ at cost $C_{qm}$;

$$
\\max_{x} \\frac1{|Q|} \\sum_q Q_{q,x_q} \\quad\\text{s.t.}\\quad \\sum_q C_{q,x_q} \\le B
\\;\\Big(\\text{and } \\sum_{q \\in \\tau} C_{q,x_q} \\le B_\\tau \\text{ per task } \\tau\\Big).
$$

Offline both are multiple-choice knapsacks (`SampleAllocation.to_knapsack`, `ModelRouting.to_knapsack`);
online routing is an `OnlineAllocation` (`ModelRouting.to_online`). References: PETS
(optimal trajectory allocation for self-consistency), Adaptive-Consistency (Aggarwal et al. 2023), and the
budget-aware routing papers listed on the docs page. This module holds the models, their generators and loaders,
the exact accuracy numerics, and the step-by-step `AdaptiveSampler`; it imports no solver.
"""

from .accuracy import (
    CONCAVITY_TOL,
    MAX_VOTE_SAMPLES,
    OBJECTIVES,
    PROBABILITY_SUM_TOL,
    concavity_report,
    majority_vote_table,
    pass_at_k,
    pass_at_k_table,
)
from .adaptive import AdaptiveSampler, simulate_adaptive
from .routing import ModelRouting
from .samples import SampleAllocation

__all__ = [
    "CONCAVITY_TOL",
    "MAX_VOTE_SAMPLES",
    "OBJECTIVES",
    "PROBABILITY_SUM_TOL",
    "AdaptiveSampler",
    "ModelRouting",
    "SampleAllocation",
    "concavity_report",
    "majority_vote_table",
    "pass_at_k",
    "pass_at_k_table",
    "simulate_adaptive",
]
