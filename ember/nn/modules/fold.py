"""``Fold`` and ``Unfold``: sliding local blocks to and from images, at PyTorch's
``nn.modules.fold``."""

from __future__ import annotations

from ..._tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["Fold", "Unfold"]


def _block_settings(module) -> str:
    # the four block parameters, shown as given (an int stays an int, a list a list)
    return (f"kernel_size={module.kernel_size}, dilation={module.dilation}, "
            f"padding={module.padding}, stride={module.stride}")


class Unfold(Module):
    """Cut each sliding ``kernel_size`` block out of a batch of images and lay it out as a
    column: ``(N, C, H, W) -> (N, C * prod(kernel_size), L)``, ``L`` being the number of
    block positions (see :func:`ember.nn.functional.unfold`).

    Args:
        kernel_size (int or tuple): the block's size.
        dilation (int or tuple): the spacing between a block's elements. Default: 1.
        padding (int or tuple): zeros added on both sides of each spatial dim. Default: 0.
        stride (int or tuple): the step between block positions. Default: 1.

    Example:
        >>> cols = ember.nn.Unfold(kernel_size=2)(ember.arange(16.0).reshape(1, 1, 4, 4))
        >>> cols.shape
        torch.Size([1, 4, 9])
        >>> cols[0, :, 0]
        tensor([0., 1., 4., 5.])
    """

    __constants__ = ["kernel_size", "dilation", "padding", "stride"]

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return _block_settings(self)


class Fold(Module):
    """The adjoint of :class:`Unfold`: place each column back as a ``kernel_size`` block of
    an ``output_size`` image, summing where blocks overlap:
    ``(N, C * prod(kernel_size), L) -> (N, C, *output_size)``.

    Args:
        output_size (int or tuple): the spatial size of the image built.
        kernel_size, dilation, padding, stride: as for :class:`Unfold`.

    Example:
        >>> fold = ember.nn.Fold(output_size=(3, 3), kernel_size=2)
        >>> fold(ember.ones(1, 4, 4))[0, 0]
        tensor([[1., 2., 1.],
                [2., 4., 2.],
                [1., 2., 1.]])
    """

    __constants__ = ["output_size", "kernel_size", "dilation", "padding", "stride"]

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, {_block_settings(self)}"
