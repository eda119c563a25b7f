"""``ember.nn.utils.stateless``: the pre-2.0 home of ``functional_call``, kept for older
programs; it warns, as PyTorch does, and calls :func:`ember.func.functional_call`."""

from __future__ import annotations

import warnings

__all__ = ["functional_call"]


def functional_call(module, parameters_and_buffers: dict, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """``module(*args, **kwargs)`` with ``parameters_and_buffers`` in place of its own tensors
    (deprecated: a drop-in for :func:`ember.func.functional_call`).

    Example:
        >>> lin = ember.nn.Linear(2, 2)
        >>> out = functional_call(lin, {"weight": ember.zeros(2, 2)}, (ember.ones(1, 2),))
    """
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 "
                  "and will be removed in a future version of PyTorch. Please use "
                  "`torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    from ...func import functional_call as call

    return call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights,
                strict=strict)
