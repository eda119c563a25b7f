"""``parameters_to_vector`` and ``vector_to_parameters``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..._tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (a copy).

    Example:
        >>> ember.nn.utils.parameters_to_vector(ember.nn.Linear(2, 3).parameters()).shape
        torch.Size([9])
    """
    from ..._ops.shape.views import reshape

    params = list(parameters)
    if not params:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    _check_devices(params)
    flat = [reshape(p, (-1,)) for p in params]
    try:
        from ... import cat

        return cat(flat)
    except ImportError:
        return Tensor._make(np.concatenate([f._data for f in flat]))


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Point each parameter's data at its consecutive slice of the 1-D ``vec``.

    As in PyTorch the parameters then share ``vec``'s memory and take its dtype (the slice is
    a view, not a copy), and a slice that does not fit raises ``view``'s RuntimeError.

    Example:
        >>> lin = ember.nn.Linear(2, 1)
        >>> ember.nn.utils.vector_to_parameters(ember.arange(3.), lin.parameters())
        >>> lin.bias
        Parameter containing:
        tensor([2.], requires_grad=True)
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    _check_devices(params + [vec])
    pointer = 0
    for p in params:
        n = p.numel()
        # a view of vec's memory, set through .data so autograd does not see the change
        p.data = vec[pointer:pointer + n].view_as(p).data
        pointer += n


def _check_devices(tensors) -> None:
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")
