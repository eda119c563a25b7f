"""``torch.utils.hooks``: the handle that removes a registered hook, and the marker for hooks
that must not be saved with a tensor."""

from __future__ import annotations

import warnings
import weakref
from collections import OrderedDict

__all__ = ["RemovableHandle", "unserializable_hook", "warn_if_has_hooks"]


class RemovableHandle:
    """A handle that removes the hook stored under its ``id`` in ``hooks_dict`` (and in every
    dict of ``extra_dict``) when ``remove()`` is called or its ``with`` block ends.

    The dicts must accept weak references (``collections.OrderedDict`` does; a plain
    ``dict`` raises TypeError, as in PyTorch).

    Example:
        >>> hooks = OrderedDict()
        >>> handle = RemovableHandle(hooks)
        >>> hooks[handle.id] = print
        >>> handle.remove()
        >>> len(hooks)
        0
    """

    next_id: int = 0

    def __init__(self, hooks_dict, *, extra_dict=None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        extras = () if extra_dict is None else (
            extra_dict if isinstance(extra_dict, (list, tuple)) else (extra_dict,))
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extras)

    def remove(self) -> None:
        """Remove the hook (a second call does nothing)."""
        for ref in (self.hooks_dict_ref,) + self.extra_dict_ref:
            store = ref()
            if store is not None and self.id in store:
                del store[self.id]

    def __getstate__(self):
        store = self.hooks_dict_ref()
        return (store, self.id, tuple(r() for r in self.extra_dict_ref))

    def __setstate__(self, state) -> None:
        store, self.id, extras = state
        self.hooks_dict_ref = weakref.ref(OrderedDict() if store is None else store)
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extras if d is not None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def unserializable_hook(f):
    """Mark ``f`` as a hook that may be dropped when its tensor is saved (no warning for it).

    Example:
        >>> @unserializable_hook
        ... def hook(grad):
        ...     return grad
        >>> hook.__torch_unserializable__
        True
    """
    f.__torch_unserializable__ = True
    return f


def warn_if_has_hooks(tensor) -> None:
    """Warn when ``tensor`` has backward hooks that saving it would silently drop (those not
    marked with :func:`unserializable_hook`)."""
    hooks = getattr(tensor, "_hooks", None)  # a leaf's gradient hooks
    if not hooks:
        return
    for hook in hooks.values() if isinstance(hooks, dict) else hooks:
        if not getattr(hook, "__torch_unserializable__", False):
            warnings.warn(f"backward hook {hook!r} on tensor will not be serialized.  If this is "
                          "expected, you can decorate the function with "
                          "@torch.utils.hooks.unserializable_hook to suppress this warning",
                          stacklevel=2)
