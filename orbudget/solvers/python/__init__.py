"""Pure numpy adapters."""

from ...core.registry import register_backend

register_backend("python")
