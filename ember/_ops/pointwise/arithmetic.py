"""Elementwise arithmetic with PyTorch's type promotion: ``add``, ``sub``, ``mul``, ``div``,
``neg``, ``floor_divide``, ``remainder``, ``fmod`` and the fused ``addcmul``/``addcdiv``.

The public functions promote operands with ``_dtype.result_type`` before forward runs, so
NumPy never picks a result dtype. Broadcasting's adjoint is ``unbroadcast``. The other binary
families (``binary_math``: atan2, maximum, lerp ...; ``bitwise``: bitwise and logical ops;
``power``) live in their own modules.
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._backend import as_array
from ..._creation import checked_scalar
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import (
    Op,
    _named,
    array_tensor,
    as_tensor_arg,
    is_low_float,
    list_inputs,
    set_node_name,
    unbroadcast,
    zeros_grad,
)
from .._dispatch import (
    REFUSED,
    _raw,
    _shape_of,
    as_tensor,
    binary,
    finish_out,
    inplace_ufunc,
    no_autograd,
    not_implemented_for,
    refuse,
    refuse_pair,
    refuse_shell,
)
from .._legacy_overloads import legacy_scalar_first
from ..inplace import apply_inplace
from .complex import conj

_state = grad_mode._state

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
           "floor_divide", "remainder", "fmod", "neg", "negative", "addcmul", "addcdiv", "neg_",
           "negative_", "rsub"]


_F32 = np.dtype(np.float32)


def fused_multiply_add(x, y, z):
    """``x * y + z`` rounded once, for float32 operands, as PyTorch's vectorised CPU kernels
    compute it (one ``fmadd``): the product of two float32 numbers is exact in float64, so the
    float64 sum is the only rounding but for the cast back (which differs from a true fused
    multiply-add only when the float64 sum falls exactly halfway between two float32 numbers).
    ``alpha=`` of add/sub, ``addcmul`` and ``lerp`` take this path on float32; NumPy's two
    roundings gave a different last bit for ~20% of elements."""
    return (np.multiply(x, y, dtype=np.float64) + z).astype(np.float32)


def _two_sum(a: np.ndarray, b: np.ndarray):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_prod(a: np.ndarray, b: np.ndarray):
    def split(v):  # Veltkamp: two halves of 26 bits
        c = 134217729.0 * v
        hi = c - (c - v)
        return hi, v - hi

    p = a * b
    (ah, al), (bh, bl) = split(a), split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def fused_multiply_add64(a, b, c) -> np.ndarray:
    """``a * b + c`` in float64 with one rounding, as a hardware fused multiply-add gives it.

    a * b = p + ep and c + p = s + es exactly; es + ep is then rounded to odd (an inexact sum
    moves to its odd neighbour), which keeps the final ``s + t`` a single correct rounding.

    Example:
        >>> float(fused_multiply_add64(0.1, 3.0, -0.3))  # two roundings: 5.551115123125783e-17
        2.7755575615628914e-17
    """
    a, b, c = (np.asarray(v, np.float64) for v in (a, b, c))
    p, ep = _two_prod(a, b)
    s, es = _two_sum(c, p)
    t, et = _two_sum(es, ep)
    with np.errstate(invalid="ignore"):
        odd = (et != 0) & ((t.view(np.int64) & 1) == 0)
    t = np.where(odd, np.nextafter(t, np.where(et > 0, np.inf, -np.inf)), t)
    # inf/nan operands: the error terms are nan, the plain product is the answer
    return np.where(np.isfinite(s + t), s + t, a * b + c)


def _all_f32(*arrays) -> bool:
    return all(type(a) is np.ndarray and a.dtype == _F32 for a in arrays)


# PyTorch's CPU loops over 2-byte floats: 32 elements per vectorised step, the rest of each
# inner run one by one; a range of more than 32768 elements is split among the threads
_VEC_LOW = 32
_GRAIN = 32768


def _scalar_loop_mask(shape, arrays):
    """Which elements of a C-contiguous result of ``shape`` PyTorch's CPU loop computes one at
    a time: the last ``len % 32`` of each inner run. A run is one innermost row after merging
    the dimensions every operand walks contiguously (a 0-d or same-shape contiguous operand
    merges them all), cut where the range is split among threads. None when there is no such
    element, or when an operand is laid out otherwise (PyTorch may then reorder dimensions).

    Example:
        >>> int(_scalar_loop_mask((40,), [np.zeros(40), np.zeros(())]).sum())
        8
    """
    from ..._threads import num_threads

    n = int(np.prod(shape))
    if n == 0:
        return None
    dims = [d for d in range(len(shape)) if shape[d] != 1]
    out_strides = np.cumprod((1,) + tuple(shape[:0:-1]))[::-1]
    walks = [[int(out_strides[d]) for d in dims]]
    for arr in arrays:
        arr = np.asarray(arr)
        if arr.ndim == 0:
            continue
        if not arr.flags.c_contiguous:
            return None
        view = np.broadcast_to(arr, shape)
        walks.append([view.strides[d] // view.itemsize for d in dims])
    inner = 1
    for k in range(len(dims) - 1, -1, -1):
        inner *= shape[dims[k]]
        if k == 0 or not all(w[k - 1] == w[k] * shape[dims[k]] for w in walks):
            break
    idx = np.arange(n)
    start, end = idx - idx % inner, idx - idx % inner + inner
    if n > _GRAIN:
        tasks = min(num_threads(), -(-n // _GRAIN))
        chunk = -(-n // tasks)
        start = np.maximum(start, idx - idx % chunk)
        end = np.minimum(end, np.minimum(idx - idx % chunk + chunk, n))
    length = end - start
    mask = idx - start >= length - length % _VEC_LOW
    return mask.reshape(shape) if mask.any() else None


def _low_alpha_sum(a, b, alpha):
    """``a + alpha * b`` for float16/bfloat16 operands as PyTorch computes it: ``alpha`` is
    rounded to the operands' 2-byte dtype, the rest is float32 arithmetic rounded once; its
    scalar loop (see ``_scalar_loop_mask``) rounds ``alpha * b`` to the 2-byte dtype first.

    Example:
        >>> a, b = np.array([13 / 7], np.float16), np.array([39 / 7], np.float16)
        >>> float(_low_alpha_sum(a, b, 0.3)[0])  # one element: the scalar loop
        3.52734375
        >>> float(_low_alpha_sum(np.repeat(a, 32), b, 0.3)[0])  # vectorised
        3.529296875
    """
    low = a.dtype if is_low_float(a) else b.dtype
    w = np.float32(np.asarray(np.float32(alpha)).astype(low))
    a32, b32 = np.asarray(a, np.float32), np.asarray(b, np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        out = (a32 + b32 * w).astype(low)
        mask = _scalar_loop_mask(out.shape, (a, b))
        if mask is not None:
            stepwise = (a32 + (b32 * w).astype(low).astype(np.float32)).astype(low)
            out = np.where(mask, stepwise, out)
    return out


class Add(Op):
    reads_input_meta = True  # backward reads the inputs' shapes only (Op._free)
    alpha = 1
    _saved_fields = {"alpha": ("attr", "alpha")}  # grad_fn._saved_alpha, as PyTorch names it

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        if alpha == 1:
            return a + b
        ctx.alpha = alpha
        if _all_f32(a, b) and not isinstance(alpha, complex):
            return fused_multiply_add(b, np.float32(alpha), a)
        if is_low_float(a) or is_low_float(b):
            return _low_alpha_sum(a, b, alpha)
        return a + b * alpha

    @staticmethod
    def backward(ctx, grad):
        sa, sb = (_shape_of(x) for x in ctx.inputs)
        ga = unbroadcast(grad, sa) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(grad if ctx.alpha == 1 else grad * _conj(ctx.alpha), sb)
        return ga, gb


class Sub(Op):
    reads_input_meta = True  # backward reads the inputs' shapes only (Op._free)
    alpha = 1
    _saved_fields = Add._saved_fields
    # number - tensor is torch's rsub.Scalar (RsubBackward1): it lists only the tensor
    listed_inputs = staticmethod(lambda inputs: (0, 1) if isinstance(inputs[0], Tensor) else (1,))

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        if ctx._record and not isinstance(ctx.inputs[0], Tensor):
            ctx._name = "RsubBackward1"  # number - tensor, as torch names it
        if alpha == 1:
            return a - b
        ctx.alpha = alpha
        if _all_f32(a, b) and not isinstance(alpha, complex):
            return fused_multiply_add(b, -np.float32(alpha), a)
        if is_low_float(a) or is_low_float(b):
            return _low_alpha_sum(a, b, -alpha)
        return a - b * alpha

    @staticmethod
    def backward(ctx, grad):
        sa, sb = (_shape_of(x) for x in ctx.inputs)
        ga = unbroadcast(grad, sa) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(-grad if ctx.alpha == 1 else grad * -_conj(ctx.alpha), sb) \
            if ctx.needs_input_grad[1] else None
        return ga, gb


def _requires_grad(x) -> bool:
    return isinstance(x, Tensor) and x._requires_grad


_C64 = np.dtype(np.complex64)


def _complex64_product(a, b) -> np.ndarray:
    """complex64 products as torch's vectorised kernel forms them: the four real products
    rounded one by one, then ``(ac - bd) + (ad + bc)i``. NumPy fuses them (FMA), which moves
    the last bit and leaves ``z * z.conj()`` a non-zero imaginary part (torch's is 0)."""
    a, b = np.asarray(a, _C64), np.asarray(b, _C64)
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), _C64)
    np.subtract(a.real * b.real, a.imag * b.imag, out=out.real)
    np.add(a.real * b.imag, a.imag * b.real, out=out.imag)
    return out


class Mul(Op):
    _saved_fields = {"self": 0, "other": 1}  # grad_fn._saved_self / _saved_other
    opmath_scalar = True  # float16/bfloat16 times a number: float32 arithmetic (_dispatch.binary)

    @staticmethod
    def forward(ctx, a, b):
        # each operand only when the other one needs a gradient (the gradient of one is the
        # other), as PyTorch: ``y[0] = y[0] * 3`` may then change ``y`` in place; written
        # out, not as a helper call, because Mul is the hottest op there is
        ta, tb = ctx.inputs
        ctx.save_for_backward(ta if getattr(tb, "_requires_grad", False) else None,
                              tb if getattr(ta, "_requires_grad", False) else None)
        out = a * b
        if out.dtype is _C64 and isinstance(out, (np.ndarray, np.generic)):
            return _complex64_product(a, b)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        if not _state.enabled and type(grad._data) is np.ndarray:
            # first-order backward: multiply the arrays, without recording ops
            g, dt = grad._data, grad._dtype
            ga = gb = None
            if need[0]:
                rb = _raw(b)
                if dt.is_complex:  # PyTorch's convention: grad times the conjugate derivative
                    rb = np.conj(rb)
                ga = unbroadcast(array_tensor(g * rb, dt), _shape_of(ctx.inputs[0]))
            if need[1]:
                ra = _raw(a)
                if dt.is_complex:
                    ra = np.conj(ra)
                gb = unbroadcast(array_tensor(g * ra, dt), _shape_of(ctx.inputs[1]))
            return ga, gb
        ga = unbroadcast(grad * _conj(b), _shape_of(ctx.inputs[0])) if need[0] else None
        gb = unbroadcast(grad * _conj(a), _shape_of(ctx.inputs[1])) if need[1] else None
        return ga, gb


class Float8Mul(Mul):
    """float8 * float8 as torch computes it: the product in float32, rounded back with torch's
    float8 rules (saturation for e4m3fn, 2**-127 for a zero e8m0fnu), not ml_dtypes'."""

    _name = "MulBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(*ctx.inputs)
        wide = a.astype(np.float32) * b.astype(np.float32)
        return D.cast_float8(wide, D.from_numpy_dtype(a.dtype))


Mul.float8_form = Float8Mul


def _conj(x):
    """The complex conjugate of a saved operand (itself when real): complex gradients are
    conjugate Wirtinger derivatives, so a holomorphic op's backward multiplies by the
    conjugate of its derivative."""
    if isinstance(x, Tensor):
        return conj(x) if x._dtype.is_complex else x
    # a Python number reaches here as a NumPy scalar; it goes on as a Python complex, since
    # ops read a NumPy complex64 argument as a double (torch's parser does)
    return complex(x).conjugate() if isinstance(x, (complex, np.complexfloating)) else x


class Div(Op):
    _saved_fields = Mul._saved_fields
    opmath_scalar = True

    @staticmethod
    def forward(ctx, a, b):
        # the numerator only matters to the denominator's gradient (as in PyTorch: so
        # ``y[0] = y[0] / 3`` may change ``y`` in place afterwards)
        ta, tb = ctx.inputs
        ctx.save_for_backward(ta if _requires_grad(tb) else None, tb)
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        sa, sb = (_shape_of(x) for x in ctx.inputs)
        a, b = _conj(a), _conj(b)
        ga = unbroadcast(grad / b, sa) if ctx.needs_input_grad[0] else None
        # PyTorch's grouping, -grad * ((a / b) / b): in float16 each step rounds, so the
        # grouping shows in the last bit (and a / b / b overflows later than b * b)
        gb = unbroadcast(-grad * ((a / b) / b), sb) if ctx.needs_input_grad[1] else None
        return ga, gb


def _check_int_zero(a, b):
    if as_array(b).dtype.kind in "iub" and as_array(a).dtype.kind in "iub" \
            and not np.all(b):
        raise RuntimeError("ZeroDivisionError")


class DivMode(Op):
    """Division rounded toward zero or down; its gradient is zero almost everywhere."""
    holds_saved = True  # PyTorch's DivBackward2 saves both operands (Op._free)
    _name = "DivBackward2"  # torch's node for div with a rounding mode
    opmath_scalar = True

    @staticmethod
    def forward(ctx, a, b, mode):
        _check_int_zero(a, b)
        ctx.shapes = (np.shape(a), np.shape(b))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if mode == "floor":
                return np.floor_divide(a, b)
            if as_array(a).dtype.kind in "iub":
                q = np.floor_divide(a, b)
                # floor and trunc differ by one where the division is inexact and signs differ
                fix = (np.remainder(a, b) != 0) & ((as_array(a) < 0) != (as_array(b) < 0))
                return q + fix.astype(q.dtype)
            return np.trunc(a / b)

    @staticmethod
    def backward(ctx, grad):
        # torch: zeros_like, +0.0 for a negative or NaN gradient too
        return tuple(zeros_grad(grad, s) if need else None
                     for s, need in zip(ctx.shapes, ctx.needs_input_grad))


class FloorDivide(Op):
    opmath_scalar = True

    @staticmethod
    def forward(ctx, a, b):
        _check_int_zero(a, b)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.floor_divide(a, b)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::floor_divide is not implemented; use "
                           "ember.div(a, b, rounding_mode='floor') for a zero gradient")


class _Mod(Op):
    """Remainder after division rounded by ``rounding``: ``a - b * div(a, b, rounding)``."""
    reads_input_meta = True  # the dividend's gradient reads its shape only (Op._free)

    ufunc = rounding = None

    @classmethod
    def forward(cls, ctx, a, b):
        _check_int_zero(a, b)
        # the dividend's gradient is the incoming one: the operands matter only to the
        # divisor's (saved only then, as PyTorch)
        if _requires_grad(ctx.inputs[1]):
            ctx.save_for_backward(*ctx.inputs)
        with np.errstate(divide="ignore", invalid="ignore"):
            return cls.ufunc(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        sa, sb = (_shape_of(x) for x in ctx.inputs)
        ga = unbroadcast(grad, sa) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            a, b = ctx.saved_tensors
            gb = unbroadcast(-grad * div(a, b, rounding_mode=cls.rounding), sb)
        return ga, gb


def _remainder(a, b):
    """NumPy's remainder with PyTorch's zero: ``fmod``'s (the dividend's sign), where NumPy
    gives the divisor's sign (``-0.0 % 0.7`` is -0.0 in torch, 0.0 in NumPy). Nonzero values
    are the same in both: ``fmod``, plus ``b`` where the signs differ."""
    out = np.remainder(a, b)
    if out.dtype.kind == "f":
        zero = out == 0
        if zero.any():
            out = np.where(zero, np.copysign(out, a), out)
    return out


class Remainder(_Mod):
    """Python's ``%`` (the sign of the divisor)."""

    ufunc, rounding = staticmethod(_remainder), "floor"


class Fmod(_Mod):
    """C's ``fmod`` (the sign of the dividend)."""

    ufunc, rounding = np.fmod, "trunc"


def _sparse_layout(*xs) -> bool:
    from ..._layout import strided

    return any(isinstance(x, Tensor) and x.layout is not strided for x in xs)


def _sparse_form(name, input, other, alpha=1):
    """``torch.add/sub/mul/div(...)`` with a sparse (COO/CSR/CSC) operand: the sparse layout's
    own method, as the operator form runs it (the dense kernels refuse sparse payloads)."""
    if name == "mul":
        return input.mul(other) if _sparse_layout(input) else other.mul(input)
    if name == "div" or _sparse_layout(input):
        return input.div(other) if name == "div" else getattr(input, name)(other, alpha=alpha)
    scaled = other if alpha == 1 else other * alpha
    return input + scaled if name == "add" else input - scaled


def add(input, other, *args, alpha=1, out=None) -> Tensor:
    """``input + alpha * other`` with broadcasting and PyTorch's type promotion.

    Example:
        >>> ember.add(ember.tensor([1, 2]), 1.5)
        tensor([2.5000, 3.5000])
    """
    if args:  # add(Tensor input, Number alpha, Tensor other)
        alpha, (other,) = legacy_scalar_first(
            "add", "Tensor input, Number alpha, Tensor other",
            "Tensor input, Tensor other, *, Number alpha = 1", other, args, 1)
    if not isinstance(input, Tensor):
        input = as_tensor(input, other)
    if alpha != 1 or type(alpha) is not int:  # alpha=1.0 or True is checked too, as torch
        alpha = _check_alpha(alpha, input, other)
    try:
        result = binary(Add, input, other, alpha=alpha)
    except NotImplementedError:
        if out is None and _sparse_layout(input, other):
            return _sparse_form("add", input, other, alpha)
        raise
    return result if out is None else finish_out(result, out, "add", input, other)


def _check_sub(input, other):
    a_bool = isinstance(input, Tensor) and input._dtype is D.bool or isinstance(input, bool)
    b_bool = isinstance(other, Tensor) and other._dtype is D.bool or isinstance(other, bool)
    if a_bool and b_bool:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
            "`^` or `logical_xor()` operator instead.")
    if a_bool or b_bool:
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def sub(input, other, *args, alpha=1, out=None) -> Tensor:
    """``input - alpha * other`` with broadcasting and promotion.

    Example:
        >>> ember.sub(ember.tensor([5, 6]), 1, alpha=2)
        tensor([3, 4])
    """
    if args:  # sub(Tensor input, Number alpha, Tensor other)
        alpha, (other,) = legacy_scalar_first(
            "sub", "Tensor input, Number alpha, Tensor other",
            "Tensor input, Tensor other, *, Number alpha = 1", other, args, 1)
    if not isinstance(input, Tensor):
        input = as_tensor(input, other)
    if input._dtype is D.bool or isinstance(other, bool) or \
            (isinstance(other, Tensor) and other._dtype is D.bool):
        _check_sub(input, other)
    if alpha != 1 or type(alpha) is not int:
        alpha = _check_alpha(alpha, input, other, negated=True)
    try:
        result = binary(Sub, input, other, alpha=alpha)
    except NotImplementedError:
        if out is None and _sparse_layout(input, other):
            return _sparse_form("sub", input, other, alpha)
        raise
    return result if out is None else finish_out(result, out, "sub", input, other)


def mul(input, other, *, out=None) -> Tensor:
    """Elementwise product with broadcasting and promotion.

    Example:
        >>> ember.mul(ember.tensor([1, 2]), 0.5)
        tensor([0.5000, 1.0000])
    """
    if not isinstance(input, Tensor):
        input = as_tensor(input, other)
    try:
        result = binary(Mul, input, other)
    except NotImplementedError:
        if out is None and _sparse_layout(input, other):
            return _sparse_form("mul", input, other)
        raise
    return result if out is None else finish_out(result, out, "mul", input, other)


def div(input, other, *, rounding_mode: str | None = None, out=None) -> Tensor:
    """Elementwise division; integers divide to the default float dtype unless
    ``rounding_mode`` is ``'trunc'`` or ``'floor'`` (integer division by zero then raises).

    Example:
        >>> ember.div(ember.tensor([-7, 7]), 2, rounding_mode='floor')
        tensor([-4,  3])
    """
    if not isinstance(input, Tensor):
        input = as_tensor(input, other)
    if rounding_mode is None:
        dt = D.result_type(input, other)
        if dt.category < D._FLOAT:
            dt = D.get_default_dtype()
        try:
            result = binary(Div, input, other, compute=dt)
        except NotImplementedError:
            if out is None and _sparse_layout(input):
                return _sparse_form("div", input, other)
            raise
    elif rounding_mode == "floor" or rounding_mode == "trunc":
        if input._dtype in D.SHELL or isinstance(other, Tensor) and other._dtype in D.SHELL:
            refuse_shell("div_" + rounding_mode, D.result_type(input, other))
        refuse_pair("div_" + rounding_mode, input, other)
        result = binary(DivMode, input, other, mode=rounding_mode)
    else:
        raise RuntimeError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'")
    return result if out is None else finish_out(result, out, "div", input, other)


def floor_divide(input, other, *, out=None) -> Tensor:
    """Division rounded down (Python's ``//``); integer division by zero raises.

    Example:
        >>> ember.tensor([-7, 7]) // 2
        tensor([-4,  3])
    """
    if not isinstance(input, Tensor):
        input = as_tensor(input, other)
    refuse_pair("div_floor", input, other)
    result = binary(FloorDivide, input, other)
    return result if out is None else finish_out(result, out, "floor_divide", input, other)


def remainder(input, other, *, out=None) -> Tensor:
    """Python's ``%``: the result takes the sign of the divisor.

    Example:
        >>> ember.remainder(ember.tensor([-3, 3]), 2)
        tensor([1, 1])
    """
    if not isinstance(input, Tensor):
        input = as_tensor(input, other)
    refuse_pair("remainder", input, other)
    result = binary(Remainder, input, other)
    if isinstance(other, Tensor):  # torch's remainder.Tensor overload
        _named(result, "RemainderBackward1")
    else:  # remainder.Scalar: its node lists no number
        list_inputs(result, (0,))
    return result if out is None else finish_out(result, out, "remainder", input, other)


def fmod(input: Tensor, other, *, out=None) -> Tensor:
    """C's ``fmod``: the result takes the sign of the dividend.

    Example:
        >>> ember.fmod(ember.tensor([-3, 3]), 2)
        tensor([-1,  1])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"fmod(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    refuse_pair("fmod", input, other)
    result = binary(Fmod, input, other)
    if isinstance(other, Tensor):  # torch's fmod.Tensor overload
        _named(result, "FmodBackward1")
    else:  # fmod.Scalar: its node lists no number
        list_inputs(result, (0,))
    return result if out is None else finish_out(result, out, "fmod", input, other)


def _check_alpha(alpha, input, other, negated: bool = False):
    """Check ``alpha`` as torch does and return it as the kernel takes it: an int past 64 bits
    is torch's OverflowError, a number the result dtype cannot hold its RuntimeError (``sub``
    checks ``-alpha``, ``negated``), and for unsigned results a negative ``alpha`` wraps
    (``uint8`` ``alpha=-1`` is 255, as torch's modular arithmetic)."""
    dt = D.result_type(input, other)
    if isinstance(alpha, float) and dt.category < D._FLOAT:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")
    if isinstance(alpha, bool) and dt is not D.bool:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if isinstance(alpha, complex) and not dt.is_complex:
        raise RuntimeError("For non-complex input tensors, argument alpha must not be a complex "
                           "number.")
    if type(alpha) is int or type(alpha) is float:
        if type(alpha) is int:
            D.check_int_scalar(alpha)
        if dt.category == D._INT and negated and alpha == -2**63:
            return alpha  # -alpha wraps back to itself in int64: torch takes it
        checked_scalar(-alpha if negated else alpha, dt)
        if dt.category == D._INT and alpha < 0 and np.iinfo(dt.np_dtype).min == 0:
            return alpha % (int(np.iinfo(dt.np_dtype).max) + 1)
    return alpha


subtract = sub
multiply = mul
divide = div
true_divide = div


class Neg(Op):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


def neg(input: Tensor, *, out=None) -> Tensor:
    """``-input``.

    Example:
        >>> ember.neg(ember.tensor([1, -2]))
        tensor([-1,  2])
    """
    if input._dtype is D.bool:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
            "invert a mask, use the `~` or `logical_not()` operator instead.")
    if input._dtype in D.SHELL:
        raise not_implemented_for("neg_cpu", input._dtype)
    try:
        result = Neg.apply(input)
    except NotImplementedError:
        if out is None and _sparse_layout(input):
            return input.neg()
        raise
    return result if out is None else finish_out(result, out, "neg", input)


negative = neg


# -- in-place forms -------------------------------------------------------------------------

def add_(self, other, *args, alpha=1):
    if args:  # add_(Number alpha, Tensor other)
        alpha, (other,) = legacy_scalar_first(
            "add_", "Number alpha, Tensor other", "Tensor other, *, Number alpha = 1", other,
            args, 1)
    if alpha == 1 and type(alpha) is int:
        return inplace_ufunc(self, np.add, other, "add_", lambda: add(self, other))
    alpha = _check_alpha(alpha, self, other)
    if not isinstance(other, Tensor):
        if self._dtype is D.float16 or self._dtype is D.bfloat16:
            # PyTorch rounds the number and alpha to the 2-byte dtype apart (as add does)
            return apply_inplace(self, add(self, other, alpha=alpha), "add_")
        return add_(self, other * alpha)
    if no_autograd(self, other) and other._dtype is self._dtype:
        # the optimizer update p.add_(g, alpha=-lr): one temporary, no graph
        if _all_f32(self._data, other._data) and not isinstance(alpha, complex):
            a32 = np.float32(alpha)
            return inplace_ufunc(self, lambda t, o, out: np.copyto(
                out, fused_multiply_add(o, a32, t)), other, "add_", None)
        if is_low_float(self._data) and not isinstance(alpha, complex):
            # 2-byte floats: PyTorch's kernel, vectorised body and scalar tail alike
            return inplace_ufunc(self, lambda t, o, out: np.copyto(
                out, _low_alpha_sum(t, o, alpha)), other, "add_", None)
        scaled = Tensor._make(other._data * alpha, other._dtype)
        return inplace_ufunc(self, np.add, scaled, "add_", None)
    return apply_inplace(self, add(self, other, alpha=alpha), "add_")


def sub_(self, other, *args, alpha=1):
    if args:  # sub_(Number alpha, Tensor other)
        alpha, (other,) = legacy_scalar_first(
            "sub_", "Number alpha, Tensor other", "Tensor other, *, Number alpha = 1", other,
            args, 1)
    if alpha == 1 and type(alpha) is int and self._dtype is not D.bool:
        return inplace_ufunc(self, np.subtract, other, "sub_", lambda: sub(self, other))
    return apply_inplace(self, sub(self, other, alpha=alpha), "sub_")


def mul_(self, other):
    if self._dtype is D.complex64:  # the out-of-place op forms the product as torch does
        return apply_inplace(self, mul(self, other), "mul_")
    return inplace_ufunc(self, np.multiply, other, "mul_", lambda: mul(self, other))


def div_(self, other, *, rounding_mode=None):
    if rounding_mode is None and self._dtype.category >= D._FLOAT:
        return inplace_ufunc(self, np.true_divide, other, "div_", lambda: div(self, other))
    return apply_inplace(self, div(self, other, rounding_mode=rounding_mode), "div_")


def _simple_inplace(fn, name):
    def method(self, other):
        return apply_inplace(self, fn(self, other), name)

    method.__name__ = name
    return method


def neg_(self):
    """In-place ``neg``: overwrites ``self`` with ``-self`` and returns it.

    Example:
        >>> ember.neg_(ember.tensor([1., -2.]))
        tensor([-1.,  2.])
    """
    return apply_inplace(self, neg(self), "neg_")


negative_ = neg_


def rsub(input, other, *, alpha=1) -> Tensor:
    """``other - alpha * input``: ``sub`` with its operands swapped.

    Example:
        >>> ember.rsub(ember.tensor([1, 2]), 3)
        tensor([2, 1])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"rsub(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    name = "RsubBackward0" if isinstance(other, Tensor) else "RsubBackward1"
    return set_node_name(sub(other, input, alpha=alpha), name)


floor_divide_ = _simple_inplace(floor_divide, "floor_divide_")
remainder_ = _simple_inplace(remainder, "remainder_")
fmod_ = _simple_inplace(fmod, "fmod_")


def addcmul(input: Tensor, tensor1: Tensor, tensor2=None, *args, value=1,
            out=None) -> Tensor:
    """``input + value * tensor1 * tensor2``, broadcasting all three.

    Example:
        >>> ember.addcmul(ember.zeros(2), ember.tensor([1., 2.]), ember.tensor([3., 4.]), value=0.5)
        tensor([1.5000, 4.0000])
    """
    if args or tensor2 is None:  # addcmul(input, Number value, tensor1, tensor2)
        value, (tensor1, tensor2) = legacy_scalar_first(
            "addcmul", "Tensor input, Number value, Tensor tensor1, Tensor tensor2",
            "Tensor input, Tensor tensor1, Tensor tensor2, *, Number value = 1", tensor1,
            (tensor2,) + args if tensor2 is not None else args, 2)
    if isinstance(input, Tensor) and input._dtype in D.SHELL:  # one fused kernel in torch
        refuse_shell("addcmul", input._dtype)
    if isinstance(input, Tensor) and input._dtype in REFUSED["addcmul"]:  # bool: only all-bool
        refuse("addcmul", D.result_type(input, tensor1, tensor2))
    dt = getattr(input, "_dtype", None)
    if (dt is D.float32 or dt is D.float64) and all(
            isinstance(t, Tensor) and t._dtype is dt and type(t._data) is np.ndarray
            for t in (input, tensor1, tensor2)) and not isinstance(value, complex):
        # torch: fmadd(value * tensor1, tensor2, input), one rounding for the multiply-add
        # (float32); one node on input, tensor1 and tensor2, as torch's
        res = _named(MulAdd.apply(input, tensor1, tensor2, value=value), "AddcmulBackward0")
        return res if out is None else out.copy_(res)
    low = _low_addc(input, tensor1, tensor2, value, False)
    if low is not None:
        return low if out is None else out.copy_(low)
    if isinstance(value, float) and all(isinstance(t, Tensor) and t._dtype.category < D._FLOAT
                                        for t in (input, tensor1, tensor2)):
        value = int(value)  # an integer result: torch truncates a float value (0.5 -> 0)
    prod = tensor1 * tensor2
    res = _named(input + (prod * value if value != 1 else prod), "AddcmulBackward0")
    return res if out is None else out.copy_(res)


class MulAdd(Op):
    """``a + value * x * y`` (addcmul) for float32 or float64 tensors. float32: ``value * x``
    rounded, then one rounding for the multiply-add (``fused_multiply_add``), as torch's kernel;
    float64 rounds the product too (torch's fused one costs 100x here in NumPy)."""

    @staticmethod
    def forward(ctx, a, x, y, value=1):
        # each factor is kept only for the other's gradient, as torch's node (a factor not
        # kept may then change in place: optimizers' differentiable steps do)
        tx, ty = ctx.inputs[1], ctx.inputs[2]
        ctx.save_for_backward(tx if ty._requires_grad else None,
                              ty if tx._requires_grad else None)
        ctx.value, ctx.shapes = value, (x.shape, y.shape)
        scaled = x * x.dtype.type(value) if value != 1 else x
        if x.dtype == np.float32:
            return fused_multiply_add(scaled, y, a)
        return a + scaled * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        need, value = ctx.needs_input_grad, ctx.value
        # torch's formulas: grad * (tensor2 * value), grad * (tensor1 * value)
        ga = unbroadcast(grad, _shape_of(ctx.inputs[0])) if need[0] else None
        x_shape, y_shape = ctx.shapes
        gx = unbroadcast(grad * (y * value if value != 1 else y), x_shape) if need[1] else None
        gy = unbroadcast(grad * (x * value if value != 1 else x), y_shape) if need[2] else None
        return ga, gx, gy


class LowAddc(Op):
    """``a + value * x * y`` (``divide``: ``a + value * x / y``) for float16/bfloat16 tensors
    as PyTorch's addcmul/addcdiv kernels compute them: in float32 (``value`` a float32 number),
    rounded once to the 2-byte dtype at the end. The gradients are PyTorch's formulas in the
    2-byte dtype, grouped as there (each step rounds). ``addcdiv`` of float32/float64 tensors
    runs here too (``value`` in their dtype): PyTorch's node, saving ``x`` (when ``y`` needs a
    gradient) and ``y``, so an in-place change of either after the op breaks its backward."""

    opmath = True

    @staticmethod
    def forward(ctx, a, x, y, value, divide):
        ctx.value, ctx.divide = value, divide
        x_t, y_t = ctx.inputs[1], ctx.inputs[2]
        if divide:  # what PyTorch's AddcdivBackward0 keeps
            ctx.save_for_backward(x_t if _requires_grad(y_t) else None, y_t)
        else:
            ctx.save_for_backward(x_t, y_t)
        scaled = x * x.dtype.type(value) if value != 1 else x
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if divide:
                return a + scaled / y
            return fused_multiply_add(scaled, y, a)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        need, value = ctx.needs_input_grad, ctx.value
        ga = unbroadcast(grad, _shape_of(ctx.inputs[0])) if need[0] else None
        if ctx.divide:
            # (value as a 0-d tensor of y's dtype, divided tensor by tensor, as PyTorch)
            gx = (unbroadcast(grad * (_like(value, y) / y), _shape_of(ctx.inputs[1]))
                  if need[1] else None)
            gy = unbroadcast(-grad * ((x * value) / (y * y)), y.shape) if need[2] else None
        else:
            gx = unbroadcast(grad * (y * value), x.shape) if need[1] else None
            gy = unbroadcast(grad * (x * value), y.shape) if need[2] else None
        return ga, gx, gy


def _like(value, t: Tensor) -> Tensor:
    from ..._creation import tensor

    return tensor(value, dtype=t._dtype, device=t.device)


def _low_addc(input, tensor1, tensor2, value, divide: bool):
    """``LowAddc`` when all three operands are float16 (or all bfloat16; for ``divide`` also
    float32 or float64) tensors on the CPU and ``value`` is real; None otherwise (the caller's
    general path)."""
    ts = (input, tensor1, tensor2)
    if not all(isinstance(t, Tensor) and type(t._data) is np.ndarray for t in ts):
        return None
    dt = input._dtype
    low = dt is D.float16 or dt is D.bfloat16
    if not (low or divide and (dt is D.float32 or dt is D.float64)
            and isinstance(value, (int, float))) or tensor1._dtype is not dt or \
            tensor2._dtype is not dt or isinstance(value, complex):
        return None
    return _named(LowAddc.apply(input, tensor1, tensor2, value=value, divide=divide),
                  "AddcdivBackward0" if divide else "AddcmulBackward0")


def addcdiv(input: Tensor, tensor1: Tensor, tensor2=None, *args, value=1,
            out=None) -> Tensor:
    """``input + value * tensor1 / tensor2`` (floating tensors only, as in PyTorch).

    Example:
        >>> ember.addcdiv(ember.zeros(2), ember.tensor([1., 2.]), ember.tensor([2., 4.]))
        tensor([0.5000, 0.5000])
    """
    if args or tensor2 is None:  # addcdiv(input, Number value, tensor1, tensor2)
        value, (tensor1, tensor2) = legacy_scalar_first(
            "addcdiv", "Tensor input, Number value, Tensor tensor1, Tensor tensor2",
            "Tensor input, Tensor tensor1, Tensor tensor2, *, Number value = 1", tensor1,
            (tensor2,) + args if tensor2 is not None else args, 2)
    t1, t2 = as_tensor_arg(tensor1), as_tensor_arg(tensor2)
    if not t1._dtype.is_floating_point and not t1._dtype.is_complex and \
            not t2._dtype.is_floating_point and not t2._dtype.is_complex:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))"
            ".to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) "
            "for float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    if isinstance(input, Tensor) and input._dtype in D.SHELL:
        refuse_shell("addcdiv", input._dtype)
    if type(value) is int:
        D.check_int_scalar(value)
    low = _low_addc(input, t1, t2, value, True)
    if low is not None:
        return low if out is None else out.copy_(low)
    # torch's order: (value * tensor1) / tensor2, then + input (no fused step)
    quot = (t1 * value) / t2 if value != 1 else t1 / t2
    res = _named(input + quot, "AddcdivBackward0")
    return res if out is None else out.copy_(res)


def addcmul_(self: Tensor, tensor1: Tensor, tensor2=None, *args, value=1) -> Tensor:
    if args or tensor2 is None:  # addcmul_(Number value, Tensor tensor1, Tensor tensor2)
        value, (tensor1, tensor2) = legacy_scalar_first(
            "addcmul_", "Number value, Tensor tensor1, Tensor tensor2",
            "Tensor tensor1, Tensor tensor2, *, Number value = 1", tensor1,
            (tensor2,) + args if tensor2 is not None else args, 2)
    return apply_inplace(self, addcmul(self, tensor1, tensor2, value=value), "addcmul_")


def addcdiv_(self: Tensor, tensor1: Tensor, tensor2=None, *args, value=1) -> Tensor:
    if args or tensor2 is None:  # addcdiv_(Number value, Tensor tensor1, Tensor tensor2)
        value, (tensor1, tensor2) = legacy_scalar_first(
            "addcdiv_", "Number value, Tensor tensor1, Tensor tensor2",
            "Tensor tensor1, Tensor tensor2, *, Number value = 1", tensor1,
            (tensor2,) + args if tensor2 is not None else args, 2)
    return apply_inplace(self, addcdiv(self, tensor1, tensor2, value=value), "addcdiv_")

TENSOR_METHODS = {
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
    "divide": div, "true_divide": div, "neg": neg, "negative": neg, "floor_divide": floor_divide,
    "remainder": remainder, "fmod": fmod, "add_": add_, "sub_": sub_, "subtract_": sub_,
    "mul_": mul_, "multiply_": mul_, "div_": div_, "divide_": div_, "true_divide_": div_,
    "neg_": neg_, "negative_": neg_, "floor_divide_": floor_divide_, "remainder_": remainder_,
    "fmod_": fmod_, "addcmul": addcmul, "addcdiv": addcdiv, "addcmul_": addcmul_,
    "addcdiv_": addcdiv_,
}
