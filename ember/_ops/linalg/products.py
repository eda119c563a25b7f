"""Products and contractions beside matmul: ``trace``, ``kron``, ``cross``, ``cdist``, ``inner``,
``addr``, ``multi_dot``, ``vecdot``, ``linalg.matrix_power``, ``linalg.diagonal`` and the
in-place ``addmm_``/``addr_``/``addmv_``/``addbmm_``/``baddbmm_``, and the deprecated
``chain_matmul``."""

from __future__ import annotations

import numpy as np

from ... import _autocast
from ... import _dtype as D
from ..._autocast import hot as _amp
from ..._backend import as_array, asarray_like
from ..._backend import get_array_module as xp_of
from ..._tensor import Tensor
from .._core import Op, broadcast_shapes, set_node_name, wrap_dim
from .._dispatch import REFUSED, refuse
from .._legacy_overloads import legacy_beta_alpha
from ..inplace import _type_title, apply_inplace
from .inv_solve_det import check_square, inv
from .matmul import Matmul

__all__ = ["trace", "kron", "cross", "cdist", "inner", "addr", "trace", "kron", "cross", "cdist",
           "_grouped_mm",
           "chain_matmul", "addmv_"]


class Trace(Op):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.shape = x.shape
        return as_array(np.trace(x, dtype=dtype))

    @staticmethod
    def backward(ctx, grad):
        from ..pointwise.compare import where

        # PyTorch fills grad into zeros along the diagonal: +0.0 elsewhere, never the -0.0
        # of a negative grad times the identity's zeros
        eye = Tensor._make(xp_of(grad._data).eye(*ctx.shape, dtype=bool), D.bool)
        return where(eye, grad, 0.0)


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix; integer traces are int64 (like ``sum``).

    Example:
        >>> ember.trace(ember.eye(3))
        tensor(3.)
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(trace, "trace", input)
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    refuse("trace", input._dtype)
    dt = np.int64 if input._dtype.category <= D._INT else input._data.dtype
    return Trace.apply(input, dtype=dt)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product.

    Example:
        >>> ember.kron(ember.eye(2), ember.ones(2, 2)).shape
        torch.Size([4, 4])
    """
    if _amp.active and _autocast.state.active:  # not an autocast op, but its einsum would be
        return _autocast.run_without_autocast(kron, input, other)
    from .einsum import einsum

    nd = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (nd - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.ndim) + tuple(other.shape))
    la, lb = "abcdefghijklm"[:nd], "nopqrstuvwxyz"[:nd]
    inter = "".join(x + y for x, y in zip(la, lb))
    shape = tuple(p * q for p, q in zip(a.shape, b.shape))
    return einsum(f"{la},{lb}->{inter}", a, b).reshape(shape)


_LEVI_CIVITA = np.zeros((3, 3, 3))
_LEVI_CIVITA[0, 1, 2] = _LEVI_CIVITA[1, 2, 0] = _LEVI_CIVITA[2, 0, 1] = 1
_LEVI_CIVITA[0, 2, 1] = _LEVI_CIVITA[2, 1, 0] = _LEVI_CIVITA[1, 0, 2] = -1


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (the first dimension of size 3 if None).

    Example:
        >>> ember.cross(ember.tensor([1., 0., 0.]), ember.tensor([0., 1., 0.]), dim=0)
        tensor([0., 0., 1.])
    """
    if _amp.active and _autocast.state.active:  # not an autocast op, but its einsum would be
        return _autocast.run_without_autocast(cross, input, other, dim)
    from .einsum import einsum

    # torch broadcasts sizes but not ranks: a (3,) vector against (N, 3) points is refused
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    shape = broadcast_shapes(tuple(input.shape), tuple(other.shape))
    if dim is None:
        import sys

        from ..._config import _warn_once

        # torch deprecates the implicit dim (linalg.cross defaults to -1 instead); the warning
        # names the first caller outside ember, as torch's C++ warnings do
        level, frame = 2, sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "ember":
            level, frame = level + 1, frame.f_back
        _warn_once("cross_dim", "Using torch.cross without specifying the dim arg is "
                   "deprecated.\nPlease either pass the dim explicitly or simply use "
                   "torch.linalg.cross.\nThe default value of dim will change to agree with "
                   "that of linalg.cross in a future release.", stacklevel=level + 1)
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    d = wrap_dim(dim, len(shape))
    if input.shape[d - len(shape) + input.ndim] != 3 or \
            other.shape[d - len(shape) + other.ndim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[dim]} and {other.shape[dim]}")
    from .._dispatch import promote

    # torch's kernel takes its loop from input's dtype and then demands other's be the same
    refuse("cross", input._dtype)
    if input._dtype is not other._dtype:
        raise RuntimeError(f"expected scalar type {_type_title(input._dtype)} but found "
                           f"{_type_title(other._dtype)}")
    a, b, dt = promote(input, other)
    eps = Tensor._make(asarray_like(_LEVI_CIVITA.astype(dt.np_dtype), a._data), dt)
    a, b = a.expand(shape).transpose(d, -1), b.expand(shape).transpose(d, -1)
    return set_node_name(einsum("ijk,...j,...k->...i", eps, a, b).transpose(d, -1),
                         "LinalgCrossBackward0")


class _ChebyshevDistance(Op):
    """cdist's ``p = inf`` over the last dimension of the pairwise differences. torch's
    gradient gives every coordinate tied for the largest ``|d|`` the full sign of its
    difference (``vector_norm``'s own rule splits the gradient among the ties)."""

    @staticmethod
    def forward(ctx, diff):
        ctx.save_for_backward(ctx.inputs[0])
        mag = xp_of(diff).abs(diff)
        if diff.shape[-1] == 0:
            return xp_of(diff).zeros(diff.shape[:-1], dtype=diff.dtype)
        return mag.max(axis=-1)

    @staticmethod
    def backward(ctx, grad):
        (diff,) = ctx.saved_tensors
        mag = diff.abs()
        ties = (mag == mag.amax(-1, keepdim=True)).to(diff.dtype)
        return grad.unsqueeze(-1) * ties * diff.sign()


class EuclideanDist(Op):
    """cdist's matmul route for Euclidean distances (torch's ``_euclidean_dist``): rows of
    ``x1`` (B, P, M) and ``x2`` (B, R, M) become ``[-2x1, |x1|^2, 1]`` and ``[x2, 1, |x2|^2]``,
    one batched matmul gives the squared distances, then ``clamp_min(0).sqrt()``. Faster than
    the differences, and less exact: a zero distance can come out as a small positive number,
    which torch users see (and which this op reproduces). The gradient is torch's
    ``_euclidean_dist_backward``, written from the output (0 where it is 0)."""

    save_output = True

    @staticmethod
    def forward(ctx, x1, x2):
        xp = xp_of(x1)
        ctx.save_for_backward(*ctx.inputs)
        n1 = (x1 * x1).sum(-1, keepdims=True)
        n2 = (x2 * x2).sum(-1, keepdims=True)
        a = xp.concatenate([x1 * x1.dtype.type(-2), n1, xp.ones_like(n1)], axis=-1)
        b = xp.concatenate([x2, xp.ones_like(n2), n2], axis=-1)
        out = xp.matmul(a, xp.swapaxes(b, -1, -2))
        xp.maximum(out, 0, out=out)
        return xp.sqrt(out, out=out)

    @staticmethod
    def backward(ctx, grad):
        from ..pointwise.compare import where

        x1, x2, res = ctx.saved_tensors
        ratio = where(res == 0, 0.0, grad / res)
        g1 = x1 * ratio.sum(-1, keepdim=True) - ratio.matmul(x2) \
            if ctx.needs_input_grad[0] else None
        g2 = x2 * ratio.sum(-2).unsqueeze(-1) - ratio.mT.matmul(x1) \
            if ctx.needs_input_grad[1] else None
        return g1, g2


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """Pairwise ``p``-norm distances between the rows of ``x1`` (B, P, M) and ``x2`` (B, R, M).

    Example:
        >>> ember.cdist(ember.zeros(2, 3), ember.ones(4, 3)).shape
        torch.Size([2, 4])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(cdist, "cdist", x1, x2, p, compute_mode)
    from ..reduction.norms import vector_norm

    if compute_mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                            "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    for name, x in (("X1", x1), ("X2", x2)):
        if not x._dtype.is_floating_point:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{_type_title(x._dtype)}")
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if not p >= 0:  # NaN too
        raise RuntimeError("cdist only supports non-negative p values")
    if x1._dtype is not x2._dtype:
        raise RuntimeError(f"expected scalar type {_type_title(x1._dtype)} but found "
                           f"{_type_title(x2._dtype)}")
    refuse("cdist", x1._dtype)
    # torch's node is CdistBackward0, except on its matmul route for Euclidean distances
    # (asked for, or chosen by default past 25 rows), whose result is a reshaped view
    mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == "use_mm_for_euclid_dist_if_necessary"
        and (x1.shape[-2] > 25 or x2.shape[-2] > 25)))
    if mm and x1.numel() and x2.numel() and x1.shape[-1]:
        # torch's matmul route (see EuclideanDist): its rounding shows in the distances
        batch = broadcast_shapes(x1.shape[:-2], x2.shape[:-2])
        (r1, m), r2 = x1.shape[-2:], x2.shape[-2]
        a = x1.expand(*batch, r1, m).reshape(-1, r1, m)
        b = x2.expand(*batch, r2, m).reshape(-1, r2, m)
        return EuclideanDist.apply(a, b).view(*batch, r1, r2)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (B, P, R, M); zero distances get 0 grads
    dist = _ChebyshevDistance.apply(diff) if p == float("inf") else vector_norm(diff, p, dim=-1)
    return set_node_name(dist, "ViewBackward0" if mm else "CdistBackward0")


def _grouped_mm(mat_a: Tensor, mat_b: Tensor, offs: Tensor | None = None,
                bias: Tensor | None = None, out_dtype=None) -> Tensor:
    """Grouped matrix multiply of mixture-of-experts layers (``F.grouped_mm``): one GEMM per
    group, the groups cut from a 2-D operand's jagged dimension by the int32 end offsets
    ``offs``. 2-D ``mat_a`` (tokens, K) and 3-D ``mat_b`` (G, K, N): rows ``offs[i-1]:offs[i]``
    times ``mat_b[i]`` (rows past ``offs[-1]`` give zeros); 3-D and 2-D: ``mat_a[i]`` times
    columns ``offs[i-1]:offs[i]``; 2-D and 2-D: the shared K is cut, giving (G, M, N); 3-D and
    3-D (no ``offs``): a batched matmul. Written from slices and matmuls, so it is
    differentiable; its node is named ``GroupedMmBackward0`` as torch's.

    Example:
        >>> offs = ember.tensor([1, 3], dtype=ember.int32)
        >>> ember.nn.functional.grouped_mm(ember.ones(3, 4), ember.ones(2, 4, 4), offs=offs).shape
        torch.Size([3, 4])
    """
    from ..shape.joining import cat, stack

    for name, m in (("mat_a", mat_a), ("mat_b", mat_b)):
        if m._dtype not in (D.float32, D.bfloat16, D.float16):
            raise RuntimeError(f"Expected {name} to be Float32, BFloat16 or Float16 matrix, got "
                               f"{_type_title(m._dtype)}")
    for name, m in (("mat_a", mat_a), ("mat_b", mat_b)):
        if m.ndim not in (2, 3):
            raise RuntimeError(f"{name} has to be 2 or 3d")
    if (offs is None) != (mat_a.ndim == 3 and mat_b.ndim == 3):
        raise RuntimeError("Have to provide offsets if there is a 2d matrix, or no offset if "
                           "both matrices are 3d")
    if offs is not None:
        if offs._dtype is not D.int32:
            raise RuntimeError("Offsets have to be int32")
        if offs.ndim != 1:
            raise RuntimeError("offs has to be 1D")
    if mat_a.shape[-1] != mat_b.shape[-2]:
        raise RuntimeError("contraction dimension of mat_a and mat_b must match")
    if mat_a.ndim == 3 and mat_b.ndim == 3 and mat_a.shape[0] != mat_b.shape[0] or \
            offs is not None and 3 in (mat_a.ndim, mat_b.ndim) and \
            (mat_a if mat_a.ndim == 3 else mat_b).shape[0] != offs.shape[0]:
        raise RuntimeError("matrix batch sizes have to match")
    for m in (mat_a, mat_b):  # the kernels' row-major (or column-major) rows: 16-byte aligned
        st, align = m.stride(), 16 // m.element_size()
        if st[-2] == 1 and st[-1] >= max(1, m.shape[-2]):
            lead = st[-1]
        elif st[-1] == 1 and st[-2] >= max(1, m.shape[-1]):
            lead = st[-2]
        else:
            raise RuntimeError(f"Invalid strides/sizes, got {list(st)} for strides and "
                               f"{list(m.shape)} for sizes")
        if lead % align:
            raise RuntimeError("strides should be multiple of 16 bytes")
    if out_dtype is not None and out_dtype is not mat_a._dtype:
        raise RuntimeError("Grouped gemm output dtype must match `mat_a` dtype")
    if bias is not None:
        raise RuntimeError("Bias not supported yet")
    if mat_a._dtype is not mat_b._dtype:
        c10 = {D.float32: "float", D.bfloat16: "c10::BFloat16", D.float16: "c10::Half"}
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{c10[mat_a._dtype]} != {c10[mat_b._dtype]}")
    if offs is None:
        return set_node_name(mat_a.matmul(mat_b), "GroupedMmBackward0")
    ends = [int(e) for e in offs.tolist()]
    bounds = list(zip([0] + ends[:-1], ends))
    if mat_a.ndim == 2 and mat_b.ndim == 3:
        parts = [mat_a[s:e].matmul(mat_b[i]) for i, (s, e) in enumerate(bounds)]
        rest = mat_a.shape[0] - (ends[-1] if ends else 0)
        if rest > 0:
            parts.append(mat_a.new_zeros((rest, mat_b.shape[-1])))
        out = cat(parts, 0)
    elif mat_a.ndim == 3:
        parts = [mat_a[i].matmul(mat_b[:, s:e]) for i, (s, e) in enumerate(bounds)]
        rest = mat_b.shape[-1] - (ends[-1] if ends else 0)
        if rest > 0:
            parts.append(mat_a.new_zeros((mat_a.shape[1], rest)))
        out = cat(parts, 1)
    else:
        out = stack([mat_a[:, s:e].matmul(mat_b[s:e]) for s, e in bounds])
    return set_node_name(out, "GroupedMmBackward0")


def inner(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Dot products over the last dimension of both inputs (a product when one is 0-d).

    Example:
        >>> ember.inner(ember.tensor([1., 2.]), ember.tensor([3., 4.]))
        tensor(11.)
    """
    if input.ndim == 0 or other.ndim == 0:
        res = input * other
    else:
        if input.shape[-1] != other.shape[-1]:
            raise RuntimeError(f"inner() the last dimension must match on both input tensors "
                               f"but got shapes {list(input.shape)} and {list(other.shape)}")
        from .einsum import tensordot

        res = tensordot(input, other, dims=([-1], [-1]))
    return res if out is None else out.copy_(res)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *args, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``.

    Example:
        >>> ember.addr(ember.zeros(2, 2), ember.ones(2), ember.arange(2.0))
        tensor([[0., 1.],
                [0., 1.]])
    """
    if args or not isinstance(vec1, Tensor):  # deprecated scalar-first overloads
        input, vec1, vec2, beta, a = legacy_beta_alpha(
            "addr", ("vec1", "vec2"), input, vec1, vec2, args)
        alpha = alpha if a is None else a
    from .matmul import outer

    if D.result_type(input, vec1, vec2).category < D._FLOAT:
        for name, value in (("beta", beta), ("alpha", alpha)):
            if isinstance(value, float):
                raise RuntimeError(f"For integral input tensors, argument {name} must not be a "
                                   "floating point number.")
    prod = outer(vec1, vec2)
    prod = prod * alpha if alpha != 1 else prod
    base = input * beta if beta != 1 else input
    res = set_node_name(prod if beta == 0 else base + prod, "AddrBackward0")
    return res if out is None else out.copy_(res)


def addr_(self: Tensor, vec1: Tensor, vec2: Tensor, *args, beta=1, alpha=1) -> Tensor:
    if args or not isinstance(vec1, Tensor):  # deprecated scalar-first overloads
        _, vec1, vec2, beta, a = legacy_beta_alpha(
            "addr_", ("vec1", "vec2"), self, vec1, vec2, args)
        alpha = alpha if a is None else a
    return apply_inplace(self, addr(self, vec1, vec2, beta=beta, alpha=alpha), "addr_")


def addmm_(self: Tensor, mat1: Tensor, mat2=None, *args, beta=1, alpha=1) -> Tensor:
    from .matmul import addmm

    if args or not isinstance(mat1, Tensor):  # deprecated scalar-first overloads
        _, mat1, mat2, beta, a = legacy_beta_alpha(
            "addmm_", ("mat1", "mat2"), self, mat1, mat2, args)
        alpha = alpha if a is None else a

    return apply_inplace(self, addmm(self, mat1, mat2, beta=beta, alpha=alpha), "addmm_")


def addmv_(self: Tensor, mat: Tensor, vec: Tensor, *args, beta=1, alpha=1) -> Tensor:
    """In-place ``addmv``: ``self = beta * self + alpha * (mat @ vec)``.

    Example:
        >>> ember.addmv_(ember.zeros(2), ember.ones(2, 3), ember.ones(3))
        tensor([3., 3.])
    """
    from .matmul import addmv

    if args or not isinstance(mat, Tensor):  # deprecated scalar-first overloads
        _, mat, vec, beta, a = legacy_beta_alpha(
            "addmv_", ("mat", "vec"), self, mat, vec, args)
        alpha = alpha if a is None else a

    return apply_inplace(self, addmv(self, mat, vec, beta=beta, alpha=alpha), "addmv_")


def addbmm_(self: Tensor, batch1: Tensor, batch2: Tensor, *args, beta=1, alpha=1) -> Tensor:
    """In-place ``addbmm``: ``self = beta * self + alpha * sum_b(batch1[b] @ batch2[b])``.

    Example:
        >>> ember.zeros(2, 2).addbmm_(ember.ones(3, 2, 4), ember.ones(3, 4, 2))
        tensor([[12., 12.],
                [12., 12.]])
    """
    from .matmul import addbmm

    if args or not isinstance(batch1, Tensor):  # deprecated scalar-first overloads
        _, batch1, batch2, beta, a = legacy_beta_alpha(
            "addbmm_", ("batch1", "batch2"), self, batch1, batch2, args)
        alpha = alpha if a is None else a

    return apply_inplace(self, addbmm(self, batch1, batch2, beta=beta, alpha=alpha), "addbmm_")


def baddbmm_(self: Tensor, batch1: Tensor, batch2: Tensor, *args, beta=1, alpha=1) -> Tensor:
    """In-place ``baddbmm``: ``self = beta * self + alpha * (batch1 @ batch2)``, batch-wise.

    Example:
        >>> ember.zeros(1, 2, 2).baddbmm_(ember.ones(1, 2, 3), ember.ones(1, 3, 2))
        tensor([[[3., 3.],
                 [3., 3.]]])
    """
    from .matmul import baddbmm

    if args or not isinstance(batch1, Tensor):  # deprecated scalar-first overloads
        _, batch1, batch2, beta, a = legacy_beta_alpha(
            "baddbmm_", ("batch1", "batch2"), self, batch1, batch2, args)
        alpha = alpha if a is None else a

    return apply_inplace(self, baddbmm(self, batch1, batch2, beta=beta, alpha=alpha),
                         "baddbmm_")


def chain_matmul(*matrices, out=None) -> Tensor:
    """The product of 2-D matrices, left to right (deprecated in PyTorch: use
    ``ember.linalg.multi_dot``).

    Example:
        >>> ember.chain_matmul(ember.ones(2, 3), ember.ones(3, 4)).shape
        torch.Size([2, 4])
    """
    import warnings

    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
                  "release. Use torch.linalg.multi_dot instead, which accepts a list of two or "
                  "more tensors rather than multiple parameters.", UserWarning, stacklevel=2)
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        if m.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {m.ndim}, expected 2 instead.")
    for k in range(len(matrices) - 1):
        a, b = matrices[k], matrices[k + 1]
        if a.shape[1] != b.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {k} and {k + 1} with shapes "
                               f"{list(a.shape)} and {list(b.shape)} cannot be multiplied")
    res = matrices[0].clone() if len(matrices) == 1 else multi_dot(matrices)
    return res if out is None else out.copy_(res)


def multi_dot(tensors, *, out=None) -> Tensor:
    """Chain of matrix products (first may be 1-D, last may be 1-D).

    Example:
        >>> ember.linalg.multi_dot([ember.ones(2, 3), ember.ones(3, 4), ember.ones(4)]).shape
        torch.Size([2])
    """
    from .matmul import matmul

    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """Dot product along ``dim`` with broadcasting.

    Example:
        >>> ember.linalg.vecdot(ember.ones(2, 3), ember.ones(3))
        tensor([3., 3.])
    """
    if _amp.active and _autocast.state.active:
        return _autocast.call(vecdot, "linalg_vecdot", x, y, dim=dim)
    if x._dtype.category < D._FLOAT:
        raise RuntimeError("linalg.vecdot: Expected a floating point or complex tensor as input. "
                           f"Got {_type_title(x._dtype)}")
    if x._dtype is not y._dtype:
        raise RuntimeError("linalg.vecdot: Expected x and y to have the same dtype, but found x "
                           f"of type {_type_title(x._dtype)} and y of type "
                           f"{_type_title(y._dtype)} instead")
    return (x.conj() * y if x.is_complex() else x * y).sum(dim)


def matrix_power(A: Tensor, n: int) -> Tensor:
    """``A`` multiplied by itself ``n`` times (the inverse's power for negative ``n``).

    Example:
        >>> ember.linalg.matrix_power(ember.eye(2) * 2, 3)
        tensor([[8., 0.],
                [0., 8.]])
    """
    check_square("linalg.matrix_power", A, float_only=n < 0)
    if (n >= 2 or n < 0) and _amp.active and _autocast.state.active:
        # torch composes it: the inverse autocasts to float32, each product to the lower dtype
        if n < 0:
            from ... import linalg

            A, n = linalg.inv(A), -n
            if n == 1:
                return A
        return _autocast.call(matrix_power, "matmul", A, n)
    if n == 0:
        eye = np.broadcast_to(xp_of(A._data).eye(A.shape[-1], dtype=A._data.dtype),
                              A._data.shape)
        return Tensor._make(eye.copy(), A._dtype)
    if n < 0:
        A, n = inv(A), -n
    if n >= 2 and A._dtype in REFUSED["mm"]:
        refuse("mm" if A.ndim == 2 else "bmm", A._dtype)
    out, base = None, A
    while n:  # square-and-multiply
        if n & 1:
            out = base if out is None else Matmul.apply(out, base)
        n >>= 1
        if n:
            base = Matmul.apply(base, base)
    return out


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The diagonal of the matrices in ``A`` (a view).

    Example:
        >>> ember.linalg.diagonal(ember.eye(2))
        tensor([1., 1.])
    """
    return A.diagonal(offset=offset, dim1=dim1, dim2=dim2)


TENSOR_METHODS = {
    "inner": inner, "addr": addr, "addr_": addr_, "addmm_": addmm_, "trace": trace, "kron": kron,
    "cross": cross, "addmv_": addmv_, "addbmm_": addbmm_, "baddbmm_": baddbmm_,
}
