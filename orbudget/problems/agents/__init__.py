"""Budgets for agents and RL token use: workflows under a budget and a deadline, step routing, token allocation.

**Agent workflows** (`AgentWorkflow`, "On Time, Within Budget"): a dependency graph of subtasks, each run by a
model with parallel samples; the goal is the probability that every subtask succeeds within the budget and before
the deadline. **Step routing** (`StepRouting`, "Budget-Aware Agentic Routing"): a cheap or an expensive model at
every step of an episode, an exact DP over (step, remaining budget). **Token allocation**
(`TokenBudgetAllocation`, DUET): which prompts get rollouts and how long each may run, a multiple-choice knapsack.
The models and generators live here; the methods in ``orbudget/solvers`` (``numba/agents.py``, ``numpy/agents.py``,
``numpy/step_routing.py``, ``numpy/tokens.py``, shared code in ``solvers/_agents.py``).
"""

from .step_routing import StepRouting
from .tokens import TokenAllocator, TokenBudgetAllocation
from .workflow import AgentWorkflow, WorkflowEnv

__all__ = ["AgentWorkflow", "StepRouting", "TokenAllocator", "TokenBudgetAllocation", "WorkflowEnv"]
