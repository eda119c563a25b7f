"""Settings modules in the style of ``torch._dynamo.config``: a module whose attributes are a
fixed set of named settings with defaults. Reading or setting a name outside the set raises
AttributeError (a typo never passes silently), ``patch`` sets some for the length of a
``with`` block or a decorated call, and ``get_config_copy`` returns them all as a dict.
Dotted names (``"triton.cudagraphs"``) become nested namespaces (``config.triton.cudagraphs``).

Example:
    >>> import types
    >>> m = types.ModuleType("demo.config")
    >>> install_config_module(m, {"verbose": False, "cache.size": 8})
    >>> m.cache.size = 16
    >>> with m.patch(verbose=True):
    ...     m.verbose
    True
    >>> m.get_config_copy()
    {'verbose': False, 'cache.size': 16}
"""

from __future__ import annotations

import contextlib
import copy
import types
from collections.abc import Callable

__all__ = ["install_config_module"]


class _Namespace:
    """One level of settings (the module itself, or a dotted prefix such as ``triton``)."""

    def __init__(self, owner: _Settings, prefix: str):
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name):
        return self._owner.get(self._prefix + name)

    def __setattr__(self, name, value):
        self._owner.set(self._prefix + name, value)

    def __dir__(self):
        return sorted({k[len(self._prefix):].split(".")[0] for k in self._owner.values
                       if k.startswith(self._prefix)})


class _Settings:
    """The values of one config module, the hooks that react to a change, and its name."""

    def __init__(self, name: str, defaults: dict, on_set: dict):
        self.name, self.values, self.on_set = name, dict(defaults), on_set
        self.prefixes = {k.rsplit(".", 1)[0] + "." for k in defaults if "." in k}
        self.prefixes |= {p.rsplit(".", 1)[0] + "." for p in self.prefixes if "." in p[:-1]}

    def get(self, key: str):
        if key in self.values:
            return self.values[key]
        if key + "." in self.prefixes:
            return _Namespace(self, key + ".")
        raise AttributeError(f"{self.name}.{key} does not exist")

    def set(self, key: str, value) -> None:
        if key not in self.values:
            raise AttributeError(f"{self.name}.{key} does not exist")
        self.values[key] = value
        hook = self.on_set.get(key)
        if hook is not None:
            hook(self, value)


class _ConfigModule(types.ModuleType):
    def __getattr__(self, name):
        return self.__dict__["_settings"].get(name)

    def __setattr__(self, name, value):
        settings = self.__dict__.get("_settings")
        if settings is None or name.startswith("__") or name in self.__dict__:
            super().__setattr__(name, value)
        else:
            settings.set(name, value)

    def __dir__(self):
        own = [k for k in self.__dict__ if not k.startswith("_")]
        return sorted(set(own) | set(_Namespace(self._settings, "").__dir__()))


def install_config_module(module: types.ModuleType, defaults: dict,
                          on_set: dict[str, Callable] | None = None) -> None:
    """Turn ``module`` into a settings module holding ``defaults`` (dotted names nest).
    ``on_set[name](settings, value)`` runs after ``name`` is set (to keep aliases in step)."""
    settings = _Settings(module.__name__, defaults, on_set or {})

    @contextlib.contextmanager
    def _patched(changes: dict):
        saved = {k: settings.get(k) for k in changes}
        for k, v in changes.items():
            settings.set(k, v)
        try:
            yield
        finally:
            for k, v in saved.items():
                settings.set(k, v)

    class _Patch(contextlib.ContextDecorator):
        def __init__(self, changes):
            self.changes, self.stack = changes, []

        def __enter__(self):
            cm = _patched(self.changes)
            cm.__enter__()
            self.stack.append(cm)
            return self

        def __exit__(self, *exc):
            return self.stack.pop().__exit__(*exc)

    def patch(arg1: str | dict | None = None, arg2=None, **kwargs):
        """Set settings for a ``with`` block or a decorated function, then restore them:
        ``patch("name", value)``, ``patch({"name": value})`` or ``patch(name=value)``."""
        changes = {} if arg1 is None else ({arg1: arg2} if isinstance(arg1, str) else dict(arg1))
        changes.update(kwargs)
        for k in changes:
            settings.get(k)  # an unknown name fails here, before anything changes
        return _Patch(changes)

    def get_config_copy() -> dict:
        """Every setting's current value, by its (dotted) name."""
        return copy.deepcopy(settings.values)

    module.__dict__.update(_settings=settings, patch=patch, get_config_copy=get_config_copy)
    module.__class__ = _ConfigModule
