"""``torch.cuda.nccl``: NCCL collectives between GPUs of one process.

ember has no NCCL binding (its collectives go through ``ember.distributed`` over MPI), so, as
in a PyTorch build without NCCL, ``is_available`` is False (with PyTorch's warning) and the
collectives raise.

Example:
    >>> ember.cuda.nccl.is_available([ember.zeros(1)])  # doctest: +SKIP  (warns)
    False
"""

from __future__ import annotations

import warnings

__all__ = ["all_reduce", "reduce", "broadcast", "all_gather", "reduce_scatter", "is_available",
           "version", "unique_id", "init_rank", "SUM"]

SUM = 0  # ncclRedOp_t's sum, the default reduction

_NO_NCCL = "ember has no NCCL support: use ember.distributed (MPI) for collectives"


def is_available(tensors) -> bool:
    """Whether NCCL can run a collective over ``tensors``: never in ember (warns once, as a
    PyTorch build without NCCL does).

    Example:
        >>> ember.cuda.nccl.is_available([])  # doctest: +SKIP  (warns)
        False
    """
    warnings.warn("PyTorch is not compiled with NCCL support", stacklevel=2)
    return False


def _unsupported(*args, **kwargs):
    raise RuntimeError(_NO_NCCL)


def version():
    """NCCL's version (no NCCL in ember: raises RuntimeError).

    Example:
        >>> ember.cuda.nccl.version()  # doctest: +SKIP  (raises)
    """
    _unsupported()


def unique_id():
    """A new NCCL communicator id (no NCCL in ember: raises RuntimeError)."""
    _unsupported()


def init_rank(num_ranks, uid, rank):
    """Join an NCCL communicator (no NCCL in ember: raises RuntimeError)."""
    _unsupported()


def all_reduce(inputs, outputs=None, op=SUM, streams=None, comms=None):
    """NCCL all-reduce (no NCCL in ember: raises RuntimeError)."""
    _unsupported()


def reduce(inputs, output=None, root: int = 0, op=SUM, streams=None, comms=None, *,
           outputs=None):
    """NCCL reduce (no NCCL in ember: raises RuntimeError)."""
    _unsupported()


def broadcast(inputs, root: int = 0, streams=None, comms=None):
    """NCCL broadcast (no NCCL in ember: raises RuntimeError)."""
    _unsupported()


def all_gather(inputs, outputs, streams=None, comms=None):
    """NCCL all-gather (no NCCL in ember: raises RuntimeError)."""
    _unsupported()


def reduce_scatter(inputs, outputs, op=SUM, streams=None, comms=None):
    """NCCL reduce-scatter (no NCCL in ember: raises RuntimeError)."""
    _unsupported()
