"""The Pyomo backend: every exact MIP and LP of orbudget as a Pyomo model (``ob.to_pyomo``), read back into a
``Result`` (``ob.from_pyomo``), and a ``pyomo`` adapter per method so any solver Pyomo reaches (HiGHS, SCIP through
pyscipopt, Gurobi through gurobipy, CPLEX, Xpress, CBC, ...) solves it: ``options={"solver": "scip"}``.

Importing this package registers the adapters; pyomo itself is imported only when a model is built."""

from ...core.registry import register_backend
from ._common import to_pyomo
from ._results import from_pyomo

register_backend("pyomo", modules=("pyomo",), extra="pyomo", guarded=True)

__all__ = ["from_pyomo", "to_pyomo"]
