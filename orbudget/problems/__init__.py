"""Problem models: typed, validated, no backend imports."""

from . import knapsack_instances, regularizers
from .assignment import BudgetedAssignment
from .bidding import BiddingCampaign
from .bwk import BanditsWithKnapsacks
from .dual_mirror_descent import DualMirrorDescent
from .knapsack import MultipleChoiceKnapsack
from .llm import AdaptiveSampler, ModelRouting, SampleAllocation
from .online import OnlineAllocation
from .rmab import BipartiteMatching, Budget, Capacity, CoupledRMAB, MultipleInterventions, PathConstraint, RMABEnv
from .rollouts import RolloutAllocation

__all__ = ["AdaptiveSampler", "BanditsWithKnapsacks", "BiddingCampaign", "BipartiteMatching", "Budget",
           "BudgetedAssignment", "Capacity", "CoupledRMAB", "DualMirrorDescent", "ModelRouting",
           "MultipleChoiceKnapsack", "MultipleInterventions", "OnlineAllocation", "PathConstraint", "RMABEnv",
           "RolloutAllocation", "SampleAllocation", "knapsack_instances", "regularizers"]
