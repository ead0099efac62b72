"""Fuzz suite: malformed inputs run in child interpreters (see harness.py) and budget-safety properties."""
