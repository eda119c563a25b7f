"""Views and casts: ``view``, ``reshape``, ``transpose``, ``permute``, ``expand``, ``squeeze``/
``unsqueeze``, ``t``, ``detach``, plus ``clone``/``contiguous`` and the dtype cast op.

View ops set ``is_view = True``: their output shares memory and the version counter with the
input, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._backend import MetaArray
from ..._errors import with_hint
from ..._layout import copy_with_strides, target_strides
from ..._tensor import Size, Tensor
from .._core import NO_DIM, Op, int_dim, wrap_dim

__all__ = ["broadcast_to", "reshape", "transpose", "swapaxes", "swapdims", "permute", "unsqueeze",
           "squeeze", "t", "clone", "detach"]


def varargs_or_keyword(name: str, args: tuple, kwargs: dict, key: str) -> tuple:
    """The size varargs of ``x.view(2, 3)`` or their keyword form ``x.view(size=(2, 3))``.

    torch's size-taking methods accept both spellings (MAE code writes
    ``imgs.reshape(shape=(n, 3, h, p, w, p))``); anything else is refused as torch does.
    """
    if not kwargs:
        return args
    unknown = [k for k in kwargs if k != key]
    if unknown or args:
        bad = unknown[0] if unknown else key
        raise TypeError(f"{name}() got an unexpected keyword argument '{bad}'")
    return (kwargs[key],)


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = tuple(shape[0])
    for i, s in enumerate(shape):
        if type(s) is not int and isinstance(s, (bool, np.bool_, float, np.floating)) and (
                type(s) is not bool or not i):
            # torch's sizes are ints: a bool or float is refused, not read as 1 or truncated
            # (its parser matched the int-list overload on the first element: a later Python
            # bool is read as an int there, x.view(2, True, 3))
            raise TypeError(f"argument 'shape' must be tuple of ints, but found element of "
                            f"type {type(s).__name__} at pos {i}")
    return tuple(int(s) for s in shape)


def infer_shape(shape: tuple, numel: int) -> tuple:
    """Resolve one ``-1`` in a requested shape, with PyTorch's errors."""
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class View(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        ctx.view_args = {"shape": shape}
        try:
            return np.reshape(x, shape, copy=False)
        except ValueError:
            raise with_hint(RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."),
                "Alternatively, call .contiguous() before .view(...).") from None

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


class Reshape(Op):
    _name = "ViewBackward0"  # as torch names a reshape that could be a view
    is_view = True  # a view when no copy was needed; _mark_view checks the memory

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        ctx.view_args = {"shape": shape}
        out = np.reshape(x, shape)
        if ctx._record and not np.may_share_memory(out, x):
            ctx._name = "UnsafeViewBackward0"  # torch's node when reshape had to copy
        elif ctx._record and not x.flags.c_contiguous:
            ctx._name = "ReshapeAliasBackward0"  # torch's view of a non-contiguous input
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


def view(self: Tensor, *shape, **kwargs) -> Tensor:
    """The same data with another shape, never copying (``reshape`` copies when it must).

    Example:
        >>> ember.arange(6).view(2, 3)
    """
    if "dtype" in kwargs and not shape and len(kwargs) == 1:
        return view_dtype(self, kwargs["dtype"])
    if kwargs:  # torch's keyword spelling of the sizes
        shape = varargs_or_keyword("view", shape, kwargs, "size")
    if len(shape) == 1 and isinstance(shape[0], D.dtype):
        return view_dtype(self, shape[0])
    shape = infer_shape(_shape_arg(shape), self.numel())
    if shape == self._data.shape:
        return View.apply(self, shape=shape)
    return View.apply(self, shape=shape)


def reshape(input: Tensor, *shape, **kwargs) -> Tensor:
    """The same data with another shape: a view when strides allow, else a copy."""
    if kwargs:  # torch's keyword spelling of the sizes
        shape = varargs_or_keyword("reshape", shape, kwargs, "shape")
    shape = infer_shape(_shape_arg(shape), input.numel())
    return Reshape.apply(input, shape=shape)


def view_dtype(self: Tensor, dtype) -> Tensor:
    dt = D.to_dtype(dtype)
    ratio = dt.itemsize // self._dtype.itemsize
    if ratio > 1 and self._data.ndim and self._data.shape[-1] % ratio:
        raise RuntimeError(
            f"self.size(-1) must be divisible by {ratio} to view "
            f"{D.SCALAR_TYPE[self._dtype.name]} as {D.SCALAR_TYPE[dt.name]} (different element "
            f"sizes), but got {self._data.shape[-1]}")
    out = Tensor._make(self._data.view(dt.np_dtype), dt)
    out._base = self._base if self._base is not None else self  # (a Tensor has no truth value)
    out._vbox = self._vbox
    return out


class Permute(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        ctx.view_args = {"dims": dims}
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.permute(tuple(np.argsort(ctx.dims)))


class Transpose(Permute):
    _name = "TransposeBackward0"


class TransposeT(Permute):
    _name = "TBackward0"


class Unsqueeze(View):
    _name = "UnsqueezeBackward0"


class Squeeze(View):
    _name = "SqueezeBackward0"  # all size-1 dims


class SqueezeDim(View):
    _name = "SqueezeBackward1"  # one dim


class ExpandSame(View):
    _name = "ExpandBackward0"


class SqueezeDims(View):
    _name = "SqueezeBackward2"  # a tuple of dims


def permute(input: Tensor, *dims, **kwargs) -> Tensor:
    """Reorder dimensions (a view). Example: ``x.permute(0, 2, 1)``."""
    if kwargs:  # torch's keyword spelling of the sizes
        dims = varargs_or_keyword("permute", dims, kwargs, "dims")
    dims = _shape_arg(dims)
    n = input.ndim
    if len(dims) != n:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal "
            f"to len(dims) = {len(dims)}")
    dims = tuple(wrap_dim(d, n) for d in dims)
    if len(set(dims)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims=dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions (a view)."""
    n = input.ndim
    if n == 0:
        wrap_dim(dim0, 0), wrap_dim(dim1, 0)
        return Permute.apply(input, dims=())
    d0, d1 = wrap_dim(dim0, n), wrap_dim(dim1, n)
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Transpose.apply(input, dims=tuple(dims))


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dimensions."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return TransposeT.apply(input, dims=(1, 0) if input.ndim == 2 else tuple(range(input.ndim)))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dimension at ``dim`` (a view)."""
    dim = wrap_dim(dim, input.ndim + 1)
    shape = input._data.shape
    return Unsqueeze.apply(input, shape=shape[:dim] + (1,) + shape[dim:])


def squeeze(input: Tensor, dim=NO_DIM) -> Tensor:
    """Remove size-1 dimensions (all, or those in ``dim``) (a view).

    Example:
        >>> ember.zeros(2, 1, 3).squeeze().shape
        torch.Size([2, 3])
    """
    shape = input._data.shape
    if dim is NO_DIM:
        dim = None
    elif dim is None:  # given as None (not left out): torch has no such overload
        raise TypeError("squeeze() received an invalid combination of arguments - got "
                        "(NoneType), but expected one of:\n * ()\n * (int dim)\n"
                        " * (tuple of ints dim)")
    if dim is None:
        dims = {i for i, s in enumerate(shape) if s == 1}
        op = Squeeze
    else:
        if isinstance(dim, (int, np.integer)):  # a NumPy int too, as torch (a bool: refused)
            op, dims = SqueezeDim, {wrap_dim(dim, input.ndim)}
        else:
            op = SqueezeDims
            listed = [wrap_dim(int_dim(d), input.ndim) for d in dim]
            dims = set(listed)
            if len(dims) != len(listed):
                dup = next(d for i, d in enumerate(listed) if d in listed[:i])
                raise RuntimeError(f"dim {dup} appears multiple times in the list of dims")
        dims = {d for d in dims if input.ndim and shape[d] == 1}
    return op.apply(input, shape=tuple(s for i, s in enumerate(shape) if i not in dims))


class Clone(Op):
    @staticmethod
    def forward(ctx, x, memory_format=None):
        # the array's own copy keeps it on its device (np.array would copy a GPU array to the
        # host); the strides are torch's for memory_format (None: preserve_format)
        if isinstance(x, MetaArray) or x.size == 0:  # meta/empty tensors report dense strides
            return x.copy(order="C" if memory_format is D.contiguous_format else "K")
        return copy_with_strides(x, target_strides(x, memory_format))

    @staticmethod
    def backward(ctx, grad):
        return grad


def _check_format(fname: str, memory_format):
    if memory_format is not None and not isinstance(memory_format, D.memory_format):
        raise TypeError(f"{fname}(): argument 'memory_format' must be torch.memory_format, "
                        f"not {type(memory_format).__name__}")


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy with its own memory that stays in the graph. ``memory_format``: the copy's
    layout; the default ``preserve_format`` keeps a dense tensor's strides.

    Example:
        >>> x = ember.zeros(2, 3, 4, 5).clone(memory_format=ember.channels_last)
        >>> x.stride()
        (60, 1, 15, 3)
    """
    _check_format("clone", memory_format)
    return Clone.apply(input, memory_format=memory_format)


def contiguous(self: Tensor, memory_format=None) -> Tensor:
    """This tensor if it is contiguous in ``memory_format`` (default row-major), else a copy
    laid out that way.

    Example:
        >>> ember.zeros(2, 3, 4, 5).contiguous(memory_format=ember.channels_last).stride()
        (60, 1, 15, 3)
    """
    if memory_format is None or memory_format is D.contiguous_format:  # the hot path
        if self._data.flags.c_contiguous:
            return self
        return Clone.apply(self, memory_format=D.contiguous_format)
    _check_format("contiguous", memory_format)
    if self.is_contiguous(memory_format=memory_format):
        return self
    if memory_format is D.preserve_format:
        raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
    return Clone.apply(self, memory_format=memory_format)


class Cast(Op):
    _name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = D._FROM_NP[x.dtype]
        if dtype in D.FLOAT8 or D.is_float8_array(x):
            return D.cast_float8(x, dtype)  # PyTorch's float8 rules, not ml_dtypes'
        if dtype in D.UNSIGNED_SHELL and x.dtype.kind == "f":
            return D.float_to_int(x, dtype)
        if dtype.category == D._INT and x.dtype.kind == "f":
            with np.errstate(invalid="ignore"):
                return np.trunc(x).astype(dtype.np_dtype)
        if dtype.category < D._COMPLEX and x.dtype.kind == "c":
            from ..._config import _warn_complex_to_real

            _warn_complex_to_real()
            return x.real.astype(dtype.np_dtype)
        with np.errstate(all="ignore"):
            if dtype is D.float16 or dtype is D.bfloat16:  # torch narrows through float32
                x = D.via_float32(x, dtype)
            return x.astype(dtype.np_dtype)  # order "K" keeps the layout, as torch

    @staticmethod
    def backward(ctx, grad):
        if ctx.in_dtype.category < D._FLOAT:
            return None
        if grad.is_complex() and not ctx.in_dtype.is_complex:
            # a real input cast to complex: its gradient is the real part (no cast warning)
            grad = grad.real
        return grad.to(ctx.in_dtype)


class Expand(Op):
    is_view = True
    _name = "ExpandBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        ctx.view_args = {"shape": shape}
        out = np.broadcast_to(x, shape)
        return out.view(MetaArray) if isinstance(x, MetaArray) else out  # (stays on meta)

    @staticmethod
    def backward(ctx, grad):
        from .._core import unbroadcast

        return unbroadcast(grad, ctx.in_shape)


def expand(self: Tensor, *sizes, **kwargs) -> Tensor:
    """Broadcast size-1 dimensions to a larger size without copying (-1 keeps a size)."""
    if kwargs:  # torch's keyword spelling of the sizes
        sizes = varargs_or_keyword("expand", sizes, kwargs, "size")
    sizes = _shape_arg(sizes)
    shape = self._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand(torch.{self.dtype._legacy}{{{list(shape)}}}, size={list(sizes)}): the "
            f"number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
            f"dimensions in the tensor ({len(shape)})")
    out = list(sizes)
    lead = len(sizes) - len(shape)
    # torch checks from the last dimension backwards (so a bad trailing size is reported
    # before a -1 in a new leading dimension); a 0-d tensor takes the sizes as they are.
    for i in reversed(range(len(sizes)) if shape else ()):
        s = sizes[i]
        if i < lead:
            if s == -1:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            continue
        cur = shape[i - lead]
        if s == -1:
            s = out[i] = cur
        if cur != s and cur != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(shape)}")
    out = tuple(out)
    numel = 1
    for s in out:
        numel *= s
    if any(s < 0 for s in out) or numel >= 2**63:
        raise RuntimeError("numel: integer multiplication overflow")
    if out == shape:  # a writable view (NumPy's broadcast views are read-only)
        return ExpandSame.apply(self, shape=shape)
    return Expand.apply(self, shape=out)


def expand_as(self: Tensor, other: Tensor) -> Tensor:
    return expand(self, other.shape)


def broadcast_to(input: Tensor, size) -> Tensor:
    """``input`` broadcast to ``size`` (a view, as ``input.expand(size)``).

    Example:
        >>> ember.broadcast_to(ember.tensor([1, 2]), (2, 2))
        tensor([[1, 2],
                [1, 2]])
    """
    return expand(input, tuple(size))


TENSOR_METHODS = {
    "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to,
    "view": view, "reshape": reshape, "permute": permute, "transpose": transpose,
    "swapaxes": swapaxes, "swapdims": swapdims, "t": t, "unsqueeze": unsqueeze,
    "squeeze": squeeze, "clone": clone, "contiguous": contiguous,
}



def detach(input: Tensor) -> Tensor:
    """A new tensor sharing ``input``'s data but cut from the autograd graph (``input.detach()``).

    Example:
        >>> ember.detach(ember.ones(2, requires_grad=True)).requires_grad
        False
    """
    return input.detach()


def detach_(input: Tensor) -> Tensor:
    """Cut ``input`` from the autograd graph in place (``input.detach_()``).

    Example:
        >>> ember.detach_(ember.ones(2, requires_grad=True)).requires_grad
        False
    """
    return input.detach_()


class Alias(Op):
    """The same data under another Python class (``as_subclass``): a view, gradient unchanged."""

    is_view = True
    _name = "AliasBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.view_args = {}
        return x.view()

    @staticmethod
    def backward(ctx, grad):
        return grad


def as_subclass(self: Tensor, cls: type) -> Tensor:
    """This tensor's data (a view, in the same graph) as an instance of ``cls``, a subclass of
    Tensor.

    Example:
        >>> class Tagged(ember.Tensor): pass
        >>> type(ember.ones(2).as_subclass(Tagged)).__name__
        'Tagged'
    """
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from "
                        "Tensor is not possible. Make sure your class inherits from Tensor.")
    out = Alias.apply(self)
    out.__class__ = cls
    return out


def resize_as(self: Tensor, the_template: Tensor) -> Tensor:
    """Deprecated out-of-place ``resize_as_``: ``self`` with ``the_template``'s shape, which
    must hold as many elements (a view where strides allow).

    Example:
        >>> ember.arange(6.).resize_as(ember.zeros(2, 3)).shape
        torch.Size([2, 3])
    """
    import warnings

    warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
    shape, old = tuple(the_template.shape), tuple(self.shape)
    if self.numel() != the_template.numel():
        def fmt(s):
            return "x".join(map(str, s)) if s else "[]"
        raise RuntimeError(
            f"requested resize to {fmt(shape)} ({the_template.numel()} elements in total), but "
            f"the given tensor has a size of {fmt(old)} ({self.numel()} elements). autograd's "
            "resize can only change the shape of a given tensor, while preserving the number of "
            "elements. ")
    out = reshape(self, shape)
    if out.grad_fn is not None:
        out.grad_fn._name = "ResizeBackward"
    return out


__all__ += ["detach_"]
TENSOR_METHODS.update({"as_subclass": as_subclass, "resize_as": resize_as})
