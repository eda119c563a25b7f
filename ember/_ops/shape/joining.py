"""Joining and splitting: ``cat``, ``stack``, ``hstack`` ..., ``split``, ``chunk``, ``unbind``.

Splits return views that share the input's version counter, as in PyTorch. ``split`` and
``chunk`` make all their pieces in one node (``Split``), whose backward writes the pieces'
gradients side by side in one pass; like PyTorch's, the pieces refuse in-place changes while
they carry a gradient.
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._backend import get_array_module
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op, wrap_dim
from .._dispatch import check_devices

_state = grad_mode._state

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack",
           "column_stack", "row_stack", "split", "chunk", "unbind", "tensor_split"]


def _as_list(tensors, name: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        "not Tensor")
    tensors = list(tensors)
    if not tensors:
        if name != "cat":
            raise RuntimeError(f"{name} expects a non-empty TensorList")
        raise ValueError(f"torch.{name}(): expected a non-empty list of Tensors")
    return tensors


def _promote(tensors: list) -> list:
    dt = tensors[0]._dtype
    for t in tensors[1:]:
        if t._dtype is not dt:
            dt = D.promote_types(dt, t._dtype)
    return [t if t._dtype is dt else t.to(dt) for t in tensors]


class Cat(Op):
    @staticmethod
    def forward(ctx, *arrays, dim, skip_empty=False):
        ctx.dim = dim
        if skip_empty:  # legacy 1-D empty inputs take no part (and get an empty gradient)
            ctx.sizes = [None if a.shape == (0,) else a.shape[dim] for a in arrays]
            arrays = [a for a in arrays if a.shape != (0,)]
        else:
            ctx.sizes = [a.shape[dim] for a in arrays]
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        out, start = [], 0
        for size, need in zip(ctx.sizes, ctx.needs_input_grad):
            if size is None:
                from ..._creation import zeros

                out.append(zeros(0, dtype=grad.dtype, device=grad.device) if need else None)
                continue
            out.append(grad.narrow(ctx.dim, start, size) if need else None)
            start += size
        return tuple(out)


def cat(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Concatenate tensors along an existing dim (dtypes promote as in ``add``).

    Example:
        >>> ember.cat([ember.zeros(2, 3), ember.ones(1, 3)]).shape
        torch.Size([3, 3])
    """
    tensors = _as_list(tensors, "cat")
    # torch's legacy rule: 1-D empty tensors are skipped whatever the others' shapes
    kept = [t for t in tensors if t._data.shape != (0,)]
    if not kept:
        return Cat.apply(*_promote(tensors), dim=0)
    ref = kept[0]
    nd = ref._data.ndim
    for i, t in enumerate(tensors):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    d = wrap_dim(dim, nd)
    shape = ref._data.shape
    for i, t in enumerate(tensors):
        s = t._data.shape
        if s == (0,):
            continue
        if len(s) != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and "
                               f"{len(s)}")
        for k in range(nd):
            if k != d and s[k] != shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{shape[k]} but got size {s[k]} for tensor number {i} in the list.")
        check_devices(ref, t)
    return Cat.apply(*_promote(tensors), dim=d, skip_empty=len(kept) != len(tensors))


concat = concatenate = cat


class Stack(Op):
    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.dim = dim
        return np.stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return tuple(grad.select(ctx.dim, i) if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


def stack(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join equal-shaped tensors along a new dim.

    Example:
        >>> ember.stack([ember.zeros(3), ember.ones(3)], dim=1).shape
        torch.Size([3, 2])
    """
    tensors = _as_list(tensors, "stack")
    shape = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(t._data.shape)} at entry {i}")
    d = wrap_dim(dim, len(shape) + 1)
    return Stack.apply(*_promote(tensors), dim=d)


def hstack(tensors, *, out=None) -> Tensor:
    """Concatenate column-wise (along dim 0 for 1-D inputs, else dim 1)."""
    from .reshaping import atleast_1d

    ts = [atleast_1d(t) for t in _as_list(tensors, "hstack")]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors, *, out=None) -> Tensor:
    """Concatenate row-wise after making inputs at least 2-D."""
    from .reshaping import atleast_2d

    return cat([atleast_2d(t) for t in _as_list(tensors, "vstack")], 0)


row_stack = vstack


def dstack(tensors, *, out=None) -> Tensor:
    """Concatenate depth-wise (dim 2) after making inputs at least 3-D."""
    from .reshaping import atleast_3d

    return cat([atleast_3d(t) for t in _as_list(tensors, "dstack")], 2)


def column_stack(tensors, *, out=None) -> Tensor:
    """Stack 0-d and 1-D inputs as columns, then concatenate along dim 1."""
    ts = [t.reshape(-1, 1) if t.ndim <= 1 else t for t in _as_list(tensors, "column_stack")]
    return cat(ts, 1)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Split into pieces of ``split_size`` (the last may be smaller) or of the listed sizes.
    The pieces are views.

    Example:
        >>> [p.shape[0] for p in ember.arange(5).split(2)]
        [2, 2, 1]
    """
    if tensor.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, tensor.ndim)
    size = tensor._data.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)) or (
            isinstance(split_size_or_sections, Tensor) and split_size_or_sections.ndim == 0):
        step = int(split_size_or_sections)
        if step < 0 or (step == 0 and size != 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size}" if step == 0 else
                               f"split expects split_size be non-negative, but got "
                               f"split_size={step}")
        if size == 0:
            return (tensor.narrow(d, 0, 0),)
        sizes = [min(step, size - s) for s in range(0, size, step)]
        name = "SplitBackward0"
    else:
        name = "SplitWithSizesBackward0"
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != size or any(s < 0 for s in sizes):
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                f"size at dimension {d}), but got split_sizes={sizes}")
    if len(sizes) == 1:
        return _renamed((tensor.narrow(d, 0, size),), name)
    return Split.apply(tensor, dim=d, sizes=tuple(sizes), name=name)


class Split(Op):
    """The pieces of ``x`` along ``dim`` (views), as one node: backward writes the pieces'
    gradients into one array (zeros where a piece got none), PyTorch's ``SplitBackward0``."""

    is_view = True
    multi_view = True
    materialize_grads = False  # a piece without a gradient is zeros in the joined array

    @staticmethod
    def forward(ctx, x, dim, sizes, name):
        ctx.dim, ctx.sizes, ctx.in_shape = dim, sizes, x.shape
        ctx.view_args = {"dim": dim, "sizes": sizes, "name": name}
        ctx._name = name
        lead = (slice(None),) * dim
        pieces, start = [], 0
        for s in sizes:
            pieces.append(x[lead + (slice(start, start + s),)])
            start += s
        return tuple(pieces)

    @staticmethod
    def backward(ctx, *grads):
        dim, sizes = ctx.dim, ctx.sizes
        if not _state.enabled:
            ref = next(g for g in grads if g is not None)
            xp = get_array_module(ref._data)
            out = xp.empty(ctx.in_shape, ref._data.dtype)
            lead = (slice(None),) * dim
            start = 0
            for g, s in zip(grads, sizes):
                out[lead + (slice(start, start + s),)] = g._data if g is not None else 0
                start += s
            return Tensor._make(out, ref._dtype)
        ref = next(g for g in grads if g is not None)
        parts = []
        for g, s in zip(grads, sizes):
            if g is None:
                shape = list(ctx.in_shape)
                shape[dim] = s
                g = Tensor._make(get_array_module(ref._data).zeros(shape, ref._data.dtype),
                                 ref._dtype)
            parts.append(g)
        return Cat.apply(*parts, dim=dim)


def _renamed(pieces: tuple, name: str) -> tuple:
    """torch makes the pieces in one node; name each piece's node after it."""
    for p in pieces:
        if p.grad_fn is not None:
            p.grad_fn._name = name
    return pieces


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` views of equal size (the last may be smaller, and fewer chunks come
    back when the size does not divide evenly)."""
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    size = input._data.shape[wrap_dim(dim, input.ndim)]
    step = max(-(-size // chunks), 1)
    return split(input, step, dim)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Split into ``n`` nearly equal views, or at the given indices (NumPy's ``array_split``)."""
    d = wrap_dim(dim, input.ndim)
    size = input._data.shape[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, (int, np.integer)):
        n = int(indices_or_sections)
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        q, r = divmod(size, n)
        bounds = [i * q + min(i, r) for i in range(n + 1)]
    else:
        bounds = [0] + [min(max(int(i), 0), size) for i in indices_or_sections] + [size]
    return tuple(input.narrow(d, a, max(b - a, 0)) if a <= size else input.narrow(d, size, 0)
                 for a, b in zip(bounds[:-1], bounds[1:]))


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """All slices along ``dim``, that dim removed (views).

    Example:
        >>> a, b = ember.tensor([[1, 2], [3, 4]]).unbind(1)
    """
    if input.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, input.ndim)
    return _renamed(tuple(input.select(d, i) for i in range(input._data.shape[d])),
                    "UnbindBackward0")


TENSOR_METHODS = {"split": split, "chunk": chunk, "unbind": unbind,
                  "tensor_split": tensor_split}
