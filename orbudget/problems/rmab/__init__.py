"""Coupled restless bandits with combinatorial actions (Xu, Wilder, Khalil, Tambe, ICLR 2025, "SEQUOIA").

J arms, each a small Markov chain on states 0..S−1. Each step a binary decision vector ``x`` is chosen from a
combinatorial set C (a budget, interventions that act on several arms, a route through a graph, a worker-slot
matching, worker capacities); ``x`` fixes each arm's *action level* m_j (0 = passive, 1 = acted on; with
multiple interventions, the number of interventions hitting the arm). Arm j then moves from s to s' with
probability P_j[m_j, s, s'] and pays r_j(s'). The metric is the mean over episodes and steps of the expected
reward $\\sum_j \\bar r_j(s_j, m_j)$, $\\bar r_j(s, m) = \\sum_{s'} P_j[m, s, s'] r_j(s')$.

Every constraint family here is *downward closed* (dropping a pulled arm or an intervention keeps the action
feasible), the empty action is always feasible, and each family has an independent feasibility checker
(`Constraint.check`: counting, BFS, max-flow, bin-packing search; never a MIP) that the solvers' MIP and
CP-SAT models are tested against.

Choices where the reference code (lily-x/combinatorial-rmab) is inconsistent or wrong, see the docs page:

- ``PathConstraint``: a closed walk of at most ``length`` (default 2B) moves from the source, waiting allowed;
  pulled arms must lie on it. The reference MIP let a chain of self-loops "visit" any node; ours cannot.
- ``BipartiteMatching``: a pulled arm gets exactly ``visits`` (worker, slot) pairs, both available in that slot,
  each (worker, slot) used once. The reference MIP lets one worker make both visits (its baselines do not):
  ``distinct_workers=False`` (default) is the MIP's meaning, ``True`` the baselines'.
- ``RMABCapacity``: each pulled arm is assigned to one worker, loads within capacities; no separate budget row
  (as in the reference; the capacities bound the count).
- ``MultipleInterventions``: at most B interventions (the environment's rule; the reference MIP forced = B).
"""

from .constraint import ENUMERATION_LIMIT, Constraint, require_memory
from .constraints import MultipleInterventions, RMABBudget, RMABCapacity, pack
from .environment import RMABEnv
from .graph_constraints import BipartiteMatching, PathConstraint
from .instances import london_graph
from .model import CONSTRAINTS, CoupledRMAB, constraint_from_dict

__all__ = [
    "CONSTRAINTS",
    "ENUMERATION_LIMIT",
    "BipartiteMatching",
    "Constraint",
    "CoupledRMAB",
    "MultipleInterventions",
    "PathConstraint",
    "RMABBudget",
    "RMABCapacity",
    "RMABEnv",
    "constraint_from_dict",
    "london_graph",
    "pack",
    "require_memory",
]

RENAMED = {"Budget": "RMABBudget", "Capacity": "RMABCapacity"}  # restless-bandit constraints, renamed in this release


def __getattr__(name):
    """The old names of the renamed classes, for one release (with a DeprecationWarning)."""
    if name in RENAMED:
        from ...core.errors import warn_renamed

        warn_renamed(name, RENAMED[name], note=" (a restless-bandit constraint)")
        return globals()[RENAMED[name]]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
