"""Padding layers: constant (and zero), reflection, replication and circular, in 1, 2 and 3
dimensions, as ``torch.nn.modules.padding`` defines them. Each holds its padding as a tuple
(left, right[, top, bottom[, front, back]]) and calls ``F.pad`` with its mode."""

from __future__ import annotations

from ..._tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = [f"{kind}Pad{n}d" for kind in ("Constant", "Zero", "Reflection", "Replication",
                                          "Circular") for n in (1, 2, 3)]


def _ntuple(padding, n: int, name: str) -> tuple:
    if isinstance(padding, int):
        return (padding,) * (2 * n)
    padding = tuple(padding)
    if len(padding) != 2 * n or not all(isinstance(p, int) for p in padding):
        raise ValueError(f"{name}: padding must be an int or a tuple of {2 * n} ints, got "
                         f"{padding!r}")
    return padding


class _ConstantPadNd(Module):
    """Constant-value padding; subclasses fix how many trailing dims ``padding`` covers."""

    __constants__ = ["padding", "value"]

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value  # ``padding`` is set by the subclass, which knows the rank

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dimension with ``value``: an int pads both sides, a pair is (left, right).

    Example:
        >>> nn.ConstantPad1d((0, 2), 7.0)(ember.zeros(1, 2)).tolist()
        [[0.0, 0.0, 7.0, 7.0]]
    """

    def __init__(self, padding, value: float) -> None:
        super().__init__(value)
        self.padding = _ntuple(padding, 1, type(self).__name__)


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dimensions with a constant.

    Example:
        >>> nn.ConstantPad2d((1, 1, 0, 0), 1.0)(ember.zeros(1, 1, 1)).tolist()
        [[[1.0, 0.0, 1.0]]]
    """

    def __init__(self, padding, value: float) -> None:
        super().__init__(value)
        self.padding = _ntuple(padding, 2, type(self).__name__)


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dimensions with a constant.

    Example:
        >>> nn.ConstantPad3d(1, 0.0)(ember.zeros(1, 1, 1, 1)).shape
        torch.Size([1, 3, 3, 3])
    """

    def __init__(self, padding, value: float) -> None:
        super().__init__(value)
        self.padding = _ntuple(padding, 3, type(self).__name__)


class ZeroPad1d(ConstantPad1d):
    """Pad the last dimension with zeros.

    Example:
        >>> nn.ZeroPad1d((1, 2))(ember.ones(1, 1)).tolist()
        [[0.0, 1.0, 0.0, 0.0]]
    """

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dimensions with zeros.

    Example:
        >>> nn.ZeroPad2d(1)(ember.ones(1, 1, 1)).shape
        torch.Size([1, 3, 3])
    """

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pad the last three dimensions with zeros.

    Example:
        >>> nn.ZeroPad3d(1)(ember.ones(1, 1, 1, 1)).shape
        torch.Size([1, 3, 3, 3])
    """

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ModePadNd(Module):
    """Padding by a mode of ``F.pad`` other than constant, over the last ``_dims`` dims."""

    __constants__ = ["padding"]
    _mode = ""
    _dims = 1

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _ntuple(padding, self._dims, type(self).__name__)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ReflectionPadNd(_ModePadNd):
    _mode = "reflect"


class _ReplicationPadNd(_ModePadNd):
    _mode = "replicate"


class _CircularPadNd(_ModePadNd):
    _mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        # PyTorch's circular layers check the rank themselves, with ValueError
        lo = self._dims + 1
        if input.dim() not in (lo, lo + 1):
            raise ValueError(f"expected {lo}D or {lo + 1}D input (got {input.dim()}D input)")
        return super().forward(input)


class ReflectionPad1d(_ReflectionPadNd):
    """Pad the last dimension by reflecting the input at its edges (edges not repeated).

    Example:
        >>> nn.ReflectionPad1d(1)(ember.arange(3.).reshape(1, 3)).tolist()
        [[1.0, 0.0, 1.0, 2.0, 1.0]]
    """

    _dims = 1


class ReflectionPad2d(_ReflectionPadNd):
    """Pad the last two dimensions by reflection (CycleGAN's and pix2pix's padding).

    Example:
        >>> nn.ReflectionPad2d(1)(ember.zeros(1, 3, 3)).shape
        torch.Size([1, 5, 5])
    """

    _dims = 2


class ReflectionPad3d(_ReflectionPadNd):
    """Pad the last three dimensions by reflection.

    Example:
        >>> nn.ReflectionPad3d(1)(ember.zeros(1, 1, 3, 3, 3)).shape
        torch.Size([1, 1, 5, 5, 5])
    """

    _dims = 3


class ReplicationPad1d(_ReplicationPadNd):
    """Pad the last dimension by repeating the edge values.

    Example:
        >>> nn.ReplicationPad1d(1)(ember.arange(3.).reshape(1, 3)).tolist()
        [[0.0, 0.0, 1.0, 2.0, 2.0]]
    """

    _dims = 1


class ReplicationPad2d(_ReplicationPadNd):
    """Pad the last two dimensions by repeating the edge values.

    Example:
        >>> nn.ReplicationPad2d(1)(ember.zeros(1, 2, 2)).shape
        torch.Size([1, 4, 4])
    """

    _dims = 2


class ReplicationPad3d(_ReplicationPadNd):
    """Pad the last three dimensions by repeating the edge values.

    Example:
        >>> nn.ReplicationPad3d(1)(ember.zeros(1, 1, 2, 2, 2)).shape
        torch.Size([1, 1, 4, 4, 4])
    """

    _dims = 3


class CircularPad1d(_CircularPadNd):
    """Pad the last dimension by wrapping around (a periodic boundary).

    Example:
        >>> nn.CircularPad1d(1)(ember.arange(3.).reshape(1, 3)).tolist()
        [[2.0, 0.0, 1.0, 2.0, 0.0]]
    """

    _dims = 1


class CircularPad2d(_CircularPadNd):
    """Pad the last two dimensions by wrapping around.

    Example:
        >>> nn.CircularPad2d(1)(ember.zeros(1, 2, 2)).shape
        torch.Size([1, 4, 4])
    """

    _dims = 2


class CircularPad3d(_CircularPadNd):
    """Pad the last three dimensions by wrapping around.

    Example:
        >>> nn.CircularPad3d(1)(ember.zeros(1, 2, 2, 2)).shape
        torch.Size([1, 4, 4, 4])
    """

    _dims = 3
