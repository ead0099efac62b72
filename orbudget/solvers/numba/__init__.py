"""numba adapters: DP kernels and first-order loops."""

from ...core.registry import register_backend
from ._compile import CompileWatch

register_backend("numba", modules=("numba",), compile_watch=CompileWatch)
