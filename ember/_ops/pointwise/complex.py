"""Complex numbers: ``conj``, ``conj_physical``, ``resolve_conj``/``resolve_neg``,
``is_conj``/``is_neg``, and the ``real`` and ``imag`` views.

PyTorch's ``conj()`` is lazy: a view of the same memory with a conjugate bit. ember computes
the conjugated values at once (so every op reads plain data and ordinary complex arithmetic
pays nothing) and keeps the bit that users observe: ``is_conj()``, ``resolve_conj()`` making
an unflagged copy, ``numpy()`` and ``view_as_real`` refusing a flagged tensor, the bit carried
through views and ``detach()``, and ``conj()`` of a flagged tensor clearing it. Memory is not
shared with the base: writes through a ``conj()`` result do not reach it (nor the reverse).
"""

from __future__ import annotations

import numpy as np

from ... import _autocast
from ... import _dtype as D
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
    """The complex conjugate as plain data, for ember's own formulas (gradients included: a
    conjugate bit there would reach users' ``.grad`` where PyTorch has none). ``ember.conj``
    and ``Tensor.conj`` are ``conj_view``.

    Example:
        >>> from ember._ops.pointwise.complex import conj
        >>> conj(ember.tensor([1 + 2j])).is_conj()
        False
    """
    return Conj.apply(input) if input._dtype.is_complex else input


def conj_physical(input: Tensor) -> Tensor:
    """The complex conjugate as plain data (no conjugate bit); ``input`` for real tensors.

    Example:
        >>> ember.tensor([1 + 2j]).conj_physical().is_conj()
        False
    """
    return Conj.apply(input) if input._dtype.is_complex else input


def conj_view(input: Tensor) -> Tensor:
    """``torch.conj``: the complex conjugate (``input`` itself for real tensors), flagged as
    PyTorch's lazy conjugate view is (``is_conj()``; see the module notes).

    Example:
        >>> c = ember.tensor([1 + 2j]).conj()
        >>> c, c.is_conj()
        (tensor([1.-2.j]), True)
    """
    if not input._dtype.is_complex:
        return input
    out = Conj.apply(input)
    if not input._conj_bit:  # conj() of a conj() view is plain again
        out._conj_bit = True
    return out


conj_view.__name__ = conj_view.__qualname__ = "conj"


def resolve_conj(input: Tensor) -> Tensor:
    """``input`` without its conjugate bit: a copy of a ``conj()`` view, else ``input``.

    Example:
        >>> ember.tensor([1 + 2j]).conj().resolve_conj().is_conj()
        False
    """
    return input.clone() if input._conj_bit else input


def is_conj(input: Tensor) -> bool:
    """Whether ``input`` carries the conjugate bit (made by ``conj()``, kept by its views).

    Example:
        >>> ember.tensor([1j]).conj().is_conj(), ember.tensor([1j]).is_conj()
        (True, False)
    """
    return input._conj_bit


def _identity(input: Tensor) -> Tensor:
    """Return ``input`` unchanged: ember keeps no lazy negative bit, so ``resolve_neg`` has
    nothing to resolve.
    """
    return input


def _false(input: Tensor) -> bool:
    """False: ember tensors carry no lazy negative bit (``is_neg``)."""
    return False


class RealImag(Op):
    is_view = True
    # PyTorch reads ``z.real`` as ``view_as_real(z).select(-1, 0)``: users see SelectBackward0
    _name = "SelectBackward0"

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

class ViewAsReal(Op):
    """A complex tensor as floats with a trailing dim of 2 (real, imaginary), sharing memory."""

    is_view = True

    @staticmethod
    def forward(ctx, x):
        ctx.view_args = {}
        # a trailing size-1 axis is contiguous whatever the strides, so NumPy may reinterpret it
        return x[..., None].view(x.real.dtype)

    @staticmethod
    def backward(ctx, grad):
        return ViewAsComplex.apply(grad.contiguous())


class ViewAsComplex(Op):
    """A float tensor with a trailing dim of 2 read as complex numbers, sharing memory."""

    is_view = True

    @staticmethod
    def forward(ctx, x):
        ctx.view_args = {}
        return x.view(np.result_type(x.dtype, np.complex64))[..., 0]

    @staticmethod
    def backward(ctx, grad):
        return ViewAsReal.apply(grad)


def view_as_real(input: Tensor) -> Tensor:
    """A view of a complex tensor as real numbers: a new last dim holds (real, imaginary).

    Writing through the view changes ``input``.

    Example:
        >>> ember.view_as_real(ember.tensor([1 + 2j]))
        tensor([[1., 2.]])
    """
    if not input._dtype.is_complex:
        raise RuntimeError("view_as_real is only supported for complex tensors")
    if input._conj_bit:
        raise RuntimeError("view_as_real doesn't work on unresolved conjugated tensors.  To "
                           "resolve the conjugate tensor so you can view it as real, use "
                           "self.resolve_conj(); however, be warned that the resulting tensor "
                           "will NOT alias the original.")
    return ViewAsReal.apply(input)


@_autocast.hooked("view_as_complex")
def view_as_complex(input: Tensor) -> Tensor:
    """A view of a float tensor whose last dim has size 2 as complex numbers (the inverse of
    ``view_as_real``); the last dim must have stride 1 and the other strides be even.

    Example:
        >>> ember.view_as_complex(ember.tensor([[1., 2.], [3., 4.]]))
        tensor([1.+2.j, 3.+4.j])
    """
    dt = input._dtype
    if dt not in (D.float32, D.float64):
        if dt is D.float16:  # torch gives complex32, which ember does not have
            raise RuntimeError("view_as_complex: ember has no complex32 (ComplexHalf) dtype; "
                               "cast the input to float32 first")
        raise RuntimeError("view_as_complex is only supported for half, float and double "
                           f"tensors, but got a tensor of scalar type: {dt._legacy[:-6]}")
    if input.ndim == 0:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    strides = input.stride()
    if strides[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in strides[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if input.storage_offset() % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return ViewAsComplex.apply(input)


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dims: a view for real tensors; complex ones are
    conjugated into new memory, flagged as ``conj()`` results are (``is_conj()``).

    Example:
        >>> ember.adjoint(ember.tensor([[1 + 1j, 2j]]))
        tensor([[1.-1.j],
                [0.-2.j]])
    """
    if input.ndim == 1:  # torch lets a 0-d tensor through unchanged
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {input.ndim}-D tensor.")
    return conj_view(input.transpose(-2, -1) if input.ndim else input)


# -- elementwise ------------------------------------------------------------------------------

def conj_physical_(input: Tensor) -> Tensor:
    """Conjugate ``input`` in place (nothing changes for real tensors).

    Example:
        >>> ember.conj_physical_(ember.tensor([1 + 1j]))
        tensor([1.-1.j])
    """
    from ..inplace import apply_inplace

    if not input._dtype.is_complex:
        return input
    return apply_inplace(input, conj_physical(input), "conj_physical_")


# -- odds and ends ------------------------------------------------------------------------------


__all__ = ["conj", "conj_physical", "resolve_conj", "resolve_neg", "is_conj", "is_neg", "real",
           "imag", "view_as_real", "view_as_complex", "adjoint", "conj_physical_"]

resolve_neg = _identity
is_neg = _false

TENSOR_METHODS = {
    "conj": conj_view, "conj_physical": conj_physical, "resolve_conj": resolve_conj,
    "resolve_neg": resolve_neg, "is_conj": is_conj, "is_neg": is_neg, "real": property(_real),
    "imag": property(_imag), "adjoint": adjoint, "conj_physical_": conj_physical_,
}
