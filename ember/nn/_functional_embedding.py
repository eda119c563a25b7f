"""Embedding lookups of ``ember.nn.functional``: ``embedding`` (rows of a table) and
``embedding_bag`` (sums, means or maxima of bags of rows, without building the per-token
tensor a user would otherwise reduce: the text-classification tutorial's ``nn.EmbeddingBag``)."""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._errors import with_hint
from .._ops._core import named_node
from .._ops.nn.linear_softmax import Embedding as _EmbeddingOp
from .._tensor import Tensor

__all__ = ["embedding", "embedding_bag"]


def normalize_padding_idx(padding_idx: int | None, num_embeddings: int,
                          label: str = "Padding_idx") -> int | None:
    """``padding_idx`` as a row number in ``[0, num_embeddings)`` (negative counts from the
    end); AssertionError, as PyTorch raises, when it is outside the table."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError(f"{label} must be within num_embeddings")
    return padding_idx + num_embeddings if padding_idx < 0 else padding_idx


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False, *,
              _keep=None) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; ``padding_idx``'s row gets no grad.

    With ``sparse=True`` the gradient of ``weight`` is a sparse COO tensor with one entry per
    looked-up row (for ``optim.SGD``, ``optim.Adagrad`` or ``optim.SparseAdam``).

    Example:
        >>> F.embedding(ember.tensor([1]), ember.eye(3))
        tensor([[0., 1., 0.]])
    """
    # torch's order: padding_idx against weight.size(0), the weight's rank, the index dtype
    if padding_idx is not None:
        if weight.ndim == 0:  # torch reads weight.size(0) for a padding_idx other than 0
            if padding_idx != 0:
                raise IndexError("Dimension specified as 0 but tensor has no dimensions")
        else:
            padding_idx = normalize_padding_idx(padding_idx, weight.shape[0])
    if weight.ndim != 2:  # a table of rows, one per index
        raise with_hint(RuntimeError("'weight' must be 2-D"),
                        f"got a {weight.ndim}-D weight of shape {list(weight.shape)}; embedding "
                        "looks up its rows")
    if input._dtype not in (D.int64, D.int32):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.type()} instead "
                           "(while checking arguments for embedding)")
    num = weight.shape[0]
    idx = input._data
    if idx.size and (idx.min() < 0 or idx.max() >= num):  # no negative indexing, as torch
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    return _EmbeddingOp.apply(weight, indices=idx, padding_idx=padding_idx,
                              scale_grad_by_freq=scale_grad_by_freq, sparse=bool(sparse),
                              keep=_keep)


def _renorm_rows(weight: Tensor, idx, max_norm, norm_type) -> None:
    """Rescale (in place, outside autograd) the looked-up rows whose norm exceeds max_norm."""
    rows = np.unique(idx)
    w = weight._data
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        # the scale in float64, rounded once to the weight's dtype, as PyTorch computes it
        scale = max_norm / (norms[big].astype(np.float64) + 1e-7)
        w[rows[big]] *= scale[:, None].astype(w.dtype)
        weight._vbox[0] += 1



def _bags(input: Tensor, offsets: Tensor | None, include_last_offset: bool):
    """The indices as a padded (bags, longest) matrix and the mask of real entries."""
    idx = input._data
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}")
        return idx, np.ones(idx.shape, bool)
    if input.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    if offsets._dtype not in (D.int64, D.int32):
        # torch names the offsets argument #1 'indices' here too
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {offsets.type()} instead "
                           "(while checking arguments for embedding_bag)")
    starts = offsets._data.astype(np.int64)
    if starts.size and starts[0] != 0:
        raise RuntimeError(
            "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
            f"from position 0. However, got {int(starts[0])}")
    n = idx.shape[0]
    if starts.size and (np.any(np.diff(starts) < 0) or starts[-1] > n):
        raise RuntimeError(f"offsets must be non-decreasing and at most the input's length "
                           f"{n}, got {starts.tolist()}")
    ends = np.append(starts[1:], n)
    if include_last_offset:
        starts, ends = starts[:-1], ends[:-1]
    lengths = ends - starts
    width = int(lengths.max()) if lengths.size else 0
    pos = np.arange(width)
    mask = pos[None, :] < lengths[:, None]
    gather = np.where(mask, starts[:, None] + pos[None, :], 0)
    padded = idx[gather] if n else np.zeros(gather.shape, idx.dtype)
    return np.where(mask, padded, 0).astype(idx.dtype, copy=False), mask


@named_node("EmbeddingBagBackward0")  # torch's one kernel, whatever the mode
def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Reduce bags of embedding rows: ``sum``, ``mean`` or ``max`` of ``weight[input]`` per bag.

    A 2-D ``input`` is a batch of equal-length bags; a 1-D ``input`` is split into bags at
    ``offsets`` (bag ``i`` is ``input[offsets[i]:offsets[i+1]]``). Entries equal to
    ``padding_idx`` are left out of their bag; an empty bag gives zeros.

    Example:
        >>> w = ember.arange(6.).reshape(3, 2)
        >>> F.embedding_bag(ember.tensor([0, 2, 1]), w, ember.tensor([0, 2]), mode="sum")
        tensor([[4., 6.],
                [2., 3.]])
    """
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if input._dtype not in (D.int64, D.int32):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.type()} instead "
                           "(while checking arguments for embedding_bag)")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                "on GitHub.")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape})"
                             f" is not None, then it must have the same shape as the input "
                             f"({input.shape})")
        if per_sample_weights._dtype is not weight._dtype:  # torch never promotes them
            raise RuntimeError(
                f"Expected tensor for argument #1 'weight' to have the same type as tensor for "
                f"argument #1 'per_sample_weights'; but type torch.{weight._dtype._legacy} does "
                f"not equal torch.{per_sample_weights._dtype._legacy} (while checking arguments "
                "for embedding_bag)")
    num = weight.shape[0]
    flat = input._data.reshape(-1)
    bad = np.flatnonzero((flat < 0) | (flat >= num))
    if bad.size:
        raise RuntimeError(f"Index {int(bad[0])} of input takes value {int(flat[bad[0]])} "
                           f"which is not in the valid range [0, {num})")
    padding_idx = normalize_padding_idx(padding_idx, num, "padding_idx")
    idx, mask = _bags(input, offsets, include_last_offset)
    if padding_idx is not None:
        mask = mask & (idx != padding_idx)
    rows = embedding(Tensor._make(idx, input._dtype), weight, None, max_norm, norm_type,
                     scale_grad_by_freq, sparse, _keep=mask)   # (bags, longest, dim)
    keep = Tensor._make(mask[..., None], D.bool)
    if mode == "max":
        empty = ~mask.any(axis=1)
        # max(1), not amax(1): like torch, a tie within a bag sends the whole gradient to the
        # bag's first maximal entry instead of sharing it among the tied rows
        out = rows.masked_fill(~keep, float("-inf")).max(1)[0] if mask.shape[1] else \
            rows.sum(1)
        return out.masked_fill(Tensor._make(empty[:, None], D.bool), 0.0) if empty.any() \
            else out
    picked = rows.masked_fill(~keep, 0.0)
    if per_sample_weights is not None:
        psw = per_sample_weights
        if input.ndim == 1:
            order, _ = _bags(  # each bag slot's position in the flat input
Tensor._make(np.arange(flat.size), D.int64), offsets,
                             include_last_offset)
            psw = psw[Tensor._make(order, D.int64)]
        picked = picked * psw.unsqueeze(-1)
    total = picked.sum(1)
    if mode == "sum":
        return total
    count = np.maximum(mask.sum(axis=1, keepdims=True), 1).astype(weight._data.dtype)
    return total / Tensor._make(count, weight._dtype)
