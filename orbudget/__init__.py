"""orbudget: operations research for budget-constrained allocation.

Examples:
    >>> import orbudget as ob
    >>> p = ob.MultipleChoiceKnapsack(values=[[1, 4], [2, 3]], costs=[[1, 3], [1, 2]], budget=4)
    >>> ob.solve(p).objective
    6.0
"""

import importlib as _importlib
from typing import TYPE_CHECKING

from .core import registry as _registry

if TYPE_CHECKING:  # for type checkers and the API reference (which read the code without running it): the names below
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
        BanditsWithKnapsacks,
        BiddingCampaign,
        BipartiteMatching,
        BudgetedAssignment,
        BwKEnv,
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
        StepRouting,
        TokenAllocator,
        TokenBudgetAllocation,
        WorkflowEnv,
        knapsack_instances,
        online_inputs,
        regularizers,
    )
    from .problems.adx import load_adx
    from .solvers._assignment import decode_assignment
    from .solvers.numba.agents import WorkflowDP
    from .solvers.numba.bidders import PacingBidder, RLBBidder
    from .solvers.numba.bwk import BwKPolicy
    from .solvers.numpy.agents import MCPPPlanner
    from .solvers.numpy.rmab import RMABPolicy
    from .solvers.numpy.step_routing import StepRouter
    from .solvers.pyomo import from_pyomo, to_pyomo
    from .solvers.torch.rco import RCO
    from .solvers.torch.rmab import SequoiaPolicy

# Nothing heavy is imported here: each public name loads its module on first use (PEP 562), and the models and the
# solver adapters (numba, HiGHS, ...) are imported the first time the registry is read (`ob.solve`,
# `ob.available_solvers`, `ob.load`), so `import orbudget` and `orbudget --version` start in a fraction of a second.
_LAZY = {
    "GRPOSimulation": ".apps.grpo",
    "RolloutAllocator": ".apps.grpo",
    "SuccessRateEstimator": ".apps.grpo",
    "simulate_grpo": ".apps.grpo",
    "solve_many": ".batch",
    "sweep": ".batch",
    "BackendNotAvailableError": ".core",
    "InvalidProblemError": ".core",
    "Limit": ".core",
    "NoSolutionError": ".core",
    "Result": ".core",
    "SolverError": ".core",
    "Status": ".core",
    "available_solvers": ".core",
    "load": ".core",
    "save": ".core",
    "solve": ".core",
    **dict.fromkeys(
        (
            "AdaptiveSampler AgentWorkflow StepRouting TokenAllocator TokenBudgetAllocation WorkflowEnv BanditsWithKnapsacks"
            " BwKEnv BiddingCampaign BipartiteMatching BudgetedAssignment CoupledRMAB DualMirrorDescent ModelRouting"
            " MultipleChoiceKnapsack MultipleInterventions OnlineAllocation PathConstraint RMABBudget RMABCapacity RMABEnv"
            " RolloutAllocation SampleAllocation knapsack_instances online_inputs regularizers"
        ).split(),
        ".problems",
    ),
    "load_adx": ".problems.adx",
    "PacingBidder": ".solvers.numba.bidders",
    "RLBBidder": ".solvers.numba.bidders",
    "WorkflowDP": ".solvers.numba.agents",
    "BwKPolicy": ".solvers.numba.bwk",
    "MCPPPlanner": ".solvers.numpy.agents",
    "StepRouter": ".solvers.numpy.step_routing",
    "RMABPolicy": ".solvers.numpy.rmab",
    "decode_assignment": ".solvers._assignment",
    "from_pyomo": ".solvers.pyomo",
    "to_pyomo": ".solvers.pyomo",
    "RCO": ".solvers.torch.rco",  # torch is imported only when the optimizer is asked for
    "SequoiaPolicy": ".solvers.torch.rmab",
}
_SUBPACKAGES = ("apps", "batch", "core", "problems", "solvers")  # what `ob.<name>` reaches without an import


def _load_adapters() -> None:
    """Import the models and every solver adapter (each registers its methods): the registry's first reader runs this."""
    _importlib.import_module(".problems", __name__)
    _importlib.import_module(".solvers", __name__)


_registry.on_first_use(_load_adapters)


def _version() -> str:
    from importlib import metadata

    try:  # the version is written once, in pyproject.toml; the installed package's metadata carries it
        return metadata.version("orbudget")
    except metadata.PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"


def __getattr__(name):
    if name in ("Budget", "Capacity"):  # renamed RMABBudget and RMABCapacity (restless-bandit constraints)
        from .core.errors import warn_renamed
        from .problems import rmab

        warn_renamed(f"ob.{name}", f"ob.{rmab.RENAMED[name]}", note=" (a restless-bandit constraint)")
        return getattr(rmab, rmab.RENAMED[name])
    if name == "__version__":
        value = _version()
    elif name in _LAZY:
        module = _importlib.import_module(_LAZY[name], __name__)
        try:
            value = getattr(module, name)
        except AttributeError:  # a submodule: ob.online_inputs is orbudget.problems.online_inputs
            value = _importlib.import_module(f"{_LAZY[name]}.{name}", __name__)
    elif name in _SUBPACKAGES:
        value = _importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'orbudget' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | {"__version__"})


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
