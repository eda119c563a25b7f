"""Dropout functions of ``ember.nn.functional``."""

from __future__ import annotations

import warnings

import numpy as np

from .. import _random
from .._layout import like_layout
from .._ops.inplace import apply_inplace
from .._ops.nn.linear_softmax import _t
from .._tensor import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _inplace(input: Tensor, result: Tensor, name: str) -> Tensor:
    return apply_inplace(input, result, name)


# -- dropout --------------------------------------------------------------------------------

def _mask_layout(mask, input: Tensor):
    """torch draws an elementwise mask into ``empty_like(input)``: a channels_last input
    gets a channels_last mask, so the gradient (``grad * mask``) follows the layout too. A
    feature mask ``(N, C, 1, ...)`` broadcasts and keeps its own."""
    if mask.shape != input._data.shape:
        return mask
    return like_layout(mask, input._data)


def _keep_mask(input: Tensor, p: float, mask_shape):
    """The bernoulli(1 - p) keep mask. An elementwise mask is drawn into ``empty_like(input)``
    in memory order, as torch does, so a transposed input (batch_first attention output)
    gets the same mask as in torch; a feature mask is its own contiguous tensor."""
    if input._dtype.is_complex:  # PyTorch's Bernoulli kernel draws no complex mask
        from .._ops._dispatch import not_implemented_for

        raise not_implemented_for("bernoulli_scalar_cpu_", input._dtype)
    g = _random._gen(None)
    return _random._draw_in_memory_order(mask_shape, input._data,
                                        lambda shape: g.bernoulli(1.0 - p, shape))


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _drop(input: Tensor, p: float, mask_shape, inplace: bool, name: str) -> Tensor:
    dt = input._data.dtype
    if input.device.type == "meta":  # no data, so no draw: a meta mask of the right shape
        from .._backend import meta_array

        out = input * _t(meta_array(mask_shape, dt))
        return _inplace(input, out, name) if inplace else out
    if p == 1.0:
        mask = np.zeros(mask_shape, dt)
    else:
        # torch's noise: bernoulli_(1 - p) in the input's dtype, then div_(1 - p)
        keep = _keep_mask(input, p, mask_shape)
        mask = keep.astype(dt) / dt.type(1.0 - p)
    out = input * _t(_mask_layout(mask, input))
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


def _feature_noise_shape(input: Tensor) -> tuple:
    """The mask shape of ATen's feature dropout: (N, C, 1, 1, ...), one draw per channel."""
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return tuple(input.shape[:2]) + (1,) * (input.ndim - 2)


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool) -> Tensor:
    """ATen's ``feature_dropout``: the first dim is the batch, the second the channel."""
    if p == 0.0 or not training or input.numel() == 0:
        return input
    if p == 1.0:
        return _drop(input, p, (), inplace, "feature_dropout_")
    return _drop(input, p, _feature_noise_shape(input), inplace, "feature_dropout_")


def _unbatched_feature_dropout(input: Tensor, p: float, training: bool, inplace: bool) -> Tensor:
    """Feature dropout of an input without its batch dim, as torch does it: add the dim, drop,
    take it away again (in place, the input itself is returned)."""
    if inplace:
        if p == 0.0 or not training or input.numel() == 0:
            return input
        shape = () if p == 1.0 else _feature_noise_shape(input.unsqueeze(0))[1:]
        return _drop(input, p, shape, True, "feature_dropout_")
    return _feature_dropout(input.unsqueeze(0), p, training, False).squeeze(0)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) inputs, scaling the rest by 1/(1-p).

    Any other number of dims raises RuntimeError, as in PyTorch.

    Example:
        >>> F.dropout1d(ember.ones(2, 3), 0.5, training=False).shape
        torch.Size([2, 3])
    """
    _check_p(p)
    inp_dim = input.ndim
    if inp_dim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {inp_dim}D input. "
            "Note that dropout1d exists to provide channel-wise dropout on inputs with 1 "
            "spatial dimension, a channel dimension, and an optional batch dimension "
            "(i.e. 2D or 3D inputs).")
    if inp_dim == 3:
        return _feature_dropout(input, p, training, inplace)
    return _unbatched_feature_dropout(input, p, training, inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) inputs, scaling the rest by 1/(1-p).

    As in PyTorch 2.13, other ranks are deprecated but run with a UserWarning: the first dim is
    taken as the batch and the second as the channel, so a 3-D input is read as (N, C, L) and a
    2-D (N, C) input is dropped element by element; fewer than 2 dims raise RuntimeError.

    Example:
        >>> F.dropout2d(ember.ones(1, 2, 3, 3), 0.5, training=False).shape
        torch.Size([1, 2, 3, 3])
    """
    _check_p(p)
    inp_dim = input.ndim
    if inp_dim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {inp_dim}-D input to dropout2d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout2d "
            "exists to provide channel-wise dropout on inputs with 2 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2)
    if inp_dim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
            "1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    return _feature_dropout(input, p, training, inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs, scaling the rest by 1/(1-p).

    As in PyTorch 2.13, other ranks are deprecated but run with a UserWarning, read as one
    sample without its batch dim (the first dim is the channel).

    Example:
        >>> F.dropout3d(ember.ones(2, 1, 1, 1), 0.5, training=False).shape
        torch.Size([2, 1, 1, 1])
    """
    _check_p(p)
    inp_dim = input.ndim
    if inp_dim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {inp_dim}-D input to dropout3d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout3d "
            "exists to provide channel-wise dropout on inputs with 3 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=2)
    if inp_dim == 5:
        return _feature_dropout(input, p, training, inplace)
    return _unbatched_feature_dropout(input, p, training, inplace)


_ALPHA_P = -_SELU_ALPHA * _SELU_SCALE


def _alpha_drop(input, p, mask_shape, inplace):
    dt = input._data.dtype
    if p == 1.0:
        out = input * _t(np.zeros((), dt))
    else:
        keep = _keep_mask(input, p, mask_shape).astype(dt)
        a = 1.0 / np.sqrt((_ALPHA_P ** 2 * p + 1) * (1 - p))
        b = -_ALPHA_P * a * p  # a zero-mean input keeps a zero mean, as torch
        out = (input * _t(_mask_layout((keep * a).astype(dt), input))
               + _t(_mask_layout(((1 - keep) * (_ALPHA_P * a) + b).astype(dt), input)))
    return _inplace(input, out, "alpha_dropout_") if inplace else out


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU's zero mean and unit variance.

    Example:
        >>> F.alpha_dropout(ember.ones(2), 0.5, training=False)
        tensor([1., 1.])
    """
    _check_p(p)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    return _alpha_drop(input, p, tuple(input.shape), inplace)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (feature maps), keeping SELU's mean and variance.

    The first dim is the batch and the second the channel; in training with 0 < p < 1 an input
    of fewer than 2 dims raises RuntimeError, as in PyTorch.

    Example:
        >>> F.feature_alpha_dropout(ember.ones(1, 2), 0.5, training=False)
        tensor([[1., 1.]])
    """
    _check_p(p)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    shape = () if p == 1.0 else _feature_noise_shape(input)
    return _alpha_drop(input, p, shape, inplace)
