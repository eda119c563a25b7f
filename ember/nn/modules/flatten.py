"""``Flatten`` and ``Unflatten``."""

from __future__ import annotations

from ..._ops._core import wrap_dim
from ..._tensor import Tensor
from .module import Module

__all__ = ["Flatten", "Unflatten"]


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one (a view where the layout allows)."""
    if input.ndim == 0:
        return input.reshape(1)
    s = wrap_dim(start_dim, input.ndim)
    e = wrap_dim(end_dim, input.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shape = tuple(input.shape)
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return input.reshape(shape[:s] + (n,) + shape[e + 1:])


class Flatten(Module):
    """Flattens dims ``start_dim..end_dim`` (default: all but the batch dim).

    Example:
        >>> ember.nn.Flatten()(ember.zeros(32, 1, 5, 5)).shape
        torch.Size([32, 25])
    """

    __constants__ = ["start_dim", "end_dim"]

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expands dim ``dim`` into ``unflattened_size``.

    Example:
        >>> ember.nn.Unflatten(1, (2, 5))(ember.zeros(2, 10)).shape
        torch.Size([2, 2, 5])
    """

    def __init__(self, dim: int | str, unflattened_size) -> None:
        super().__init__()
        if not isinstance(dim, int):
            raise TypeError("invalid argument type for dim parameter (named tensors are not "
                            "supported)")
        if not isinstance(unflattened_size, (tuple, list)) or not all(
                isinstance(x, int) for x in unflattened_size):
            raise TypeError("unflattened_size must be tuple of ints, but found element of type "
                            f"{type(unflattened_size).__name__}")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        d = wrap_dim(self.dim, input.ndim)
        size = list(self.unflattened_size)
        if -1 in size:
            known = 1
            for x in size:
                if x != -1:
                    known *= x
            size[size.index(-1)] = input.shape[d] // known if known else 0
        n = 1
        for x in size:
            n *= x
        if n != input.shape[d]:
            raise RuntimeError(f"unflatten: Provided sizes {list(self.unflattened_size)} don't "
                               f"multiply up to the size of dim {self.dim} ({input.shape[d]}) in "
                               "the input tensor")
        shape = tuple(input.shape)
        return input.reshape(shape[:d] + tuple(size) + shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
