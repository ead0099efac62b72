"""Applications built on the families (layer 3: they may use models and solvers): the GRPO rollout-allocation
loop (``grpo``), and the compression applications of `BudgetedAssignment` (``compression``: mixed-precision
quantisation of a small MLP, expert pruning of a toy mixture-of-experts layer).
"""
