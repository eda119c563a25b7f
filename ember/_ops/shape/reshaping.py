"""Views made by indexing (``narrow``, ``select``, ``diagonal``), reshaping helpers (``flatten``,
``unflatten``, ``movedim``, ``view_as``, ``atleast_*d``, ``ravel``), sliding windows
(``Tensor.unfold``) and ``narrow_copy``."""

from __future__ import annotations

import numpy as np

from ..._backend import get_array_module, sliding_window_view
from ..._tensor import Tensor
from .._core import Op, int_arg, int_list_arg, wrap_dim
from .views import Permute, View, infer_shape, reshape, view

__all__ = ["flatten", "unflatten", "movedim", "moveaxis", "narrow", "select", "diagonal",
           "atleast_1d", "atleast_2d", "atleast_3d", "ravel", "narrow_copy"]


# -- views made by indexing: narrow, select, diagonal --------------------------------------

def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """The slice ``start:start+length`` along ``dim`` (a view).

    Example:
        >>> ember.arange(6).view(2, 3).narrow(1, 1, 2)
    """
    from ..indexing.subscript import BasicIndex

    if type(start) is not int or type(length) is not int:  # torch: ints, not bools
        int_arg(start, "narrow", "start")
        int_arg(length, "narrow", "length")
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, input.ndim)
    size = input._data.shape[dim]
    start = int(start)
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], "
                         f"but got {start})")
    start %= size if size and start < 0 else max(size, 1)
    if length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    index = (slice(None),) * dim + (slice(start, start + length), Ellipsis)
    return BasicIndex.apply(input, index=index)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The sub-tensor at ``index`` along ``dim``, with that dim removed (a view)."""
    from ..indexing.subscript import BasicIndex

    if type(index) is not int:  # torch: an int, not a bool
        int_arg(index, "select", "index")
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, input.ndim)
    size = input._data.shape[dim]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input._data.shape)} at dimension {dim}")
    return BasicIndex.apply(input, index=(slice(None),) * dim + (index, Ellipsis))


class Diagonal(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        from ..indexing.subscript import strided_view

        ctx.in_shape, ctx.args = x.shape, (offset, dim1, dim2)
        ctx.view_args = {"offset": offset, "dim1": dim1, "dim2": dim2}
        # np.diagonal gives a read-only view; re-wrap it so writes go through, as in torch
        out = np.diagonal(x, offset, dim1, dim2)
        view = strided_view(out, out.shape, out.strides)
        if getattr(view.flags, "writeable", True) or not out.size:  # device arrays: always
            return view
        # x's memory is not one block (a permuted copy), so the re-wrap fell back to a view of
        # the read-only diagonal: stride from a writable slice starting at the same element
        start = [slice(None)] * x.ndim
        start[dim2 if offset >= 0 else dim1] = slice(abs(offset), None)
        return np.lib.stride_tricks.as_strided(x[tuple(start)], out.shape, out.strides,
                                               writeable=True)

    @staticmethod
    def backward(ctx, grad):
        return DiagonalBackward.apply(grad, shape=ctx.in_shape, args=ctx.args)


class DiagonalBackward(Op):
    @staticmethod
    def forward(ctx, g, shape, args):
        ctx.args = args
        out = get_array_module(g).zeros(shape, g.dtype)
        from ..indexing.subscript import strided_view

        d = np.diagonal(out, *args)
        strided_view(d, d.shape, d.strides)[...] = g
        return out

    @staticmethod
    def backward(ctx, grad):
        offset, dim1, dim2 = ctx.args
        return Diagonal.apply(grad, offset=offset, dim1=dim1, dim2=dim2)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the (dim1, dim2) planes, appended as the last dim (a view).

    Example:
        >>> ember.eye(3).diagonal()
        tensor([1., 1., 1.])
    """
    if type(offset) is not int:  # torch: an int, not a bool
        int_arg(offset, "diagonal", "offset")
    d1, d2 = wrap_dim(dim1, input.ndim), wrap_dim(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, offset=int(offset), dim1=d1, dim2=d2)


# -- reshaping helpers --------------------------------------------------------------------

def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one (a view when strides allow).

    Example:
        >>> ember.zeros(2, 3, 4).flatten(1).shape
        torch.Size([2, 12])
    """
    if input.is_quantized:
        return input.flatten(start_dim, end_dim)
    shape = input._data.shape
    s, e = wrap_dim(start_dim, len(shape)), wrap_dim(end_dim, len(shape))  # validates 0-d too
    if not shape:
        return reshape(input, (1,))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    n = 1
    for k in shape[s:e + 1]:
        n *= k
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one entry may be -1)."""
    shape = input._data.shape
    dim = wrap_dim(dim, len(shape))
    if not shape:  # wrap_dim lets dim 0/-1 through for a 0-d tensor; it has no dim to split
        raise RuntimeError("unflatten got an unexpected error:\nDimension specified as 0 but "
                           "tensor has no dimensions")
    int_list_arg(sizes, "unflatten", "sizes")
    sizes = tuple(int(k) for k in sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        sizes = infer_shape(sizes, shape[dim])
    except RuntimeError:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
            f"{dim} ({shape[dim]}) in the input tensor") from None
    new_shape = shape[:dim] + sizes + shape[dim + 1:]
    try:
        return View.apply(input, shape=new_shape)  # torch's unflatten is a view, contiguous or not
    except RuntimeError:  # a layout NumPy cannot view without a copy
        return reshape(input, new_shape)


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` to positions ``destination`` (a view)."""
    n = input.ndim
    one_src, one_dst = (isinstance(v, (int, np.integer)) for v in (source, destination))
    if one_src != one_dst:  # torch's overloads: two ints or two sequences
        kinds = ", ".join(type(v).__name__ for v in (source, destination))
        raise TypeError(f"movedim() received an invalid combination of arguments - got ({kinds}), "
                        "but expected one of:\n * (int source, int destination)\n"
                        " * (tuple of ints source, tuple of ints destination)")
    src = (source,) if one_src else tuple(source)
    dst = (destination,) if one_dst else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)")
    src = [wrap_dim(d, n) for d in src]
    dst = [wrap_dim(d, n) for d in dst]
    if len(set(src)) != len(src):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(source)})")
    if len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(destination)})")
    order = [-1] * n
    for s_, d_ in zip(src, dst):
        order[d_] = s_
    rest = iter(d for d in range(n) if d not in src)
    order = tuple(o if o != -1 else next(rest) for o in order)
    return Permute.apply(input, dims=order)


moveaxis = movedim


def view_as(self: Tensor, other: Tensor) -> Tensor:
    """``self.view(other.shape)``."""
    return view(self, other.shape)


def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    """``self.reshape(other.shape)``."""
    return reshape(self, other.shape)


def _atleast(n, tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    out = []
    for x in tensors:
        shape = x._data.shape
        if len(shape) < n:
            if n == 3 and shape:  # NumPy's rule: (n,) -> (1, n, 1), (m, n) -> (m, n, 1)
                shape = ((1,) + shape if len(shape) == 1 else shape) + (1,)
            else:
                shape = (1,) * (n - len(shape)) + shape
            x = View.apply(x, shape=shape)
        out.append(x)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*tensors):
    """Each input with at least one dimension (0-d becomes shape (1,))."""
    return _atleast(1, tensors)


def atleast_2d(*tensors):
    """Each input with at least two dimensions (1-D ``(n,)`` becomes ``(1, n)``)."""
    return _atleast(2, tensors)


def atleast_3d(*tensors):
    """Each input with at least three dims (``(n,)`` becomes ``(1, n, 1)``)."""
    return _atleast(3, tensors)


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor (a view when possible). Example: ``x.ravel()``."""
    return input.reshape(-1)


class Unfold(Op):
    is_view = True
    _name = "UnfoldBackward0"

    @staticmethod
    def forward(ctx, x, dim, size, step):
        ctx.view_args = {"dim": dim, "size": size, "step": step}
        ctx.meta = (x.shape, dim, size, step)
        if x.ndim == 0:
            return x.reshape(1)
        win = sliding_window_view(x, size, dim)
        return win[(slice(None),) * dim + (slice(None, None, step),)]

    @staticmethod
    def backward(ctx, grad):
        from ..._creation import arange, zeros

        shape, dim, size, step = ctx.meta
        if not shape:
            return grad.reshape(())
        out = zeros(shape, dtype=grad.dtype, device=grad.device)
        n_win = grad.shape[dim]
        for k in range(size):  # one index_add per window offset
            idx = arange(n_win, device=grad.device) * step + k
            out = out.index_add(dim, idx, grad.select(-1, k))
        return out


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """All windows of ``size`` elements along ``dimension``, ``step`` apart, as a new last
    dimension (a view). Example: ``ember.arange(5.).unfold(0, 2, 1)``."""
    if type(size) is not int or type(step) is not int:  # torch: ints, not bools
        int_arg(size, "unfold", "size")
        int_arg(step, "unfold", "step")
    dim = wrap_dim(dimension, self.ndim)
    length = self.shape[dim] if self.ndim else 1
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {length} but size is "
                           f"{size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return Unfold.apply(self, dim=dim, size=size, step=step)


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``narrow`` followed by a row-major copy (as torch's, whatever ``input``'s layout).

    Example:
        >>> ember.arange(6).narrow_copy(0, 1, 3)
        tensor([1, 2, 3])
    """
    return input.narrow(dim, start, length).clone().contiguous()

TENSOR_METHODS = {
    "narrow": narrow, "select": select, "diagonal": diagonal, "flatten": flatten,
    "unflatten": unflatten, "movedim": movedim, "moveaxis": moveaxis, "view_as": view_as,
    "reshape_as": reshape_as, "ravel": ravel, "narrow_copy": narrow_copy, "unfold": unfold,
}
