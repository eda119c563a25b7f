"""``torch.nested``: batches of tensors whose sizes differ, without padding.

``nested_tensor([a, b])`` copies the components into a nested tensor (strided layout: any
dimension may differ); ``layout=ember.jagged`` requires them to differ in one dimension only
and keeps them as views of one ``values()`` tensor with ``offsets()``. Elementwise ops,
activations, ``F.linear``, ``matmul``, ``F.scaled_dot_product_attention``, softmaxes,
``layer_norm`` and sums/means past the batch dimension run on nested tensors and keep
gradients; ``to_padded_tensor`` and ``unbind`` convert back. ember computes component by
component (torch's jagged kernels work on ``values()`` at once): the same numbers, with a
Python loop over the batch.

Example:
    >>> nt = ember.nested.nested_tensor([ember.arange(3.0), ember.arange(5.0)],
    ...                                 layout=ember.jagged)
    >>> ember.nested.to_padded_tensor(nt * 2, 0.0)
    tensor([[0., 2., 4., 0., 0.],
            [0., 2., 4., 6., 8.]])
"""

from __future__ import annotations

import warnings

import numpy as np

from ._layout import jagged, strided
from ._nested_tensor import NestedTensor, _split
from ._tensor import Tensor

__all__ = ["nested_tensor", "as_nested_tensor", "nested_tensor_from_jagged",
           "to_padded_tensor", "narrow"]


def _check_layout(layout):
    if layout is None:
        return strided
    if layout is not strided and layout is not jagged:
        raise RuntimeError(f"Specified layout is unsupported for nested tensors: {layout}")
    return layout


def _jagged_dim(shapes) -> int:
    """The one dimension (of the components) whose sizes differ, or 0 when none does."""
    ranks = {len(s) for s in shapes}
    if len(ranks) != 1 or 0 in ranks:
        raise RuntimeError("When constructing a nested tensor, all tensors in list must have "
                           "the same dim")
    differ = [d for d in range(len(shapes[0])) if len({s[d] for s in shapes}) > 1]
    if len(differ) > 1 or (differ and differ[0] != 0):
        raise RuntimeError("Cannot represent given tensor list as a nested tensor with the "
                           "jagged layout. Note that the jagged layout only allows for a single "
                           "ragged dimension. For example: (B, *, D_0, D_1, ..., D_N), with "
                           "ragged * dim.")
    return 0


def _from_list(tensors, dtype, device, layout, keep_graph: bool, requires_grad=False):
    from ._creation import tensor as make

    if len(tensors) == 0:
        raise RuntimeError("nested_tensor(): expected a non-empty list of tensors")
    parts = []
    for t in tensors:
        if not isinstance(t, Tensor):
            t = make(t, dtype=dtype, device=device)
        elif not keep_graph:
            t = t.detach()
        if dtype is not None or device is not None:
            t = t.to(device=device, dtype=dtype)
        parts.append(t)
    dtypes = {p.dtype for p in parts}
    if len(dtypes) > 1:
        raise RuntimeError("When constructing a nested tensor, all tensors in list must have "
                           "the same dtype")
    if layout is jagged:
        _jagged_dim([tuple(p.shape) for p in parts])
        from ._ops.shape.joining import cat

        values = cat([p.reshape(-1, *p.shape[1:]) if p.dim() else p for p in parts], 0)
        if not keep_graph:
            values = values.detach().clone()
            if requires_grad:
                values.requires_grad_(True)
        lengths = [p.shape[0] for p in parts]
        return NestedTensor._build(_split(values, lengths), jagged, 1, None, values)
    warnings.warn("The PyTorch API of nested tensors is in prototype stage and will change in the "
                  "near future. We recommend specifying layout=torch.jagged when constructing a "
                  "nested tensor, as this layout receives active development, has better "
                  "operator coverage, and works with torch.compile.", UserWarning, stacklevel=3)
    ranks = {p.dim() for p in parts}
    if len(ranks) != 1:
        raise RuntimeError("When constructing a nested tensor, all tensors in list must have "
                           "the same dim")
    if not keep_graph:
        parts = [p.clone() for p in parts]
        if requires_grad:
            parts = [p.requires_grad_(True) for p in parts]
    return NestedTensor._build(parts, strided)


def nested_tensor(tensor_list, *, dtype=None, layout=None, device=None,
                  requires_grad: bool = False, pin_memory: bool = False) -> NestedTensor:
    """A nested tensor holding copies of ``tensor_list``'s tensors (or nested lists of
    numbers), as a new leaf (``requires_grad`` applies to it).

    Example:
        >>> nt = ember.nested.nested_tensor([[1, 2], [3]])
        >>> nt.unbind()
        (tensor([1, 2]), tensor([3]))
    """
    layout = _check_layout(layout)
    return _from_list(list(tensor_list), dtype, device, layout, keep_graph=False,
                      requires_grad=requires_grad)


def as_nested_tensor(ts, dtype=None, device=None, layout=None) -> NestedTensor:
    """A nested tensor of ``ts`` (a list of tensors, or a tensor whose first dimension runs
    over the components) that keeps the autograd graph: gradients reach ``ts``.

    Example:
        >>> x = ember.randn(3, 4, requires_grad=True)
        >>> ember.nested.as_nested_tensor([x[:1], x[1:]], layout=ember.jagged).shape
        torch.Size([2, j1, 4])
    """
    layout = _check_layout(layout)
    if isinstance(ts, NestedTensor):
        return ts
    if isinstance(ts, Tensor):
        if ts.dim() < 2 and layout is jagged:
            raise RuntimeError("as_nested_tensor(): a tensor needs at least 2 dimensions to "
                               "become a jagged nested tensor")
        ts = list(ts.unbind(0))
    return _from_list(list(ts), dtype, device, layout, keep_graph=True)


def nested_tensor_from_jagged(values: Tensor, offsets: Tensor | None = None,
                              lengths: Tensor | None = None, jagged_dim: int | None = None,
                              min_seqlen: int | None = None,
                              max_seqlen: int | None = None) -> NestedTensor:
    """A jagged nested tensor viewing ``values``: component ``i`` is
    ``values[offsets[i]:offsets[i + 1]]`` (or ``lengths[i]`` rows from ``offsets[i]``).

    Example:
        >>> v = ember.arange(10.0).reshape(5, 2)
        >>> nt = ember.nested.nested_tensor_from_jagged(v, ember.tensor([0, 2, 5]))
        >>> nt.shape
        torch.Size([2, j1, 2])
    """
    if jagged_dim not in (None, 1):
        raise NotImplementedError("nested_tensor_from_jagged(): ember supports jagged_dim=1 "
                                  "(the ragged dimension right after the batch)")
    if offsets is None:
        if lengths is None:
            raise RuntimeError("nested_tensor_from_jagged(): At least one of offsets or lengths "
                               "is required.")
        offsets = Tensor._make(np.concatenate(([0], np.cumsum(lengths.numpy()))).astype(np.int64))
        lengths = None
    off = offsets.detach().numpy().astype(np.int64)
    if off.ndim != 1 or off.size < 2 or off[0] != 0 or np.any(np.diff(off) < 0) \
            or off[-1] > values.shape[0]:
        raise RuntimeError(f"nested_tensor_from_jagged(): offsets must rise from 0 to at most "
                           f"values.shape[0] ({values.shape[0]}), got {off.tolist()}")
    if lengths is not None:
        ln = lengths.detach().numpy().astype(np.int64)
        parts = [values[int(o):int(o) + int(n)] for o, n in zip(off[:-1], ln)]
        return NestedTensor._build(parts, jagged, 1, None, None)
    if off[-1] != values.shape[0]:
        parts = [values[int(a):int(b)] for a, b in zip(off[:-1], off[1:])]
        return NestedTensor._build(parts, jagged, 1, None, None)
    nt = NestedTensor._build(_split(values, np.diff(off).tolist()), jagged, 1, None, values)
    nt._offsets = offsets
    nt._views_values = True
    return nt


def narrow(tensor: Tensor, dim: int, start, length, layout=strided) -> NestedTensor:
    """A nested tensor of rows of ``tensor``: component ``i`` is ``tensor[i]`` narrowed along
    ``dim - 1`` to ``length[i]`` entries from ``start[i]`` (numbers or per-row tensors).

    Example:
        >>> x = ember.arange(12.0).reshape(3, 4)
        >>> ember.nested.narrow(x, 1, ember.tensor([0, 1, 2]), ember.tensor([2, 2, 1]),
        ...                     layout=ember.jagged).unbind()
    """
    layout = _check_layout(layout)
    if dim != 1 and layout is jagged:
        raise RuntimeError("narrow(): only dim=1 is supported for the jagged layout")
    n = tensor.shape[0]

    def per_row(v):
        if isinstance(v, Tensor):
            return [int(x) for x in v.detach().numpy().reshape(-1)]
        return [int(v)] * n

    starts, lengths = per_row(start), per_row(length)
    parts = [tensor[i].narrow(dim - 1, s, ln) for i, (s, ln) in enumerate(zip(starts, lengths))]
    return NestedTensor._build(parts, layout, 1)


def to_padded_tensor(input: NestedTensor, padding: float, output_size=None) -> Tensor:
    """A dense tensor of ``input``'s components, each padded with ``padding`` to the largest
    size per dimension (or to ``output_size``); differentiable.

    Example:
        >>> nt = ember.nested.nested_tensor([ember.ones(1), ember.ones(3)])
        >>> ember.nested.to_padded_tensor(nt, -1.0)
        tensor([[ 1., -1., -1.],
                [ 1.,  1.,  1.]])
    """
    from ._ops.shape.joining import stack
    from .nn.functional import pad

    if not isinstance(input, NestedTensor):
        raise RuntimeError("to_padded_tensor(): expected a nested tensor")
    comps = input._components
    rank = comps[0].dim()
    sizes = [max(c.shape[d] for c in comps) for d in range(rank)]
    if output_size is not None:
        output_size = list(output_size)
        if len(output_size) != rank + 1:
            raise RuntimeError(f"to_padded_tensor(): output_size {output_size} must have "
                               f"{rank + 1} entries")
        for d, (want, have) in enumerate(zip(output_size[1:], sizes)):
            if want < have:
                raise RuntimeError(f"Value in output_size is less than NestedTensor padded "
                                   f"size. Check dimension {d + 1}")
        sizes = output_size[1:]
    padded = []
    for c in comps:
        widths = []
        for d in reversed(range(rank)):
            widths += [0, sizes[d] - c.shape[d]]
        padded.append(pad(c, widths, value=padding) if any(widths) else c)
    out = stack(padded, 0)
    if output_size is not None and output_size[0] > len(comps):
        extra = output_size[0] - len(comps)
        from ._creation import full

        out = stack(list(out.unbind(0)) + [full(sizes, padding, dtype=out.dtype)] * extra, 0)
    return out
