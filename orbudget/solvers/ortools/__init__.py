"""OR-Tools adapters (CP-SAT), imported only inside the adapters."""
