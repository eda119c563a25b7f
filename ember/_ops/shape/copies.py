"""Copies that rearrange data: ``flip``, ``roll``, ``rot90``, ``repeat``, ``tile``,
``repeat_interleave``, ``tril``/``triu``, ``diag``/``diagflat`` and ``pad``.

Where an op is a gather with a fixed index (``repeat_interleave``, non-constant ``pad``) it is
written with the indexing ops, whose backward (a scatter-add) is differentiable again.
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._backend import asarray_like, to_numpy
from ..._backend import get_array_module as xp_of
from ..._layout import channels_last_of, dense_in_format, like_layout, row_major
from ..._tensor import Tensor
from .._core import Op, int_arg, int_list_arg, set_node_name, tie_to, wrap_dim, wrap_dims
from .._dispatch import refuse, refuse_shell
from ..indexing.subscript import AdvancedIndex, BasicIndex, BasicIndexBackward
from ..inplace import apply_inplace
from .views import varargs_or_keyword

__all__ = ["flip", "fliplr", "flipud", "roll", "tile", "repeat_interleave", "tril", "triu", "diag",
           "diag_embed", "rot90", "diagflat"]


class Flip(Op):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        # laid out as empty_like(x), as torch's flip (a channels_last input stays so)
        return like_layout(np.flip(x, dims).copy(), x)

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, dims=ctx.dims)


def flip(input: Tensor, dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (a copy, as in torch).

    Example:
        >>> ember.arange(4).flip(0)
        tensor([3, 2, 1, 0])
    """
    if isinstance(dims, (int, np.integer)):
        raise TypeError("flip(): argument 'dims' (position 2) must be tuple of ints, not "
                        f"{'int' if type(dims) is int else 'numpy.' + type(dims).__name__}; "
                        "write flip(t, (0,)) or t.flip(0)")
    dims = tuple(dims)
    dims = wrap_dims(dims, input.ndim) if dims else ()
    if input._dtype in D.SHELL and _flip_needs_kernel(input._data, dims):
        refuse_shell("flip", input._dtype)
    return Flip.apply(input, dims=dims if input.ndim else ())


def _flip_needs_kernel(x, dims: tuple) -> bool:
    """Whether torch's flip runs its per-dtype kernel: it copies when nothing moves, and
    copies whole rows when a dim of stride 1 stays unflipped; otherwise it needs ``flip_cpu``
    (which uint16/32/64 and float8 lack)."""
    moved = [d for d in dims if x.shape[d] > 1 and x.strides[d] != 0]
    if not moved or x.size <= 1:
        return False
    return not any(x.shape[d] > 1 and x.strides[d] == x.itemsize
                   for d in range(x.ndim) if d not in dims)


def _flip_method(self: Tensor, *dims, **kwargs) -> Tensor:
    """``Tensor.flip``: the dims as varargs (``t.flip(0, 1)``), one sequence or ``dims=``."""
    if kwargs:
        if set(kwargs) != {"dims"}:
            raise TypeError(f"flip() got an unexpected keyword argument '{next(iter(kwargs))}'")
        if dims:
            raise TypeError("flip() got multiple values for argument 'dims'")
        return flip(self, kwargs["dims"])
    if not dims:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    elif len(dims) == 1 and not isinstance(dims[0], int):
        dims = dims[0]
    return flip(self, (dims,) if isinstance(dims, (int, np.integer)) else dims)


def fliplr(input: Tensor) -> Tensor:
    """Flip dim 1 (needs at least 2 dims)."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """Flip dim 0 (needs at least 1 dim)."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


class Roll(Op):
    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        if dims is None:
            return np.roll(x.reshape(-1), shifts).reshape(x.shape)
        # torch rolls by concatenating slices: channels_last stays so, all else is row-major
        return dense_in_format(np.roll(x, shifts, dims), channels_last_of(x))

    @staticmethod
    def backward(ctx, grad):
        return Roll.apply(grad, shifts=tuple(-s for s in ctx.shifts), dims=ctx.dims)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements cyclically along ``dims`` (or over the flattened tensor).

    Example:
        >>> ember.tensor([1, 2, 3]).roll(1)
        tensor([3, 1, 2])
    """
    if type(shifts) is int:
        shifts = (shifts,)
    elif isinstance(shifts, (int, np.integer)) and not isinstance(shifts, (bool, np.bool_)):
        shifts = (int(shifts),)
    else:  # torch's shifts are ints: a bool is refused, not read as 0 or 1
        if isinstance(shifts, (bool, np.bool_)):
            raise TypeError(f"roll(): argument 'shifts' must be tuple of ints, not "
                            f"{'bool' if type(shifts) is bool else 'numpy.bool'}")
        shifts = tuple(int(int_arg(s, "roll", "shifts")) for s in shifts)
    if dims is not None:
        dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims:{len(dims)}")
        dims = tuple(wrap_dim(d, input.ndim) for d in dims)
    elif len(shifts) != 1:
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
    return Roll.apply(input, shifts=shifts, dims=dims)


class Repeat(Op):
    @staticmethod
    def forward(ctx, x, reps):
        lead = len(reps) - x.ndim
        ctx.in_shape = x.shape
        ctx.reps = reps
        ctx.lead = lead
        return np.tile(x.reshape((1,) * lead + x.shape), reps)

    @staticmethod
    def backward(ctx, grad):
        shape = (1,) * ctx.lead + ctx.in_shape
        split = []
        for r, n in zip(ctx.reps, shape):
            split += [r, n]
        g = grad.reshape(tuple(split)).sum(dim=tuple(range(0, len(split), 2)))
        return g.reshape(ctx.in_shape)


def repeat(self: Tensor, *sizes, **kwargs) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along each dim (leading new dims allowed).

    Example:
        >>> ember.tensor([1, 2]).repeat(2, 2)
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    if kwargs:  # torch's keyword spelling of the sizes
        sizes = varargs_or_keyword("repeat", sizes, kwargs, "repeats")
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    int_list_arg(sizes, "repeat", "repeats")
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    if any(s < 0 for s in sizes):
        # torch checks the result's sizes (so an empty dim repeated -1 times is still empty)
        lead = len(sizes) - self.ndim
        target = [s * (self.shape[i - lead] if i >= lead else 1) for i, s in enumerate(sizes)]
        negative = next((t for t in target if t < 0), None)
        if negative is not None:
            raise RuntimeError(f"Trying to create tensor with negative dimension {negative}: "
                               f"{target}")
        sizes = tuple(max(s, 0) for s in sizes)
    return Repeat.apply(self, reps=sizes)


def tile(input: Tensor, dims) -> Tensor:
    """``repeat`` where missing leading dims of ``dims`` count as 1."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    int_list_arg(dims, "tile", "dims")
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def _tile_method(self: Tensor, *dims, **kwargs) -> Tensor:
    """``x.tile(2, 3)`` or ``x.tile((2, 3))``: the method takes its dims as varargs too."""
    if kwargs:
        dims = varargs_or_keyword("tile", dims, kwargs, "dims")
    if not dims:
        raise TypeError('tile() missing 1 required positional arguments: "dims"')
    return tile(self, dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims)


def _take_along(input: Tensor, dim: int, index: np.ndarray, unique: bool) -> Tensor:
    return AdvancedIndex.apply(input, index=(slice(None),) * dim + (index,), unique=unique)


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times (an int, or one count per element) along ``dim``.

    Example:
        >>> ember.tensor([1, 2]).repeat_interleave(ember.tensor([1, 3]))
        tensor([1, 2, 2, 2])
    """
    if isinstance(repeats, (bool, np.bool_)):  # torch: an int or a tensor, not a bool
        raise TypeError(f"repeat_interleave(): argument 'repeats' must be Tensor or int, not "
                        f"{'bool' if type(repeats) is bool else 'numpy.bool'}")
    if repeats is None:  # torch.repeat_interleave(counts): indices repeated by their counts
        counts = to_numpy(input._data)  # the result's length depends on the values: a sync
        return Tensor._make(asarray_like(np.repeat(np.arange(len(counts), dtype=np.int64),
                                                   counts), input._data))
    if dim is None:
        input = input.reshape(-1)
        dim = 0
    elif input.ndim == 0:  # torch's errors for a scalar given a dim (quirks included)
        if isinstance(repeats, Tensor):
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got "
                         "1)")
    dim = wrap_dim(dim, input.ndim)
    n = input._data.shape[dim] if input.ndim else 1
    # on the host: the result's length depends on the counts (a sync on a GPU, as in PyTorch)
    reps = to_numpy(repeats._data) if isinstance(repeats, Tensor) else np.asarray(repeats)
    if reps.ndim > 1:
        raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
    if reps.ndim == 1 and reps.shape[0] not in (1, n):
        raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {reps.shape[0]} and input.size({dim}) = {n}")
    if np.any(reps < 0):
        raise RuntimeError("repeats can not be negative")
    index = np.repeat(np.arange(n, dtype=np.int64), reps.reshape(-1) if reps.ndim else reps)
    if input.ndim == 0:
        input = input.reshape(1)
    return _take_along(input, dim, index, unique=False)


class Triangle(Op):
    @staticmethod
    def forward(ctx, x, k, upper):
        ctx.k, ctx.upper = k, upper
        ctx._name = "TriuBackward0" if upper else "TrilBackward0"
        return row_major(np.triu(x, k) if upper else np.tril(x, k))  # torch's is row-major

    @staticmethod
    def backward(ctx, grad):
        return Triangle.apply(grad, k=ctx.k, upper=ctx.upper)


def _triangle(input: Tensor, diagonal: int, upper: bool) -> Tensor:
    if type(diagonal) is not int:  # torch: an int, not a bool
        int_arg(diagonal, "triu" if upper else "tril", "diagonal")
    if input.ndim < 2:
        raise RuntimeError(f"{'triu' if upper else 'tril'}: input tensor must have at least 2 "
                           "dimensions")
    if input._dtype in D.SHELL:
        refuse_shell("triu" if upper else "tril", input._dtype)
    return Triangle.apply(input, k=int(diagonal), upper=upper)


def tril(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The lower triangle of the last two dims (elements above ``diagonal`` set to 0)."""
    return _triangle(input, diagonal, False)


def triu(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The upper triangle of the last two dims (elements below ``diagonal`` set to 0)."""
    return _triangle(input, diagonal, True)


def tril_(self: Tensor, diagonal: int = 0) -> Tensor:
    return apply_inplace(self, tril(self, diagonal), "tril_")


def triu_(self: Tensor, diagonal: int = 0) -> Tensor:
    return apply_inplace(self, triu(self, diagonal), "triu_")


class DiagEmbed(Op):
    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        n = x.shape[-1] + abs(offset)
        out_nd = x.ndim + 1
        rest = list(x.shape[:-1])
        shape = []
        for d in range(out_nd):
            shape.append(n if d in (dim1, dim2) else rest.pop(0))
        out = xp_of(x).zeros(shape, x.dtype)
        from ..indexing.subscript import strided_view

        d = np.diagonal(out, offset, dim1, dim2)
        strided_view(d, d.shape, d.strides)[...] = x
        return out

    @staticmethod
    def backward(ctx, grad):
        offset, dim1, dim2 = ctx.args
        return grad.diagonal(offset, dim1, dim2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Place the last dim of ``input`` on the diagonal of new (dim1, dim2) planes."""
    if type(offset) is not int:  # torch: an int, not a bool
        int_arg(offset, "diag_embed", "offset")
    nd = input.ndim + 1
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return DiagEmbed.apply(input, offset=int(offset), dim1=d1, dim2=d2)


def diag(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """1-D input: a square matrix with it on a diagonal. 2-D input: that diagonal (a copy).

    Example:
        >>> ember.diag(ember.tensor([1, 2]))
        tensor([[1, 0],
                [0, 2]])
    """
    if type(diagonal) is not int:  # torch: an int, not a bool
        int_arg(diagonal, "diag", "diagonal")
    if input.ndim == 1:
        return DiagEmbed.apply(input, offset=int(diagonal), dim1=0, dim2=1)
    if input.ndim == 2:
        return input.diagonal(int(diagonal)).clone()
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


# -- padding ----------------------------------------------------------------------------------

class ConstantPad(Op):
    _name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, shape, src, dst, value):
        ctx.in_shape, ctx.src, ctx.dst = x.shape, src, dst
        out = xp_of(x).full(shape, value, dtype=x.dtype)
        out[dst] = x[src]
        return out

    @staticmethod
    def backward(ctx, grad):
        return BasicIndexBackward.apply(BasicIndex.apply(grad, index=ctx.dst),
                                        shape=ctx.in_shape, index=ctx.src)


_NP_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)`` starting
    from the last dim. Modes: ``constant`` (negative pads crop), ``reflect``, ``replicate``,
    ``circular``. This is ``nn.functional.pad``.

    Example:
        >>> pad(ember.ones(1, 2), (1, 1), value=0.).tolist()
        [[0.0, 1.0, 1.0, 0.0]]
    """
    int_list_arg(pad, "pad", "pad")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    shape = input._data.shape
    if k > len(shape):
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{len(shape)}")
    if mode == "constant":
        return _constant_pad(input, pad, 0 if value is None else value)
    if mode not in _NP_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value not in (None, 0):
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    if not (k + 1 <= len(shape) <= k + 2) or k > 3:
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {len(shape)}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    if mode != "circular" and 0 in shape[len(shape) - k - 1:]:
        # only a batch dimension may be empty (an unbatched input has none)
        raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 "
                           "batch size and other non-zero dimensions for input, but got: "
                           f"{list(shape)}")
    if mode != "circular":  # torch's reflection/replication kernels have no bool loop
        refuse(f"{'reflection' if mode == 'reflect' else 'replication'}_pad{k}d", input._dtype)
    out = input
    for i in range(k):
        d = len(shape) - 1 - i
        lo, hi, n = pad[2 * i], pad[2 * i + 1], shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"Argument #{4 + 2 * i}: Padding size should be less than the corresponding input "
                f"dimension, but got: padding ({lo}, {hi}) at dimension {d} of input "
                f"{list(shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if lo == hi == 0:
            continue
        # the source position of each output position, by NumPy's own padding of an arange
        if mode == "circular":  # negative pads crop first; the wrap then reads the cropped run
            kept = np.arange(n, dtype=np.int64)[max(-lo, 0):n - max(-hi, 0)]
            index = np.pad(kept, (max(lo, 0), max(hi, 0)), mode="wrap")
        else:
            index = np.pad(np.arange(n, dtype=np.int64), (max(lo, 0), max(hi, 0)),
                           mode=_NP_MODES[mode])
            index = index[max(-lo, 0):len(index) - max(-hi, 0)]
        # torch's reflection/replication node ties its gradient to the input: the first
        # gather (the one that reads the input) does so too
        tied = mode != "circular" and out is input
        out = (_TiedIndex if tied else AdvancedIndex).apply(
            out, index=(slice(None),) * d + (index,), unique=False)
    if out is input:  # all-zero pads: still a new tensor, as torch's kernels give
        out = input.clone()
    if mode != "circular" and out.grad_fn is not None:
        # torch's node on top: ReflectionPad2DBackward0, ReplicationPad1DBackward0, ...
        kind = "Reflection" if mode == "reflect" else "Replication"
        set_node_name(out, f"{kind}Pad{k}DBackward0")
    elif out.grad_fn is not None:
        # torch builds a circular pad by copying slices into a new tensor: its node is the
        # CopySlices of the last copy
        set_node_name(out, "torch::autograd::CopySlices")
    return out


class _TiedIndex(AdvancedIndex):
    """``AdvancedIndex`` whose differentiable backward is tied to its input with a zero
    derivative (``zeros_like(self)``), as PyTorch's padding nodes: a second derivative with
    respect to the padded input is zeros, not None."""

    @staticmethod
    def backward(ctx, grad):
        return tie_to(AdvancedIndex.backward(ctx, grad), ctx.inputs[0])


def _constant_pad(input: Tensor, pad: tuple, value) -> Tensor:
    if input._dtype is D.float8_e8m0fnu and not (value != value or 2.0**-127 <= value <= 2.0**127):
        raise RuntimeError(  # e8m0 holds powers of two only: no zero, no sign
            "value cannot be converted to type c10::Float8_e8m0fnu without overflow")
    shape = list(input._data.shape)
    src = [slice(None)] * len(shape)
    dst = [slice(None)] * len(shape)
    for i in range(len(pad) // 2):
        d = len(shape) - 1 - i
        lo, hi, n = pad[2 * i], pad[2 * i + 1], shape[d]
        new = n + lo + hi
        if new < 0:
            raise RuntimeError(
                f"The input size {n}, plus negative padding {lo} and {hi} resulted in a negative "
                f"output size, which is invalid. Check dimension {d} of your input.")
        src[d] = slice(max(-lo, 0), n - max(-hi, 0))
        dst[d] = slice(max(lo, 0), new - max(hi, 0))
        shape[d] = new
    return ConstantPad.apply(input, shape=tuple(shape), src=tuple(src) + (Ellipsis,),
                             dst=tuple(dst) + (Ellipsis,), value=value)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A 2-D matrix with the flattened ``input`` on diagonal ``offset``."""
    from .copies import diag

    return diag(input.reshape(-1), offset)


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards the
    second). Example: ``ember.rot90(ember.arange(4).view(2, 2))``."""
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = wrap_dim(dims[0], input.ndim), wrap_dim(dims[1], input.ndim)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    k %= 4
    flipped = {1: (d1,), 2: (d0, d1), 3: (d0,)}.get(k, ())
    if input._dtype in D.SHELL and _flip_needs_kernel(input._data, flipped):
        refuse_shell("flip", input._dtype)
    return Rot90.apply(input, k=k, dims=(d0, d1))


class Rot90(Op):
    """One node (Rot90Backward0), as in torch; the result is laid out as torch's: a flipped
    copy, transposed in place for odd ``k`` (so not contiguous), a contiguous clone for 0."""

    @staticmethod
    def forward(ctx, x, k, dims):
        ctx.k, ctx.dims = k, dims
        d0, d1 = dims
        if k == 0:
            return x.copy(order="C")
        if k == 2:
            return like_layout(np.flip(x, dims).copy(), x)
        flipped = like_layout(np.flip(x, d1 if k == 1 else d0).copy(), x)
        return np.swapaxes(flipped, d0, d1)

    @staticmethod
    def backward(ctx, grad):
        return Rot90.apply(grad, k=(-ctx.k) % 4, dims=ctx.dims)

TENSOR_METHODS = {
    "flip": _flip_method, "fliplr": fliplr, "flipud": flipud, "roll": roll, "repeat": repeat,
    "tile": _tile_method, "repeat_interleave": repeat_interleave, "tril": tril, "triu": triu,
    "tril_": tril_, "triu_": triu_, "diag": diag, "diag_embed": diag_embed, "rot90": rot90,
    "diagflat": diagflat,
}
