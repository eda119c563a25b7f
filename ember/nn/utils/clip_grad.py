"""Gradient clipping: ``clip_grad_norm_`` (``get_total_norm`` then ``clip_grads_with_norm_``,
as in PyTorch) and ``clip_grad_value_``."""

from __future__ import annotations

import types
import warnings
from collections.abc import Iterable

import numpy as np

from ..._errors import with_hint
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


@no_grad()
def get_total_norm(tensors: Iterable[Tensor] | Tensor, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The ``norm_type``-norm of the norms of ``tensors`` (as if they were concatenated into
    one vector); ``tensor(0.)`` for none. ``foreach`` is accepted: ember has one path.

    Example:
        >>> ember.nn.utils.get_total_norm([ember.ones(4), ember.ones(5)])
        tensor(3.)
    """
    from ... import stack
    from ...linalg import vector_norm

    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._make(np.asarray(0.0, np.float32))
    total = vector_norm(stack([vector_norm(t, norm_type) for t in tensors]), norm_type)
    if error_if_nonfinite and not bool(total.isfinite()):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            "by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


@no_grad()
def clip_grads_with_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                          total_norm: Tensor, foreach: bool | None = None) -> None:
    """Scale the gradients of ``parameters`` in place by ``max_norm / (total_norm + 1e-6)``
    where that is below 1 (``total_norm`` as from ``get_total_norm``).

    Example:
        >>> grads = [p.grad for p in model.parameters() if p.grad is not None]
        >>> total = ember.nn.utils.get_total_norm(grads)
        >>> ember.nn.utils.clip_grads_with_norm_(model.parameters(), 1.0, total)
    """
    if not isinstance(total_norm, Tensor):
        raise TypeError(f"clip_grads_with_norm_(): total_norm must be a Tensor (as returned by "
                        f"get_total_norm), got {type(total_norm).__name__}")
    grads = _grads(parameters)
    max_norm = float(max_norm)
    if not grads:
        return
    # in total_norm's dtype, as PyTorch's tensor arithmetic does it
    coef = (max_norm / (total_norm + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.to(g.device))


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale gradients in place so that their joint ``norm_type``-norm is at most ``max_norm``;
    returns the total norm before clipping.

    Example:
        >>> loss.backward()
        >>> ember.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                          stacklevel=2)
    total = get_total_norm(_grads(parameters), norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Deprecated alias of ``clip_grad_norm_``."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clip each gradient element to [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    grads = list(_grads(parameters))
    if not grads:  # PyTorch groups the gradients by device first, and refuses an empty list
        raise with_hint(RuntimeError(
            "Expected !nested_tensorlist[0].empty() to be true, but got false.  (Could this "
            "error message be improved?  If so, please report an enhancement request to "
            "PyTorch.)"),
            "clip_grad_value_ found no gradient: every parameter's .grad is None. Call "
            "backward() first, or skip clipping when no parameter requires grad.")
    if any(g._dtype.is_complex for g in grads):  # refused before any gradient changes
        raise NotImplementedError("clamp is not supported for complex types")
    for g in grads:
        np.clip(g._data, -clip_value, clip_value, out=g._data)
        g._vbox[0] += 1
