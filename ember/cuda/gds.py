"""``torch.cuda.gds``: GPUDirect Storage (files read straight into GPU memory). ember has no
cuFile binding, so, as on PyTorch builds without it, registering a buffer raises
RuntimeError, and ``GdsFile`` opens the file (FileNotFoundError for a missing one) and then
refuses.

Example:
    >>> ember.cuda.gds.gds_register_buffer(storage)  # doctest: +SKIP  (raises)
"""

from __future__ import annotations

import os

__all__ = ["gds_register_buffer", "gds_deregister_buffer", "GdsFile"]


def gds_register_buffer(s) -> None:
    """Register a GPU storage with cuFile (not supported: raises RuntimeError).

    Example:
        >>> ember.cuda.gds.gds_register_buffer(s)  # doctest: +SKIP
    """
    raise RuntimeError("torch._C._gds_register_buffer is not supported on this platform")


def gds_deregister_buffer(s) -> None:
    """Deregister a GPU storage from cuFile (not supported: raises RuntimeError).

    Example:
        >>> ember.cuda.gds.gds_deregister_buffer(s)  # doctest: +SKIP
    """
    raise RuntimeError("torch._C._gds_deregister_buffer is not supported on this platform")


class GdsFile:
    """A file opened for GPUDirect Storage (not supported: see the module).

    Example:
        >>> ember.cuda.gds.GdsFile("weights.bin", os.O_RDONLY)  # doctest: +SKIP
    """

    def __init__(self, filename: str, flags: int):
        self.filename, self.flags, self.handle = filename, flags, None
        fd = os.open(filename, flags)  # a missing file: FileNotFoundError, as in PyTorch
        os.close(fd)
        raise RuntimeError("torch._C._gds_register_handle is not supported on this platform")
