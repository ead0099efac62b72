"""cvxpy adapters (convex relaxations)."""
