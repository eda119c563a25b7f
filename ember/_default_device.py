"""The default device of creation ops: ``set_default_device``, ``get_default_device`` and
``with ember.device(...):``.

As in PyTorch, the setting is per thread (a new thread starts on the CPU) and applies only to
the functions PyTorch lists as device constructors (``tensor``, ``as_tensor``, ``asarray``,
``zeros``, ``ones``, ``empty``, ``empty_strided``, ``full``, ``scalar_tensor``, ``arange``,
``range``, ``linspace``, ``logspace``, ``eye``, ``rand``, ``randn``, ``randint``,
``randperm``) when they are called without ``device=``. ``*_like`` functions, ``new_*``
methods, ``from_numpy``, the legacy ``FloatTensor(...)`` constructors and
``normal(mean, std, size)`` keep their own devices, as in PyTorch.
"""

from __future__ import annotations

import threading

from ._backend import CPU, Device


class _State(threading.local):
    # ``device`` is what creation ops read (None: the CPU, nothing set); ``default`` is what
    # set_default_device chose; ``stack`` holds the devices of open ``with device:`` blocks.
    device = None
    default = None
    stack: tuple = ()


_state = _State()


def _refresh() -> None:
    _state.device = _state.stack[-1] if _state.stack else _state.default


def current() -> Device | None:
    """The device creation ops use when called without ``device=`` (None: the CPU)."""
    return _state.device


def push(device: Device) -> None:
    """Enter a ``with ember.device(...):`` block."""
    _state.stack = _state.stack + (device,)
    _state.device = device


def pop() -> None:
    """Leave the innermost ``with ember.device(...):`` block."""
    _state.stack = _state.stack[:-1]
    _refresh()


def set_default_device(device) -> None:
    """Make ``device`` the default for creation ops called without ``device=`` (``None``
    resets it to the CPU). Per thread, as in PyTorch; ``with ember.device(d):`` sets it for a
    block only.

    Example:
        >>> ember.set_default_device("meta")
        >>> ember.zeros(2).device
        device(type='meta')
        >>> ember.set_default_device(None)
    """
    _state.default = None if device is None else Device(device)
    _refresh()


def get_default_device() -> Device:
    """The device creation ops use when called without ``device=`` (``cpu`` unless changed by
    ``set_default_device`` or a ``with ember.device(...):`` block). A ``cuda`` default without
    an index reads as the current GPU.

    Example:
        >>> ember.get_default_device()
        device(type='cpu')
    """
    dev = _state.device
    if dev is None:
        return CPU
    if dev.type == "cuda" and dev.index is None:
        from ._backend import _require_cuda

        cp = _require_cuda(dev)
        return Device("cuda", int(cp.cuda.runtime.getDevice()))
    return dev
