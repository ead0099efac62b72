"""Fuzz suite: malformed inputs run in child interpreters (see harness.py) and budget-safety properties."""

import os


def examples(n: int) -> int:
    """How many examples a property test draws: ``n`` in the test command; the long property run sets
    ``ORBUDGET_PROPERTY_EXAMPLES=N`` to draw at least N per test (``make properties``)."""
    return max(n, int(os.environ.get("ORBUDGET_PROPERTY_EXAMPLES", "0") or 0))
