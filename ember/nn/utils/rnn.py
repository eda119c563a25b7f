"""Sequence helpers: ``pad_sequence`` / ``unpad_sequence``, ``invert_permutation``, and the
packing functions (from ``_packing``)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..._errors import with_hint
from ..._tensor import Tensor

__all__ = ["pad_sequence", "unpad_sequence", "invert_permutation"]


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack variable-length tensors (L_i, *) into (max_L, B, *) (``batch_first``: (B, max_L,
    *)), filling with ``padding_value``. Differentiable with respect to every sequence.

    Example:
        >>> pad_sequence([ember.ones(2), ember.ones(3)], batch_first=True).shape
        torch.Size([2, 3])
    """
    from ..._ops.nn.linear_softmax import NarrowBackward

    sequences = _checked_pad_arguments(sequences, batch_first, padding_value, padding_side)
    if isinstance(padding_value, Tensor):
        padding_value = padding_value.item()
    max_len = max(s.shape[0] for s in sequences)
    trailing = tuple(sequences[0].shape[1:])
    dtype = sequences[0].dtype  # PyTorch fills a copy of the first: it decides the dtype
    rows = []
    for s in sequences:
        if s.dtype != dtype:
            s = s.to(dtype)
        s = _fit_trailing(s, trailing)
        n = s.shape[0]
        start = 0 if padding_side == "right" else max_len - n
        padded = NarrowBackward.apply(s, shape=(max_len,) + trailing, dim=0, start=start)
        if padding_value != 0:
            fill = np.full((max_len,) + trailing, padding_value, s._data.dtype)
            fill[start:start + n] = 0
            padded = padded + Tensor._make(fill)
        rows.append(padded.unsqueeze(0 if batch_first else 1))
    return _concat(rows, 0 if batch_first else 1)


def _checked_pad_arguments(sequences, batch_first, padding_value, padding_side) -> list:
    """The sequences as a list, after PyTorch's argument checks, in its order."""
    from numbers import Real

    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    elif not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg "
                           f"of type: {type(sequences)}")
    sequences = list(sequences)
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise with_hint(TypeError(f"expected Tensor as element {i} in argument 0, but got "
                                      f"{type(s).__name__}"),
                            "pad_sequence takes tensors: wrap each sequence in torch.tensor()")
    for position, name, value, ok, want in (
            (2, "batch_first", batch_first, type(batch_first) is bool, "bool"),
            (3, "padding_value", padding_value,
             isinstance(padding_value, (Real, np.bool_))
             or (isinstance(padding_value, Tensor) and padding_value.ndim == 0), "float"),
            (4, "padding_side", padding_side, isinstance(padding_side, str), "str")):
        if not ok:
            kind = type(value)
            shown = kind.__name__ if kind.__module__ == "builtins" else (
                "Tensor" if isinstance(value, Tensor) else f"{kind.__module__}.{kind.__name__}")
            raise TypeError(f"pad_sequence(): argument '{name}' (position {position}) must be "
                            f"{want}, not {shown}")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    for i, s in enumerate(sequences):
        if s.ndim == 0:
            hint = ("every sequence needs a first (length) dimension: a single step is "
                    "t.unsqueeze(0)")
            if i == 0:  # PyTorch's own words for a 0-d first sequence
                raise with_hint(RuntimeError("ArrayRef: invalid slice, N = 1; size = 0"), hint)
            raise with_hint(IndexError("Dimension specified as 0 but tensor has no dimensions"),
                            hint)
    return sequences


def _fit_trailing(s: Tensor, trailing: tuple) -> Tensor:
    """``s`` (n, ...) as (n, *trailing): PyTorch copies each sequence into its slot with
    broadcasting, so a (n, 1) sequence fills (n, d); anything else raises copy_'s error."""
    slot = (s.shape[0],) + trailing
    if tuple(s.shape) == slot:
        return s
    ndim = max(len(slot), s.ndim)
    a = (1,) * (ndim - len(slot)) + slot
    b = (1,) * (ndim - s.ndim) + tuple(s.shape)
    for dim in reversed(range(ndim)):
        if a[dim] != b[dim] and a[dim] != 1 and b[dim] != 1:
            raise RuntimeError(f"The size of tensor a ({a[dim]}) must match the size of tensor "
                               f"b ({b[dim]}) at non-singleton dimension {dim}")
    shape = tuple(max(x, y) for x, y in zip(a, b))
    if shape != slot:
        raise RuntimeError(f"output with shape {list(slot)} doesn't match the broadcast shape "
                           f"{list(shape)}")
    return s.expand(*slot)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor,
                   batch_first: bool = False) -> list:
    """The variable-length tensors a ``pad_sequence`` result holds: sequence ``b`` is the
    first ``lengths[b]`` steps of column ``b`` (``batch_first``: row ``b``). Differentiable.
    As in PyTorch, ``batch_first=False`` transposes ``padded_sequences`` in place.

    Example:
        >>> padded = pad_sequence([ember.ones(3, 2), ember.ones(1, 2)])
        >>> [s.shape for s in unpad_sequence(padded, ember.tensor([3, 1]))]
        [torch.Size([3, 2]), torch.Size([1, 2])]
    """
    from ... import arange

    if not batch_first:
        padded_sequences.transpose_(0, 1)  # PyTorch's in-place transpose, kept for fidelity
    idx = arange(padded_sequences.shape[1], device=lengths.device)
    return [seq[idx < length] for seq, length in zip(padded_sequences, lengths, strict=True)]


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of the 1-D index ``permutation`` (``inv[permutation[i]] = i``); None for
    None.

    Example:
        >>> invert_permutation(ember.tensor([2, 0, 1]))
        tensor([1, 2, 0])
    """
    from ... import arange, empty_like

    if permutation is None:
        return None
    output = empty_like(permutation)
    return output.scatter_(0, permutation,
                           arange(0, permutation.numel(), device=permutation.device))


def _concat(tensors, dim: int) -> Tensor:
    try:
        from ... import cat

        return cat(tensors, dim)
    except ImportError:
        out = tensors[0]
        for t in tensors[1:]:  # stacking by padding keeps this differentiable without cat
            out = _two(out, t, dim)
        return out


def _two(a: Tensor, b: Tensor, dim: int) -> Tensor:
    from ..._ops.nn.linear_softmax import NarrowBackward

    total = a.shape[dim] + b.shape[dim]
    shape_a = list(a.shape)
    shape_a[dim] = total
    shape_b = list(b.shape)
    shape_b[dim] = total
    return (NarrowBackward.apply(a, shape=tuple(shape_a), dim=dim, start=0)
            + NarrowBackward.apply(b, shape=tuple(shape_b), dim=dim, start=a.shape[dim]))


# packing (nn part 2) lives in its own file
from ._packing import *  # noqa: E402,F401,F403
from ._packing import __all__ as _packing_all  # noqa: E402

__all__ = __all__ + _packing_all
