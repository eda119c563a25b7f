"""The deprecated device-specific spellings of ``ember.amp``: ``ember.cuda.amp`` and
``ember.cpu.amp`` (``torch.cuda.amp.autocast(...)`` is ``torch.amp.autocast("cuda", ...)``).
Each warns with PyTorch's FutureWarning and forwards."""

from __future__ import annotations

import functools
import warnings

from .. import _dtype as D
from . import autocast_mode as _autocast_mode
from . import grad_scaler as _grad_scaler


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"`{old}(args...)` is deprecated. Please use `{new}` instead.",
                  FutureWarning, stacklevel=3)


class CudaAutocast(_autocast_mode.autocast):
    """``torch.cuda.amp.autocast``: ``ember.autocast("cuda", ...)``, deprecated.

    Example:
        >>> ember.cuda.amp.autocast(enabled=False)  # doctest: +SKIP
    """

    def __init__(self, enabled: bool = True, dtype=D.float16, cache_enabled: bool = True):
        _deprecated("torch.cuda.amp.autocast", "torch.amp.autocast('cuda', args...)")
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class CpuAutocast(_autocast_mode.autocast):
    """``torch.cpu.amp.autocast``: ``ember.autocast("cpu", ...)``, deprecated.

    Example:
        >>> ember.cpu.amp.autocast()  # doctest: +SKIP
    """

    def __init__(self, enabled: bool = True, dtype=D.bfloat16, cache_enabled: bool = True):
        _deprecated("torch.cpu.amp.autocast", "torch.amp.autocast('cpu', args...)")
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class CudaGradScaler(_grad_scaler.GradScaler):
    """``torch.cuda.amp.GradScaler``: ``ember.amp.GradScaler("cuda", ...)``, deprecated
    (without CUDA it warns and disables itself, as in PyTorch).

    Example:
        >>> ember.cuda.amp.GradScaler(enabled=False).is_enabled()  # doctest: +SKIP
        False
    """

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        _deprecated("torch.cuda.amp.GradScaler", "torch.amp.GradScaler('cuda', args...)")
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)


class CpuGradScaler(_grad_scaler.GradScaler):
    """``torch.cpu.amp.GradScaler``: ``ember.amp.GradScaler("cpu", ...)``, deprecated.

    Example:
        >>> ember.cpu.amp.GradScaler().is_enabled()  # doctest: +SKIP
        True
    """

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        _deprecated("torch.cpu.amp.GradScaler", "torch.amp.GradScaler('cpu', args...)")
        super().__init__("cpu", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)


for _cls, _name in ((CudaAutocast, "autocast"), (CpuAutocast, "autocast"),
                    (CudaGradScaler, "GradScaler"), (CpuGradScaler, "GradScaler")):
    _cls.__name__ = _cls.__qualname__ = _name


def cuda_custom_fwd(fwd=None, *, cast_inputs=None):
    """``torch.cuda.amp.custom_fwd``: ``ember.amp.custom_fwd(device_type="cuda")``,
    deprecated."""
    _deprecated("torch.cuda.amp.custom_fwd", "torch.amp.custom_fwd(args..., device_type='cuda')")
    return functools.partial(_autocast_mode.custom_fwd, device_type="cuda")(
        fwd=fwd, cast_inputs=cast_inputs)


def cuda_custom_bwd(bwd):
    """``torch.cuda.amp.custom_bwd``: ``ember.amp.custom_bwd(device_type="cuda")``,
    deprecated."""
    _deprecated("torch.cuda.amp.custom_bwd", "torch.amp.custom_bwd(args..., device_type='cuda')")
    return functools.partial(_autocast_mode.custom_bwd, device_type="cuda")(bwd)


def amp_definitely_not_available() -> bool:
    """True where CUDA autocast and gradient scaling cannot work (no CuPy or no GPU).

    Example:
        >>> ember.cuda.amp.amp_definitely_not_available()  # doctest: +SKIP
        True
    """
    return _autocast_mode._cuda_unavailable()


def _namespace(name: str, doc: str, **members):
    import sys
    import types

    module = types.ModuleType(name, doc)
    for key, value in members.items():
        setattr(module, key, value)
    module.__all__ = sorted(members)
    sys.modules[name] = module  # so that `from ember.cuda.amp import GradScaler` imports
    return module


cuda_amp = _namespace(
    "ember.cuda.amp", "``torch.cuda.amp``: deprecated CUDA spellings of ``ember.amp``.",
    autocast=CudaAutocast, GradScaler=CudaGradScaler, custom_fwd=cuda_custom_fwd,
    custom_bwd=cuda_custom_bwd, amp_definitely_not_available=amp_definitely_not_available)
cpu_amp = _namespace(
    "ember.cpu.amp", "``torch.cpu.amp``: deprecated CPU spellings of ``ember.amp``.",
    autocast=CpuAutocast, GradScaler=CpuGradScaler)
