"""Problem models: typed, validated, no backend imports."""

from .knapsack import MultipleChoiceKnapsack
from .rollouts import RolloutAllocation

_register_all = True  # importing this package registers every model kind for orbudget.load

__all__ = ["MultipleChoiceKnapsack", "RolloutAllocation"]
