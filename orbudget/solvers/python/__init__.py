"""Pure numpy adapters."""
