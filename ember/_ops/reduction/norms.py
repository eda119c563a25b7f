"""Vector norms (``norm``, and the engine behind ``ember.linalg.vector_norm``), ``dist`` and
``renorm``. Matrix norms are composed from these in ``ember/linalg.py``."""

from __future__ import annotations

import math

import numpy as np

from ... import _dtype as D
from ..._errors import with_hint
from ..._layout import row_major
from ..._tensor import Tensor
from .._core import Op, _named, bool_arg, int_dim, wrap_dim, wrap_dims
from ..inplace import apply_inplace
from .sums import SafeDiv, _title, expand_reduced

__all__ = ["norm", "dist", "renorm"]


def _vector_norm_np(x: np.ndarray, ord: float, axes: tuple, keepdim: bool) -> np.ndarray:
    if ord == 2:
        a = np.abs(x) if x.dtype.kind == "c" else x
        return np.sqrt(np.sum(a * a, axis=axes, keepdims=keepdim))
    a = np.abs(x)
    if ord == math.inf:
        return np.max(a, axis=axes, keepdims=keepdim)
    if ord == -math.inf:
        return np.min(a, axis=axes, keepdims=keepdim)
    if ord == 0:
        return np.sum(a != 0, axis=axes, keepdims=keepdim, dtype=a.dtype)
    if ord == 1:
        return np.sum(a, axis=axes, keepdims=keepdim)
    with np.errstate(divide="ignore"):
        return np.power(np.sum(np.power(a, ord), axis=axes, keepdims=keepdim), 1.0 / ord)


class VectorNorm(Op):
    save_output = True
    opmath = True  # float16/bfloat16: float32 arithmetic, rounded once (_core.opmath_forward)

    @staticmethod
    def forward(ctx, x, ord, axes, keepdim):
        ctx.save_for_backward(*ctx.inputs)
        ctx.ord, ctx.axes, ctx.keepdim = ord, axes, keepdim
        ctx._name = "LinalgVectorNormBackward0"
        real = x.real.dtype if x.dtype.kind == "c" else x.dtype  # a norm is real, as torch's
        return row_major(_vector_norm_np(x, ord, axes, keepdim).astype(real, copy=False))

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        p, axes, keep = ctx.ord, ctx.axes, ctx.keepdim
        g = expand_reduced(grad, x.shape, axes, keep)
        xd = x._data
        if p == 0:
            return g * 0
        if p == 2:  # x / |x|, zero where the norm is zero
            # grouped as PyTorch's formula, (x / norm) * grad: float16 rounds each step
            return SafeDiv.apply(x, expand_reduced(out, x.shape, axes, keep)) * g
        # sign(x) as an op (zero derivative), so the gradient stays on the graph like torch's
        # complex x: sgn(x) = x / |x|, the conjugate Wirtinger gradient of |x| (as PyTorch's)
        complex_ = x._dtype.is_complex
        sign = x.sgn() if complex_ else x.sign()
        if p == 1:
            return g * sign
        if math.isinf(p):  # the gradient goes to the extreme |x|, shared among ties
            od = out._data if keep else np.expand_dims(out._data, axes)
            hit = np.abs(xd) == od
            # a NaN norm matches nothing: a zero gradient, as PyTorch (not 0 / 0)
            w = hit / np.maximum(np.sum(hit, axis=axes, keepdims=True, dtype=xd.dtype), 1)
            return g * sign * Tensor._make(w.astype(xd.dtype, copy=False), x._dtype)
        # d|x|_p / dx = sign(x) (|x| / |x|_p)^(p-1); zero entries get 0 (as in PyTorch).
        ratio = SafeDiv.apply(x.abs() if complex_ else x * sign,
                              expand_reduced(out, x.shape, axes, keep))
        if p < 1:
            ratio = ratio + Tensor._make((xd == 0).astype(ratio._data.dtype), ratio._dtype)
        return g * sign * ratio ** (p - 1)


def vector_norm(x: Tensor, ord: float = 2, dim=None, keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (all elements by default)."""
    if keepdim is not False and keepdim is not True:  # torch: a bool, not 1 or None
        keepdim = bool_arg(keepdim, "linalg_vector_norm")
    if isinstance(ord, str):
        raise RuntimeError(
            f"linalg.vector_norm: Expected a float or int for 'ord', got '{ord}'. Use "
            "linalg.matrix_norm or linalg.norm for the Frobenius and nuclear norms.")
    if x._dtype.category < D._FLOAT:  # checked before dtype= casts, as torch does
        raise with_hint(RuntimeError("linalg.vector_norm: Expected a floating point or complex "
                                     f"tensor as input. Got {_title(x._dtype)}"),
                        "Convert first, e.g. x.float().")
    if dtype is not None:
        if not isinstance(dtype, D.dtype):  # torch: a dtype or Python's float/int/..., not a name
            from ..._factory_args import check_dtype

            check_dtype("linalg_vector_norm", dtype)
        dt = D.to_dtype(dtype)
        if x._dtype is not dt:
            if not D.can_cast(x._dtype, dt) or x._dtype.itemsize > dt.itemsize:
                raise RuntimeError(
                    f"linalg.vector_norm: the dtype of the input ({_title(x._dtype)}) should "
                    f"be convertible without narrowing to the specified dtype ({_title(dt)})")
            x = x.to(dt)
    if x._dtype in D.SHELL:
        from .._dispatch import refuse_shell

        refuse_shell("norm", x._dtype)
    ord = float(ord)
    axes = wrap_dims(dim, x.ndim) if x.ndim else (wrap_dims(dim, 0) and ())  # validates dim
    if x.numel() == 0 and (ord < 0 or math.isinf(ord)):
        if dim is None or any(x.shape[a] == 0 for a in axes):
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {_ord_str(ord)} norm on an empty tensor "
                "because the operation does not have an identity")
    return VectorNorm.apply(x, ord=ord, axes=axes, keepdim=keepdim)


def _ord_str(ord: float) -> str:
    return ("inf" if ord > 0 else "-inf") if math.isinf(ord) else f"{ord:g}"


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The ``p``-norm of ``input`` (``'fro'`` and numbers as vector norms, ``'nuc'`` as the
    nuclear matrix norm), over ``dim`` or over all elements.

    Example:
        >>> ember.tensor([3., 4.]).norm()
        tensor(5.)
    """
    if isinstance(dim, (int, np.integer)):
        dim = (int_dim(dim),)
    if p == "fro":
        if dim is not None and len(dim) > 2:
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {tuple(dim)}")
        return vector_norm(input, 2, dim, keepdim, dtype=dtype)
    if p == "nuc":
        from ... import linalg

        if dim is None:
            dim = (-2, -1)
        if len(dim) != 2:
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {tuple(dim)}")
        return linalg.matrix_norm(input, "nuc", dim, keepdim, dtype=dtype)
    if isinstance(p, str):
        raise RuntimeError(f"norm(): p must be a number, 'fro' or 'nuc', got '{p}'")
    return vector_norm(input, 2 if p is None else p, dim, keepdim, dtype=dtype)


def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast). Example: ``ember.dist(a, b)``."""
    from .norms import vector_norm

    return _named(vector_norm(input - other, p), "DistBackward0")


def renorm(input: Tensor, p, dim: int, maxnorm) -> Tensor:
    """Rescale each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` to norm ``maxnorm``.

    Example:
        >>> ember.renorm(ember.tensor([[3., 4.], [0.3, 0.4]]), 2, 0, 1.0)
        tensor([[0.6000, 0.8000],
                [0.3000, 0.4000]])
    """
    from ..pointwise.compare import where
    from .norms import vector_norm

    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if input.ndim < 2:  # one norm per slice along dim: a vector has no slices to rescale
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} "
                           "dimensions")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
    dim = wrap_dim(dim, input.ndim)
    others = [d for d in range(input.ndim) if d != dim]
    norms = vector_norm(input, p, dim=others, keepdim=True) if others else input.abs()
    factor = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return _named(input * factor, "RenormBackward0")


def renorm_(self: Tensor, p, dim: int, maxnorm) -> Tensor:
    return apply_inplace(self, renorm(self, p, dim, maxnorm), "renorm_")

TENSOR_METHODS = {
    "norm": norm, "dist": dist, "renorm": renorm, "renorm_": renorm_,
}
