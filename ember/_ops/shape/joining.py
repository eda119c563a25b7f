"""Joining and splitting: ``cat``, ``stack``, ``hstack`` ..., ``split`` (and
``split_with_sizes``, ``unsafe_split`` ...), ``chunk``, ``hsplit``/``vsplit``/``dsplit``,
``unbind``.

Splits return views that share the input's version counter, as in PyTorch. ``split`` and
``chunk`` make all their pieces in one node (``Split``), whose backward writes the pieces'
gradients side by side in one pass; like PyTorch's, the pieces refuse in-place changes while
they carry a gradient.
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._backend import MetaArray, get_array_module, meta_array
from ..._layout import element_strides, in_format, row_major, suggest_memory_format
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op, int_arg, wrap_dim
from .._dispatch import check_devices, check_meta_mix, type_name

_state = grad_mode._state

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack",
           "column_stack", "row_stack", "split", "chunk", "unbind", "tensor_split",
           "split_with_sizes", "unsafe_split", "unsafe_chunk", "unsafe_split_with_sizes",
           "hsplit", "vsplit", "dsplit"]


def _shared_format(arrays):
    """The channels_last format every (non-empty) array's strides suggest, else None: torch's
    cat and stack keep that layout and otherwise write row-major."""
    for a in arrays:
        if getattr(a, "ndim", 0) in (4, 5):
            break
    else:
        return None  # only 4-D and 5-D strides suggest a channels_last format
    formats = {suggest_memory_format(a.shape, element_strides(a))._name if a.size else None
               for a in arrays if hasattr(a, "strides")} - {None}
    if len(formats) != 1 or formats == {"contiguous_format"}:
        return None
    return getattr(D, formats.pop())


def _as_list(tensors, name: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        "not Tensor")
    try:
        tensors = list(tensors)
    except TypeError:
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        f"not {type(tensors).__name__}") from None
    if not tensors:
        if name != "cat":
            raise RuntimeError(f"{name} expects a non-empty TensorList")
        raise ValueError(f"torch.{name}(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):  # (a list of numbers wants torch.tensor(list) instead)
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
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
        if any(isinstance(a, MetaArray) for a in arrays):  # (NumPy's would be a cpu array)
            shape = list(arrays[0].shape)
            shape[dim] = sum(a.shape[dim] for a in arrays)
            return meta_array(shape, arrays[0].dtype)
        out = row_major(np.concatenate(arrays, axis=dim))
        fmt = _shared_format(arrays)
        return out if fmt is None else in_format(out, fmt)

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
    if tensors and tensors[0].is_quantized:
        from ... import _quantized_ops

        return _quantized_ops.cat(tensors, dim)
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
        check_meta_mix(ref, t)
    return Cat.apply(*_promote(tensors), dim=d, skip_empty=len(kept) != len(tensors))


concat = concatenate = cat


class Stack(Op):
    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.dim = dim
        if any(isinstance(a, MetaArray) for a in arrays):  # (NumPy's would be a cpu array)
            shape = list(arrays[0].shape)
            shape.insert(dim, len(arrays))
            return meta_array(shape, arrays[0].dtype)
        out = np.stack(arrays, axis=dim)
        # NumPy keeps the inputs' order; torch keeps only a shared channels_last layout
        return out if _shared_format(arrays) is not None else row_major(out)

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
    for t in tensors[1:]:
        check_devices(tensors[0], t)
        check_meta_mix(tensors[0], t)
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


def _split_sizes(tensor: Tensor, split_size_or_sections, dim: int) -> tuple:
    """``(dim, piece sizes, torch's node name)`` for ``split``, with its errors."""
    if type(split_size_or_sections) is not int:  # torch's sizes are ints: bools refused
        _refuse_bool_sizes(split_size_or_sections)
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
        sizes = [min(step, size - s) for s in range(0, size, step)] if size else [0]
        return d, sizes, "SplitBackward0"
    if isinstance(split_size_or_sections, Tensor):  # torch takes a 0-d tensor only (above)
        raise TypeError("split_with_sizes(): argument 'split_sizes' (position 2) must be tuple "
                        "of ints, not Tensor")
    for pos, s in enumerate(split_size_or_sections):
        if isinstance(s, float):
            raise TypeError("split_with_sizes(): argument 'split_sizes' (position 2) must be "
                            f"tuple of ints, but found element of type float at pos {pos}")
    sizes = [int(s) for s in split_size_or_sections]
    if sum(sizes) != size or any(s < 0 for s in sizes):
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
            f"size at dimension {d}), but got split_sizes={sizes}")
    return d, sizes, "SplitWithSizesBackward0"


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Split into pieces of ``split_size`` (the last may be smaller) or of the listed sizes.
    The pieces are views.

    Example:
        >>> [p.shape[0] for p in ember.arange(5).split(2)]
        [2, 2, 1]
    """
    d, sizes, name = _split_sizes(tensor, split_size_or_sections, dim)
    if len(sizes) == 1:
        return _renamed((tensor.narrow(d, 0, sizes[0]),), name)
    return Split.apply(tensor, dim=d, sizes=tuple(sizes), name=name)


def _sizes_list(split_sizes, name: str) -> list:
    if isinstance(split_sizes, (int, np.integer, Tensor)) or not isinstance(
            split_sizes, (tuple, list)) or not all(
            isinstance(s, (int, np.integer)) for s in split_sizes):
        raise TypeError(f"{name}(): argument 'split_sizes' (position 2) must be tuple of ints, "
                        f"not {type_name(split_sizes)}")
    return list(split_sizes)


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """Split into views of the listed sizes along ``dim`` (they must sum to its size).

    Example:
        >>> [p.tolist() for p in ember.arange(4).split_with_sizes([1, 3])]
        [[0], [1, 2, 3]]
    """
    return split(input, _sizes_list(split_sizes, "split_with_sizes"), dim)


def unsafe_split(tensor: Tensor, split_size: int, dim: int = 0) -> tuple:
    """``split`` whose pieces share memory with ``tensor`` but are not tracked as views, so
    autograd lets them change in place (the caller vouches that this is safe).

    Example:
        >>> [p.tolist() for p in ember.unsafe_split(ember.arange(5), 2)]
        [[0, 1], [2, 3], [4]]
    """
    d, sizes, name = _split_sizes(tensor, split_size, dim)
    return UnsafeSplit.apply(tensor, dim=d, sizes=tuple(sizes), name="Unsafe" + name)


def unsafe_split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """``split_with_sizes`` with untracked pieces (see ``unsafe_split``).

    Example:
        >>> [p.tolist() for p in ember.unsafe_split_with_sizes(ember.arange(3), [2, 1])]
        [[0, 1], [2]]
    """
    return unsafe_split(input, _sizes_list(split_sizes, "unsafe_split_with_sizes"), dim)


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``chunk`` with untracked pieces (see ``unsafe_split``).

    Example:
        >>> [p.tolist() for p in ember.unsafe_chunk(ember.arange(4), 2)]
        [[0, 1], [2, 3]]
    """
    return unsafe_split(input, _chunk_size(input, chunks, dim, "unsafe_chunk"), dim)


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


class UnsafeSplit(Split):
    """``Split`` whose pieces are plain tensors that share memory: no view tracking, so they
    may change in place (PyTorch's ``unsafe_split``)."""

    is_view = False
    multi_view = False


def _renamed(pieces: tuple, name: str) -> tuple:
    """torch makes the pieces in one node; name each piece's node after it."""
    for p in pieces:
        if p.grad_fn is not None:
            p.grad_fn._name = name
    return pieces


def _refuse_bool_sizes(sizes) -> None:
    if isinstance(sizes, (bool, np.bool_)):
        raise TypeError(f"split(): argument 'split_size' must be int, not {type_name(sizes)}")
    if isinstance(sizes, (tuple, list)):
        for i, s in enumerate(sizes):
            if isinstance(s, (bool, np.bool_)):
                raise TypeError("split_with_sizes(): argument 'split_sizes' must be tuple of "
                                f"ints, but found element of type {type_name(s)} at pos {i}")


def _chunk_size(input: Tensor, chunks: int, dim: int, name: str) -> int:
    if type(chunks) is not int:  # torch: an int, not a bool
        int_arg(chunks, name, "chunks")
    if input.ndim == 0:
        raise RuntimeError(f"{name.removeprefix('unsafe_')} expects at least a 1-dimensional "
                           "tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    size = input._data.shape[wrap_dim(dim, input.ndim)]
    return max(-(-size // chunks), 1)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` views of equal size (the last may be smaller, and fewer chunks come
    back when the size does not divide evenly)."""
    return split(input, _chunk_size(input, chunks, dim, "chunk"), dim)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Split into ``n`` nearly equal views, or at the given indices (NumPy's ``array_split``)."""
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = wrap_dim(dim, input.ndim)
    size = input._data.shape[d]
    if isinstance(indices_or_sections, Tensor):
        if input._vmap_levels or indices_or_sections._vmap_levels:  # a list out: no rule
            from ...func._vmap import refuse_if_batched

            for t in (input, indices_or_sections):
                refuse_if_batched(t, "tensor_split")
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
    if input._data.shape[d] == 0:
        return ()
    return Unbind.apply(input, dim=d)


class Unbind(Op):
    """Every slice of ``x`` along ``dim`` (views), made by one node as in PyTorch: the pieces
    are outputs 0, 1, ... of ``UnbindBackward0``, cannot be changed in place, and backward
    stacks their gradients (zeros for a piece that got none). Summing per-piece ``select``
    gradients instead would turn a -0.0 gradient into +0.0 (``0.0 + -0.0``)."""

    is_view = True
    multi_view = True
    materialize_grads = False  # a piece without a gradient is zeros in the stacked array
    _name = "UnbindBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim, ctx.in_shape = dim, x.shape
        ctx.view_args = {"dim": dim}
        lead = (slice(None),) * dim
        # the trailing Ellipsis keeps a 0-d piece a view (x[i] of a 1-D array is a copy)
        return tuple(x[lead + (i, Ellipsis)] for i in range(x.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        dim = ctx.dim
        ref = next(g for g in grads if g is not None)
        xp = get_array_module(ref._data)
        if not _state.enabled:
            out = xp.empty(ctx.in_shape, ref._data.dtype)
            lead = (slice(None),) * dim
            for i, g in enumerate(grads):
                out[lead + (i, Ellipsis)] = g._data if g is not None else 0
            return Tensor._make(out, ref._dtype)
        zeros = None
        parts = []
        for g in grads:
            if g is None:
                if zeros is None:
                    zeros = Tensor._make(xp.zeros(ref._data.shape, ref._data.dtype), ref._dtype)
                g = zeros
            parts.append(g)
        return Stack.apply(*parts, dim=dim)


def _split_along(name: str, input: Tensor, indices_or_sections, dim: int, min_dims: int):
    if input.ndim < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, "
                           f"but got a tensor with {input.ndim} dimensions!")
    if isinstance(indices_or_sections, (int, np.integer)) and not isinstance(
            indices_or_sections, bool):
        size = input._data.shape[dim]
        if indices_or_sections == 0 or size % indices_or_sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {size} is not divisible by the "
                               f"split_size {indices_or_sections}!")
    elif not isinstance(indices_or_sections, (list, tuple)) or not all(
            isinstance(i, (int, np.integer)) for i in indices_or_sections):
        raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, "
                        f"{type(indices_or_sections).__name__}), but expected (Tensor input, "
                        "int sections) or (Tensor input, tuple of ints indices)")
    return tensor_split(input, indices_or_sections, dim)


def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """Split column-wise: along dim 1, or dim 0 of a 1-D tensor (``tensor_split``, but an int
    must divide the size evenly).

    Example:
        >>> [p.shape for p in ember.ones(2, 4).hsplit(2)]
        [ember.Size([2, 2]), ember.Size([2, 2])]
    """
    return _split_along("hsplit", input, indices_or_sections, 1 if input.ndim > 1 else 0, 1)


def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """Split row-wise, along dim 0 of a tensor of at least 2 dims (see ``hsplit``).

    Example:
        >>> [p.shape for p in ember.ones(4, 2).vsplit([1])]
        [ember.Size([1, 2]), ember.Size([3, 2])]
    """
    return _split_along("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """Split depth-wise, along dim 2 of a tensor of at least 3 dims (see ``hsplit``).

    Example:
        >>> [p.shape for p in ember.ones(1, 1, 4).dsplit(2)]
        [ember.Size([1, 1, 2]), ember.Size([1, 1, 2])]
    """
    return _split_along("dsplit", input, indices_or_sections, 2, 3)


def _split_method(self: Tensor, split_size, dim: int = 0) -> tuple:
    """``torch.split`` as a method; torch names its size argument ``split_size`` here and
    ``split_size_or_sections`` in ``torch.split``.

    Example:
        >>> [p.tolist() for p in ember.arange(5).split(split_size=2)]
        [[0, 1], [2, 3], [4]]
    """
    return split(self, split_size, dim)


_split_method.__name__, _split_method.__qualname__ = "split", "Tensor.split"  # torch's errors
TENSOR_METHODS = {"split": _split_method, "chunk": chunk, "unbind": unbind,
                  "tensor_split": tensor_split, "split_with_sizes": split_with_sizes,
                  "unsafe_split": unsafe_split, "unsafe_chunk": unsafe_chunk,
                  "unsafe_split_with_sizes": unsafe_split_with_sizes, "hsplit": hsplit,
                  "vsplit": vsplit, "dsplit": dsplit}
