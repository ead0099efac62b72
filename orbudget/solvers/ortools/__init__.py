"""OR-Tools adapters (CP-SAT), imported only inside the adapters."""

from ...core.registry import register_backend

register_backend("ortools", modules=("ortools",), extra="mip", guarded=True)
