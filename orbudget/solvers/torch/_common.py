"""Pieces shared by the torch adapters: the default device, and the CPU thread count for small tensors.

torch's default intra-op thread pool has one thread per core. The networks and logit tables of these methods are tiny
(tens to thousands of numbers), so each operation is over in microseconds and extra threads only add
synchronisation; on a busy 2-core machine (two other processes running) that made ``ob.RCO.step()`` on a 5×4
problem take 560-930 ms instead of about 1 ms, and ``solve(method="rco")`` on 5 groups 103 s instead of 9 s. Every
torch solve on the CPU therefore runs inside `cpu_threads`, which sets the count it needs and restores the
caller's setting after.
"""

from __future__ import annotations

import contextlib

from ...core.errors import InvalidProblemError

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


def as_device(name: str, value):
    """``None`` (CUDA when there is one, else the CPU), or a device string / ``torch.device`` that exists here;
    anything else raises InvalidProblemError naming ``name`` (not an AssertionError deep inside torch)."""
    import torch

    if value is None:
        return default_device()
    if not isinstance(value, (str, torch.device)):
        raise InvalidProblemError(f"`{name}` must be a device name such as 'cpu' or 'cuda'; got {value!r}")
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise InvalidProblemError(f"`{name}` must be a device name such as 'cpu' or 'cuda'; got {value!r} ({exc})") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InvalidProblemError(f"`{name}` is {value!r} but CUDA is not available here; use 'cpu' (or None)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InvalidProblemError(f"`{name}` is {value!r} but there are {torch.cuda.device_count()} CUDA devices")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise InvalidProblemError(f"`{name}` is {value!r} but MPS is not available here; use 'cpu' (or None)")
    elif device.type != "cpu":
        raise InvalidProblemError(f"`{name}` must be 'cpu' or a CUDA device (or 'mps' where available); got {value!r}")
    return device


def read_checkpoint(path, *, device, kind: str, fingerprint: str, keys: tuple, weights_only: bool, what: str) -> dict:
    """A checkpoint file of ``kind`` for the problem with ``fingerprint``, loaded onto ``device`` and checked to hold
    ``keys``: a file torch cannot read, or one of another kind or problem, raises InvalidProblemError naming
    `checkpoint` (``what`` names the method, with its article), never an unpickling traceback."""
    import torch

    from ...core.validation import check_state

    try:
        state = torch.load(path, map_location=device, weights_only=weights_only)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a file that is not a checkpoint
        raise InvalidProblemError(
            f"`checkpoint` {str(path)!r} is not {what} checkpoint (it could not be read: {type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    return check_state(state, kind=kind, fingerprint=fingerprint, keys=keys, field="checkpoint")
