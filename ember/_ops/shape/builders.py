"""Builders: ``broadcast_tensors``/``broadcast_shapes``, ``meshgrid``, ``cartesian_prod``,
``combinations``, ``fill``, ``tril_indices``/``triu_indices``, ``block_diag``, ``vander``.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from ... import _dtype as D
from ..._backend import Device, get_array_module, to_device_array
from ..._tensor import Size, Tensor
from .._core import Op, int_arg, set_node_name
from .._core import broadcast_shapes as _broadcast
from .._dispatch import type_name


def _tensor_list(tensors, name: str) -> list:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): expected Tensor arguments, but got "
                            f"{type(t).__name__}")
    return list(tensors)


def broadcast_shapes(*shapes) -> Size:
    """The shape that tensors of the given shapes broadcast to (ints count as 1-d shapes).

    Example:
        >>> ember.broadcast_shapes((2, 1), (3,))
        torch.Size([2, 3])
    """
    norm = []
    for s in shapes:
        if isinstance(s, (int, np.integer)):
            s = (int(s),)
        s = tuple(int(n) for n in s)
        if any(n < 0 for n in s):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(s)}: "
                               f"{list(s)}")
        norm.append(s)
    if not norm:
        return Size(())
    full = norm[0]
    for s in norm[1:]:
        full = _broadcast(full, s)
    return Size(full)


def broadcast_tensors(*tensors) -> tuple:
    """Expand all tensors to their common broadcast shape (views).

    Example:
        >>> a, b = ember.broadcast_tensors(ember.ones(2, 1), ember.ones(3))
        >>> a.shape, b.shape
        (torch.Size([2, 3]), torch.Size([2, 3]))
    """
    ts = _tensor_list(tensors, "broadcast_tensors")
    shape = broadcast_shapes(*(t.shape for t in ts))
    # torch hands back a tensor already of the broadcast shape itself, not an expand view of
    # it: ``Normal(loc, scale).loc is loc`` and its grad_fn stay the caller's
    return tuple(t if t.shape == shape else t.expand(shape) for t in ts)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-D (or 0-d) tensors: ``'ij'`` (matrix) or ``'xy'`` (Cartesian).

    Example:
        >>> gx, gy = ember.meshgrid(ember.arange(2), ember.arange(3), indexing="ij")
        >>> gx.shape
        torch.Size([2, 3])
    """
    ts = _tensor_list(tensors, "meshgrid")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in ts:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {t}")
    if len({t.dtype for t in ts}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    if len({t.device for t in ts}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same device")
    flat = [t.reshape(-1) for t in ts]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t.shape[0] for t in flat)
    n = len(flat)
    grids = [t.view(*[-1 if i == k else 1 for i in range(n)]).expand(shape)
             for k, t in enumerate(flat)]
    if swap:  # 'xy' is 'ij' on the first two inputs swapped, outputs swapped back
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors) -> Tensor:
    """All combinations of the elements of 1-D tensors, one per row (``itertools.product``).

    Example:
        >>> ember.cartesian_prod(ember.tensor([1, 2]), ember.tensor([3, 4]))
        tensor([[1, 3],
                [1, 4],
                [2, 3],
                [2, 4]])
    """
    from .joining import stack

    ts = _tensor_list(tensors, "cartesian_prod")
    for t in ts:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*ts, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of a 1-D tensor's elements, one per row (Python's
    ``itertools.combinations``, or ``combinations_with_replacement``).

    Example:
        >>> ember.combinations(ember.tensor([1, 2, 3]))
        tensor([[1, 2],
                [1, 3],
                [2, 3]])
    """
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_empty(0)
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    rows = np.array(list(pick(range(input.shape[0]), r)), np.int64).reshape(-1, r)
    index = Tensor._make(to_device_array(rows, input.device), D.int64)
    return set_node_name(input[index], "StackBackward0")  # torch stacks r masked selects


class Fill(Op):
    """A tensor like ``x`` filled with ``value``: ``x`` gets a zero gradient, a tensor
    ``value`` the sum of the gradient."""

    _name = "FillBackward0"

    @staticmethod
    def forward(ctx, x, value):
        if isinstance(ctx.inputs[1], Tensor):
            ctx._name = "FillBackward1"
            ctx.value_dtype = ctx.inputs[1]._dtype
        out = get_array_module(x).empty_like(x)
        out.fill(value.item() if hasattr(value, "item") else value)
        return out

    @staticmethod
    def backward(ctx, grad):
        g_x = grad.new_zeros(grad.shape) if ctx.needs_input_grad[0] else None
        g_value = grad.sum().to(ctx.value_dtype) if ctx.needs_input_grad[1] else None
        return g_x, g_value


def fill(input: Tensor, value) -> Tensor:
    """A new tensor like ``input`` (shape, dtype, device) filled with ``value`` (a number or a
    0-d tensor): the out-of-place ``fill_``.

    Example:
        >>> ember.fill(ember.tensor([1, 2]), 3.7)
        tensor([3, 3])
    """
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions.")
    elif not isinstance(value, (int, float, bool, complex, np.number, np.bool_)):
        raise TypeError(f"fill(): argument 'value' must be Number or Tensor, not "
                        f"{type(value).__name__}")
    return Fill.apply(input, value)


def _tri_indices(row: int, col: int, offset: int, dtype, device, upper: bool) -> Tensor:
    for name, v in (("row", row), ("col", col), ("offset", offset)):
        if type(v) is not int and isinstance(v, (bool, np.bool_, float, np.floating)):
            # torch: ints (a bool or a float is refused, not read as 0/1 or truncated)
            raise TypeError(f"{'triu' if upper else 'tril'}_indices(): argument '{name}' must "
                            f"be int, not {type_name(v)}")
    dtype = D.int64 if dtype is None else D.to_dtype(dtype)
    if dtype not in (D.int64, D.int32):
        from ..inplace import _type_title

        raise NotImplementedError(f"\"{'triu' if upper else 'tril'}_indices\" not implemented "
                                  f"for '{_type_title(dtype)}'")
    if row < 0 or col < 0:
        raise RuntimeError(f"row must be non-negative, got{row}" if row < 0 else
                           f"col must be non-negative, got{col}")
    fn = np.triu_indices if upper else np.tril_indices
    r, c = fn(row, offset, col)
    out = np.stack([r, c]).astype(dtype.np_dtype) if row and col else \
        np.zeros((2, 0), dtype.np_dtype)
    dev = Device(device) if device is not None else Device("cpu")
    return Tensor._make(to_device_array(np.ascontiguousarray(out), dev), dtype)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """Row and column indices (a 2 x N tensor) of the lower triangle of a ``row`` x ``col``
    matrix, row by row. Example: ``ember.tril_indices(3, 3)``."""
    return _tri_indices(row, col, offset, dtype, device, upper=False)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """Row and column indices (a 2 x N tensor) of the upper triangle, row by row."""
    return _tri_indices(row, col, offset, dtype, device, upper=True)


def block_diag(*tensors) -> Tensor:
    """A block-diagonal matrix from the given tensors (0-d and 1-d ones count as 1-row blocks).

    Example:
        >>> ember.block_diag(ember.ones(1, 2), ember.tensor([[3]]))
        tensor([[1., 1., 0.],
                [0., 0., 3.]])
    """
    from .copies import pad
    from .joining import cat

    ts = _tensor_list(tensors, "block_diag")
    mats = []
    for i, t in enumerate(ts):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {t.ndim} dimensions")
        mats.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not mats:
        return Tensor._make(np.zeros((1, 0), np.float32), D.float32)
    dtype = mats[0]._dtype
    for m in mats[1:]:
        dtype = D.promote_types(dtype, m._dtype)
    total = sum(m.shape[1] for m in mats)
    rows, before = [], 0
    for m in mats:
        m = m.to(dtype)
        w = m.shape[1]
        rows.append(pad(m, (before, total - before - w)))
        before += w
    return cat(rows, 0)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-D tensor: columns ``x**(N-1) ... x**0`` (reversed when
    ``increasing``). Example: ``ember.vander(ember.tensor([1, 2, 3]), N=3)``."""
    from ..._creation import ones
    from .joining import cat

    if N is not None and type(N) is not int:  # torch: an int, not a bool
        int_arg(N, "vander", "N")
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    dtype = x._dtype if (x._dtype.is_floating_point or x._dtype.is_complex) else D.int64
    x = x.to(dtype)
    if n == 0:
        return x.new_zeros((x.shape[0], 0))
    cols = ones(x.shape[0], 1, dtype=dtype, device=x.device)
    if n > 1:
        cols = cat([cols, x.unsqueeze(1).expand(x.shape[0], n - 1)], 1).cumprod(1)
    return cols if increasing else cols.flip(1)


# -- as_strided and sum_to_size --------------------------------------------------------------


__all__ = ["broadcast_shapes", "broadcast_tensors", "meshgrid", "cartesian_prod", "tril_indices",
           "triu_indices", "block_diag", "vander", "combinations", "fill"]

TENSOR_METHODS = {}
