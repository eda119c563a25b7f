"""``torch.special``'s Bessel and Airy functions of one argument: ``bessel_j0/j1``,
``bessel_y0/y1``, ``modified_bessel_i0/i1/k0/k1``, ``scaled_modified_bessel_k0/k1``,
``spherical_bessel_j0`` and ``airy_ai``.

As in PyTorch 2.13 they have no derivative (their outputs never require grad) and their CPU
kernels run on float32 and float64 only: bool and integer inputs compute in the default float
dtype, float16, bfloat16, float8 and complex inputs raise torch's NotImplementedError. The
kernels are ``_bessel_jyk_kernels`` (J, Y, K, Ai) and ``_bessel_kernels`` (I), in float64.
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as D
from ..._backend import MetaArray, asarray_like, meta_array, to_numpy
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import Op
from .._dispatch import finish_out, not_implemented_for, require_tensor
from . import _bessel_jyk_kernels as _JYK
from . import _bessel_kernels as _I

# torch 2.13 has CPU loops for these functions in float32 and float64 only
_REFUSED = frozenset((D.float16, D.bfloat16, D.complex64, D.complex128) + D.FLOAT8)


def compute_dtype(dt: D.dtype, kernel: str) -> D.dtype:
    """The dtype a forward-only special function computes in (integers and bool: the default
    float dtype); raises torch's NotImplementedError for the dtypes it has no loop for."""
    if dt in _REFUSED:
        raise not_implemented_for(kernel, dt)
    return dt if dt.is_floating_point else D.get_default_dtype()


def on_host(kernel, out_dtype, *arrays):
    """Run a float64 NumPy ``kernel`` on the host copies of ``arrays`` (broadcast together) and
    hand back its result in ``out_dtype`` on the arrays' device; meta arrays get a meta result."""
    if any(isinstance(a, MetaArray) for a in arrays):
        return meta_array(np.broadcast_shapes(*(np.shape(a) for a in arrays)), out_dtype)
    result = kernel(*(to_numpy(a) for a in arrays))
    with np.errstate(over="ignore", under="ignore"):  # past float32's range: inf or 0, as torch
        result = np.asarray(result).astype(out_dtype, copy=False)
    device_array = next((a for a in arrays if hasattr(a, "ndim")
                         and not isinstance(a, (np.ndarray, np.generic))), None)
    return result if device_array is None else asarray_like(result, device_array)


def finish(result: Tensor, out: Tensor | None, name: str) -> Tensor:
    """``out=`` for a function without a derivative: torch writes into ``out`` even where an
    argument (or ``out``) requires grad, since no graph is built."""
    if out is None:
        return result
    with grad_mode.no_grad():
        return finish_out(result, out, name)


def _forward_only_unary(name: str, kernel):
    """An Op that runs ``kernel`` (float64 NumPy) and whose output never requires grad."""

    def forward(ctx, x):
        dt = x.dtype if x.dtype.kind == "f" else D.get_default_dtype().np_dtype
        return on_host(lambda a: kernel(a.astype(np.float64)), dt, x)

    def backward(ctx, grad):  # never reached: the output is not differentiable
        raise NotImplementedError(f"the derivative for '{name}' is not implemented.")

    return type(name, (Op,), {"forward": staticmethod(forward),
                              "backward": staticmethod(backward),
                              "non_differentiable_outputs": (0,)})


def _spherical_j0(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        small = np.abs(x) < 1e-3  # sin(x)/x by its series: 1 - x^2/6 + x^4/120 - ...
        x2 = x * x
        series = 1 - x2 / 6 * (1 - x2 / 20 * (1 - x2 / 42))
        out = np.where(small, series, np.sin(x) / np.where(small, 1.0, x))
    return np.where(np.isinf(x), 0.0, out)


def _i_kernel(nu):
    return lambda a: _I.bessel_i(nu, a, False)


_OPS = {
    "airy_ai": _JYK.airy_ai,
    "bessel_j0": lambda a: _JYK.bessel_j(0, a),
    "bessel_j1": lambda a: _JYK.bessel_j(1, a),
    "bessel_y0": lambda a: _JYK.bessel_y(0, a),
    "bessel_y1": lambda a: _JYK.bessel_y(1, a),
    "modified_bessel_i0": _i_kernel(0),
    "modified_bessel_i1": _i_kernel(1),
    "modified_bessel_k0": lambda a: _JYK.bessel_k(0, a, False),
    "modified_bessel_k1": lambda a: _JYK.bessel_k(1, a, False),
    "scaled_modified_bessel_k0": lambda a: _JYK.bessel_k(0, a, True),
    "scaled_modified_bessel_k1": lambda a: _JYK.bessel_k(1, a, True),
    "spherical_bessel_j0": _spherical_j0,
}
_CLASSES = {name: _forward_only_unary("Special" + "".join(p.title() for p in name.split("_")),
                                      kernel) for name, kernel in _OPS.items()}


# the functions whose argument torch names ``x`` (the others name it ``input``)
_NAMED_X = {"airy_ai", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
            "spherical_bessel_j0"}


def _apply(name: str, input, out) -> Tensor:
    require_tensor(input, f"special_{name}", "x" if name in _NAMED_X else "input")
    compute_dtype(input._dtype, f"{name}_cpu")
    return finish(_CLASSES[name].apply(input), out, f"special_{name}")


def airy_ai(x: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The Airy function ``Ai(x)``, the solution of ``y'' = x y`` that decays as x -> inf.

    Example:
        >>> ember.special.airy_ai(ember.tensor([0.0, 1.0]))
        tensor([0.3550, 0.1353])
    """
    return _apply("airy_ai", x, out)


def bessel_j0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The Bessel function of the first kind of order 0.

    Example:
        >>> ember.special.bessel_j0(ember.tensor([0.0, 1.0]))
        tensor([1.0000, 0.7652])
    """
    return _apply("bessel_j0", input, out)


def bessel_j1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The Bessel function of the first kind of order 1.

    Example:
        >>> ember.special.bessel_j1(ember.tensor([0.0, 1.0]))
        tensor([0.0000, 0.4401])
    """
    return _apply("bessel_j1", input, out)


def bessel_y0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The Bessel function of the second kind of order 0 (-inf at 0, NaN for negative input).

    Example:
        >>> ember.special.bessel_y0(ember.tensor([1.0, 2.0]))
        tensor([0.0883, 0.5104])
    """
    return _apply("bessel_y0", input, out)


def bessel_y1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The Bessel function of the second kind of order 1 (-inf at 0, NaN for negative input).

    Example:
        >>> ember.special.bessel_y1(ember.tensor([1.0, 2.0]))
        tensor([-0.7812, -0.1070])
    """
    return _apply("bessel_y1", input, out)


def modified_bessel_i0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The modified Bessel function of the first kind of order 0 (as :func:`ember.i0`, but
    without a derivative, as in torch).

    Example:
        >>> ember.special.modified_bessel_i0(ember.tensor([0.0, 1.0]))
        tensor([1.0000, 1.2661])
    """
    return _apply("modified_bessel_i0", input, out)


def modified_bessel_i1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The modified Bessel function of the first kind of order 1 (without a derivative).

    Example:
        >>> ember.special.modified_bessel_i1(ember.tensor([0.0, 1.0]))
        tensor([0.0000, 0.5652])
    """
    return _apply("modified_bessel_i1", input, out)


def modified_bessel_k0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The modified Bessel function of the second kind of order 0 (inf at 0, NaN below).

    Example:
        >>> ember.special.modified_bessel_k0(ember.tensor([1.0, 2.0]))
        tensor([0.4210, 0.1139])
    """
    return _apply("modified_bessel_k0", input, out)


def modified_bessel_k1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The modified Bessel function of the second kind of order 1 (inf at 0, NaN below).

    Example:
        >>> ember.special.modified_bessel_k1(ember.tensor([1.0, 2.0]))
        tensor([0.6019, 0.1399])
    """
    return _apply("modified_bessel_k1", input, out)


def scaled_modified_bessel_k0(x: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``exp(input) * modified_bessel_k0(input)``, finite where K0 underflows.

    Example:
        >>> ember.special.scaled_modified_bessel_k0(ember.tensor([1.0, 1000.0]))
        tensor([1.1445, 0.0396])
    """
    return _apply("scaled_modified_bessel_k0", x, out)


def scaled_modified_bessel_k1(x: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``exp(input) * modified_bessel_k1(input)``, finite where K1 underflows.

    Example:
        >>> ember.special.scaled_modified_bessel_k1(ember.tensor([1.0, 1000.0]))
        tensor([1.6362, 0.0397])
    """
    return _apply("scaled_modified_bessel_k1", x, out)


def spherical_bessel_j0(x: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The spherical Bessel function of the first kind of order 0, ``sin(x) / x`` (1 at 0).

    Example:
        >>> ember.special.spherical_bessel_j0(ember.tensor([0.0, 1.0]))
        tensor([1.0000, 0.8415])
    """
    return _apply("spherical_bessel_j0", x, out)
