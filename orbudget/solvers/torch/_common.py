"""Pieces shared by the torch adapters: the default device, and the CPU thread count for small tensors.

torch's default intra-op thread pool has one thread per core. The networks and logit tables of these methods are tiny
(tens to thousands of numbers), so each operation is over in microseconds and extra threads only add
synchronisation; on a busy 2-core machine (two other processes running) that made ``ob.RCO.step()`` on a 5×4
problem take 560-930 ms instead of about 1 ms, and ``solve(method="rco")`` on 5 groups 103 s instead of 9 s. Every
torch solve on the CPU therefore runs inside :func:`cpu_threads`, which sets the count it needs and restores the
caller's setting after.
"""

from __future__ import annotations

import contextlib

SMALL_TENSOR = 1 << 16  # elements: below this a tensor operation runs on one thread


def default_device():
    """CUDA when there is one, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def cpu_threads(device=None, n: int = 1):
    """Run torch with ``n`` intra-op threads when ``device`` is the CPU (``None`` counts as the CPU), restoring the
    previous setting after, also on an exception or Ctrl-C. On a GPU nothing changes."""
    import torch

    if device is not None and torch.device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
