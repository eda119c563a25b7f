"""Grad modes: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each works as a context manager and as a decorator; the state is thread-local, as in PyTorch.
"""

from __future__ import annotations

import functools
import inspect
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _State(threading.local):
    def __init__(self):
        self.enabled = True  # operations record a graph
        self.inference = False
        # enable_grad / set_grad_enabled(True) inside inference mode: is_grad_enabled() says
        # True, as in PyTorch, while nothing records (inference mode wins)
        self.masked_grad = False


_state = _State()
# True once any thread has made an inference tensor: until then the per-op check is skipped
inference_tensors_made = False


def is_grad_enabled() -> bool:
    """True when grad mode is on (operations record a graph, unless in inference mode)."""
    return _state.enabled or (_state.inference and _state.masked_grad)


def is_inference_mode_enabled() -> bool:
    """True inside an ``ember.inference_mode()`` block.

    Example:
        >>> ember.is_inference_mode_enabled()
        False
    """
    return _state.inference


class _GradModeContext:
    """Base for grad-mode context managers that also decorate functions and generators."""

    def __call__(self, func):
        if inspect.isclass(func):
            raise TypeError("grad-mode decorators apply to functions, not classes")
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def generator(*args, **kwargs):
                gen = func(*args, **kwargs)
                try:
                    with self.clone():
                        item = next(gen)
                    while True:
                        sent = yield item
                        with self.clone():
                            item = gen.send(sent)
                except StopIteration as stop:
                    return stop.value
            return generator

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)
        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_GradModeContext):
    """Context manager and decorator that stops recording operations for autograd.

    Example:
        >>> with ember.no_grad():
        ...     y = model(x)        # no graph is kept, memory stays flat
    """

    def __init__(self, orig_func=None):
        # Allow the bare-decorator form @no_grad (PyTorch accepts it too).
        self._func = orig_func

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if callable(orig_func):
            self.__init__()
            return self(orig_func)
        return self

    def __enter__(self):
        self._prev = (_state.enabled, _state.masked_grad)
        _state.enabled = _state.masked_grad = False

    def __exit__(self, *exc):
        _state.enabled, _state.masked_grad = self._prev
        return False


def _set_grad(mode: bool) -> None:
    """Grad mode on or off; inside inference mode it is only reported, never recorded."""
    if _state.inference:
        _state.masked_grad = mode
    else:
        _state.enabled = mode


class enable_grad(_GradModeContext):
    """Context manager and decorator that turns recording back on (inside ``no_grad``)."""

    def __enter__(self):
        self._prev = (_state.enabled, _state.masked_grad)
        _set_grad(True)

    def __exit__(self, *exc):
        _state.enabled, _state.masked_grad = self._prev
        return False


class set_grad_enabled(_GradModeContext):
    """Turn recording on or off; works as a function call, a context manager or a decorator.

    Example:
        >>> with ember.set_grad_enabled(is_train):
        ...     loss = criterion(model(x), y)
    """

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = is_grad_enabled()
        _set_grad(self.mode)

    def __call__(self, func):
        # As a decorator the mode applies per call, not from the moment of decoration.
        _set_grad(self._prev)
        return super().__call__(func)

    def __enter__(self):
        # as PyTorch: entering (re)applies the mode, leaving restores the mode seen when the
        # object was made
        _set_grad(self.mode)

    def __exit__(self, *exc):
        _set_grad(self._prev)
        return False

    def clone(self):
        return self.__class__(self.mode)


class inference_mode(_GradModeContext):
    """Like ``no_grad``, for pure inference. ``mode=False`` leaves inference mode and, as in
    PyTorch, turns recording on (even inside ``no_grad``) until the block ends."""

    def __init__(self, mode: bool = True):
        self.mode = mode

    def __new__(cls, mode=True):
        self = super().__new__(cls)
        if callable(mode):
            self.__init__(True)
            return self(mode)
        return self

    def __enter__(self):
        self._prev = (_state.enabled, _state.inference, _state.masked_grad)
        _state.enabled, _state.inference = not self.mode, bool(self.mode)
        _state.masked_grad = False

    def __exit__(self, *exc):
        _state.enabled, _state.inference, _state.masked_grad = self._prev
        return False

    def clone(self):
        return self.__class__(self.mode)
