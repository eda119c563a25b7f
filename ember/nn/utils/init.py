"""``skip_init``: build a module without running its parameter initialization
(``torch.nn.utils.init``)."""

from __future__ import annotations

import inspect

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with uninitialized parameters and buffers: built on
    the ``meta`` device (no numbers are made) and then given empty storage on ``device``
    (default CPU). ``module_cls`` must take a ``device`` argument.

    Example:
        >>> m = ember.nn.utils.skip_init(nn.Linear, 5, 1)
        >>> m.weight.shape      # values undefined until initialized
        torch.Size([1, 5])
    """
    from ... import empty_like
    from ..modules.module import Module

    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    kwargs["device"] = "meta"
    module = module_cls(*args, **kwargs)
    # what Module.to_empty(device=final_device) does: fresh uninitialized tensors of each shape
    return module._apply(lambda t: empty_like(t, device=final_device))
