"""PyTorch's out-of-place twins of its view ops (``view_copy``, ``permute_copy``,
``diagonal_copy`` ...: the view's values in fresh memory) and the ops that embed a source into
a view of a copy of the input (``diagonal_scatter``, ``select_scatter``, ``slice_scatter``,
``as_strided_scatter``).

Each ``*_copy`` takes the view and copies it (one helper, ``_fresh``), so its gradient is the
view's; the node is named as torch names it (``<view node>_copy``). Each ``*_scatter`` writes
``src`` into the view of a clone with ``copy_``, so ember's in-place machinery routes the
gradient: ``src`` gets the view's region, ``input`` the rest.
"""

from __future__ import annotations

from ... import _dtype as D
from ..._tensor import Tensor
from ...autograd import grad_mode
from .._core import NO_DIM, set_node_name, wrap_dim
from .._dispatch import type_name
from ..pointwise.complex import view_as_complex, view_as_real
from .joining import split, split_with_sizes, unbind
from .reshaping import diagonal, select, unfold
from .strided import as_strided
from .views import Clone, expand, permute, squeeze, t, transpose, unsqueeze, view


def _fresh(view_of):
    """The view's values in new C-contiguous memory, in the graph as torch's ``*_copy``."""
    if isinstance(view_of, tuple):
        return tuple(_fresh(v) for v in view_of)
    name = view_of.grad_fn.name() if view_of.grad_fn is not None else None
    out = Clone.apply(view_of, memory_format=D.contiguous_format)
    return set_node_name(out, name + "_copy") if name else out


def _slice(input: Tensor, dim: int, start, end, step: int) -> Tensor:
    """``input[start:end:step]`` along ``dim`` (torch's ``slice``: bounds clamp, step > 0)."""
    if input.ndim == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    d = wrap_dim(dim, input.ndim)
    return input[(slice(None),) * d + (slice(start, end, step),)]


def alias_copy(input: Tensor) -> Tensor:
    """A copy of ``input`` in fresh memory (torch's copy of its ``alias`` view).

    Example:
        >>> ember.alias_copy(ember.tensor([1, 2]))
        tensor([1, 2])
    """
    out = Clone.apply(input, memory_format=D.contiguous_format)
    return set_node_name(out, "AliasBackward0_copy")


def view_copy(input: Tensor, size) -> Tensor:
    """``input.view(size)`` (or ``input.view(dtype)``) in fresh memory.

    Example:
        >>> ember.view_copy(ember.arange(4), (2, 2))
        tensor([[0, 1],
                [2, 3]])
    """
    return _fresh(view(input, size))


def permute_copy(input: Tensor, dims) -> Tensor:
    """``input.permute(dims)`` in fresh (contiguous) memory.

    Example:
        >>> ember.permute_copy(ember.ones(2, 3), (1, 0)).stride()
        (2, 1)
    """
    return _fresh(permute(input, dims))


def transpose_copy(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """``input.transpose(dim0, dim1)`` in fresh memory.

    Example:
        >>> ember.transpose_copy(ember.ones(2, 3), 0, 1).shape
        torch.Size([3, 2])
    """
    return _fresh(transpose(input, dim0, dim1))


def t_copy(input: Tensor) -> Tensor:
    """``input.t()`` in fresh memory.

    Example:
        >>> ember.t_copy(ember.tensor([[1, 2]]))
        tensor([[1],
                [2]])
    """
    return _fresh(t(input))


def squeeze_copy(input: Tensor, dim=NO_DIM) -> Tensor:
    """``input.squeeze(dim)`` in fresh memory.

    Example:
        >>> ember.squeeze_copy(ember.ones(1, 2, 1)).shape
        torch.Size([2])
    """
    return _fresh(squeeze(input, dim))


def unsqueeze_copy(input: Tensor, dim: int) -> Tensor:
    """``input.unsqueeze(dim)`` in fresh memory.

    Example:
        >>> ember.unsqueeze_copy(ember.ones(2), 0).shape
        torch.Size([1, 2])
    """
    return _fresh(unsqueeze(input, dim))


def select_copy(input: Tensor, dim: int, index: int) -> Tensor:
    """``input.select(dim, index)`` in fresh memory.

    Example:
        >>> ember.select_copy(ember.tensor([[1, 2], [3, 4]]), 1, 0)
        tensor([1, 3])
    """
    return _fresh(select(input, dim, index))


def slice_copy(input: Tensor, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    """``input[start:end:step]`` along ``dim`` in fresh memory.

    Example:
        >>> ember.slice_copy(ember.arange(6), 0, 1, 5, 2)
        tensor([1, 3])
    """
    return _fresh(_slice(input, dim, start, end, step))


def split_copy(input: Tensor, split_size, dim: int = 0) -> tuple:
    """``input.split(split_size, dim)``, each piece in fresh memory.

    Example:
        >>> [p.tolist() for p in ember.split_copy(ember.arange(5), 2)]
        [[0, 1], [2, 3], [4]]
    """
    return _fresh(split(input, split_size, dim))


def split_with_sizes_copy(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """``input.split_with_sizes(split_sizes, dim)``, each piece in fresh memory.

    Example:
        >>> [p.tolist() for p in ember.split_with_sizes_copy(ember.arange(3), [1, 2])]
        [[0], [1, 2]]
    """
    return _fresh(split_with_sizes(input, split_sizes, dim))


def unbind_copy(input: Tensor, dim: int = 0) -> tuple:
    """``input.unbind(dim)``, each slice in fresh memory.

    Example:
        >>> ember.unbind_copy(ember.tensor([[1, 2], [3, 4]]), 1)
        (tensor([1, 3]), tensor([2, 4]))
    """
    return _fresh(unbind(input, dim))


def unfold_copy(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``input.unfold(dimension, size, step)`` (sliding windows) in fresh memory.

    Example:
        >>> ember.unfold_copy(ember.arange(4), 0, 2, 2)
        tensor([[0, 1],
                [2, 3]])
    """
    return _fresh(unfold(input, dimension, size, step))


def diagonal_copy(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """``input.diagonal(offset, dim1, dim2)`` in fresh memory.

    Example:
        >>> ember.diagonal_copy(ember.tensor([[1, 2], [3, 4]]))
        tensor([1, 4])
    """
    return _fresh(diagonal(input, offset, dim1, dim2))


def expand_copy(input: Tensor, size, *, implicit: bool = False) -> Tensor:
    """``input.expand(size)`` materialised in fresh memory (``implicit`` is accepted for
    torch's signature and has no effect).

    Example:
        >>> ember.expand_copy(ember.tensor([1, 2]), (2, 2))
        tensor([[1, 2],
                [1, 2]])
    """
    return _fresh(expand(input, tuple(size)))


def detach_copy(input: Tensor) -> Tensor:
    """``input.detach()`` in fresh memory: a copy outside the autograd graph.

    Example:
        >>> ember.detach_copy(ember.ones(2, requires_grad=True)).requires_grad
        False
    """
    return Clone.apply(input.detach(), memory_format=D.contiguous_format)


def as_strided_copy(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """``input.as_strided(size, stride, storage_offset)`` in fresh memory.

    Example:
        >>> ember.as_strided_copy(ember.arange(4.), (2, 2), (1, 2))
        tensor([[0., 2.],
                [1., 3.]])
    """
    return _fresh(as_strided(input, size, stride, storage_offset))


def view_as_real_copy(input: Tensor) -> Tensor:
    """``view_as_real(input)`` in fresh memory.

    Example:
        >>> ember.view_as_real_copy(ember.tensor([1 + 2j]))
        tensor([[1., 2.]])
    """
    return _fresh(view_as_real(input))


def view_as_complex_copy(input: Tensor) -> Tensor:
    """``view_as_complex(input)`` in fresh memory.

    Example:
        >>> ember.view_as_complex_copy(ember.tensor([[1., 2.]]))
        tensor([1.+2.j])
    """
    if input.requires_grad and grad_mode._state.enabled:  # torch has no such derivative
        raise RuntimeError("view_as_complex_copy does not support automatic differentiation "
                           "for outputs with complex dtype.")
    return _fresh(view_as_complex(input))


def values_copy(input: Tensor) -> Tensor:
    """A sparse COO tensor's ``values()`` in fresh memory.

    Example:
        >>> ember.values_copy(ember.tensor([0., 3.]).to_sparse())
        tensor([3.])
    """
    return Clone.apply(input.values(), memory_format=D.contiguous_format)


def indices_copy(input: Tensor) -> Tensor:
    """A sparse COO tensor's ``indices()`` in fresh memory.

    Example:
        >>> ember.indices_copy(ember.tensor([0., 3.]).to_sparse())
        tensor([[1]])
    """
    return Clone.apply(input.indices(), memory_format=D.contiguous_format)


# -- *_scatter: src embedded into a view of a copy of input ------------------------------------

def _embed(input: Tensor, src: Tensor, region, name: str) -> Tensor:
    """A clone of ``input`` with ``src`` written into ``region(clone)``."""
    if not isinstance(src, Tensor):
        raise TypeError(f"{name}(): argument 'src' (position 2) must be Tensor, not "
                        f"{type_name(src)}")
    out = Clone.apply(input)
    target = region(out)
    if tuple(target.shape) != tuple(src.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(target.shape)}")
    target.copy_(src)
    node = "".join(part.title() for part in name.split("_")) + "Backward0"
    return set_node_name(out, node) if out.grad_fn is not None else out


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start=None, end=None,
                  step: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``input[start:end:step]`` along ``dim``;
    gradients reach both.

    Example:
        >>> ember.slice_scatter(ember.zeros(4), ember.ones(2), 0, 0, 4, 2)
        tensor([1., 0., 1., 0.])
    """
    return _embed(input, src, lambda x: _slice(x, dim, start, end, step), "slice_scatter")


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``input.select(dim, index)``.

    Example:
        >>> ember.select_scatter(ember.zeros(2, 2), ember.ones(2), 0, 1)
        tensor([[0., 0.],
                [1., 1.]])
    """
    return _embed(input, src, lambda x: select(x, dim, index), "select_scatter")


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``input.diagonal(offset, dim1, dim2)``.

    Example:
        >>> ember.diagonal_scatter(ember.zeros(2, 2), ember.ones(2))
        tensor([[1., 0.],
                [0., 1.]])
    """
    return _embed(input, src, lambda x: diagonal(x, offset, dim1, dim2), "diagonal_scatter")


def as_strided_scatter(input: Tensor, src: Tensor, size, stride,
                       storage_offset: int | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``as_strided(size, stride,
    storage_offset)`` of that copy's storage.

    Example:
        >>> ember.as_strided_scatter(ember.zeros(4), ember.ones(2), (2,), (2,))
        tensor([1., 0., 1., 0.])
    """
    return _embed(input, src, lambda x: as_strided(x, size, stride, storage_offset),
                  "as_strided_scatter")


__all__ = ["alias_copy", "view_copy", "permute_copy", "transpose_copy", "t_copy", "squeeze_copy",
           "unsqueeze_copy", "select_copy", "slice_copy", "split_copy", "split_with_sizes_copy",
           "unbind_copy", "unfold_copy", "diagonal_copy", "expand_copy", "detach_copy",
           "as_strided_copy", "view_as_real_copy", "view_as_complex_copy", "values_copy",
           "indices_copy", "slice_scatter",
           "select_scatter", "diagonal_scatter", "as_strided_scatter"]
TENSOR_METHODS = {"slice_scatter": slice_scatter, "select_scatter": select_scatter,
                  "diagonal_scatter": diagonal_scatter, "as_strided_scatter": as_strided_scatter}
