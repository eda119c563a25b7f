"""``torch.overrides``: the Python side of the ``__torch_function__`` protocol.

A type with a ``__torch_function__`` method (a Tensor subclass, or a Tensor-like that is not a
Tensor at all) receives the calls of ember's public functions made with its instances, and a
``TorchFunctionMode`` receives every call made while it is active. Importing this module
installs the dispatch layer (see ``ember._torch_function``), so a Tensor-like that is not a
Tensor subclass is served from then on; a Tensor subclass installs it when it is defined.

Not provided: ``get_ignored_functions``, ``get_overridable_functions`` and
``get_testing_overrides`` (torch's lists of its own C++ bindings), ``enable_reentrant_dispatch``
and ``redispatch_function`` (dispatcher internals).
"""

from __future__ import annotations

import functools

from . import _torch_function as _tf
from ._tensor import Tensor

__all__ = [
    "handle_torch_function", "has_torch_function", "has_torch_function_unary",
    "has_torch_function_variadic", "is_tensor_like", "is_tensor_method_or_property",
    "resolve_name", "get_default_nowrap_functions", "wrap_torch_function", "TorchFunctionMode",
]

_tf.install()


def _mode_active() -> bool:
    return bool(_tf._modes) and not _tf._all_off[0]


def has_torch_function(relevant_args) -> bool:
    """Whether a call with ``relevant_args`` (an iterable; sequences inside it are looked into
    one level) must go through ``handle_torch_function``: one of them has its own
    ``__torch_function__``, or a ``TorchFunctionMode`` is active.

    Example:
        >>> class T(ember.Tensor): pass
        >>> has_torch_function((ember.ones(1).as_subclass(T),)), has_torch_function((1,))
        (True, False)
    """
    if _mode_active():
        return True
    if _tf._subclass_off[0]:
        return False
    return bool(_tf.overloaded_args(tuple(relevant_args), nested=False))


def has_torch_function_unary(obj) -> bool:
    """``has_torch_function((obj,))`` for one argument.

    Example:
        >>> has_torch_function_unary(ember.ones(1))
        False
    """
    return has_torch_function((obj,))


def has_torch_function_variadic(*args) -> bool:
    """``has_torch_function(args)`` with the arguments passed one by one.

    Example:
        >>> has_torch_function_variadic(ember.ones(1), 2)
        False
    """
    return has_torch_function(args)


def handle_torch_function(public_api, relevant_args, *args, **kwargs):
    """Call the ``__torch_function__`` of the active mode, then of each overloaded argument in
    ``relevant_args`` (subclasses before their parents, else left to right) with
    ``(public_api, types, args, kwargs)``; return the first result that is not
    NotImplemented. TypeError when all of them decline.

    Example:
        >>> def double(x):
        ...     if has_torch_function_unary(x):
        ...         return handle_torch_function(double, (x,), x)
        ...     return x * 2
    """
    overloaded = [] if _tf._subclass_off[0] else \
        _tf.overloaded_args(tuple(relevant_args), nested=False)
    try:
        return _tf.handle(public_api, args, kwargs, overloaded)
    except TypeError as err:
        if not str(err).startswith("Multiple dispatch failed") or not overloaded:
            raise
    name = f"{public_api.__module__}.{public_api.__name__}"
    raise TypeError(f"no implementation found for '{name}' on types that implement "
                    f"__torch_function__: {[type(o) for o in overloaded]}")


def is_tensor_like(inp) -> bool:
    """Whether ``inp`` is a Tensor or has a ``__torch_function__`` (a Tensor-like; a class
    defining one counts too, as in torch).

    Example:
        >>> is_tensor_like(ember.ones(1)), is_tensor_like(1.0)
        (True, False)
    """
    return type(inp) is Tensor or hasattr(inp, "__torch_function__")


def is_tensor_method_or_property(func) -> bool:
    """Whether ``func`` is a method of Tensor or a property getter's ``__get__`` (they receive
    the tensor as their first argument).

    Example:
        >>> is_tensor_method_or_property(ember.Tensor.add), is_tensor_method_or_property(ember.add)
        (True, False)
    """
    name = getattr(func, "__name__", None)
    if name == "__get__":
        return True
    return name is not None and getattr(Tensor, name, None) is func


def resolve_name(f):
    """The public name of an ember function as torch spells it (``'torch.add'``,
    ``'torch.Tensor.add'``), or None for a function ember does not dispatch.

    Example:
        >>> resolve_name(ember.add)
        'torch.add'
    """
    return getattr(f, "_torch_function_name", None)


def get_default_nowrap_functions() -> set:
    """The functions whose results ``Tensor.__torch_function__`` returns unconverted: getters
    that hand back another tensor as it is (``Tensor.grad``).

    Example:
        >>> ember.Tensor.grad.__get__ in get_default_nowrap_functions()
        True
    """
    return _tf.default_nowrap_functions()


def wrap_torch_function(dispatcher):
    """Decorator making a Python function dispatch like ember's own: ``dispatcher`` takes the
    function's arguments and returns those to look at for ``__torch_function__``.

    Example:
        >>> @wrap_torch_function(lambda x: (x,))
        ... def double(x):
        ...     return x * 2
    """
    def decorate(func):
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            relevant = dispatcher(*args, **kwargs)
            if has_torch_function(relevant):
                return handle_torch_function(wrapped, relevant, *args, **kwargs)
            return func(*args, **kwargs)

        return wrapped

    return decorate


class TorchFunctionMode:
    """A context manager that receives every call of ember's public functions made while it is
    active, as ``__torch_function__(func, types, args=(), kwargs=None)``; calls made inside
    the handler go to the modes below it (or run), so ``func(*args, **kwargs)`` runs the call.
    Modes stack: the innermost sees a call first.

    Example:
        >>> class Log(TorchFunctionMode):
        ...     def __torch_function__(self, func, types, args=(), kwargs=None):
        ...         print(func.__name__)
        ...         return func(*args, **(kwargs or {}))
        >>> with Log():
        ...     y = ember.ones(2) + 1
        ones
        add
    """

    def __init__(self):
        pass

    def __torch_function__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self):
        _tf._modes.append(self)
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        _tf._modes.pop()
        return False

    @classmethod
    def push(cls, *args, **kwargs):
        """Make a mode and enter it (leave with ``__exit__``)."""
        mode = cls(*args, **kwargs)
        mode.__enter__()
        return mode


def _get_current_function_mode():
    """The innermost active mode, or None."""
    return _tf._modes[-1] if _tf._modes else None


def _get_current_function_mode_stack() -> list:
    """The active modes, outermost first."""
    return list(_tf._modes)


def _is_torch_function_mode_enabled() -> bool:
    return _mode_active()
