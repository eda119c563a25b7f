"""The user's additions to the weights-only allow-list (``add_safe_globals``), checked by object.

PyTorch trusts the name in the ``(obj, "module.name")`` form; ember also checks the object, so
no spelling can admit a function that runs commands, imports modules, opens files or calls
other callables (``os.system``, ``functools.partial``, ``importlib.import_module``,
``builtins.eval``/``exec``/``getattr``...). Such objects are refused when they are added and
again when a file names them.
"""

from __future__ import annotations

import builtins
import functools
import operator
import pickle
import types

# A GLOBAL from one of these modules is refused whatever the allow-list says (PyTorch's list).
BLOCKED_MODULES = ("sys", "os", "posix", "nt")

# Objects from these top-level modules can never be added: they run commands or code, import
# modules, open files or sockets, or call what they are given.
_DENIED_PACKAGES = frozenset({
    *BLOCKED_MODULES, "subprocess", "_posixsubprocess", "shutil", "socket", "_socket", "ssl",
    "importlib", "_imp", "runpy", "code", "codeop", "pickle", "_pickle", "marshal", "ctypes",
    "_ctypes", "pty", "timeit", "pdb", "bdb", "cProfile", "profile", "trace", "multiprocessing",
    "_multiprocessing", "threading", "_thread", "concurrent", "asyncio", "signal", "atexit",
    "gc", "webbrowser", "io", "_io", "tempfile", "shelve", "dbm", "functools", "_functools",
    "operator", "_operator",
})


def _denied_objects() -> dict:
    """Objects refused by identity (a name of their own is no way around the check)."""
    import numpy as np

    objs = {}
    for name in ("eval", "exec", "compile", "getattr", "setattr", "delattr", "__import__",
                 "open", "globals", "locals", "vars", "breakpoint", "input", "help", "exit",
                 "quit", "type", "object", "super", "memoryview", "classmethod",
                 "staticmethod", "property", "__build_class__"):
        if hasattr(builtins, name):
            objs[id(getattr(builtins, name))] = f"builtins.{name}"
    for obj, name in ((functools.partial, "functools.partial"),
                      (functools.partialmethod, "functools.partialmethod"),
                      (functools.reduce, "functools.reduce"),
                      (operator.attrgetter, "operator.attrgetter"),
                      (operator.methodcaller, "operator.methodcaller"),
                      (operator.itemgetter, "operator.itemgetter"),
                      (types.FunctionType, "types.FunctionType"),
                      (types.CodeType, "types.CodeType"),
                      (types.MethodType, "types.MethodType"),
                      (pickle.loads, "pickle.loads"), (pickle.load, "pickle.load"),
                      (np.load, "numpy.load"), (np.lib.format.read_array,
                                                 "numpy.lib.format.read_array")):
        objs[id(obj)] = name
    return objs


_DENIED: dict = {}
_entries: list = []   # what the user added, in order: objects or (object, "module.name")


def denied_reason(obj) -> str | None:
    """Why ``obj`` can never be a safe global, or None when it may be."""
    if not _DENIED:
        _DENIED.update(_denied_objects())
    if id(obj) in _DENIED:
        return f"it is {_DENIED[id(obj)]}"
    if isinstance(obj, types.ModuleType):
        return f"it is the module {obj.__name__}"
    owners = [obj, type(obj), getattr(obj, "__self__", None)]
    for owner in owners:
        if owner is None:
            continue
        if isinstance(owner, types.ModuleType):
            module = owner.__name__
        else:
            module = getattr(owner, "__module__", None)
        if isinstance(module, str) and module.split(".")[0] in _DENIED_PACKAGES:
            if owner is type(obj) and module == "builtins":
                continue  # an instance of a builtin type (a str, a dict...) is only data
            return f"it comes from the module {module}"
    return None


def _entry_name(entry) -> tuple:
    if isinstance(entry, tuple):
        if len(entry) != 2:
            raise ValueError("Expected tuple of length 2 (global, str of callable full path), "
                             f"but got tuple of length: {len(entry)}")
        if type(entry[1]) is not str:
            raise TypeError("Expected second item in tuple to be str of callable full path, "
                            f"but got: {type(entry[1])}")
        return entry[0], entry[1]
    module = getattr(entry, "__module__", None)
    name = getattr(entry, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(name, str):
        raise TypeError(f"add_safe_globals: {entry!r} has no __module__/__qualname__; pass "
                        "(obj, 'module.name') to name it")
    return entry, f"{module}.{name}"


def add_safe_globals(safe_globals) -> None:
    """Allow these classes/functions in ``weights_only=True`` loads.

    Each entry is the object itself (found under ``obj.__module__ + '.' + obj.__qualname__``)
    or ``(obj, "module.name")`` for an object the file names differently. Objects that run
    code, import modules or open files (``os.system``, ``functools.partial``,
    ``importlib.import_module``, ``eval``...) are refused whatever the name.

    Example:
        >>> ember.serialization.add_safe_globals([MyConfig])
        >>> ember.serialization.add_safe_globals([(MyConfig, "old_module.MyConfig")])
    """
    checked = []
    for entry in safe_globals:
        obj, name = _entry_name(entry)
        reason = denied_reason(obj)
        if reason is None and name.split(".")[0] in BLOCKED_MODULES:
            reason = f"its module {name.split('.')[0]} is blocked"
        if reason is not None:
            raise pickle.UnpicklingError(
                f"{name} can never be allowed in a weights-only load ({reason}); load the file "
                "with weights_only=False if, and only if, you trust it")
        checked.append(entry)
    for entry in checked:
        if entry not in _entries:
            _entries.append(entry)


def get_safe_globals() -> list:
    """The globals added with ``add_safe_globals`` (beyond the built-in allow-list).

    Example:
        >>> ember.serialization.get_safe_globals()
        []
    """
    return list(_entries)


def clear_safe_globals() -> None:
    """Forget every global added with ``add_safe_globals``.

    Example:
        >>> ember.serialization.clear_safe_globals()
    """
    _entries.clear()


def user_table() -> dict:
    """``"module.name" -> object`` for the user's entries (rechecked: the list is mutable).

    An ember object added by itself also answers to PyTorch's spelling of its name
    (``ember.nn.modules.linear.Linear`` as ``torch.nn.modules.linear.Linear``): files saved by
    PyTorch name torch's classes, and ember keeps torch's module paths.
    """
    table = {}
    for entry in _entries:
        obj, name = _entry_name(entry)
        if denied_reason(obj) is None:
            table[name] = obj
            if not isinstance(entry, tuple):
                alias = _torch_spelling(name)
                if alias is not None:
                    table.setdefault(alias, obj)
    return table


def _torch_spelling(name: str) -> str | None:
    """``ember.X`` -> ``torch.X`` and ``ember.vision.X`` -> ``torchvision.X``; else None."""
    if name.startswith("ember.vision."):
        return "torchvision." + name[len("ember.vision."):]
    if name.startswith("ember."):
        return "torch." + name[len("ember."):]
    return None


class safe_globals:
    """Context manager allowing globals for ``weights_only`` loads inside its block.

    Example:
        >>> with ember.serialization.safe_globals([MyConfig]):
        ...     ember.load("run.pth")
    """

    def __init__(self, safe_globals):
        self.safe_globals = safe_globals

    def __enter__(self):
        self._saved = list(_entries)
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc):
        _entries[:] = self._saved
        return False
