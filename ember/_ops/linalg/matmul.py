"""The matmul family: ``matmul`` (PyTorch's 1-D and broadcasting rules), ``mm``, ``bmm``, ``dot``,
``mv``, ``outer``, ``addmm`` and friends.

Other products live in ``products.py``, ``einsum``/``tensordot`` in ``einsum.py`` and the
decompositions (``inv``, ``solve``, ``det`` ...) in ``inv_solve_det.py``.
"""

from __future__ import annotations

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._errors import with_hint
from ..._tensor import Tensor
from .._core import Op, broadcast_shapes, mapped_by_vmap, set_vmapped_node_name, unbroadcast
from .._dispatch import REFUSED, refuse
from ..pointwise.complex import conj


def _save_operands(ctx, a, b, *leading) -> None:
    """Save ``a`` only when ``b`` needs a gradient and ``b`` only when ``a`` does (the gradient
    of each is made from the other), as PyTorch's mm does: ``h = y @ W_fixed`` then allows an
    in-place change of ``y``. ``leading`` are saved first (None for an addend never read)."""
    ctx.save_for_backward(*leading, a if getattr(b, "_requires_grad", False) else None,
                          b if getattr(a, "_requires_grad", False) else None)


def matmul_grads(ctx, a: Tensor, b: Tensor, grad: Tensor) -> tuple:
    """Gradients of ``a @ b`` (any ranks allowed by matmul) for the inputs that need them;
    ``a`` (``b``) may be None when only ``b``'s (``a``'s) gradient is needed: shapes come from
    the node's inputs."""
    need_a, need_b = ctx.needs_input_grad[-2], ctx.needs_input_grad[-1]
    shape_a, shape_b = tuple(ctx.inputs[-2].shape), tuple(ctx.inputs[-1].shape)
    nd_a, nd_b = len(shape_a), len(shape_b)
    mm = Matmul.apply
    ga = gb = None
    if grad._dtype.is_complex:  # PyTorch's convention: grad times the conjugate derivative
        a = conj(a) if a is not None else None
        b = conj(b) if b is not None else None
    if nd_a == 1 and nd_b == 1:
        return (grad * b if need_a else None), (grad * a if need_b else None)
    if nd_a == 1:  # (k) @ (..., k, n) -> (..., n)
        if need_a:
            ga = unbroadcast(mm(grad.unsqueeze(-2), b.mT).squeeze(-2), shape_a)
        if need_b:
            gb = unbroadcast(a.unsqueeze(-1) * grad.unsqueeze(-2), shape_b)
        return ga, gb
    if nd_b == 1:  # (..., m, k) @ (k) -> (..., m)
        if need_a:
            ga = unbroadcast(grad.unsqueeze(-1) * b, shape_a)
        if need_b:
            gb = unbroadcast(mm(a.mT, grad.unsqueeze(-1)).squeeze(-1), shape_b)
        return ga, gb
    if need_a:
        ga = unbroadcast(mm(grad, b.mT), shape_a)
    if need_b:
        gb = unbroadcast(mm(a.mT, grad), shape_b)
    return ga, gb


# torch names matmul's node after the op it dispatches to, by the operands' ranks
_MATMUL_NAMES = {(2, 2): "MmBackward0", (1, 1): "DotBackward0", (2, 1): "MvBackward0",
                 (1, 2): "SqueezeBackward4"}

# ... and under vmap after the last op of its batching rule (the rule folds the batch into
# mm/bmm), by the per-element ranks and which operand vmap maps: (ranks): {mapped: name}
_VMAPPED_MATMUL_NAMES = {
    (1, 1): {"a": "MvBackward0", "b": "SqueezeBackward4", "ab": "SqueezeBackward1"},
    (2, 1): {"a": "UnsafeViewBackward0", "b": "PermuteBackward0", "ab": "SqueezeBackward1"},
    (1, 2): dict.fromkeys(("a", "b", "ab"), "SqueezeBackward5"),
    (2, 2): {"a": "UnsafeViewBackward0", "b": "CloneBackward0", "ab": "UnsafeViewBackward0"},
    (2, 3): {"a": "UnsafeViewBackward0", "b": "CloneBackward0", "ab": "UnsafeViewBackward0"},
}


def _named_if_vmapped(out: Tensor, a: Tensor, b: Tensor, bmm: bool = False) -> Tensor:
    """``out`` (a matrix product of ``a`` and ``b``) with the node PyTorch's batching rule
    ends in when ``vmap`` maps either operand (``ember.vmap``'s loop and batched path both
    name their result after it)."""
    if not (a._vmap_levels or b._vmap_levels):
        return out
    mapped = ("a" if mapped_by_vmap(a) else "") + ("b" if mapped_by_vmap(b) else "")
    if mapped:
        names = _VMAPPED_MATMUL_NAMES.get((a.ndim, b.ndim)) if not bmm else None
        set_vmapped_node_name(out, names[mapped] if names else "UnsafeViewBackward0")
    return out


class Matmul(Op):
    _saved_fields = {"self": 0, "mat2": 1}  # as PyTorch's MmBackward0 names them

    @staticmethod
    def forward(ctx, a, b):
        _save_operands(ctx, *ctx.inputs)
        if ctx._op_class is Matmul:  # (not a subclass; nodes are of a subclass named by torch)
            name = _MATMUL_NAMES.get((a.ndim, b.ndim))
            ctx._name = name or ("CloneBackward0" if a.ndim == 2 else "UnsafeViewBackward0")
        out = np.matmul(a, b)
        return out if out.dtype is a.dtype else _low_precision_result(out, a.dtype)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return matmul_grads(ctx, a, b, grad)


def _conj_number(x):
    """A complex ``alpha``/``beta`` scales gradients by its conjugate (PyTorch's convention);
    real numbers pass through unchanged."""
    return x.conjugate() if isinstance(x, (complex, np.complexfloating)) else x


def _low_precision_result(out, dtype):
    """ml_dtypes' bfloat16 matmul accumulates and returns float32; PyTorch's rounds the result
    to bfloat16 (its inputs' dtype)."""
    return out if out.dtype == dtype else out.astype(dtype)


def _dt_name(dt):
    """The C++ type name PyTorch's kernels print for ``dt`` (``c10::complex<float>``)."""
    from ..._creation import _CPP_NAMES

    return _CPP_NAMES.get(dt, dt.name)


def _title(dt) -> str:
    from ..inplace import _type_title

    return _type_title(dt)


def _x(shape) -> str:
    return "x".join(map(str, shape))


# the dtypes some product kernel of torch refuses (bool, uint16/32/64, float8): a superset,
# ``refuse`` picks by kernel
_PRODUCT_REFUSED = REFUSED["bmm"]
_KERNEL_ROWS = {"addmm_impl_cpu_": "mm", "addmv_impl_cpu": "mv", "dot": "dot", "bmm": "bmm"}


def _plain_pair(a, b) -> bool:
    """True for the common case that needs no further type checks: two tensors of one
    dtype that every product kernel takes, on one device (kept cheap: matmul carries
    training)."""
    return (type(a) is Tensor and type(b) is Tensor and a._dtype is b._dtype
            and a._dtype not in _PRODUCT_REFUSED and type(a._data) is type(b._data))


def _matmul_kernel(a: Tensor, b: Tensor) -> str:
    """The kernel torch's matmul reaches for these ranks (a batch times a matrix folds into
    one mm)."""
    if b.ndim == 1:
        return "dot" if a.ndim == 1 else "addmv_impl_cpu"
    return "addmm_impl_cpu_" if b.ndim == 2 else "bmm"


def bmm_is_naive(contraction: int, rows: int, cols: int) -> bool:
    """Whether torch's CPU bmm takes its naive loop (fewer than 400 multiply-adds per batch
    element) rather than BLAS: the two word a dtype mismatch in opposite orders."""
    return contraction * rows * cols < 400


def _check_pair(name: str, a, b, same_dtype_msg=None):
    from .._dispatch import check_devices

    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        bad = "input" if not isinstance(a, Tensor) else "other"
        raise TypeError(f"{name}(): argument '{bad}' must be Tensor, not "
                        f"{type(a if bad == 'input' else b).__name__}")
    check_devices(a, b)
    if a._dtype is not b._dtype:
        if same_dtype_msg is None and name == "bmm":  # torch's batched kernel words it so
            # its naive loop (under 400 multiply-adds per batch) reads batch2 in batch1's
            # dtype; its BLAS path reads batch1 in batch2's
            rows = a.shape[-2] if a.ndim > 1 else 1  # (a vector is one row)
            first, second = (a, b) if bmm_is_naive(a.shape[-1], rows, b.shape[-1]) else (b, a)
            same_dtype_msg = (f"expected scalar type {_title(first._dtype)} but found "
                              f"{_title(second._dtype)}")
        elif same_dtype_msg is None and name == "addmv_impl_cpu":
            same_dtype_msg = (f"addmv input tensors must have the same dtype, but got "
                              f"{_title(b._dtype)}, {_title(a._dtype)}, and {_title(b._dtype)}")
        raise with_hint(RuntimeError(same_dtype_msg or (
            f"expected m1 and m2 to have the same dtype, but got: {_dt_name(a._dtype)} != "
            f"{_dt_name(b._dtype)}")), "Cast one of them, e.g. b.to(a.dtype)")
    if a._dtype in _PRODUCT_REFUSED:
        row = _KERNEL_ROWS.get(name)
        if row is not None:
            refuse(row, a._dtype)
        elif a._dtype is D.bool:  # addmm & co. name their own kernel
            raise with_hint(NotImplementedError(f"\"{name}\" not implemented for 'Bool'"),
                            "Cast first, e.g. a.float()")


def _batch2_error(batch, k, got_batch, n):
    return RuntimeError(
        f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {k}] but "
        f"got: [{got_batch}, {n}].")


def _check_matmul(a: Tensor, b: Tensor):
    """PyTorch's checks and messages for each of matmul's rank cases."""
    da, db = a.ndim, b.ndim
    if da == 0 or db == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
    ka = a.shape[-1]
    kb = b.shape[-2] if db > 1 else b.shape[0]
    if da == 1 and db == 1:
        if ka != kb:
            raise RuntimeError(
                f"inconsistent tensor size, expected tensor [{ka}] and src [{kb}] to have the "
                f"same number of elements, but got {ka} and {kb} elements respectively")
        return
    if db == 1:  # matrix (or folded batch) @ vector
        if ka != kb:
            m = int(np.prod(a.shape[:-1]))
            raise RuntimeError(
                f"size mismatch, got input ({m}), mat ({m}x{ka}), vec ({kb})")
        return
    if da <= 2 and db == 2 or da >= 3 and db == 2:
        if ka != kb:
            m = int(np.prod(a.shape[:-1]))
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{ka} and "
                               f"{_x(b.shape)})")
        return
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if ka != kb:
        nb = int(np.prod(batch))
        raise _batch2_error(nb, ka, nb, kb)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with PyTorch's rules: 1-D operands are vectors, batch dims broadcast.

    Example:
        >>> (ember.ones(2, 3) @ ember.ones(3)).shape
        torch.Size([2])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(matmul, "matmul", input, other)
    if _plain_pair(input, other):
        sa, sb = input._data.shape, other._data.shape
        if len(sa) == 2 and len(sb) == 2 and sa[1] == sb[0]:
            return _named_if_vmapped(Matmul.apply(input, other), input, other)
    else:
        _check_pair(_matmul_kernel(input, other) if isinstance(input, Tensor) and
                    isinstance(other, Tensor) else "addmm_impl_cpu_", input, other)
    _check_matmul(input, other)
    return _named_if_vmapped(Matmul.apply(input, other), input, other)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (2-D only, no broadcasting).

    Example:
        >>> ember.mm(ember.ones(2, 3), ember.ones(3, 4)).shape
        torch.Size([2, 4])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(mm, "mm", input, mat2)
    if not _plain_pair(input, mat2):
        _check_pair("addmm_impl_cpu_", input, mat2)
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_x(input.shape)} and "
                           f"{_x(mat2.shape)})")
    return _named_if_vmapped(Matmul.apply(input, mat2), input, mat2)


def _check_bmm(b1: Tensor, b2: Tensor):
    if b1.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if b2.shape[0] != b1.shape[0] or b2.shape[1] != b1.shape[2]:
        raise _batch2_error(b1.shape[0], b1.shape[2], b2.shape[0], b2.shape[1])


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of two 3-D tensors with equal batch sizes (no broadcasting).

    Example:
        >>> ember.bmm(ember.ones(5, 2, 3), ember.ones(5, 3, 4)).shape
        torch.Size([5, 2, 4])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(bmm, "bmm", input, mat2)
    _check_pair("bmm", input, mat2)
    _check_bmm(input, mat2)
    return _named_if_vmapped(Bmm.apply(input, mat2), input, mat2, bmm=True)


class Bmm(Matmul):
    _name = "BmmBackward0"


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same size and dtype.

    Example:
        >>> ember.dot(ember.tensor([1., 2.]), ember.tensor([3., 4.]))
        tensor(11.)
    """
    if isinstance(input, Tensor) and isinstance(tensor, Tensor) and \
            input._dtype is not tensor._dtype:
        raise RuntimeError(
            "dot : expected both vectors to have same dtype, but found "
            f"{_title(input._dtype)} and {_title(tensor._dtype)}")
    _check_pair("dot", input, tensor)
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors")
    _check_matmul(input, tensor)
    return _named_if_vmapped(Matmul.apply(input, tensor), input, tensor)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """``dot`` with the first argument conjugated (the same as ``dot`` for real tensors).

    Example:
        >>> ember.vdot(ember.tensor([1., 2.]), ember.tensor([3., 4.]))
        tensor(11.)
    """
    if input.is_complex():
        input = input.conj()
    return dot(input, other)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product.

    Example:
        >>> ember.mv(ember.ones(2, 3), ember.ones(3))
        tensor([3., 3.])
    """
    if input.ndim == 0:  # torch reads the matrix's size(0) first
        _size_of(input, 0)
    _check_pair("addmv_impl_cpu", input, vec)
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    _check_matmul(input, vec)
    return _named_if_vmapped(Matmul.apply(input, vec), input, vec)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors (with type promotion, like a broadcast multiply).

    Example:
        >>> ember.outer(ember.tensor([1., 2.]), ember.tensor([1., 0., -1.])).shape
        torch.Size([2, 3])
    """
    for name, v in (("self", input), ("vec2", vec2)):
        if v.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    return input.reshape(input.shape[0], 1) * vec2  # torch's: a view, then a multiply


ger = outer


# -- fused multiply-add: addmm, addmv, addbmm, baddbmm ---------------------------------------

class AddMatmul(Op):
    """``beta * input + alpha * (m1 @ m2)``, summed over the batch when ``reduce_batch``."""

    @staticmethod
    def forward(ctx, c, a, b, beta, alpha, reduce_batch):
        _save_operands(ctx, ctx.inputs[1], ctx.inputs[2], None)  # backward never reads c
        ctx.beta, ctx.alpha, ctx.reduce_batch, ctx.c_shape = beta, alpha, reduce_batch, c.shape
        out = np.matmul(a, b)  # a fresh array: the scaling and the add happen in place in it
        if reduce_batch:
            out = out.sum(0)
        if alpha != 1:
            out *= alpha
        if beta == 1:
            out += c
        elif beta != 0:  # beta == 0 ignores input entirely (nan and inf in it included)
            out += beta * c
        return out if out.dtype is a.dtype else _low_precision_result(out, a.dtype)

    @staticmethod
    def backward(ctx, grad):
        _, a, b = ctx.saved_tensors
        gc = None
        if ctx.needs_input_grad[0]:
            gc = unbroadcast(grad if ctx.beta == 1 else grad * _conj_number(ctx.beta),
                             ctx.c_shape)
        if not (ctx.needs_input_grad[1] or ctx.needs_input_grad[2]):
            return gc, None, None
        g = grad if ctx.alpha == 1 else grad * _conj_number(ctx.alpha)
        if ctx.reduce_batch:
            g = g.expand((a.shape[0],) + tuple(g.shape))
        return (gc, *matmul_grads(ctx, a, b, g))


def _add_dtypes_error(name, input, m1, m2):
    """torch's error for the three operands of an add-product of more than one dtype; each
    op words it its own way (addmm and addbmm compare self with mat2 first)."""
    if name == "addmv_impl_cpu":
        return RuntimeError(f"addmv input tensors must have the same dtype, but got "
                            f"{_title(input._dtype)}, {_title(m1._dtype)}, and "
                            f"{_title(m2._dtype)}")
    if name == "baddbmm":
        return RuntimeError(f"Input dtypes must be the same, got: input {_dt_name(input._dtype)}, "
                            f"batch1: {_dt_name(m1._dtype)}, batch2: {_dt_name(m2._dtype)}")
    if input._dtype is not m2._dtype:
        return RuntimeError(f"self and mat2 must have the same dtype, but got "
                            f"{_title(input._dtype)} and {_title(m2._dtype)}")
    return RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                        f"{_title(m1._dtype)} and {_title(m2._dtype)}")


def _add_matmul(name, input, m1, m2, beta, alpha, reduce_batch=False):
    if not _plain_pair(m1, m2) or input._dtype is not m1._dtype:
        if isinstance(input, Tensor) and isinstance(m1, Tensor) and isinstance(m2, Tensor) \
                and not input._dtype is m1._dtype is m2._dtype:
            raise _add_dtypes_error(name, input, m1, m2)
        _check_pair(name, m1, m2)
    if m1._dtype.category < D._FLOAT:  # torch 2.13 truncates float scalars (0.5 -> 0)
        beta = int(beta) if isinstance(beta, float) else beta
        alpha = int(alpha) if isinstance(alpha, float) else alpha
    s1, s2, sc = m1._data.shape, m2._data.shape, input._data.shape
    out_shape = s1[1 if reduce_batch else 0:-1] + s2[-1:] if len(s2) > 1 else s1[:-1]
    if sc != out_shape and not _broadcasts_to(sc, out_shape):
        input.expand(out_shape)  # raises PyTorch's expand error
    out = AddMatmul.apply(input, m1, m2, beta=beta, alpha=alpha, reduce_batch=reduce_batch)
    if out.grad_fn is not None:
        # AddmmBackward0, AddmvBackward0, BaddbmmBackward0, AddbmmBackward0
        out.grad_fn._name = name.split("_")[0].capitalize() + "Backward0"
    return out


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    if len(shape) > len(target):
        return False
    return all(s == 1 or s == t for s, t in zip(shape[::-1], target[::-1]))


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *args, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` in one BLAS call and one in-place add.

    Example:
        >>> ember.addmm(ember.zeros(3), ember.ones(2, 4), ember.ones(4, 3)).shape
        torch.Size([2, 3])
    """
    if args or not isinstance(mat1, Tensor):  # deprecated scalar-first overloads
        from .._legacy_overloads import legacy_beta_alpha

        input, mat1, mat2, beta, a = legacy_beta_alpha(
            "addmm", ("mat1", "mat2"), input, mat1, mat2, args)
        alpha = alpha if a is None else a
    if _amp.active and _autocast.state.active:
        return _autocast.call(addmm, "addmm", input, mat1, mat2, beta=beta, alpha=alpha)
    if mat1.ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {mat1.ndim}-D tensor")
    if mat2.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {mat2.ndim}-D tensor")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_x(mat1.shape)} and "
                           f"{_x(mat2.shape)})")
    out = _add_matmul("addmm_impl_cpu_", input, mat1, mat2, beta, alpha)
    if isinstance(input, Tensor) and any(mapped_by_vmap(t) for t in (input, mat1, mat2)):
        set_vmapped_node_name(out, "AddBackward0")  # torch's batching rule: mm, then add
    return out


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *args, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``.

    Example:
        >>> ember.addmv(ember.zeros(2), ember.ones(2, 3), ember.ones(3))
        tensor([3., 3.])
    """
    if args or not isinstance(mat, Tensor):  # deprecated scalar-first overloads
        from .._legacy_overloads import legacy_beta_alpha

        input, mat, vec, beta, a = legacy_beta_alpha(
            "addmv", ("mat", "vec"), input, mat, vec, args)
        alpha = alpha if a is None else a
    if mat.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, {vec.ndim}")
    if mat.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0] if input.ndim else 1}), "
                           f"mat ({_x(mat.shape)}), vec ({vec.shape[0]})")
    return _add_matmul("addmv_impl_cpu", input, mat, vec, beta, alpha)


def _size_of(t: Tensor, d: int) -> int:
    """``t.size(d)`` with torch's IndexError (its wording for a 0-d tensor) when ``t`` is too
    short: torch reads the sizes of the result before it checks the operands' ranks."""
    if t.ndim == 0:
        raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
    if d >= t.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{t.ndim}, "
                         f"{t.ndim - 1}], but got {d})")
    return t.shape[d]


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *args, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``.

    Example:
        >>> ember.baddbmm(ember.zeros(2, 3), ember.ones(5, 2, 4), ember.ones(5, 4, 3)).shape
        torch.Size([5, 2, 3])
    """
    if args or not isinstance(batch1, Tensor):  # deprecated scalar-first overloads
        from .._legacy_overloads import legacy_beta_alpha

        input, batch1, batch2, beta, a = legacy_beta_alpha(
            "baddbmm", ("batch1", "batch2"), input, batch1, batch2, args)
        alpha = alpha if a is None else a
    if _amp.active and _autocast.state.active:
        return _autocast.call(baddbmm, "baddbmm", input, batch1, batch2, beta=beta, alpha=alpha)
    if batch1.ndim != 3 or batch2.ndim != 3:  # torch sizes its result first
        for t, d in ((batch1, 0), (batch1, 1), (batch2, 2)):
            _size_of(t, d)
    _check_bmm(batch1, batch2)
    return _add_matmul("baddbmm", input, batch1, batch2, beta, alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *args, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``.

    Example:
        >>> ember.addbmm(ember.zeros(2, 3), ember.ones(5, 2, 4), ember.ones(5, 4, 3)).shape
        torch.Size([2, 3])
    """
    if args or not isinstance(batch1, Tensor):  # deprecated scalar-first overloads
        from .._legacy_overloads import legacy_beta_alpha

        input, batch1, batch2, beta, a = legacy_beta_alpha(
            "addbmm", ("batch1", "batch2"), input, batch1, batch2, args)
        alpha = alpha if a is None else a
    if _amp.active and _autocast.state.active:
        return _autocast.call(addbmm, "addbmm", input, batch1, batch2, beta=beta, alpha=alpha)
    if batch1.ndim != 3 or batch2.ndim != 3:  # torch sizes its result first
        for t, d in ((batch1, 1), (batch2, 2)):
            _size_of(t, d)
    _check_bmm(batch1, batch2)
    return _add_matmul("addbmm", input, batch1, batch2, beta, alpha, reduce_batch=True)



__all__ = ["matmul", "mm", "bmm", "dot", "vdot", "mv", "outer", "ger", "addmm", "addmv", "addbmm",
           "baddbmm"]

TENSOR_METHODS = {
    "matmul": matmul, "mm": mm, "bmm": bmm, "dot": dot, "vdot": vdot, "mv": mv, "outer": outer,
    "ger": ger, "addmm": addmm, "addmv": addmv, "addbmm": addbmm, "baddbmm": baddbmm,
}
