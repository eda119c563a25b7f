"""``autocast``: regions where listed ops run in a lower-precision dtype (PyTorch's
``torch.amp.autocast_mode``). The op lists and the hook live in ``ember/_autocast.py``."""

from __future__ import annotations

import collections.abc
import functools
import warnings

import numpy as np

from .. import _autocast
from .. import _dtype as D

__all__ = ["autocast_decorator", "autocast", "is_autocast_available", "custom_fwd",
           "custom_bwd"]


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast works on ``device_type`` ('cpu' and 'cuda' in ember).

    Example:
        >>> ember.amp.is_autocast_available("cpu")
        True
    """
    return device_type in _autocast.DEVICE_TYPES


def _cuda_unavailable() -> bool:
    from .. import cuda

    return not cuda.is_available()


def autocast_decorator(autocast_instance, func):
    """``func`` wrapped to run inside ``autocast_instance``."""
    @functools.wraps(func)
    def decorate_autocast(*args, **kwargs):
        with autocast_instance:
            return func(*args, **kwargs)

    return decorate_autocast


class autocast:
    """Run a region in mixed precision: ops that PyTorch's autocast lists as lower-precision
    (matmul, linear, conv ...) cast their floating inputs to ``dtype``; those it lists as
    float32 (losses, ``prod``, decompositions ...) run in float32; the rest run in their
    inputs' dtype. Gradients flow back to float32 parameters through the casts.

    A context manager and a decorator. The state is thread-local; regions nest, and
    ``enabled=False`` turns autocast off inside an enabled one.

    Args:
        device_type (str): 'cpu' or 'cuda'.
        dtype (ember.dtype, optional): the lower-precision dtype; None takes
            ``ember.get_autocast_dtype(device_type)`` (bfloat16 on the CPU, float16 on CUDA).
            The CPU accepts bfloat16 and float16.
        enabled (bool): whether autocast is on in the region. Default: True
        cache_enabled (bool, optional): keep the casts of parameters for the whole region.
            None takes ``ember.is_autocast_cache_enabled()``.

    Example:
        >>> with ember.autocast("cpu", dtype=ember.bfloat16):
        ...     (ember.ones(2, 3) @ ember.ones(3, 4)).dtype
        torch.bfloat16
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.fast_dtype = _autocast.get_autocast_dtype(device_type) if dtype is None \
            else D.to_dtype(dtype)
        self.device = device_type
        if not is_autocast_available(self.device):
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{self.device}'")
        self._cache_enabled = _autocast.is_autocast_cache_enabled() if cache_enabled is None \
            else cache_enabled
        device_name = self.device.upper()
        if enabled:
            if self.device == "cuda":
                if _cuda_unavailable():
                    warnings.warn("CUDA is not available or torch_xla is imported. Disabling "
                                  "autocast.", stacklevel=2)
                    enabled = False
                elif self.fast_dtype is D.bfloat16:
                    from .. import cuda

                    if not cuda.is_bf16_supported():
                        raise RuntimeError("Current CUDA Device does not support bfloat16. "
                                           "Please switch dtype to float16.")
            elif self.fast_dtype not in (D.bfloat16, D.float16):
                warnings.warn(
                    f"In {device_name} autocast, but the target dtype is not supported. "
                    f"Disabling autocast.\n{device_name} Autocast only supports dtypes of "
                    "torch.bfloat16, torch.float16 currently.", stacklevel=2)
                enabled = False
        self._enabled = enabled

    def __enter__(self):
        state = _autocast.state
        self.prev_cache_enabled = state.cache_enabled
        self.prev = state.enabled[self.device]
        self.prev_fastdtype = state.dtype[self.device]
        _autocast.set_autocast_enabled(self.device, self._enabled)
        _autocast.set_autocast_dtype(self.device, self.fast_dtype)
        _autocast.autocast_increment_nesting()
        _autocast.set_autocast_cache_enabled(self._cache_enabled)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        # drop the cache when leaving the outermost region
        if _autocast.autocast_decrement_nesting() == 0:
            _autocast.clear_autocast_cache()
        _autocast.set_autocast_enabled(self.device, self.prev)
        _autocast.set_autocast_dtype(self.device, self.prev_fastdtype)
        _autocast.set_autocast_cache_enabled(self.prev_cache_enabled)
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. "
                f"Did you mean to use autocast as a context manager? For example:\n"
                f"    with torch.autocast(device_type=...):\n"
                f"        output = model(input)")
        return autocast_decorator(self, func)

    def __repr__(self) -> str:
        return (f"autocast(device_type={self.device!r}, dtype={self.fast_dtype}, "
                f"enabled={self._enabled})")


def _cast(value, device_type: str, dtype):
    """Cast floating tensors (not float64) on ``device_type`` inside containers to ``dtype``."""
    from .._tensor import Tensor

    if isinstance(value, Tensor):
        eligible = (value.is_floating_point() and value.device.type == device_type
                    and value.dtype is not D.float64)
        return value.to(dtype) if eligible else value
    if isinstance(value, (str, bytes, np.ndarray)):
        return value
    if isinstance(value, collections.abc.Mapping):
        return {_cast(k, device_type, dtype): _cast(v, device_type, dtype)
                for k, v in value.items()}
    if isinstance(value, collections.abc.Iterable):
        iterable = (_cast(v, device_type, dtype) for v in value)
        if isinstance(value, (list, tuple)):
            return type(value)(iterable)
        return iterable
    return value


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Decorator for a custom ``autograd.Function``'s ``forward``: with ``cast_inputs`` set,
    inside an autocast region it casts floating tensor arguments to that dtype and runs
    ``forward`` with autocast off; otherwise ``forward`` sees the current autocast state.

    Example:
        >>> class Mul2(ember.autograd.Function):
        ...     @staticmethod
        ...     @ember.amp.custom_fwd(device_type="cpu", cast_inputs=ember.float32)
        ...     def forward(ctx, x):
        ...         return x * 2
    """
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        args[0]._dtype = _autocast.get_autocast_dtype(device_type)
        if cast_inputs is None:
            args[0]._fwd_used_autocast = _autocast.is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        autocast_context = _autocast.is_autocast_enabled(device_type)
        args[0]._fwd_used_autocast = False
        if autocast_context:
            with autocast(device_type=device_type, enabled=False):
                return fwd(*_cast(args, device_type, cast_inputs),
                           **_cast(kwargs, device_type, cast_inputs))
        return fwd(*args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str):
    """Decorator for a custom ``autograd.Function``'s ``backward``: runs it in the autocast
    state its ``forward`` (decorated with ``custom_fwd``) saw.

    Example:
        >>> @ember.amp.custom_bwd(device_type="cpu")
        ... def backward(ctx, grad):
        ...     return grad * 2
    """
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        with autocast(device_type=device_type, enabled=args[0]._fwd_used_autocast,
                      dtype=args[0]._dtype):
            return bwd(*args, **kwargs)

    return decorate_bwd
