"""The ``__torch_function__`` protocol: Tensor subclasses, Tensor-likes and function modes.

A call to a public function (``ember.add``, ``ember.nn.functional.relu``, ``Tensor.add``,
``x + y``, ``x.shape`` ...) whose arguments hold an object of a type with its own
``__torch_function__`` (a Tensor subclass defined outside ember, or a Tensor-like such as
the tutorial's ``ScalarTensor``), or made while a ``TorchFunctionMode`` is active, is handed
to that ``__torch_function__`` instead of running.

Checking every call would cost every program; so the dispatch layer is installed only when
it can matter, and a program that never defines such a class never pays for it (the way
``_ops/_core.set_capture`` swaps ``Op.apply`` only while a capture runs). ``install()``
replaces the public functions in ``ember``, ``ember.nn.functional``, ``ember.linalg``,
``ember.fft`` and ``ember.special`` and the Tensor methods, operators and properties with
dispatching wrappers. It runs when the first Tensor subclass with an active
``__torch_function__`` is defined outside the ember package (``Tensor.__init_subclass__``),
or when ``ember.overrides`` is imported (which a ``TorchFunctionMode`` or a Tensor-like that
is not a Tensor subclass needs). ember's own subclasses (``nn.Parameter``, sparse, nested,
quantized, masked tensors, tv_tensors) opt out with ``_disabled_torch_function_impl``, as
``torch.nn.Parameter`` does, and keep their own behaviour.

A function taken before installation (``from torch import add`` run earlier) stays the plain
function: it does not dispatch.
"""

from __future__ import annotations

import functools
import sys
import types as _types

from ._tensor import Tensor
from ._tensor_methods import _FORWARD, _INPLACE, _REFLECTED, _UNARY

# how many DisableTorchFunctionSubclass / DisableTorchFunction contexts are open
_subclass_off = [0]
_all_off = [0]
# the TorchFunctionMode stack, innermost last
_modes: list = []
_installed = [False]


def _disabled_torch_function_impl(func, types, args=(), kwargs=None):
    """Opt a Tensor subclass out of ``__torch_function__`` (``torch._C``'s name): set as a
    class's ``__torch_function__``, its instances dispatch as plain tensors and ops return
    plain tensors, as ``torch.nn.Parameter`` does.

    Example:
        >>> class Plain(ember.Tensor):
        ...     __torch_function__ = ember._C._disabled_torch_function_impl
        >>> type(ember.ones(2).as_subclass(Plain) + 1).__name__
        'Tensor'
    """
    if kwargs is None:
        kwargs = {}
    with DisableTorchFunctionSubclass():
        return func(*args, **kwargs)


class DisableTorchFunctionSubclass:
    """Context manager: while open, Tensor subclasses' and Tensor-likes'
    ``__torch_function__`` are skipped (function modes still run); ``torch._C``'s name.

    Example:
        >>> class T(ember.Tensor): pass
        >>> with ember._C.DisableTorchFunctionSubclass():
        ...     type(ember.ones(2).as_subclass(T) + 1).__name__
        'Tensor'
    """

    def __enter__(self):
        _subclass_off[0] += 1
        return self

    def __exit__(self, *exc):
        _subclass_off[0] -= 1
        return False


class DisableTorchFunction:
    """Context manager: while open, no ``__torch_function__`` runs, neither a subclass's nor a
    mode's; ``torch._C``'s name.

    Example:
        >>> with ember._C.DisableTorchFunction():
        ...     ember._C._is_torch_function_enabled()
        False
    """

    def __enter__(self):
        _all_off[0] += 1
        _subclass_off[0] += 1
        return self

    def __exit__(self, *exc):
        _all_off[0] -= 1
        _subclass_off[0] -= 1
        return False


def is_torch_function_enabled() -> bool:
    """Whether Tensor subclasses' ``__torch_function__`` currently runs."""
    return not _subclass_off[0]


# -- which objects take part --------------------------------------------------------------

_type_cache: dict = {}


def _overrides(t: type) -> bool:
    """Whether instances of ``t`` take part in dispatch: the type has a ``__torch_function__``
    that is not the opt-out. Plain Tensor takes part only through modes, as in torch."""
    found = _type_cache.get(t)
    if found is None:
        impl = getattr(t, "__torch_function__", None)
        found = t is not Tensor and impl is not None and impl is not _disabled_torch_function_impl
        _type_cache[t] = found
    return found


def _collect(value, found: list, nested: bool = True) -> None:
    t = type(value)
    if t is Tensor or t is int or t is float or t is bool or value is None:
        return
    if nested and (t is list or t is tuple):  # one level into sequences (cat, stack ...)
        for item in value:
            ti = type(item)
            if ti is not Tensor and _overrides(ti) and not any(v is item for v in found):
                found.append(item)
        return
    if _overrides(t) and not any(v is value for v in found):
        found.append(value)


def overloaded_args(args, kwargs=None, nested: bool = True) -> list:
    """The arguments whose ``__torch_function__`` is tried, in torch's order: left to right,
    except that an instance of a subclass goes before the first instance of its parent class;
    one object per type. ``nested``: look one level into lists and tuples (``cat``'s)."""
    found: list = []
    for a in args:
        _collect(a, found, nested)
    if kwargs:
        for a in kwargs.values():
            _collect(a, found)
    ordered: list = []
    seen_types: list = []
    for obj in found:
        t = type(obj)
        if t in seen_types:
            continue
        index = len(ordered)
        for i, other in enumerate(ordered):
            if issubclass(t, type(other)):
                index = i
                break
        ordered.insert(index, obj)
        seen_types.append(t)
    return ordered


def _needs_dispatch(args, kwargs) -> bool:
    if _modes and not _all_off[0]:
        return True
    if _subclass_off[0]:
        return False
    for a in args:
        t = type(a)
        if t is Tensor or t is int or t is float or t is bool or a is None:
            continue
        if t is list or t is tuple:
            for item in a:
                ti = type(item)
                if ti is not Tensor and _overrides(ti):
                    return True
        elif _overrides(t):
            return True
    if kwargs:
        return _needs_dispatch(tuple(kwargs.values()), None)
    return False


def handle(public, args, kwargs, overloaded=None):
    """Run ``public(*args, **kwargs)`` through the active mode, then through the overloaded
    arguments' ``__torch_function__`` in order; the first result that is not NotImplemented
    wins. ``public`` is what the handlers see as ``func`` (``ember.add``, ``Tensor.add`` ...)."""
    if kwargs is None:
        kwargs = {}
    if overloaded is None:
        overloaded = [] if _subclass_off[0] else overloaded_args(args, kwargs)
    types = tuple(type(o) for o in overloaded)
    if _modes and not _all_off[0]:
        mode = _modes.pop()  # the mode's own calls go to the modes below it
        try:
            result = mode.__torch_function__(public, types, args, kwargs)
        finally:
            _modes.append(mode)
        if result is not NotImplemented:
            return result
    for obj in overloaded:
        if _plain_method(type(obj)):
            import warnings

            warnings.warn("Defining your `__torch_function__` as a plain method is deprecated "
                          "and will be an error in future, please define it as a classmethod.",
                          UserWarning, stacklevel=3)
        result = obj.__torch_function__(public, types, args, kwargs)
        if result is not NotImplemented:
            return result
    tried = "".join(f"  - tensor subclass {t}\n" for t in types)
    if not overloaded and _modes:
        tried = f"  - mode object {_modes[-1]!r}\n"
    raise TypeError(f"Multiple dispatch failed for '{_public_name(public)}'; all "
                    f"__torch_function__ handlers returned NotImplemented:\n\n{tried}\n"
                    "For more information, try re-running with TORCH_LOGS=not_implemented")


def _plain_method(t: type) -> bool:
    import inspect

    impl = inspect.getattr_static(t, "__torch_function__", None)
    return isinstance(impl, _types.FunctionType) and impl is not _disabled_torch_function_impl


def _public_name(func) -> str:
    name = getattr(func, "_torch_function_name", None)
    if name is not None:
        return name
    return getattr(func, "__qualname__", None) or str(func)


# -- the default Tensor.__torch_function__ ---------------------------------------------------

def _alias_as(t: Tensor, cls: type) -> Tensor:
    """``t`` as an instance of ``cls`` through ``as_subclass`` (a view, AliasBackward0 in the
    graph, as in torch); ``t`` itself keeps its class (it may be an input returned by an
    in-place op)."""
    from ._ops.shape.views import as_subclass

    return as_subclass(t, cls)


def convert(result, cls: type):
    """Turn the tensors in ``result`` (itself, or inside a tuple or list) into ``cls``."""
    if cls is Tensor:
        return result
    if isinstance(result, Tensor):
        return result if isinstance(result, cls) else _alias_as(result, cls)
    if isinstance(result, (tuple, list)):
        items = [convert(r, cls) for r in result]
        if hasattr(type(result), "_fields"):  # a return type (torch.return_types.max)
            return type(result)(*items)
        return type(result)(items)
    return result


def _default_torch_function(cls, func, types, args=(), kwargs=None):
    """Run ``func`` with subclass dispatch off and return its tensors as ``cls`` (Tensor's
    own ``__torch_function__``; a subclass's handler usually ends in
    ``super().__torch_function__(func, types, args, kwargs)``).

    Example:
        >>> class T(ember.Tensor): pass
        >>> type(ember.add(ember.ones(2).as_subclass(T), 1)).__name__
        'T'
    """
    if kwargs is None:
        kwargs = {}
    for t in types:
        if not issubclass(cls, t):
            return NotImplemented
    with DisableTorchFunctionSubclass():
        result = func(*args, **kwargs)
    if func in _NOWRAP:
        return result
    return convert(result, cls)


_NOWRAP: set = set()


def default_nowrap_functions() -> set:
    """The functions whose results the default ``__torch_function__`` leaves unconverted
    (getters of ``grad`` and ``_base``, which name other tensors)."""
    return set(_NOWRAP)


# -- subclasses ----------------------------------------------------------------------------

def subclass_defined(cls: type) -> None:
    """Called for every new Tensor subclass: ember's own opt out of dispatch (as
    ``nn.Parameter`` does in torch); the first one from outside ember with a live
    ``__torch_function__`` installs the dispatch layer."""
    _type_cache.clear()
    module = cls.__module__ or ""
    if module == "ember" or module.startswith("ember."):
        if "__torch_function__" not in cls.__dict__:
            cls.__torch_function__ = _disabled_torch_function_impl
        return
    if not _installed[0] and _overrides(cls):
        install()


# -- installation ----------------------------------------------------------------------------

_SKIP_TOP = frozenset({
    "compile", "manual_seed", "seed", "initial_seed", "typename", "from_numpy", "from_dlpack",
    "to_dlpack", "frombuffer", "from_file", "promote_types", "can_cast", "broadcast_shapes",
    "cond", "while_loop", "is_tensor", "is_storage", "is_grad_enabled", "is_anomaly_enabled",
    "is_anomaly_check_nan_enabled", "is_inference_mode_enabled", "is_warn_always_enabled",
    "is_deterministic_algorithms_warn_only_enabled", "use_deterministic_algorithms",
    "are_deterministic_algorithms_enabled", "lobpcg",
})
_PROPERTIES = ("shape", "dtype", "device", "ndim", "requires_grad", "grad", "data", "is_leaf",
               "T", "mT", "H", "mH", "real", "imag")
_METHOD_DUNDERS = frozenset({
    "__getitem__", "__setitem__", "__repr__", "__len__", "__bool__", "__float__", "__int__",
    "__index__", "__complex__", "__reversed__", "__contains__", "__pos__",
    "__array__",
})
_SKIP_METHODS = frozenset({"as_subclass", "numpy"})


def _make_function(raw, name: str):
    def dispatching(*args, **kwargs):
        if _needs_dispatch(args, kwargs):
            return handle(dispatching, args, kwargs)
        return raw(*args, **kwargs)

    functools.update_wrapper(dispatching, raw)
    dispatching._torch_function_name = name
    dispatching._torch_function_raw = raw
    return dispatching


def _make_operator(raw, public, binary: bool, name: str):
    """An operator (``__add__``): dispatches as ``public`` (``Tensor.add``, as torch does), or
    as itself when ``public`` is None (``Tensor.__eq__``); a binary operator whose handlers all
    decline returns NotImplemented, so Python raises its own "unsupported operand" TypeError."""
    def operator(*args):
        if _needs_dispatch(args, None):
            try:
                return handle(operator if public is None else public, args, None)
            except TypeError as err:
                if binary and str(err).startswith("Multiple dispatch failed"):
                    return NotImplemented
                raise
        return raw(*args)

    functools.update_wrapper(operator, raw)
    operator.__name__, operator.__qualname__ = name.rsplit(".", 1)[1], name[len("torch."):]
    operator._torch_function_name = name
    operator._torch_function_raw = raw
    return operator


def _wrap_namespace(namespace: dict, prefix: str, module_name: str) -> None:
    for name, value in list(namespace.items()):
        if name.startswith("_") or name in _SKIP_TOP or name.startswith(("set_", "get_")):
            continue
        if type(value) is not _types.FunctionType or hasattr(value, "_torch_function_raw"):
            continue
        if not (getattr(value, "__module__", "") or "").startswith("ember"):
            continue
        _replaced.append((namespace, name, value))
        namespace[name] = _wrapper_of[value] = _make_function(value, f"{prefix}.{name}")


# the operators, named as torch's overrides name them: Tensor's own table of operator ->
# function (a reflected operator whose function is not the forward one is dispatched under
# its own name, as are __eq__/__ne__; the subscript operators are not wrapped)
_SELF_NAMED = ("__eq__", "__ne__", "__rsub__", "__rtruediv__", "__rfloordiv__", "__rmod__",
               "__rpow__", "__rmatmul__", "__rlshift__", "__rrshift__")
_FORWARD_NAMES = {name: fn for name, fn in {**_FORWARD, **_REFLECTED}.items()
                  if name not in _SELF_NAMED}
_UNARY_NAMES = {name: fn for name, fn in _UNARY.items()
                if name not in ("__getitem__", "__setitem__")}
_INPLACE_NAMES = _INPLACE


# what install() replaced, to put back: (namespace dict or class, name, original or _MISSING)
_replaced: list = []
_MISSING = object()
# plain function -> its dispatching wrapper, for the references modules took at import
_wrapper_of: dict = {}


def _rebind_module_references() -> None:
    """nn modules hold functional ops they took at import (``Conv2d._fn = F.conv2d``,
    ``from ..functional import linear``): point those at the dispatching wrappers too, so that
    ``nn.Conv2d()(subclass_instance)`` dispatches ``F.conv2d`` as in torch."""
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith("ember.nn.modules"):
            continue
        namespace = vars(module)
        for name, value in list(namespace.items()):
            if type(value) is _types.FunctionType and value in _wrapper_of:
                _replaced.append((namespace, name, value))
                namespace[name] = _wrapper_of[value]
            elif isinstance(value, type) and value.__module__ == module_name:
                for attr, member in list(vars(value).items()):
                    if isinstance(member, staticmethod) and member.__func__ in _wrapper_of:
                        _replaced.append((value, attr, member))
                        setattr(value, attr, staticmethod(_wrapper_of[member.__func__]))


def _set_on_tensor(name: str, value) -> None:
    _replaced.append((Tensor, name, Tensor.__dict__.get(name, _MISSING)))
    setattr(Tensor, name, value)


def _wrap_tensor() -> None:
    classes = [c for c in Tensor.__mro__ if c is not object]
    names: dict = {}
    for c in reversed(classes):  # Tensor's own entries win over its bases'
        names.update(c.__dict__)
    operators = set(_FORWARD_NAMES) | set(_SELF_NAMED) | set(_INPLACE_NAMES) | set(_UNARY_NAMES)
    for name, value in names.items():
        if type(value) is not _types.FunctionType or name in operators:
            continue
        if name in _SKIP_METHODS or (name.startswith("_") and name not in _METHOD_DUNDERS):
            continue
        method = _make_function(value, f"torch.Tensor.{name}")
        method.__name__, method.__qualname__ = name, f"Tensor.{name}"
        _set_on_tensor(name, method)
    for name, value in names.items():
        if name not in operators or type(value) is not _types.FunctionType:
            continue
        target = _FORWARD_NAMES.get(name) or _INPLACE_NAMES.get(name) or _UNARY_NAMES.get(name)
        public = None if target is None else Tensor.__dict__.get(target)
        if target is not None and public is None:
            continue
        binary = name in _FORWARD_NAMES or name in _SELF_NAMED
        if name == "__rtruediv__":  # torch's func for ``2 / x`` is Tensor.__rdiv__, the same
            name = "__rdiv__"        # method under its Python 2 name
            op = _make_operator(value, None, binary, "torch.Tensor.__rdiv__")
            _set_on_tensor("__rtruediv__", op)
            _set_on_tensor("__rdiv__", op)
            continue
        _set_on_tensor(name, _make_operator(value, public, binary, f"torch.Tensor.{name}"))
    for name in _PROPERTIES:
        prop = getattr(Tensor, name, None)
        if not isinstance(prop, property) or prop.fget is None:
            continue
        _set_on_tensor(name, _dispatching_property(prop, name))
    _NOWRAP.add(Tensor.grad.__get__)


def _from_ember(frame) -> bool:
    """Whether a property is read by ember's own code (a module's forward checking
    ``input.shape``, the engine ...): torch reads those in C++, out of ``__torch_function__``'s
    sight, so ember does not dispatch them either."""
    name = frame.f_globals.get("__name__", "")
    return name.startswith("ember.") and not name.startswith("ember._torch_function")


def _dispatching_property(prop: property, name: str) -> property:
    raw_get = prop.fget
    holder = []

    def fget(self):
        if (type(self) is not Tensor and _needs_dispatch((self,), None) or
                _modes and not _all_off[0]) and not _from_ember(sys._getframe(1)):
            return handle(holder[0].__get__, (self,), None)
        return raw_get(self)

    functools.update_wrapper(fget, raw_get)
    new = property(fget, prop.fset, prop.fdel, prop.__doc__)
    holder.append(new)
    return new


def install() -> None:
    """Put the dispatch layer in place (once; it stays for the process's life)."""
    if _installed[0]:
        return
    _installed[0] = True
    import importlib

    ember = sys.modules["ember"]
    _wrap_namespace(vars(ember), "torch", "ember")
    for sub in ("nn.functional", "linalg", "fft", "special"):
        module = importlib.import_module(f"ember.{sub}")
        _wrap_namespace(vars(module), f"torch.{sub}", f"ember.{sub}")
    importlib.import_module("ember.nn")
    _rebind_module_references()
    _wrap_tensor()


def uninstall() -> None:
    """Put the plain functions and methods back (tests use it to leave no trace)."""
    while _replaced:
        target, name, original = _replaced.pop()
        if isinstance(target, dict):
            target[name] = original
        elif original is _MISSING:
            delattr(target, name)
        else:
            setattr(target, name, original)
    # names ember modules bound while the layer was in place (``from . import atleast_1d`` in
    # a module first imported then) hold wrappers: give them the plain functions back too
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == "ember" or module_name.startswith("ember.")):
            continue
        namespace = vars(module)
        for name, value in list(namespace.items()):
            raw = getattr(value, "_torch_function_raw", None) \
                if type(value) is _types.FunctionType else None
            if raw is not None:
                namespace[name] = raw
    _NOWRAP.clear()
    _wrapper_of.clear()
    _installed[0] = False


def installed() -> bool:
    """Whether the dispatch layer is in place."""
    return _installed[0]


Tensor.__torch_function__ = classmethod(_default_torch_function)
