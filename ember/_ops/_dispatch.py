"""Shared machinery for elementwise ops: promotion, device checks, ``out=`` and in-place writes.

Every binary op promotes its operands with ``_dtype.result_type`` *before* NumPy sees them, so
NumPy never picks a result dtype (``int32_array * 2.5`` would be float64 in NumPy, float32 in
PyTorch).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import _dtype as D
from .._errors import with_hint
from .._factory_args import _OUT_GRAD_HINT
from .._tensor import Tensor
from ..autograd import grad_mode
from ..autograd.forward_ad import _current as _forward_ad
from ._core import broadcast_shapes, opmath_graph
from .inplace import (
    _check_result,
    _type_title,
    apply_inplace,
    check_inplace,
    refuse_internal_overlap,
    refuse_vmap_mix,
    write_target,
)

_state = grad_mode._state
_NUMBER = (bool, int, float, complex, np.generic)


def _scalar(v, dt: D.dtype):
    """A Python number as an operand of dtype ``dt`` (ints wrap around as in PyTorch)."""
    if type(v) is int:
        D.check_int_scalar(v)
    if dt in D.SHELL and dt in D.FLOAT8:  # torch's float8 rounding, not ml_dtypes'
        return D.cast_float8(np.asarray(v, np.float64), dt)[()]
    if (dt is D.float16 or dt is D.bfloat16) and isinstance(v, float):
        v = np.float32(v)  # torch rounds a double to float32 before a half type
    elif type(v) is np.complex64 or type(v) is np.clongdouble:
        v = float(v)  # torch reads them as a double: NumPy's ComplexWarning, imaginary part lost
    try:
        return dt.np_dtype.type(v)
    except (OverflowError, ValueError, TypeError):
        with np.errstate(all="ignore"):
            return np.asarray(v).astype(dt.np_dtype)[()]


def _cast(x, dt: D.dtype):
    """Cast an operand (Tensor or Python number) to ``dt`` (differentiably for tensors)."""
    if isinstance(x, Tensor):
        return x if x._dtype is dt else x.to(dt)
    if isinstance(x, _NUMBER):
        return _scalar(x, dt)
    raise TypeError(
        f"unsupported operand type: expected a Tensor or a number, got {type(x).__name__}")


def promote(a, b, compute: D.dtype | None = None):
    """Cast two operands to their common dtype (or to ``compute``); returns (a, b, dtype)."""
    if type(a) is Tensor and type(b) is Tensor and a._dtype is b._dtype and compute is None:
        return a, b, a._dtype
    dt = compute or D.result_type(a, b)
    return _cast(a, dt), _cast(b, dt), dt


def check_devices(a, b):
    if isinstance(a, Tensor) and isinstance(b, Tensor) and type(a._data) is not type(b._data):
        da, db = a.device, b.device
        if da != db and da.type != "meta" and db.type != "meta":
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{da} and {db}! Move them with .to(device) first.")


def check_meta_mix(a, b):
    """torch's elementwise ops (and ``where``, ``cat``) refuse a meta tensor met with a CPU
    tensor that is not 0-d, naming the first operand's device as the expected one. (Its
    in-place ops and matmul let some such mixes through; ember leaves those alone.)"""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and type(a._data) is not type(b._data):
        da, db = a.device, b.device
        if (da.type == "meta") != (db.type == "meta"):
            host = b if da.type == "meta" else a
            if host.device.type == "cpu" and host._data.ndim:
                raise with_hint(RuntimeError(f"Tensor on device {db} is not on the expected "
                                             f"device {da}!"),
                                "a meta tensor has no data: make both meta, or both real")


def align_devices(a, b):
    """``(a, b)`` on one device: as in PyTorch, a 0-d CPU tensor may meet a tensor on another
    device (it moves there, differentiably); any other mix raises ``check_devices``' error."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and type(a._data) is not type(b._data):
        check_meta_mix(a, b)
        da, db = a.device, b.device
        if da != db and da.type != "meta" and db.type != "meta":
            if da.type == "cpu" and not a._data.ndim:
                return a.to(db), b
            if db.type == "cpu" and not b._data.ndim:
                return a, b.to(da)
            check_devices(a, b)
    return a, b


def _opmath_operand(x, cast):
    """The operand an ``opmath_scalar`` op gets for ``x`` when its result is float16/bfloat16:
    PyTorch's kernels keep a Python float (or a 0-d float32/float64 tensor) as a float32
    number, where ``promote`` would round it to the 2-byte type first (``x * 0.1``: 0.1 is
    0.100000001, not float16's 0.0999755859)."""
    if isinstance(x, (float, np.floating)):
        return np.float32(x)
    if isinstance(x, Tensor) and not x._data.ndim and (x._dtype is D.float32
                                                       or x._dtype is D.float64):
        return x.to(D.float32)
    return cast


def binary(cls, a, b, compute: D.dtype | None = None, **kwargs):
    """Run a binary op with promotion and PyTorch's broadcast error."""
    a, b = align_devices(a, b)
    a2, b2, dt = promote(a, b, compute)
    if (dt is D.float16 or dt is D.bfloat16) and cls.opmath_scalar:
        a3, b3 = _opmath_operand(a, a2), _opmath_operand(b, b2)
        if a3 is not a2 or b3 is not b2:
            # a number operand: float32 arithmetic on float32 copies, rounded once (forward
            # and backward); two 2-byte tensors need no copies (one rounding either way)
            try:
                return opmath_graph(cls, (a3, b3), kwargs)
            except ValueError as err:
                broadcast_shapes(np.shape(_raw(a3)), np.shape(_raw(b3)))
                raise err
    if dt in D.SHELL:  # kernels torch lacks for uint16/32/64 and float8
        if cls.__name__ in D.SHELL_BINARY_KERNELS:
            raise not_implemented_for(D.SHELL_BINARY_KERNELS[cls.__name__], dt)
        if cls.__name__ == "Mul" and dt in D.FLOAT8:
            # float8 * number, or * a 0-d tensor (torch's wrapped scalar) as the second operand
            if not (isinstance(a, Tensor) and isinstance(b, Tensor)) or not b._data.ndim:
                raise not_implemented_for("mul_cpu_reduced_float", dt)
            cls = cls.float8_form  # computes in float32 and rounds as torch does
    try:
        return cls.apply(a2, b2, **kwargs)
    except ValueError as err:
        try:
            shapes = np.shape(_raw(a2)), np.shape(_raw(b2))
        except TypeError:  # a payload with no array shape (a MaskedTensor's): the op's error
            raise err from None
        broadcast_shapes(*shapes)
        raise


def _raw(x):
    return x._data if isinstance(x, Tensor) else x


def _shape_of(x):
    return x._data.shape if isinstance(x, Tensor) else ()


def as_tensor(x, like=None) -> Tensor:
    """A Python number (or list) given where a tensor is expected, as a tensor.

    A number takes its own scalar dtype (``2`` -> int64, ``2.5`` -> the default float dtype);
    wrapped this way it still promotes like a number, because it is 0-d.
    """
    from .._creation import tensor

    device = like.device if isinstance(like, Tensor) else None
    if isinstance(x, _NUMBER):
        if type(x) is int:
            D.check_int_scalar(x)  # ``2**64 - t``: torch's OverflowError
        return tensor(x, dtype=D.scalar_dtype(x), device=device)
    return tensor(x, device=device)


def require_tensor(x, fname: str, arg: str = "input", pos: int = 1):
    """PyTorch's TypeError for a non-tensor where only a tensor is accepted."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{fname}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type_name(x)}")
    return x


def type_name(x) -> str:
    """The type name torch's argument errors give: NumPy's C types with their module
    (``numpy.int64``, ``numpy.bool``), Python classes by their bare name."""
    kind = type(x)
    return f"numpy.{kind.__name__}" if kind.__module__ == "numpy" else kind.__name__


def not_implemented_for(op: str, dt: D.dtype):
    """PyTorch's NotImplementedError for a dtype a kernel does not support."""
    return NotImplementedError(f'"{op}" not implemented for \'{_type_title(dt)}\'')


# -- kernels PyTorch lacks for uint16/32/64 and float8 ------------------------------------------
# NumPy computes on every dtype, PyTorch 2.13's CPU kernels do not: this table says, per op,
# which "shell" dtypes torch refuses and the kernel its NotImplementedError names. Ops consult
# it through ``refuse_shell`` behind a ``dtype in D.SHELL`` test, so other dtypes pay one set
# lookup. (Binary arithmetic is in ``D.SHELL_BINARY_KERNELS``, checked in ``binary``.)
# tests/test_dtypes_unsigned_float8_ops.py compares every row with torch.
_U, _F8 = D.UNSIGNED_SHELL, D.FLOAT8
_ALL = _U + _F8


def _vml(*names):
    return {name: (f"{name}_vml_cpu", _F8) for name in names}


_SHELL_KERNELS = {
    # unary float math: uint16/32/64 compute in float32 as other integers do; float8 is refused
    **_vml("exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sin", "cos", "tan",
           "asin", "acos", "atan", "tanh", "erf", "erfc", "erfinv", "floor",
           "ceil", "trunc"),
    "round": ("round_vml_cpu", _F8), "round_decimals": ("round_cpu", _ALL),
    "exp2": ("exp2", _F8), "rsqrt": ("rsqrt_cpu", _F8), "reciprocal": ("reciprocal_cpu", _F8),
    "sinh": ("sinh_cpu", _F8), "cosh": ("cosh_cpu", _F8), "asinh": ("asinh_cpu", _F8),
    "acosh": ("acosh_cpu", _F8), "atanh": ("atanh_cpu", _F8),
    "sigmoid": ("sigmoid_cpu_reduced_float", _F8), "deg2rad": ("mul_cpu_reduced_float", _F8),
    "rad2deg": ("mul_cpu_reduced_float", _F8), "angle": ("angle_cpu", _F8),
    "abs": ("abs_cpu", _U + (D.float8_e8m0fnu,)), "sign": ("sign_cpu", _ALL),
    "square": ("pow", _ALL), "signbit": ("signbit_cpu", _F8), "nan_to_num": ("nan_to_num", _F8),
    "isinf": ("isinf", (D.float8_e4m3fn, D.float8_e4m3fnuz, D.float8_e5m2fnuz,
                        D.float8_e8m0fnu)),
    "isfinite": ("isfinite", (D.float8_e4m3fn, D.float8_e4m3fnuz, D.float8_e5m2fnuz)),
    "isclose": ("mul_cpu_reduced_float", _F8),
    "clamp": ("clamp_scalar_cpu", _ALL), "clamp_min": ("clamp_min_scalar_cpu", _ALL),
    "clamp_max": ("clamp_max_scalar_cpu", _ALL), "clamp_tensor": ("clamp_cpu", _ALL),
    "clamp_min_tensor": ("maximum_cpu", _ALL), "clamp_max_tensor": ("minimum_cpu", _ALL),
    "div_floor": ("div_floor_cpu", _ALL), "div_trunc": ("div_trunc_cpu", _ALL),
    "isposinf": ("isposinf_cpu", _F8), "isneginf": ("isneginf_cpu", _F8),
    "frexp": ("frexp_cpu", _F8),
    "logical_not": ("logical_not_cpu", _ALL), "logical_and": ("logical_and_cpu", _ALL),
    "logical_or": ("logical_or_cpu", _ALL), "logical_xor": ("logical_xor_cpu", _ALL),
    "bitwise_not": ("bitwise_not_cpu", _U), "lshift": ("lshift_cpu", _U),
    "rshift": ("rshift_cpu", _U), "gcd": ("gcd_cpu", _U), "lcm": ("lcm_cpu", _U),
    "heaviside": ("heaviside_cpu", _ALL), "nextafter": ("nextafter_cpu", _ALL),
    "logaddexp": ("logaddexp_cpu", _ALL), "logaddexp2": ("logaddexp2_cpu", _ALL),
    "copysign": ("copysign_cpu", _F8), "xlogy": ("xlogy_cpu", _F8),
    "fmax": ("fmax_cpu", _F8), "fmin": ("fmin_cpu", _F8),
    "addcmul": ("addcmul_cpu_out", _ALL), "addcdiv": ("addcdiv_cpu_out", _F8),
    "lerp": ("lerp_kernel_scalar", _F8),
    # special functions (float8 only: the unsigned types compute in float32)
    "lgamma": ("lgamma_vml_cpu", _F8), "digamma": ("digamma", _F8),
    "polygamma1": ("trigamma", _F8), "polygamma": ("polygamma", _F8),
    "mvlgamma": ("arange_cpu", _F8), "i0": ("i0_vml_cpu", _F8), "sinc": ("sinc_cpu", _F8),
    "special_i0e": ("i0e_cpu", _F8), "special_i1": ("i1_cpu", _F8),
    "special_i1e": ("i1e_cpu", _F8), "special_erfcx": ("erfcx_cpu", _F8),
    "special_ndtri": ("ndtri_cpu", _F8), "special_log_ndtr": ("log_ndtr_cpu", _F8),
    "special_entr": ("entr_cpu", _F8),
    # reductions
    "sum": ("sum_cpu", _F8), "nansum": ("nansum_cpu", _F8), "prod": ("prod_out_cpu", _F8),
    "max_all": ("max_all", _ALL), "min_all": ("min_all", _ALL), "max": ("max_cpu", _ALL),
    "min": ("min_cpu", _ALL), "amax": ("max_values_cpu", _ALL),
    "amin": ("min_values_cpu", _ALL), "aminmax": ("aminmax_cpu", _ALL),
    "argmax": ("argmax_cpu", _ALL), "argmin": ("argmin_cpu", _ALL),
    "cumsum": ("cumsum_out_cpu", _F8), "cumprod": ("cumprod_out_cpu", _F8),
    "cummax": ("cummax_cpu", _ALL), "cummin": ("cummin_cpu", _ALL),
    "logcumsumexp": ("logcumsumexp_out_cpu", _ALL), "median": ("median_cpu", _ALL),
    "median_dim": ("median_out", _ALL),
    "mode": ("mode_cpu", _ALL), "count_nonzero": ("nonzero_count_cpu", _ALL),
    "norm": ("norm_cpu", _F8),
    # sorting and searching
    "sort": ("sorting_kernel_method_name", _F8), "topk": ("topk_cpu", _ALL),
    "kthvalue": ("kthvalue_cpu", _ALL), "unique": ("unique", _F8),
    "searchsorted": ("searchsorted_out_cpu", _ALL), "isin": ("isin_default_cpu", _ALL),
    "bincount": ("bincount_cpu", _ALL), "histc_range": ("linspace_cpu", _ALL),
    # indexing
    "gather": ("scatter_gather_tensor_cpu", _ALL), "scatter": ("scatter_gather_tensor_cpu", _ALL),
    "gather_flat": ("gather_expanded_index", _F8),
    "scatter_value": ("scatter_gather_scalar_cpu", _ALL),
    "scatter_reduce_sum": ("scatter_gather_tensor_cpu", _ALL),
    "scatter_reduce_prod": ("scatter_gather_tensor_cpu", _ALL),
    "scatter_reduce_mean": ("scatter_gather_tensor_cpu_reduce_mean", _ALL),
    "scatter_reduce_amax": ("scatter_gather_tensor_cpu_reduce_amax", _ALL),
    "scatter_reduce_amin": ("scatter_gather_tensor_cpu_reduce_amin", _ALL),
    "scatter_reduce_exclude_self": ("scatter_reduce_exclude_input_init", _ALL),
    "index_reduce_amax": ("maximum_cpu", _ALL), "index_reduce_amin": ("minimum_cpu", _ALL),
    "index_reduce_mean": ("add_stub", _ALL),
    "index_reduce_exclude_self": ("index_reduce_func_exclude_input_init", _ALL),
    "index_select": ("index_select", _U),
    "index_put": ("index_put", _U + (D.float8_e8m0fnu,)),
    "index_copy": ("index_copy_cpu", _ALL), "index_fill": ("index_fill_cpu", _ALL),
    "masked_fill": ("masked_fill", _ALL),
    "masked_scatter": ("masked_scatter", _ALL), "masked_select": ("masked_select", _U),
    "take": ("take_cpu", _ALL), "put": ("take_put_cpu", _ALL),
    "nonzero": ("nonzero_count_cpu", _ALL),
    # shape
    "flip": ("flip_cpu", _ALL), "tril": ("tril", _ALL), "triu": ("triu", _ALL),
}
_SHELL_REFUSALS = {op: dict.fromkeys(dts, kernel) for op, (kernel, dts) in _SHELL_KERNELS.items()}


def refuse_shell(op: str, dt: D.dtype) -> None:
    """Raise PyTorch's NotImplementedError when torch has no ``op`` kernel for ``dt``.

    Callers test ``dt in D.SHELL`` first, so the common dtypes never get here.
    """
    kernel = _SHELL_REFUSALS[op].get(dt)
    if kernel is not None:
        raise not_implemented_for(kernel, dt)


# -- kernels PyTorch lacks for bool, integer and complex inputs (and products on the shell) ---
# The same one-table style for the common dtypes: per op, the dtypes torch 2.13's CPU kernel
# refuses and the kernel its NotImplementedError names. Ops call ``refuse`` on the dtype they
# compute in; it is one dict lookup, and hot paths (matmul, conv) call it only behind a
# ``dtype in REFUSED[op]`` test. tests/ops/test_dtype_refusals.py compares every row with torch.
_B = (D.bool,)
_INT = (D.uint8, D.int8, D.int16, D.int32, D.int64)
_C = (D.complex64, D.complex128)

_KERNELS = {
    "addcmul": ("addcmul_cpu_out", _B), "clamp_tensor": ("clamp_cpu", _B),
    "div_floor": ("div_floor_cpu", _B + _C), "div_trunc": ("div_trunc_cpu", _B + _C),
    "fmod": ("fmod_cpu", _B + _C), "remainder": ("remainder_cpu", _B + _C),
    "logaddexp": ("logaddexp_cpu", _B + _INT), "logaddexp2": ("logaddexp2_cpu", _B + _INT + _C),
    "hardshrink": ("hardshrink_cpu", _B + _INT + _C),
    # products: torch's float8 (all but e8m0fnu) has an mm loop and nothing else
    "cross": ("cross", _B), "trace": ("trace", _B + _ALL), "dot": ("dot", _B + _ALL),
    "mv": ("addmv_impl_cpu", _B + _ALL), "bmm": ("bmm", _B + _ALL),
    "mm": ("addmm_impl_cpu_", _B + _U + (D.float8_e8m0fnu,)),
    "kthvalue": ("kthvalue_cpu", _B + _C),
    "conv": ("slow_conv2d_cpu", _B), "conv_dilated": ("slow_conv_dilated<>", _B + _INT[:-1]),
    "conv3d": ("compute_columns3d", _B),
    "conv_transpose2d": ("slow_conv_transpose2d_out_cpu", _B + _INT[:-1]),
    "conv_transpose3d": ("slow_conv_transpose3d_out_cpu", _B + _INT[:-1]),
    "reflection_pad1d": ("reflection_pad1d", _B), "reflection_pad2d": ("reflection_pad2d", _B),
    "reflection_pad3d": ("reflection_pad3d", _B),
    "replication_pad1d": ("replication_pad1d", _B),
    "replication_pad2d": ("replication_pad2d", _B),
    "replication_pad3d": ("replication_pad3d", _B),
    "col2im": ("col2im_out_cpu", _INT), "im2col": ("im2col_out_cpu", _INT),
    "cdist": ("cdist", (D.float16, D.bfloat16)),
    "scatter_reduce_mean": ("scatter_gather_tensor_cpu_reduce_mean", _B),
    "scatter_reduce_amax": ("scatter_gather_tensor_cpu_reduce_amax", _C),
    "scatter_reduce_amin": ("scatter_gather_tensor_cpu_reduce_amin", _C),
    "eigh": ("linalg_eigh_cpu", _B + _INT + (D.float16, D.bfloat16)),
}
_REFUSALS = {op: dict.fromkeys(dts, kernel) for op, (kernel, dts) in _KERNELS.items()}
# the dtypes each op refuses, for the hot paths' cheap membership test
REFUSED = {op: frozenset(dts) for op, (_, dts) in _KERNELS.items()}


def refuse(op: str, dt: D.dtype) -> None:
    """Raise PyTorch's NotImplementedError when torch's CPU ``op`` kernel has no loop for
    ``dt`` (bool, integer or complex; uint16/32/64 and float8 are ``refuse_shell``'s)."""
    kernel = _REFUSALS[op].get(dt)
    if kernel is not None:
        raise not_implemented_for(kernel, dt)


def refuse_pair(op: str, input: Tensor, other) -> None:
    """``refuse`` on the dtype ``input`` and ``other`` compute in; promotion is worked out only
    when an operand's dtype (or a complex number) could lead to a refused one."""
    refused = REFUSED[op]
    if input._dtype in refused or (other._dtype in refused if isinstance(other, Tensor)
                                   else isinstance(other, complex)):
        refuse(op, D.result_type(input, other))


# -- out= and in-place ---------------------------------------------------------------------

def finish_out(result: Tensor, out: Tensor | None, name: str, *inputs) -> Tensor:
    """Write ``result`` into ``out`` (PyTorch's ``out=``): same-kind cast, resize when needed."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if out._inference:  # out= writes in place, which inference tensors refuse outside the mode
        from .inplace import check_inplace

        check_inplace(out)
    if _state.enabled and (out._requires_grad or any(
            isinstance(x, Tensor) and x._requires_grad for x in inputs)):
        raise with_hint(RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."), _OUT_GRAD_HINT)
    if result._dtype is not out._dtype and not D.can_cast(result._dtype, out._dtype):
        raise RuntimeError(f"result type {_type_title(result._dtype)} can't be cast to the "
                           f"desired output type {_type_title(out._dtype)}")
    if out._data.shape != result._data.shape:
        if out._data.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(out._data.shape)}, which does not match the required output shape "
                f"{list(result._data.shape)}. This behavior is deprecated; pass an empty out "
                "tensor or one of the right shape.", UserWarning, stacklevel=3)
        out._data = result._data.astype(out._dtype.np_dtype, copy=True)
    elif out.device.type != "meta":  # (a meta tensor has no data to write)
        refuse_internal_overlap(out)
        np.copyto(write_target(out._data), result._data, casting="unsafe")
    out._vbox[0] += 1
    return out


def no_autograd(t: Tensor, other=None) -> bool:
    """True when an in-place op on ``t`` needs no graph bookkeeping (the fast path)."""
    if _forward_ad["level"] is not None and not _forward_ad["paused"] and (
            "_fw_tangent" in t.__dict__
            or isinstance(other, Tensor) and "_fw_tangent" in other.__dict__):
        return False  # tangents must follow the write (forward-mode AD)
    if not _state.enabled:
        return type(t._data) is np.ndarray
    if t._requires_grad or (isinstance(other, Tensor) and other._requires_grad):
        return False
    return type(t._data) is np.ndarray


_OPMATH_UFUNCS = (np.multiply, np.true_divide, np.floor_divide)


def inplace_ufunc(t: Tensor, ufunc, other, name: str, outplace):
    """``t = ufunc(t, other)`` in place. Without autograd it writes straight into ``t``'s
    memory (no temporary, no copy); otherwise it goes through ``apply_inplace``."""
    if no_autograd(t, other):
        if isinstance(other, Tensor):
            check_devices(t, other)
            if other._vmap_levels:
                refuse_vmap_mix(t, other, name)
            dt = t._dtype if other._dtype is t._dtype else D.result_type(t, other)
        else:
            dt = D.result_type(t, other)
        # uint16/32/64 and float8 take the out-of-place op, which refuses what torch refuses
        # a 2-byte float times/over a number: the out-of-place op's float32 arithmetic
        low = (dt is D.float16 or dt is D.bfloat16) and ufunc in _OPMATH_UFUNCS
        if dt is t._dtype and (dt not in D.SHELL or outplace is None) and not low:
            o = _cast(other, dt)
            o = o._data if isinstance(o, Tensor) else o
            oshape = np.shape(o)
            if oshape != t._data.shape and len(oshape):
                _check_result(t, dt, broadcast_shapes(t._data.shape, oshape), name)
            check_inplace(t)
            refuse_internal_overlap(t, name)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ufunc(t._data, o, out=write_target(t._data))
            t._vbox[0] += 1
            return t
    return apply_inplace(t, outplace(), name)
