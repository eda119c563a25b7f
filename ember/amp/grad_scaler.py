"""Gradient scaling for mixed precision (``torch.amp.GradScaler``).

Small float16 gradients underflow to zero. Multiplying the loss by a large factor before
``backward`` keeps them representable; the gradients are divided by the same factor before the
optimizer uses them. A step whose gradients hold an inf or NaN (the factor was too large) is
skipped and the factor shrinks; after ``growth_interval`` clean steps in a row it grows again.

The factor lives in a 0-d float32 tensor (``_scale``) and the count of clean steps in a 0-d
int32 tensor (``_growth_tracker``), both created on the device of the first tensor scaled.
"""

from __future__ import annotations

import warnings
from collections import abc, defaultdict
from enum import Enum
from typing import Any

import numpy as np

from .. import _dtype as D
from .._backend import get_array_module
from .._creation import full
from .._sparse_tensor import SparseTensor
from .._tensor import Tensor
from .autocast_mode import _cuda_unavailable

__all__ = ["OptState", "GradScaler"]

_FORGOT_SCALE = ("This may indicate your script did not use scaler.scale(loss or outputs) "
                 "earlier in the iteration.")
_BAD_NEW_SCALE = ("new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
                  "torch.FloatTensor with requires_grad=False.")


class OptState(Enum):
    """How far an optimizer has got through the current iteration (reset by ``update``)."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state() -> dict[str, Any]:
    """A fresh record for one optimizer: not yet unscaled, no inf/NaN checks made."""
    return {"stage": OptState.READY, "found_inf_per_device": {}}


def _has_non_finite(arr) -> bool:
    return not bool(get_array_module(arr).isfinite(arr).all())


class GradScaler:
    """Scales the loss so float16 gradients do not underflow, unscales the gradients before the
    optimizer step, skips steps whose gradients overflowed and adapts the scale.

    Args:
        device: the device type whose tensors are scaled (default ``"cuda"``; without CUDA a
            ``"cuda"`` scaler warns and disables itself).
        init_scale: the starting scale factor (default ``2.0**16``).
        growth_factor: the factor the scale grows by after ``growth_interval`` clean steps.
        backoff_factor: the factor the scale shrinks by after a step with inf/NaN gradients.
        growth_interval: clean steps in a row needed before the scale grows (default 2000).
        enabled: ``False`` makes every method a pass-through (``step`` still steps).

    Example:
        >>> scaler = ember.amp.GradScaler("cpu")
        >>> scaler.scale(loss).backward()
        >>> scaler.step(optimizer)
        >>> scaler.update()
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        self._enabled = enabled
        if enabled and device == "cuda" and _cuda_unavailable():
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                          "Disabling.", stacklevel=2)
            self._enabled = False
        if not self._enabled:
            return  # a disabled scaler keeps no scale state at all (PyTorch's attributes too)
        assert growth_factor > 1.0, "The growth factor must be > 1.0."
        assert backoff_factor < 1.0, "The backoff factor must be < 1.0."
        self._init_scale = init_scale
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._init_growth_tracker = 0
        # created lazily, on the device of the first tensor passed to scale()
        self._scale: Tensor | None = None
        self._growth_tracker: Tensor | None = None
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    # -- the scale tensors ------------------------------------------------------------------
    def _lazy_init_scale_growth_tracker(self, dev) -> None:
        assert self._growth_tracker is None, "_growth_tracker initialized before _scale"
        self._scale = full((), self._init_scale, dtype=D.float32, device=dev)
        self._growth_tracker = full((), self._init_growth_tracker, dtype=D.int32, device=dev)

    def _check_scale_growth_tracker(self, funcname: str) -> tuple[Tensor, Tensor]:
        assert self._scale is not None, f"Attempted {funcname} but _scale is None.  " + \
            _FORGOT_SCALE
        assert self._growth_tracker is not None, \
            f"Attempted {funcname} but _growth_tracker is None.  " + _FORGOT_SCALE
        return self._scale, self._growth_tracker

    def _get_scale_async(self):
        return self._scale

    def _scale_for(self, tensor: Tensor) -> Tensor:
        if self._scale is None:
            self._lazy_init_scale_growth_tracker(tensor.device)
        if self._scale.device == tensor.device:
            return self._scale
        return self._scale.to(tensor.device)

    # -- the public steps of an iteration ---------------------------------------------------
    def scale(self, outputs):
        """Multiply a tensor, or every tensor of a (nested) list, tuple or other iterable, by
        the scale factor; disabled, return ``outputs`` unchanged.

        Example:
            >>> scaler.scale(loss).backward()
        """
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):  # the common case, without the recursion below
            return outputs * self._scale_for(outputs)
        return self._scale_nested(outputs)

    def _scale_nested(self, value):
        if isinstance(value, Tensor):
            return value * self._scale_for(value)
        if not isinstance(value, abc.Iterable):
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")
        # lists and tuples come back as their own type; any other iterable as a lazy map
        scaled = map(self._scale_nested, value)
        return type(value)(scaled) if isinstance(value, (list, tuple)) else scaled

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale in place (at most once per
        ``update``), noting whether any of them is inf or NaN. Call it before clipping or
        inspecting gradients; ``step`` calls it when it was not called.

        Example:
            >>> scaler.scale(loss).backward()
            >>> scaler.unscale_(optimizer)
            >>> ember.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        """
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        record = self._per_optimizer_states[id(optimizer)]
        if record["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if record["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # the reciprocal is taken in float64 and rounded once to float32
        inverse = full((), 1.0 / float(self._scale._data), dtype=D.float32,
                       device=self._scale.device)
        no_inf = full((), 0.0, dtype=D.float32, device=self._scale.device)
        record["found_inf_per_device"] = self._unscale_grads_(optimizer, inverse, no_inf, False)
        record["stage"] = OptState.UNSCALED

    def _unscale_grads_(self, optimizer, inv_scale: Tensor, found_inf: Tensor,
                        allow_fp16: bool) -> dict:
        """Multiply every gradient of ``optimizer`` by ``inv_scale`` in place; returns, per
        device holding gradients, a 0-d float32 tensor that is 1.0 where one of them was
        inf/NaN (before the multiplication) and ``found_inf``'s value elsewhere."""
        inverse = inv_scale._data
        skip_multiply = float(inverse) == 1.0  # the inf check alone: x * 1 is x
        flags: dict = {}
        for group in optimizer.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if not allow_fp16 and grad.dtype == D.float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                if isinstance(grad, SparseTensor):
                    if grad.dtype == D.float16:
                        # duplicates summed first: their sum may overflow where each does not
                        grad = p.grad = grad.coalesce()
                    values = grad._data.values
                else:
                    values = grad._data
                flag = flags.get(grad.device)
                if flag is None:
                    flag = flags[grad.device] = found_inf.to(grad.device, copy=True)
                if _has_non_finite(values):
                    flag._data[...] = 1.0
                if not skip_multiply:
                    values *= inverse
        return flags

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(*args, **kwargs)`` on unscaled gradients, skipped when they hold an
        inf or NaN; returns what ``optimizer.step`` returned, or ``None`` when skipped.

        Example:
            >>> scaler.step(optimizer)
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._check_scale_growth_tracker("step")
        record = self._per_optimizer_states[id(optimizer)]
        if record["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if record["stage"] is OptState.READY:
            self.unscale_(optimizer)
        assert len(record["found_inf_per_device"]) > 0, \
            "No inf checks were recorded for this optimizer."
        result = self._maybe_opt_step(optimizer, record, *args, **kwargs)
        record["stage"] = OptState.STEPPED
        return result

    def _maybe_opt_step(self, optimizer, optimizer_state, *args, **kwargs):
        flags = optimizer_state["found_inf_per_device"].values()
        if any(float(flag._data) for flag in flags):
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        """End the iteration: set the scale to ``new_scale`` when given, else back it off if
        any step this iteration met inf/NaN gradients, or grow it after ``growth_interval``
        clean iterations in a row.

        Example:
            >>> scaler.update()
        """
        if not self._enabled:
            return
        scale, tracker = self._check_scale_growth_tracker("update")
        if new_scale is None:
            flags = [flag for record in self._per_optimizer_states.values()
                     for flag in record["found_inf_per_device"].values()]
            assert len(flags) > 0, "No inf checks were recorded prior to update."
            self._adapt(scale._data, tracker._data, sum(float(flag._data) for flag in flags))
        elif isinstance(new_scale, float):
            scale.fill_(new_scale)
        else:
            assert new_scale.device.type == self._device, _BAD_NEW_SCALE
            assert new_scale.numel() == 1, _BAD_NEW_SCALE
            assert new_scale.requires_grad is False, _BAD_NEW_SCALE
            scale.copy_(new_scale)
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _adapt(self, scale, tracker, found_inf: float) -> None:
        """The scale rule on the raw 0-d arrays, in place. Products are formed in float64 and
        rounded once to float32; a growth that would overflow float32 is dropped (the count of
        clean steps still restarts)."""
        if found_inf:
            scale[...] = float(scale) * self._backoff_factor
            tracker[...] = 0
            return
        clean = int(tracker) + 1
        if clean < self._growth_interval:
            tracker[...] = clean
            return
        grown = np.float32(float(scale) * self._growth_factor)
        if np.isfinite(grown):
            scale[...] = grown
        tracker[...] = 0

    # -- settings ---------------------------------------------------------------------------
    def get_scale(self) -> float:
        """The current scale factor as a Python number (1.0 when disabled).

        Example:
            >>> ember.amp.GradScaler("cpu", init_scale=8.0).get_scale()
            8.0
        """
        if not self._enabled:
            return 1.0
        if self._scale is None:
            return self._init_scale
        return self._get_scale_async().item()

    def get_growth_factor(self) -> float:
        """The factor the scale grows by.

        Example:
            >>> ember.amp.GradScaler("cpu").get_growth_factor()
            2.0
        """
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        """Set the factor the scale grows by.

        Example:
            >>> ember.amp.GradScaler("cpu").set_growth_factor(4.0)
        """
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        """The factor the scale shrinks by after inf/NaN gradients.

        Example:
            >>> ember.amp.GradScaler("cpu").get_backoff_factor()
            0.5
        """
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        """Set the factor the scale shrinks by.

        Example:
            >>> ember.amp.GradScaler("cpu").set_backoff_factor(0.25)
        """
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        """The number of clean steps in a row after which the scale grows.

        Example:
            >>> ember.amp.GradScaler("cpu").get_growth_interval()
            2000
        """
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        """Set the number of clean steps in a row after which the scale grows.

        Example:
            >>> ember.amp.GradScaler("cpu").set_growth_interval(100)
        """
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        if self._growth_tracker is None:
            return self._init_growth_tracker
        return self._growth_tracker.item()

    def is_enabled(self) -> bool:
        """Whether this scaler scales (``False`` when built disabled or without CUDA).

        Example:
            >>> ember.amp.GradScaler("cpu").is_enabled()
            True
        """
        return self._enabled

    # -- saving -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The scale, the factors, the interval and the count of clean steps (an empty dict
        when disabled).

        Example:
            >>> sorted(ember.amp.GradScaler("cpu").state_dict())
            ['_growth_tracker', 'backoff_factor', 'growth_factor', 'growth_interval', 'scale']
        """
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (a no-op when disabled).

        Example:
            >>> other = ember.amp.GradScaler("cpu")
            >>> other.load_state_dict(ember.amp.GradScaler("cpu", init_scale=4.0).state_dict())
            >>> other.get_scale()
            4.0
        """
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._scale is not None:
            self._scale.fill_(self._init_scale)
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(self._init_growth_tracker)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self._enabled:
            # mid-iteration records (unscaled grads, inf flags) cannot travel; the tensors
            # travel as numbers and are re-created by the next scale()
            assert len(self._per_optimizer_states) == 0, (
                "A GradScaler instance may only be pickled at the beginning of an iteration, "
                "or at the end after scaler.update().")
            state.update(_init_scale=self.get_scale(),
                         _init_growth_tracker=self._get_growth_tracker(),
                         _scale=None, _growth_tracker=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # -- for optimizers that check inf/NaN themselves ---------------------------------------
    def _check_inf_per_device(self, optimizer) -> dict:
        scale, _ = self._check_scale_growth_tracker("_check_inf_per_device")
        one = full((), 1.0, dtype=D.float32, device=scale.device)
        zero = full((), 0.0, dtype=D.float32, device=scale.device)
        flags = self._unscale_grads_(optimizer, one, zero, True)
        self._per_optimizer_states[id(optimizer)]["found_inf_per_device"] = flags
        return flags

    def _found_inf_per_device(self, optimizer) -> dict:
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]
