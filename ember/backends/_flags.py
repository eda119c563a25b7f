"""The machinery behind ``ember.backends``' settable flags, as PyTorch's ``PropModule``: a
backend module's flags are plain module attributes, checked on assignment, and frozen by
``ember.backends.disable_global_flags()`` except inside a ``flags()`` block."""

from __future__ import annotations

import sys
import types
from contextlib import contextmanager

_frozen = False
_unfrozen_depth = 0


def disable_global_flags() -> None:
    """Forbid plain assignments to backend flags (``flags()`` blocks still set them)."""
    global _frozen
    _frozen = True


def flags_frozen() -> bool:
    """True after ``disable_global_flags()``."""
    return _frozen


@contextmanager
def allow_mutation():
    """Let ``set_flags``/``flags()`` change flags even when they are frozen."""
    global _unfrozen_depth
    _unfrozen_depth += 1
    try:
        yield
    finally:
        _unfrozen_depth -= 1


def expect_bool(setter_name: str):
    """A check for a boolean flag, with PyTorch's message naming its C++ setter."""
    def check(value):
        if not isinstance(value, bool):
            raise RuntimeError(f"{setter_name} expects a bool, but got {type(value).__name__}")
        return value

    return check


class FlagModule(types.ModuleType):
    """A backend module whose flags (the names in its ``_CHECKS``) are checked when set."""

    def __setattr__(self, name, value):
        checks = self.__dict__.get("_CHECKS", {})
        if name in checks:
            if _frozen and not _unfrozen_depth:
                raise RuntimeError(
                    f"not allowed to set {self.__name__} flags "
                    "after disable_global_flags; please use flags() context manager instead")
            value = checks[name](value)
        super().__setattr__(name, value)


def install(module_name: str) -> None:
    """Turn the module ``module_name`` into a FlagModule (call at the end of the module)."""
    sys.modules[module_name].__class__ = FlagModule


class FP32Precision:
    """``backend.conv.fp32_precision`` and friends: one settable string attribute."""

    _VALUES = ("none", "ieee", "tf32", "bf16")

    def __init__(self, backend: str, op: str, default: str = "none"):
        object.__setattr__(self, "backend", backend)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "_precision", default)

    def __getattr__(self, name):
        if name == "fp32_precision":
            return self._precision
        raise AttributeError("Unknown attribute " + name)

    def __setattr__(self, name, value):
        if name != "fp32_precision":
            raise AttributeError("Unknown attribute " + name)
        if value not in self._VALUES:
            raise RuntimeError(f"Invalid precision {value!r} for {self.backend}.{self.op}; "
                               f"expected one of {', '.join(self._VALUES)}")
        object.__setattr__(self, "_precision", value)
