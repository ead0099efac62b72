"""HiGHS adapters (``highspy``, imported only inside the adapters)."""

from ...core.registry import register_backend

register_backend("highs", modules=("highspy",), extra="mip", guarded=True)
