"""Moving a Module's parameters and buffers between devices and dtypes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ... import _dtype as D
from ...autograd import grad_mode

if TYPE_CHECKING:
    from .module import Module


class ConvertMixin:
    """The ``to``/``float``/``double``/``cpu``/``cuda``/``apply`` half of ``Module``."""

    # -- moving between devices and dtypes ---------------------------------------------------
    def _apply(self, fn, recurse: bool = True) -> Module:
        if recurse:
            for module in self.children():
                module._apply(fn)
        for param in self._parameters.values():
            if param is None:
                continue
            with grad_mode.no_grad():
                new = fn(param)
            if new is not param:
                # Swap the data in place so optimizers holding this Parameter still see it.
                param._data, param._dtype = new._data, new._dtype
            if param._grad is not None:
                with grad_mode.no_grad():
                    g = fn(param._grad)
                param._grad._data, param._grad._dtype = g._data, g._dtype
        for key, buf in self._buffers.items():
            if buf is not None:
                self._buffers[key] = fn(buf)
        return self

    def apply(self, fn) -> Module:
        """Call ``fn`` on every submodule (children first) and on self; returns self.

        Example:
            >>> model.apply(lambda m: ember.nn.init.zeros_(m.bias) if hasattr(m, "bias") else None)
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Move and/or cast parameters and buffers: ``to(device)``, ``to(dtype)``, ``to(tensor)``,
        ``to(memory_format=ember.channels_last)`` (4-D and 5-D ones, as torch converts them).

        Only floating point tensors change dtype; integer buffers keep theirs.

        Example:
            >>> conv = ember.nn.Conv2d(3, 8, 3).to(memory_format=ember.channels_last)
            >>> conv.weight.is_contiguous(memory_format=ember.channels_last)
            True
        """
        from ..._ops.conversion import _parse_to

        kwargs = dict(kwargs)
        memory_format = kwargs.pop("memory_format", None)
        device, dtype, _ = _parse_to(args, kwargs)
        if dtype is not None and dtype.category < D._FLOAT:
            raise TypeError("nn.Module.to only accepts floating point or complex dtypes, but got "
                            f"desired dtype={dtype}")

        def convert(t):
            if dtype is not None and t._dtype.category >= D._FLOAT:
                t = t.to(device, dtype) if device is not None else t.to(dtype)
            elif device is not None:
                t = t.to(device)
            if memory_format is not None and t.dim() in (4, 5):
                t = t.to(memory_format=memory_format)
            return t

        return self._apply(convert)

    def to_empty(self, *, device, recurse: bool = True) -> Module:
        """Give parameters and buffers fresh, uninitialised memory on ``device`` (nothing is
        copied): how a model built on the meta device gets real storage before its weights are
        loaded or initialised.

        Example:
            >>> with ember.device("meta"):
            ...     layer = ember.nn.Linear(2, 2)
            >>> layer.to_empty(device="cpu").weight.device
            device(type='cpu')
        """
        from ..._creation import empty_like

        return self._apply(lambda t: empty_like(t, device=device), recurse=recurse)

    def cpu(self) -> Module:
        return self._apply(lambda t: t.cpu())

    def cuda(self, device=None) -> Module:
        return self._apply(lambda t: t.cuda(device))

    def _cast_floats(self, dt) -> Module:
        return self._apply(lambda t: t.to(dt) if t._dtype.category == D._FLOAT else t)

    def float(self) -> Module:
        return self._cast_floats(D.float32)

    def double(self) -> Module:
        return self._cast_floats(D.float64)

    def half(self) -> Module:
        return self._cast_floats(D.float16)

    def bfloat16(self) -> Module:
        return self._cast_floats(D.bfloat16)

    def type(self, dst_type) -> Module:
        return self._apply(lambda t: t.type(dst_type))

