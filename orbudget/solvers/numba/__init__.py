"""numba adapters: DP kernels and first-order loops."""

from ...core.registry import register_backend

register_backend("numba", modules=("numba",))
