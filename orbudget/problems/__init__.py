"""Problem models: typed, validated, no backend imports."""

from . import knapsack_instances, regularizers
from .agents import AgentWorkflow, StepRouting, TokenAllocator, TokenBudgetAllocation, WorkflowEnv
from .assignment import BudgetedAssignment
from .bidding import BiddingCampaign
from .bwk import BanditsWithKnapsacks, BwKEnv
from .dual_mirror_descent import DualMirrorDescent
from .knapsack import MultipleChoiceKnapsack
from .llm import AdaptiveSampler, ModelRouting, SampleAllocation
from .online import OnlineAllocation
from .rmab import BipartiteMatching, CoupledRMAB, MultipleInterventions, PathConstraint, RMABBudget, RMABCapacity, RMABEnv
from .rollouts import RolloutAllocation

__all__ = [
    "AdaptiveSampler",
    "AgentWorkflow",
    "StepRouting",
    "TokenAllocator",
    "TokenBudgetAllocation",
    "WorkflowEnv",
    "BanditsWithKnapsacks",
    "BwKEnv",
    "BiddingCampaign",
    "BipartiteMatching",
    "BudgetedAssignment",
    "CoupledRMAB",
    "DualMirrorDescent",
    "ModelRouting",
    "MultipleChoiceKnapsack",
    "MultipleInterventions",
    "OnlineAllocation",
    "PathConstraint",
    "RMABBudget",
    "RMABCapacity",
    "RMABEnv",
    "RolloutAllocation",
    "SampleAllocation",
    "knapsack_instances",
    "regularizers",
]
