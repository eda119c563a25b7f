"""``GradScaler``: dynamic loss scaling for mixed-precision training (PyTorch's
``torch.amp.grad_scaler``), with its inf/NaN step skipping and scale backoff/growth."""

from __future__ import annotations

import warnings
from collections import abc, defaultdict
from enum import Enum
from typing import Any

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor

__all__ = ["OptState", "GradScaler"]


class _MultiDeviceReplicator:
    """Serves copies of a tensor to the devices that ask, one copy per device."""

    def __init__(self, master_tensor: Tensor) -> None:
        self.master = master_tensor
        self._per_device_tensors: dict = {}

    def get(self, device) -> Tensor:
        retval = self._per_device_tensors.get(device)
        if retval is None:
            retval = self.master.to(device=device, copy=True)
            self._per_device_tensors[device] = retval
        return retval


class OptState(Enum):
    """Where an optimizer is in a scaler's iteration: READY, UNSCALED (``unscale_`` ran) or
    STEPPED (``step`` ran); ``update`` returns every optimizer to READY."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state() -> dict[str, Any]:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


def _full(value, dtype, device) -> Tensor:
    from .._creation import full

    return full((), value, dtype=dtype, device=device)


def _non_finite_check_and_unscale_(grads, found_inf: Tensor, inv_scale: Tensor) -> None:
    """PyTorch's ``_amp_foreach_non_finite_check_and_unscale_``: multiply each gradient by
    ``inv_scale`` in place and set ``found_inf`` to 1.0 if any holds an inf or a NaN."""
    from .._backend import get_array_module

    inv = inv_scale._data
    for g in grads:
        xp = get_array_module(g._data)
        if not bool(xp.isfinite(g._data).all()):
            found_inf._data[...] = 1.0
        g._data *= inv.astype(g._data.dtype)
        g._vbox[0] += 1


def _update_scale_(scale: Tensor, growth_tracker: Tensor, found_inf: Tensor,
                   growth_factor: float, backoff_factor: float, growth_interval: int) -> None:
    """PyTorch's ``_amp_update_scale_``: back the scale off after an inf/NaN step, grow it
    after ``growth_interval`` clean steps in a row (unless the grown scale is not finite)."""
    current = float(scale.item())
    if float(found_inf.item()):
        scale._data[...] = np.float32(current * backoff_factor)
        growth_tracker._data[...] = 0
        return
    successful = int(growth_tracker.item()) + 1
    if successful == growth_interval:
        new_scale = np.float32(current * growth_factor)
        if np.isfinite(new_scale):
            scale._data[...] = new_scale
        growth_tracker._data[...] = 0
    else:
        growth_tracker._data[...] = successful


class GradScaler:
    """Scales the loss so that small low-precision gradients do not flush to zero, and undoes
    the scaling before the optimizer steps.

    * ``scaler.scale(loss)`` multiplies the loss by the current scale factor;
    * ``scaler.step(optimizer)`` unscales the gradients (unless ``unscale_`` already did) and
      calls ``optimizer.step()`` only if none of them holds an inf or a NaN;
    * ``scaler.update()`` multiplies the scale by ``backoff_factor`` after a skipped step, and
      by ``growth_factor`` after ``growth_interval`` unskipped steps in a row.

    As in PyTorch, ``GradScaler("cuda")`` (the default) where CUDA is not available warns and
    disables itself: ``scale`` returns its input, ``step`` just calls ``optimizer.step()``.
    ``GradScaler("cpu")`` works on the CPU.

    Args:
        device (str): 'cuda' (default) or 'cpu'.
        init_scale (float): the first scale factor. Default: 2.**16
        growth_factor (float): factor applied after ``growth_interval`` clean steps (> 1).
        backoff_factor (float): factor applied after a step with inf/NaN gradients (< 1).
        growth_interval (int): clean steps in a row before the scale grows. Default: 2000
        enabled (bool): False makes every method a no-op (``step`` still steps).

    Example:
        >>> scaler = ember.amp.GradScaler("cpu")
        >>> scaler.scale(ember.tensor(2.0))
        tensor(131072.)
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        self._enabled = enabled
        if self._device == "cuda":
            from .autocast_mode import _cuda_unavailable

            if enabled and _cuda_unavailable():
                warnings.warn(
                    "torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                    "Disabling.", stacklevel=2)
                self._enabled = False

        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale: Tensor | None = None  # made on the first scale()
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker: Tensor | None = None
            self._per_optimizer_states: dict[int, dict[str, Any]] = defaultdict(
                _refresh_per_optimizer_state)

    def _check_scale_growth_tracker(self, funcname: str) -> tuple[Tensor, Tensor]:
        fix = ("This may indicate your script did not use scaler.scale(loss or outputs) "
               "earlier in the iteration.")
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    def _lazy_init_scale_growth_tracker(self, dev) -> None:
        if self._growth_tracker is not None:
            raise AssertionError("_growth_tracker initialized before _scale")
        self._scale = _full(self._init_scale, D.float32, dev)
        self._growth_tracker = _full(self._init_growth_tracker, D.int32, dev)

    def scale(self, outputs):
        """Multiply a tensor (or an iterable of tensors) by the scale factor; unchanged when
        disabled.

        Example:
            >>> ember.amp.GradScaler("cpu", init_scale=4.0).scale([ember.tensor(1.0)])
            [tensor(4.)]
        """
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init_scale_growth_tracker(outputs.device)
            return outputs * self._scale.to(device=outputs.device)

        stash: list[_MultiDeviceReplicator] = []

        def apply_scale(val):
            if isinstance(val, Tensor):
                if len(stash) == 0:
                    if self._scale is None:
                        self._lazy_init_scale_growth_tracker(val.device)
                    stash.append(_MultiDeviceReplicator(self._scale))
                return val * stash[0].get(val.device)
            if isinstance(val, abc.Iterable):
                iterable = map(apply_scale, val)
                if isinstance(val, (list, tuple)):
                    return type(val)(iterable)
                return iterable
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer, inv_scale: Tensor, found_inf: Tensor,
                        allow_fp16: bool) -> dict:
        per_device_inv_scale = _MultiDeviceReplicator(inv_scale)
        per_device_found_inf = _MultiDeviceReplicator(found_inf)
        per_device_and_dtype_grads: dict = defaultdict(lambda: defaultdict(list))
        for group in optimizer.param_groups:
            for param in group["params"]:
                if not isinstance(param, Tensor):
                    raise AssertionError(
                        f"expected param to be torch.Tensor, got {type(param).__name__}")
                if param.grad is None:
                    continue
                if (not allow_fp16) and param.grad.dtype is D.float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                to_unscale = param.grad
                per_device_and_dtype_grads[to_unscale.device][to_unscale.dtype].append(
                    to_unscale)
        for device, per_dtype_grads in per_device_and_dtype_grads.items():
            for grads in per_dtype_grads.values():
                _non_finite_check_and_unscale_(grads, per_device_found_inf.get(device),
                                               per_device_inv_scale.get(device))
        return per_device_found_inf._per_device_tensors

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by the scale factor in place (before clipping
        them, say) and note whether any holds an inf or a NaN. At most once per ``step``.

        Example:
            >>> scaler.scale(loss).backward()  # doctest: +SKIP
            >>> scaler.unscale_(optimizer)  # doctest: +SKIP
            >>> ember.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # doctest: +SKIP
        """
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update().")
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # the reciprocal in float64, then float32, as PyTorch does
        inv_scale = self._scale.double().reciprocal().float()
        found_inf = _full(0.0, D.float32, self._scale.device)
        optimizer_state["found_inf_per_device"] = self._unscale_grads_(
            optimizer, inv_scale, found_inf, False)
        optimizer_state["stage"] = OptState.UNSCALED

    def _maybe_opt_step(self, optimizer, optimizer_state, *args, **kwargs):
        retval = None
        if not sum(v.item() for v in optimizer_state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        return retval

    def step(self, optimizer, *args, **kwargs):
        """Unscale the gradients (unless ``unscale_`` did) and call ``optimizer.step(*args,
        **kwargs)`` if none of them holds an inf or a NaN; returns what it returns.

        Example:
            >>> scaler.step(optimizer)  # doctest: +SKIP
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale_growth_tracker("step")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if optimizer_state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(optimizer_state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = self._maybe_opt_step(optimizer, optimizer_state, *args, **kwargs)
        optimizer_state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None) -> None:
        """Update the scale factor: back off if any step this iteration was skipped, grow after
        ``growth_interval`` clean iterations; or set it to ``new_scale``.

        Example:
            >>> scaler.update()  # doctest: +SKIP
        """
        if not self._enabled:
            return
        _scale, _growth_tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                self._scale.fill_(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
                          "torch.FloatTensor with requires_grad=False.")
                if not isinstance(new_scale, Tensor):
                    raise AssertionError(reason)
                if new_scale.device.type != self._device:
                    raise AssertionError(reason)
                if new_scale.numel() != 1:
                    raise AssertionError(reason)
                if new_scale.requires_grad is True:
                    raise AssertionError(reason)
                self._scale.copy_(new_scale)
        else:
            found_infs = [found_inf.to(device=_scale.device)
                          for state in self._per_optimizer_states.values()
                          for found_inf in state["found_inf_per_device"].values()]
            if len(found_infs) == 0:
                raise AssertionError("No inf checks were recorded prior to update.")
            found_inf_combined = found_infs[0]
            for extra in found_infs[1:]:
                found_inf_combined = found_inf_combined + extra
            _update_scale_(_scale, _growth_tracker, found_inf_combined, self._growth_factor,
                           self._backoff_factor, self._growth_interval)
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _get_scale_async(self):
        return self._scale

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled).

        Example:
            >>> ember.amp.GradScaler("cpu").get_scale()
            65536.0
        """
        if self._enabled:
            scale = self._get_scale_async()
            return self._init_scale if scale is None else float(scale.item())
        return 1.0

    def get_growth_factor(self) -> float:
        """The scale growth factor."""
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        """Set the scale growth factor."""
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        """The scale backoff factor."""
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        """Set the scale backoff factor."""
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        """The number of clean steps in a row after which the scale grows."""
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        """Set the growth interval."""
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if self._enabled:
            return self._init_growth_tracker if self._growth_tracker is None \
                else int(self._growth_tracker.item())
        return 0

    def is_enabled(self) -> bool:
        """Whether this scaler scales (False after it disabled itself for want of CUDA).

        Example:
            >>> ember.amp.GradScaler("cpu").is_enabled()
            True
        """
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval`` and
        ``_growth_tracker``; empty when disabled.

        Example:
            >>> ember.amp.GradScaler("cpu").state_dict()["scale"]
            65536.0
        """
        if self._enabled:
            return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                    "backoff_factor": self._backoff_factor,
                    "growth_interval": self._growth_interval,
                    "_growth_tracker": self._get_growth_tracker()}
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()`` (a no-op when disabled)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError("A GradScaler instance may only be pickled at the beginning "
                                     "of an iteration, or at the end after scaler.update().")
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _check_inf_per_device(self, optimizer) -> dict:
        _scale, _ = self._check_scale_growth_tracker("_check_inf_per_device")
        dummy_inv_scale = _full(1.0, D.float32, _scale.device)
        found_inf = _full(0.0, D.float32, _scale.device)
        self._per_optimizer_states[id(optimizer)]["found_inf_per_device"] = \
            self._unscale_grads_(optimizer, dummy_inv_scale, found_inf, True)
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]

    def _found_inf_per_device(self, optimizer) -> dict:
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]
