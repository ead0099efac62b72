"""Applications built on the families (layer 3: they may use models and solvers): the GRPO rollout-allocation
loop (``grpo``).
"""
