"""cvxpy adapters (convex relaxations)."""

from ...core.registry import register_backend

register_backend("cvxpy", modules=("cvxpy",), extra="convex", guarded=True)
