"""torch adapters: learned and GPU-batched parts (imported lazily by each adapter)."""

from ...core.registry import register_backend

register_backend("torch", modules=("torch",), extra="torch")
