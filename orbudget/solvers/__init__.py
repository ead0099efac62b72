"""Solver adapters, one folder per backend. Importing this package registers every adapter; no backend
package is imported until an adapter runs."""

from .cvxpy import online as _cvxpy_online  # noqa: F401
from .cvxpy import rollouts as _cvxpy_rollouts  # noqa: F401
from .highs import bwk as _highs_bwk  # noqa: F401
from .highs import knapsack as _highs_knapsack  # noqa: F401
from .highs import llm as _highs_llm  # noqa: F401
from .highs import online as _highs_online  # noqa: F401
from .highs import rmab as _highs_rmab  # noqa: F401
from .numba import assignment as _numba_assignment  # noqa: F401
from .numba import bidding as _numba_bidding  # noqa: F401
from .numba import bwk as _numba_bwk  # noqa: F401
from .numba import knapsack as _numba_knapsack  # noqa: F401
from .numba import mckp_core as _numba_mckp_core  # noqa: F401
from .numba import online as _numba_online  # noqa: F401
from .ortools import knapsack as _ortools_knapsack  # noqa: F401
from .pyomo import assignment as _pyomo_assignment  # noqa: F401
from .pyomo import bwk as _pyomo_bwk  # noqa: F401
from .pyomo import knapsack as _pyomo_knapsack  # noqa: F401
from .pyomo import online as _pyomo_online  # noqa: F401
from .pyomo import rmab as _pyomo_rmab  # noqa: F401
from .python import knapsack as _python_knapsack  # noqa: F401
from .python import llm as _python_llm  # noqa: F401
from .python import rmab as _python_rmab  # noqa: F401
from .torch import assignment as _torch_assignment  # noqa: F401
from .torch import bidding as _torch_bidding  # noqa: F401
from .torch import rmab as _torch_rmab  # noqa: F401
