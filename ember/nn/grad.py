"""``torch.nn.grad``: the gradients of ``conv1d``/``conv2d``/``conv3d`` with respect to their
input and their weight, given the gradient of the output.

They are the two adjoint ops the convolution's own backward uses (``ConvInput``, also the
transposed convolution, and ``ConvWeight``), called directly: no forward convolution is run,
and the results are differentiable again (in ``weight``/``input`` and ``grad_output``).

Example:
    >>> x, w = ember.randn(1, 1, 3, 3), ember.randn(1, 1, 1, 2)
    >>> g = ember.randn(1, 1, 3, 2)
    >>> ember.nn.grad.conv2d_input(x.shape, w, g).shape
    torch.Size([1, 1, 3, 3])
"""

from __future__ import annotations

from .. import _dtype as D
from .._ops.nn.conv import ConvInput, ConvWeight, _tuple
from .._tensor import Tensor

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input",
           "conv3d_weight"]


def _args(nd: int, stride, padding, dilation):
    stride, dilation = _tuple(stride, nd, "stride"), _tuple(dilation, nd, "dilation")
    pad = tuple((p, p) for p in _tuple(padding, nd, "padding"))
    return stride, pad, dilation


def _check(nd: int, name: str, what: str, x_shape, w_shape, grad_output: Tensor, stride, pad,
           dilation, groups: int) -> None:
    """PyTorch leaves these to its kernels (whose messages do not say what is wrong): the
    batched ranks, the dtypes, and the output size ``grad_output`` must have."""
    for label, shape in (("input", x_shape), ("grad_output", tuple(grad_output.shape))):
        if len(shape) != nd + 2:
            raise RuntimeError(f"Expected {nd + 2}-dimensional {label} for {nd + 2}-dimensional "
                               f"weight {list(w_shape)}, but got {len(shape)}-dimensional "
                               f"{label} of size {list(shape)} instead")
    out = tuple((n + lo + hi - d * (k - 1) - 1) // s + 1 for n, (lo, hi), d, k, s in
                zip(x_shape[2:], pad, dilation, w_shape[2:], stride))
    expected = (x_shape[0], w_shape[0]) + out
    if tuple(grad_output.shape) != expected or x_shape[1] != w_shape[1] * groups:
        raise RuntimeError(
            f"{name}: {what}: a convolution of an input of size {list(x_shape)} with a weight "
            f"of size {list(w_shape)} (stride={list(stride)}, dilation={list(dilation)}, "
            f"groups={groups}) gives an output of size {list(expected)}, but grad_output has "
            f"size {list(grad_output.shape)}")


def _check_dtype(t: Tensor, grad_output: Tensor) -> None:
    if t._dtype is not grad_output._dtype:
        raise RuntimeError(f"expected scalar type {D.SCALAR_TYPE[t._dtype.name]} but found "
                           f"{D.SCALAR_TYPE[grad_output._dtype.name]}")


def _input_grad(nd: int, name: str, input_size, weight: Tensor, grad_output: Tensor, stride,
                padding, dilation, groups: int) -> Tensor:
    stride, pad, dilation = _args(nd, stride, padding, dilation)
    _check_dtype(weight, grad_output)
    x_shape = tuple(int(n) for n in input_size)
    _check(nd, name, "input_size", x_shape, tuple(weight.shape), grad_output, stride, pad,
           dilation, groups)
    return ConvInput.apply(grad_output, weight, in_size=x_shape[2:], stride=stride, pad=pad,
                           dilation=dilation, groups=groups)


def _weight_grad(nd: int, name: str, input: Tensor, weight_size, grad_output: Tensor, stride,
                 padding, dilation, groups: int) -> Tensor:
    stride, pad, dilation = _args(nd, stride, padding, dilation)
    _check_dtype(input, grad_output)
    w_shape = tuple(int(n) for n in weight_size)
    _check(nd, name, "weight_size", tuple(input.shape), w_shape, grad_output, stride, pad,
           dilation, groups)
    return ConvWeight.apply(input, grad_output, ksize=w_shape[2:], stride=stride, pad=pad,
                            dilation=dilation, groups=groups)


def conv1d_input(input_size, weight: Tensor, grad_output: Tensor, stride=1, padding=0,
                 dilation=1, groups: int = 1) -> Tensor:
    """The gradient of ``conv1d`` with respect to its input, of shape ``input_size``
    (``(N, C_in, L)``): a transposed convolution of ``grad_output`` with ``weight``.

    Example:
        >>> w, g = ember.randn(2, 3, 3), ember.randn(1, 2, 5)
        >>> ember.nn.grad.conv1d_input((1, 3, 7), w, g).shape
        torch.Size([1, 3, 7])
    """
    return _input_grad(1, "conv1d_input", input_size, weight, grad_output, stride, padding,
                       dilation, groups)


def conv1d_weight(input: Tensor, weight_size, grad_output: Tensor, stride=1, padding=0,
                  dilation=1, groups: int = 1) -> Tensor:
    """The gradient of ``conv1d`` with respect to its weight, of shape ``weight_size``
    (``(C_out, C_in / groups, k)``).

    Example:
        >>> x, g = ember.randn(1, 3, 7), ember.randn(1, 2, 5)
        >>> ember.nn.grad.conv1d_weight(x, (2, 3, 3), g).shape
        torch.Size([2, 3, 3])
    """
    return _weight_grad(1, "conv1d_weight", input, weight_size, grad_output, stride, padding,
                        dilation, groups)


def conv2d_input(input_size, weight: Tensor, grad_output: Tensor, stride=1, padding=0,
                 dilation=1, groups: int = 1) -> Tensor:
    """The gradient of ``conv2d`` with respect to its input, of shape ``input_size``
    (``(N, C_in, H, W)``): a transposed convolution of ``grad_output`` with ``weight``.

    Example:
        >>> w, g = ember.randn(2, 3, 3, 3), ember.randn(1, 2, 5, 5)
        >>> ember.nn.grad.conv2d_input((1, 3, 7, 7), w, g).shape
        torch.Size([1, 3, 7, 7])
    """
    return _input_grad(2, "conv2d_input", input_size, weight, grad_output, stride, padding,
                       dilation, groups)


def conv2d_weight(input: Tensor, weight_size, grad_output: Tensor, stride=1, padding=0,
                  dilation=1, groups: int = 1) -> Tensor:
    """The gradient of ``conv2d`` with respect to its weight, of shape ``weight_size``
    (``(C_out, C_in / groups, kH, kW)``).

    Example:
        >>> x, g = ember.randn(1, 3, 7, 7), ember.randn(1, 2, 5, 5)
        >>> ember.nn.grad.conv2d_weight(x, (2, 3, 3, 3), g).shape
        torch.Size([2, 3, 3, 3])
    """
    return _weight_grad(2, "conv2d_weight", input, weight_size, grad_output, stride, padding,
                        dilation, groups)


def conv3d_input(input_size, weight: Tensor, grad_output: Tensor, stride=1, padding=0,
                 dilation=1, groups: int = 1) -> Tensor:
    """The gradient of ``conv3d`` with respect to its input, of shape ``input_size``
    (``(N, C_in, D, H, W)``).

    Example:
        >>> w, g = ember.randn(2, 3, 3, 3, 3), ember.randn(1, 2, 2, 2, 2)
        >>> ember.nn.grad.conv3d_input((1, 3, 4, 4, 4), w, g).shape
        torch.Size([1, 3, 4, 4, 4])
    """
    return _input_grad(3, "conv3d_input", input_size, weight, grad_output, stride, padding,
                       dilation, groups)


def conv3d_weight(input: Tensor, weight_size, grad_output: Tensor, stride=1, padding=0,
                  dilation=1, groups: int = 1) -> Tensor:
    """The gradient of ``conv3d`` with respect to its weight, of shape ``weight_size``
    (``(C_out, C_in / groups, kD, kH, kW)``).

    Example:
        >>> x, g = ember.randn(1, 3, 4, 4, 4), ember.randn(1, 2, 2, 2, 2)
        >>> ember.nn.grad.conv3d_weight(x, (2, 3, 3, 3, 3), g).shape
        torch.Size([2, 3, 3, 3, 3])
    """
    return _weight_grad(3, "conv3d_weight", input, weight_size, grad_output, stride, padding,
                        dilation, groups)
