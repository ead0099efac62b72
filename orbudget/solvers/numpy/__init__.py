"""numpy adapters: baselines, greedy and LP-relaxation methods and the restless-bandit policies, written as array
code on the core dependencies (no extra to install). A sub-solver such a method calls is one of its options and is
named in ``Result.stats`` (the RMAB policies' ``oracle``: closed form, enumeration, HiGHS or CP-SAT)."""

from ...core.registry import register_backend

register_backend("numpy")
