"""Packed variable-length batches: ``PackedSequence``, ``pack_padded_sequence``,
``pad_packed_sequence``, ``pack_sequence``, ``unpack_sequence`` (re-exported by ``rnn``).

``data`` holds the time steps one after another, each with only the sequences still running
(longest first), and ``batch_sizes[t]`` says how many; RNN layers consume it directly.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import _creation
from ... import int64 as _int64
from ..._ops._core import set_node_name
from ..._ops.shape.joining import cat, stack
from ..._tensor import Tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence",
           "unpack_sequence"]


class _PackedSequenceBase(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceBase):
    """A batch of variable-length sequences packed time-step by time-step (see
    ``pack_padded_sequence``); fields ``data, batch_sizes, sorted_indices, unsorted_indices``."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _invert(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """Move or cast ``data`` as ``Tensor.to`` does; like torch, the same PackedSequence
        comes back when ``data`` needs no change.

        Example:
            >>> p = pack_sequence([ember.ones(2, 3), ember.ones(1, 3)])
            >>> p.to("cpu") is p, p.to(ember.float64).data.dtype
            (True, torch.float64)
        """
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def double(self) -> PackedSequence:
        return self.to(dtype=_float64())

    def float(self) -> PackedSequence:
        return self.to(dtype=_float32())

    @property
    def is_cuda(self) -> bool:
        return self.data.device.type == "cuda"

    def is_pinned(self) -> bool:
        return False


def _float64():
    from ... import float64

    return float64


def _float32():
    from ... import float32

    return float32


def _invert(perm: Tensor) -> Tensor:
    inv = np.empty_like(perm._data)
    inv[perm._data] = np.arange(perm._data.shape[0], dtype=perm._data.dtype)
    return Tensor._make(inv)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``batch_first``: ``(B, T, *)``) whose sequence ``b``
    has ``lengths[b]`` valid steps.

    Example:
        >>> p = pack_padded_sequence(ember.randn(4, 3, 2), [4, 2, 1])
        >>> p.batch_sizes
        tensor([3, 2, 1, 1])
    """
    lens = np.asarray(lengths._data if isinstance(lengths, Tensor) else lengths,
                      dtype=np.int64)
    # torch's order of checks: the unsorted batch is gathered first (so its index errors come
    # first), then the lengths' shape, their count, their order, their values
    if lens.ndim != 1:
        if lens.ndim > 1 and not enforce_sorted:
            raise IndexError("index_select(): Index is supposed to be a vector")
        raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{lens.ndim}D cpu Long tensor")
    if batch_first:
        input = input.transpose(0, 1)
    if enforce_sorted:
        sorted_indices = None
        order = None
    else:
        order = np.argsort(-lens, kind="stable")
        bad = order[order >= input.shape[1]]
        if bad.size:
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={int(bad[0])} "
                               f"axis_dim={input.shape[1]}")
        lens = lens[order]
        sorted_indices = Tensor._make(order.astype(np.int64))
        input = input.index_select(1, sorted_indices)  # (IndexSelectBackward0, as torch)
    if lens.shape[0] != input.shape[1]:
        raise RuntimeError("Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lens.shape[0]} (batch_size={input.shape[1]})")
    if enforce_sorted and np.any(np.diff(lens) > 0):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                           "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                           "to pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    if not lens.size:
        raise RuntimeError("Cannot pack empty tensors.")
    if lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if lens.size and lens[0] > input.shape[0]:
        raise RuntimeError(f"Expected sequence length to be at most {input.shape[0]} (the "
                           f"padded length), but got a length of {int(lens[0])}")
    steps = int(lens[0]) if lens.size else 0
    sizes = np.array([(lens > t).sum() for t in range(steps)], dtype=np.int64)
    data = cat([input[t, :int(b)] for t, b in enumerate(sizes)], 0)
    set_node_name(data, "PackPaddedSequenceBackward0")
    return PackedSequence(data, Tensor._make(sizes, _int64), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """Inverse of ``pack_padded_sequence``: returns ``(padded, lengths)`` in the original
    batch order.

    Example:
        >>> x, lens = pad_packed_sequence(pack_padded_sequence(ember.randn(4, 3, 2), [4, 2, 1]))
        >>> x.shape, lens
        (torch.Size([4, 3, 2]), tensor([4, 2, 1]))
    """
    sizes = sequence.batch_sizes._data
    n = int(sizes[0]) if sizes.size else 0
    steps = sizes.shape[0]
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
    data = sequence.data
    trailing = tuple(data.shape[1:])
    rows, off = [], 0
    for b in sizes:
        b = int(b)
        piece = data[off:off + b]
        off += b
        if b < n:
            fill = _creation.full((n - b,) + trailing, padding_value, dtype=data.dtype)
            piece = cat([piece, fill], 0)
        rows.append(piece)
    total = steps if total_length is None else total_length
    for _ in range(total - steps):
        rows.append(_creation.full((n,) + trailing, padding_value, dtype=data.dtype))
    padded = stack(rows, 0)
    lengths = np.array([(sizes > i).sum() for i in range(n)], dtype=np.int64)
    if batch_first:
        padded = padded.transpose(0, 1)
    if sequence.unsorted_indices is not None:  # last, as torch: its node is IndexSelectBackward0
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices._data]
    return padded, Tensor._make(lengths, _int64)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length tensors ``(L_i, *)``."""
    from .rnn import pad_sequence

    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of tensors packed in ``packed_sequences``."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return [padded[i, :int(n)] for i, n in enumerate(lengths._data)]
