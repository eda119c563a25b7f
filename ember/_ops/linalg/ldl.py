"""The LDL^T factorization of symmetric (or Hermitian) indefinite matrices:
``linalg.ldl_factor``, ``ldl_factor_ex`` and ``ldl_solve``.

PyTorch calls LAPACK's ``sytrf``/``hetrf`` (Bunch–Kaufman diagonal pivoting, with 1x1 and 2x2
pivot blocks) and ``sytrs``/``hetrs``; its output *is* LAPACK's packed format (``L`` and ``D``
in the lower triangle, 1-based pivots, negative for 2x2 blocks), so only the same routine gives
the same ``LD`` and ``pivots``. NumPy does not expose them, but the OpenBLAS it loads carries
LAPACK's C interface (LAPACKE): ember calls those routines there, through ``ctypes``, as
``_blas`` does for BLAS. Where that library is not found (another BLAS, a GPU array) the ops say
so. As in PyTorch, neither op has a derivative.
"""

from __future__ import annotations

import ctypes
import re

import numpy as np

from ... import _dtype as D
from ..._backend import asarray_like, to_numpy
from ..._tensor import Tensor
from .._core import Op
from ..reduction.select import return_type
from .inv_solve_det import LinAlgError, check_square, empty_low_precision_ok

__all__ = ["ldl_factor", "ldl_factor_ex", "ldl_solve"]

_LETTER = {np.dtype(np.float32): "s", np.dtype(np.float64): "d",
           np.dtype(np.complex64): "c", np.dtype(np.complex128): "z"}
_COL_MAJOR = 102
_routines: dict = {}  # (letter + name) -> (C function, int type), filled on first use


def _lapacke(name: str):
    """``LAPACKE_<name>`` from the OpenBLAS NumPy loaded, with its integer type; None if absent."""
    if name in _routines:
        return _routines[name]
    found = None
    try:
        with open("/proc/self/maps") as f:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so[\w.\-]*)", f.read())))
    except OSError:
        paths = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "64_"), ("", "")):
            fn = getattr(lib, f"{prefix}LAPACKE_{name}{suffix}", None)
            if fn is not None:
                found = (fn, ctypes.c_int64 if suffix == "64_" else ctypes.c_int32)
                break
        if found:
            break
    _routines[name] = found
    return found


def _routine(name: str, a: np.ndarray, api: str):
    found = _lapacke(_LETTER[a.dtype] + name)
    if found is None:
        raise NotImplementedError(
            f"{api} needs LAPACK's {name} from the OpenBLAS that NumPy loads (NumPy's wheels "
            "ship it); none was found in this process")
    return found


def _factor(A: np.ndarray, hermitian: bool, api: str):
    """LAPACK's packed LDL^T of each matrix of ``A`` (its lower triangle): (LD, pivots, info)."""
    name = "hetrf" if hermitian and A.dtype.kind == "c" else "sytrf"
    fn, int_t = _routine(name, A, api)
    n = A.shape[-1]
    batch = A.shape[:-2]
    LD = np.tril(A)
    flat = LD.reshape((int(np.prod(batch, dtype=np.int64)), n, n))  # -1 fails when n is 0
    pivots = np.zeros((flat.shape[0], n), np.int64 if int_t is ctypes.c_int64 else np.int32)
    info = np.zeros(flat.shape[0], np.int32)
    for k in range(flat.shape[0]):
        a = np.asfortranarray(flat[k])
        piv = pivots[k]
        err = fn(ctypes.c_int(_COL_MAJOR), ctypes.c_char(b"L"), int_t(n),
                 a.ctypes.data_as(ctypes.c_void_p), int_t(max(n, 1)),
                 piv.ctypes.data_as(ctypes.c_void_p))
        if err < 0:
            raise RuntimeError(f"{api}: LAPACK {name} rejected argument {-err}")
        flat[k] = a
        info[k] = err
    return (flat.reshape(A.shape), pivots.astype(np.int32).reshape(batch + (n,)),
            info.reshape(batch))


def _solve(LD: np.ndarray, pivots: np.ndarray, B: np.ndarray, hermitian: bool, api: str):
    name = "hetrs" if hermitian and LD.dtype.kind == "c" else "sytrs"
    fn, int_t = _routine(name, LD, api)
    n, nrhs = LD.shape[-1], B.shape[-1]
    batch = np.broadcast_shapes(LD.shape[:-2], pivots.shape[:-1], B.shape[:-2])
    LDb = np.broadcast_to(LD, batch + LD.shape[-2:]).reshape((-1, n, n))
    pivb = np.broadcast_to(pivots, batch + pivots.shape[-1:]).reshape((-1, n))
    X = np.array(np.broadcast_to(B, batch + B.shape[-2:]), dtype=LD.dtype)
    flat = X.reshape((-1, n, nrhs))
    piv_t = np.int64 if int_t is ctypes.c_int64 else np.int32
    for k in range(flat.shape[0]):
        a = np.asfortranarray(LDb[k])
        piv = np.ascontiguousarray(pivb[k], dtype=piv_t)
        b = np.asfortranarray(flat[k])
        err = fn(ctypes.c_int(_COL_MAJOR), ctypes.c_char(b"L"), int_t(n), int_t(nrhs),
                 a.ctypes.data_as(ctypes.c_void_p), int_t(max(n, 1)),
                 piv.ctypes.data_as(ctypes.c_void_p), b.ctypes.data_as(ctypes.c_void_p),
                 int_t(max(n, 1)))
        if err < 0:
            raise RuntimeError(f"{api}: LAPACK {name} rejected argument {-err}")
        flat[k] = b
    return X


class _NoDerivative(Op):
    """Outputs computed elsewhere, recorded so that a backward through them raises PyTorch's
    error (``ldl_factor`` and ``ldl_solve`` have no derivative). Only the first output (``LD``
    or ``X``) is recorded; ``pivots`` and ``info`` are integers."""

    non_differentiable_outputs = (1, 2)

    @staticmethod
    def forward(ctx, *arrays, results, name):
        ctx.op_name = name
        return tuple(results) if len(results) > 1 else results[0]

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(f"derivative for aten::{ctx.op_name} is not implemented")


def _check_factor_input(api: str, A: Tensor) -> None:
    check_square(api, A, float_only=False)
    title = D.SCALAR_TYPE[A._dtype.name]
    if A._dtype.category < D._FLOAT:
        raise RuntimeError(f"{api}: Expected a floating point or complex tensor as input. "
                           f"Got {title}")
    if A._dtype.name not in ("float32", "float64", "complex64", "complex128"):
        raise NotImplementedError(f'"ldl_factor_kernel_cpu" not implemented for \'{title}\'')


_ldl_factor_ex_type = return_type("linalg_ldl_factor_ex", ("LD", "pivots", "info"))
_ldl_factor_type = return_type("linalg_ldl_factor", ("LD", "pivots"))


def _factor_tensors(A: Tensor, hermitian: bool, check_errors: bool, api: str):
    _check_factor_input("torch.linalg.ldl_factor_ex", A)  # ldl_factor's checks say _ex too
    # LAPACK runs on the host; a device tensor's data goes over and the results come back
    LD, pivots, info = _factor(to_numpy(A._data), hermitian, api)
    if check_errors or api == "torch.linalg.ldl_factor":
        bad = np.flatnonzero(info)
        if bad.size:
            k = int(info.reshape(-1)[bad[0]])
            where = f"(Batch element {int(bad[0])}): " if A.ndim > 2 else ""
            # PyTorch stops here with an internal assert ("Unknown error code"); say what it is
            raise LinAlgError(f"{api}: {where}The factorization could not be completed "
                              f"because the block diagonal matrix D has a zero at D[{k - 1}, "
                              f"{k - 1}]: the input matrix is singular.")
    results = tuple(asarray_like(r, A._data) for r in (LD, pivots, info))
    LD, pivots, info = results
    if A._requires_grad:
        return _NoDerivative.apply(A, results=results, name="linalg_ldl_factor_ex")
    return (Tensor._make(LD, A._dtype), Tensor._make(pivots, D.int32),
            Tensor._make(info, D.int32))


@empty_low_precision_ok
def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False, out=None):
    """``(LD, pivots, info)``: LAPACK's compact LDL^T factorization of a symmetric (Hermitian
    with ``hermitian=True``) matrix, from its lower triangle; ``info`` > 0 marks an exactly
    singular ``D`` (an error only with ``check_errors``).

    Example:
        >>> A = ember.tensor([[4., 1.], [1., 3.]])
        >>> LD, pivots, info = ember.linalg.ldl_factor_ex(A)
        >>> pivots
        tensor([1, 2], dtype=torch.int32)
    """
    return _ldl_factor_ex_type(*_factor_tensors(A, hermitian, check_errors,
                                                "torch.linalg.ldl_factor_ex"))


@empty_low_precision_ok
def ldl_factor(A: Tensor, *, hermitian: bool = False, out=None):
    """``(LD, pivots)``: the compact LDL^T factorization of a symmetric (or Hermitian) matrix,
    for ``ldl_solve``; ``L`` is unit lower triangular and ``D`` block diagonal (1x1 and 2x2
    blocks, Bunch–Kaufman pivoting as LAPACK's ``sytrf``).

    Example:
        >>> A = ember.tensor([[4., 1.], [1., 3.]])
        >>> LD, pivots = ember.linalg.ldl_factor(A)
        >>> X = ember.linalg.ldl_solve(LD, pivots, ember.ones(2, 1))
    """
    LD, pivots, _ = _factor_tensors(A, hermitian, True, "torch.linalg.ldl_factor")
    return _ldl_factor_type(LD, pivots)


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False,
              out=None) -> Tensor:
    """Solve ``A X = B`` from ``ldl_factor``'s ``(LD, pivots)`` of ``A``; batch dimensions
    broadcast.

    Example:
        >>> LD, pivots = ember.linalg.ldl_factor(ember.tensor([[4., 1.], [1., 3.]]))
        >>> ember.linalg.ldl_solve(LD, pivots, ember.tensor([[5.], [4.]]))
        tensor([[1.],
                [1.]])
    """
    api = "torch.linalg.ldl_solve"
    check_square(api, LD, float_only=False)
    if B.ndim < 2:
        from .._core import wrap_dim

        wrap_dim(-2, B.ndim)  # PyTorch's IndexError for a vector B
    if tuple(LD.shape[:-1]) != tuple(pivots.shape):
        raise RuntimeError(f"{api}: Expected LD.shape[:-1] and pivots.shape to be the same, but "
                           f"got pivots with shape {list(pivots.shape)} instead")
    if pivots._dtype.category >= D._FLOAT or pivots._dtype is D.bool:
        raise RuntimeError(f"{api}: Expected pivots to be integers. Got "
                           f"{D.SCALAR_TYPE[pivots._dtype.name]}")
    if B.shape[-2] != LD.shape[-1]:
        raise RuntimeError(f"Incompatible matrix sizes for {api}: each A matrix is "
                           f"{LD.shape[-1]} by {LD.shape[-1]} but each b matrix is "
                           f"{B.shape[-2]} by {B.shape[-1]}")
    if B._dtype is not LD._dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{D.SCALAR_TYPE[B._dtype.name]} and A of type "
                           f"{D.SCALAR_TYPE[LD._dtype.name]} instead.")
    if LD._dtype.name in ("float16", "bfloat16"):  # the solve kernel refuses it by its own name
        raise NotImplementedError(f'"ldl_solve_kernel_cpu" not implemented for '
                                  f'\'{D.SCALAR_TYPE[LD._dtype.name]}\'')
    _check_factor_input(api, LD)
    X = asarray_like(_solve(to_numpy(LD._data), to_numpy(pivots._data), to_numpy(B._data),
                            hermitian, api), B._data)
    if LD._requires_grad or B._requires_grad:
        return _NoDerivative.apply(LD, B, results=(X,), name="linalg_ldl_solve")
    return Tensor._make(X, B._dtype)
