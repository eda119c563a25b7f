"""Dropout and embedding functions of ``ember.nn.functional``."""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .. import _random
from .._ops.inplace import apply_inplace
from .._ops.nn_ops import Embedding as _EmbeddingOp
from .._ops.nn_ops import _t
from .._tensor import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout", "embedding"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _inplace(input: Tensor, result: Tensor, name: str) -> Tensor:
    return apply_inplace(input, result, name)


# -- dropout --------------------------------------------------------------------------------

def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _drop(input: Tensor, p: float, mask_shape, inplace: bool, name: str) -> Tensor:
    dt = input._data.dtype
    if p == 1.0:
        mask = np.zeros(mask_shape, dt)
    else:
        keep = _random._gen(None).random(mask_shape) >= p
        mask = keep.astype(dt) * dt.type(1.0 / (1.0 - p))
    out = input * _t(mask)
    return _inplace(input, out, name) if inplace else out


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only).

    Example:
        >>> F.dropout(ember.ones(4), 0.5, training=False)
        tensor([1., 1., 1., 1.])
    """
    _check_p(p)
    if not training or p == 0.0:
        return input
    return _drop(input, p, tuple(input.shape), inplace, "dropout_")


def _feature_dropout(input, p, training, inplace, batched_ndim, name):
    _check_p(p)
    if input.ndim not in (batched_ndim - 1, batched_ndim):
        raise RuntimeError(f"{name}: Expected {batched_ndim - 1}D or {batched_ndim}D input, but "
                           f"received a {input.ndim}D input. Note that {name} exists to provide "
                           "channel-wise dropout on inputs with 1 spatial dimension, a channel "
                           "dimension, and an optional batch dimension (i.e. 2D or 3D inputs)."
                           if batched_ndim == 3 else
                           f"{name}: Expected {batched_ndim - 1}D or {batched_ndim}D input, but "
                           f"received a {input.ndim}D input")
    if not training or p == 0.0:
        return input
    lead = 2 if input.ndim == batched_ndim else 1
    shape = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    return _drop(input, p, shape, inplace, name + "_")


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) inputs."""
    return _feature_dropout(input, p, training, inplace, 3, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) or (C, H, W) inputs."""
    return _feature_dropout(input, p, training, inplace, 4, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs."""
    return _feature_dropout(input, p, training, inplace, 5, "dropout3d")


_ALPHA_P = -_SELU_ALPHA * _SELU_SCALE


def _alpha_drop(input, p, training, mask_shape):
    _check_p(p)
    if not training or p == 0.0:
        return input
    dt = input._data.dtype
    if p == 1.0:
        return input * 0
    keep = (_random._gen(None).random(mask_shape) >= p).astype(dt)
    a = 1.0 / np.sqrt((_ALPHA_P ** 2 * p + 1) * (1 - p))
    b = _ALPHA_P * a * p
    return input * _t((keep * a).astype(dt)) + _t(((1 - keep) * (_ALPHA_P * a) + b).astype(dt))


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU's zero mean and unit variance."""
    return _alpha_drop(input, p, training, tuple(input.shape))


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (feature maps), keeping SELU's mean and variance."""
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _alpha_drop(input, p, training, shape)


# -- embedding ----------------------------------------------------------------

def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; ``padding_idx``'s row gets no grad.

    Example:
        >>> F.embedding(ember.tensor([1]), ember.eye(3))
        tensor([[0., 1., 0.]])
    """
    if input._dtype not in (D.int64, D.int32):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.dtype} instead "
                           "(while checking arguments for embedding). Call input.long().")
    num = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= num:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -num:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = num + padding_idx
    idx = input._data
    if idx.size and (idx.min() < -num or idx.max() >= num):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    return _EmbeddingOp.apply(weight, indices=idx, padding_idx=padding_idx,
                              scale_grad_by_freq=scale_grad_by_freq)


def _renorm_rows(weight: Tensor, idx, max_norm, norm_type) -> None:
    """Rescale (in place, outside autograd) the looked-up rows whose norm exceeds max_norm."""
    rows = np.unique(idx)
    w = weight._data
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        w[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(w.dtype)
        weight._version[0] += 1


