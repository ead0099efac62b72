"""orbudget: operations research for budget-constrained allocation.

Examples:
    >>> import orbudget as ob
    >>> p = ob.MultipleChoiceKnapsack(values=[[1, 4], [2, 3]], costs=[[1, 3], [1, 2]], budget=4)
    >>> ob.solve(p).objective
    6.0
"""

from . import solvers  # noqa: F401,I001  (importing the adapters registers every method; backends load lazily)
from .apps.grpo import GRPOSimulation, RolloutAllocator, SuccessRateEstimator, simulate_grpo
from .batch import solve_many, sweep
from .core import (
    BackendNotAvailableError,
    InvalidProblemError,
    Limit,
    NoSolutionError,
    Result,
    SolverError,
    Status,
    available_solvers,
    load,
    save,
    solve,
)
from .problems import (
    AdaptiveSampler,
    AgentWorkflow,
    StepRouting,
    TokenAllocator,
    TokenBudgetAllocation,
    WorkflowEnv,
    BanditsWithKnapsacks,
    BwKEnv,
    BiddingCampaign,
    BipartiteMatching,
    BudgetedAssignment,
    CoupledRMAB,
    DualMirrorDescent,
    ModelRouting,
    MultipleChoiceKnapsack,
    MultipleInterventions,
    OnlineAllocation,
    PathConstraint,
    RMABBudget,
    RMABCapacity,
    RMABEnv,
    RolloutAllocation,
    SampleAllocation,
    knapsack_instances,
    online_inputs,
    regularizers,
)
from .problems.adx import load_adx
from .solvers.numba.bidders import PacingBidder, RLBBidder
from .solvers.numba.agents import WorkflowDP
from .solvers.numba.bwk import BwKPolicy
from .solvers.numpy.agents import MCPPPlanner
from .solvers.numpy.step_routing import StepRouter
from .solvers.numpy.rmab import RMABPolicy
from .solvers._assignment import decode_assignment
from .solvers.pyomo import from_pyomo, to_pyomo

from importlib import metadata as _metadata  # noqa: E402,I001

from .core.errors import warn_renamed  # noqa: E402

try:  # the version is written once, in pyproject.toml; the installed package's metadata carries it
    __version__ = _metadata.version("orbudget")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"


def __getattr__(name):
    if name in ("Budget", "Capacity"):  # renamed RMABBudget and RMABCapacity (restless-bandit constraints)
        from .problems import rmab

        warn_renamed(f"ob.{name}", f"ob.{rmab.RENAMED[name]}", note=" (a restless-bandit constraint)")
        return getattr(rmab, rmab.RENAMED[name])
    if name == "RCO":  # torch is imported only when the optimizer is asked for
        from .solvers.torch.rco import RCO

        return RCO
    if name == "SequoiaPolicy":
        from .solvers.torch.rmab import SequoiaPolicy

        return SequoiaPolicy
    raise AttributeError(f"module 'orbudget' has no attribute {name!r}")


__all__ = [
    "AdaptiveSampler",
    "AgentWorkflow",
    "MCPPPlanner",
    "StepRouter",
    "StepRouting",
    "TokenAllocator",
    "TokenBudgetAllocation",
    "WorkflowDP",
    "WorkflowEnv",
    "BackendNotAvailableError",
    "BanditsWithKnapsacks",
    "BwKEnv",
    "BiddingCampaign",
    "BipartiteMatching",
    "BudgetedAssignment",
    "BwKPolicy",
    "CoupledRMAB",
    "DualMirrorDescent",
    "GRPOSimulation",
    "InvalidProblemError",
    "Limit",
    "ModelRouting",
    "MultipleChoiceKnapsack",
    "MultipleInterventions",
    "NoSolutionError",
    "OnlineAllocation",
    "PacingBidder",
    "PathConstraint",
    "RCO",
    "RMABBudget",
    "RMABCapacity",
    "RMABEnv",
    "RMABPolicy",
    "Result",
    "RLBBidder",
    "RolloutAllocation",
    "RolloutAllocator",
    "SampleAllocation",
    "SequoiaPolicy",
    "SolverError",
    "Status",
    "SuccessRateEstimator",
    "available_solvers",
    "decode_assignment",
    "knapsack_instances",
    "load",
    "load_adx",
    "online_inputs",
    "regularizers",
    "save",
    "simulate_grpo",
    "solve",
    "solve_many",
    "sweep",
    "to_pyomo",
    "from_pyomo",
]
