"""numba adapters: DP kernels and first-order loops."""
