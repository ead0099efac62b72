"""HiGHS adapters (``highspy``, imported only inside the adapters)."""
