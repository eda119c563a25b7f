"""What every ``ember.cuda`` module shares: CuPy (or PyTorch's error without CUDA) and the
reading of a device argument as a GPU index."""

from __future__ import annotations

import numbers

from .._backend import Device, _get_cupy, _require_cuda, cuda_available


def cupy(what: str = "ember.cuda needs a GPU"):
    """CuPy, or PyTorch's error for a machine without CUDA: a ``CudaUnavailableError``, which
    is both the AssertionError torch's CPU build raises and a RuntimeError."""
    return _require_cuda(Device("cuda"), what)


def loaded_cupy():
    """CuPy when a GPU is present, else None (never raises)."""
    return _get_cupy()


def index(device=None, *, optional: bool = True) -> int:
    """A device argument (None, an int, ``"cuda:1"``, an ember.device) as a GPU index; None and
    a bare ``"cuda"`` mean the current GPU. A non-cuda device is refused as in PyTorch."""
    if device is None:
        return int(cupy().cuda.runtime.getDevice())
    if isinstance(device, numbers.Integral) and not isinstance(device, bool):
        return int(device)
    if isinstance(device, str):
        device = Device(device)
    if not isinstance(device, Device):
        raise ValueError(f"Expected a torch.device with a specified index or an integer, but "
                         f"got:{device}")
    if device.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {device}")
    return device.index if device.index is not None else int(cupy().cuda.runtime.getDevice())


def checked_index(device=None, what: str = "ember.cuda needs a GPU") -> int:
    """``index(device)`` after making sure CUDA is there, and that the GPU exists."""
    cp = cupy(what)
    idx = index(device)
    if not 0 <= idx < cp.cuda.runtime.getDeviceCount():
        raise RuntimeError(f"CUDA error: invalid device ordinal {idx}")
    return idx


def is_initialized() -> bool:
    """Whether ember has started using CUDA (CuPy found a GPU); False without CUDA.

    Example:
        >>> ember.cuda.is_initialized()  # on a machine without a GPU
        False
    """
    from .. import _backend

    return _backend._cupy is not None


__all__ = ["cupy", "loaded_cupy", "index", "checked_index", "cuda_available", "is_initialized"]
