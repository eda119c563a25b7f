"""Complex numbers: ``conj`` (and ``conj_physical``/``resolve_conj``/``resolve_neg``, identities
here: ember keeps no lazy conjugate or negative bit), ``is_conj``/``is_neg``, and the ``real``
and ``imag`` views."""

from __future__ import annotations

import numpy as np

from ..._tensor import Tensor
from .._core import Op

# -- complex views ----------------------------------------------------------------------------

class Conj(Op):
    @staticmethod
    def forward(ctx, x):
        return np.conj(x)

    @staticmethod
    def backward(ctx, grad):
        return conj(grad)


def conj(input: Tensor) -> Tensor:
    """Complex conjugate (``input`` itself for real tensors, as in PyTorch)."""
    return Conj.apply(input) if input._dtype.is_complex else input


def _identity(input: Tensor) -> Tensor:
    """Return ``input`` unchanged: ember keeps no lazy conjugate or negative bits, so
    ``resolve_conj``/``resolve_neg`` have nothing to resolve.
    """
    return input


def _false(input: Tensor) -> bool:
    """False: ember tensors carry no lazy conjugate or negative bit (``is_conj``/``is_neg``)."""
    return False


class RealImag(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, part):
        ctx.view_args = {"part": part}
        ctx.part = part
        ctx.cdtype = ctx.inputs[0]._dtype
        return x.real if part == "real" else x.imag

    @staticmethod
    def backward(ctx, grad):
        return ComplexPart.apply(grad, part=ctx.part, cdtype=ctx.cdtype)


class ComplexPart(Op):
    """``grad`` as the real (or imaginary) part of a complex tensor: the adjoint of ``real``
    (``imag``), and an op itself so that gradients through ``.real``/``.imag`` have
    gradients (its own adjoint is ``real``/``imag`` again)."""

    @staticmethod
    def forward(ctx, g, part, cdtype):
        ctx.part = part
        g = g.astype(cdtype.np_dtype)
        return g if part == "real" else g * 1j

    @staticmethod
    def backward(ctx, grad):
        return RealImag.apply(grad, part=ctx.part)


def _real(self: Tensor) -> Tensor:
    return RealImag.apply(self, part="real") if self._dtype.is_complex else self


def _imag(self: Tensor) -> Tensor:
    if not self._dtype.is_complex:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return RealImag.apply(self, part="imag")


def real(input: Tensor) -> Tensor:
    """The real part (a view); ``input`` itself for real tensors."""
    return _real(input)


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor (a view)."""
    return _imag(input)


# -- shapes -------------------------------------------------------------------------------------


# -- elementwise ------------------------------------------------------------------------------


# -- odds and ends ------------------------------------------------------------------------------


__all__ = ["conj", "conj_physical", "resolve_conj", "resolve_neg", "is_conj", "is_neg", "real",
           "imag"]

conj_physical = conj
resolve_conj = resolve_neg = _identity
is_conj = is_neg = _false

TENSOR_METHODS = {
    "conj": conj, "conj_physical": conj_physical, "resolve_conj": resolve_conj,
    "resolve_neg": resolve_neg, "is_conj": is_conj, "is_neg": is_neg, "real": property(_real),
    "imag": property(_imag),
}
