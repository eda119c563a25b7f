"""Weak references keyed by identity, as ``torch.utils.weak``.

A ``Tensor``'s ``==`` is elementwise, so ``weakref.WeakKeyDictionary`` cannot key on tensors:
it compares keys with ``==``. ``WeakIdKeyDictionary`` keys its entries by :class:`WeakIdRef`,
a weak reference that hashes and compares by its referent's identity, and drops an entry when
its key is collected.

Example:
    >>> import ember
    >>> d = WeakTensorKeyDictionary()
    >>> t = ember.ones(2)
    >>> d[t] = "cached"
    >>> d[t], len(d)
    ('cached', 1)
    >>> del t
    >>> len(d)
    0
"""

from __future__ import annotations

import copy as _copy
import weakref
from collections.abc import Mapping, MutableMapping

__all__ = ["TensorWeakRef", "WeakIdRef", "WeakIdKeyDictionary", "WeakTensorKeyDictionary"]

WeakRef = weakref.ref


class WeakIdRef(weakref.ref):
    """A weak reference that hashes by its referent's id and compares by identity (a dead
    reference equals only itself).

    Example:
        >>> import ember
        >>> t = ember.zeros(1)
        >>> WeakIdRef(t) == WeakIdRef(t), hash(WeakIdRef(t)) == id(t)
        (True, True)
    """

    __slots__ = ("_id",)

    def __init__(self, key, callback=None) -> None:
        super().__init__(key, callback)
        self._id = id(key)  # kept: the entry must still be found after the key died

    def __hash__(self) -> int:
        return self._id

    def __eq__(self, other) -> bool:
        mine, theirs = self(), other() if isinstance(other, weakref.ref) else None
        if mine is None or theirs is None:
            return self is other
        return mine is theirs


class WeakIdKeyDictionary(MutableMapping):
    """A mapping whose keys are held weakly and compared by identity; an entry goes when its key
    is collected. ``WeakTensorKeyDictionary`` is the same class.

    Args:
        dict: initial items.
        ref_type: the reference class keys are wrapped in (``WeakIdRef``).

    Example:
        >>> import ember
        >>> a, b = ember.ones(1), ember.ones(1)
        >>> d = WeakIdKeyDictionary({a: 1, b: 2})
        >>> d[a], d[b], ember.ones(1) in d
        (1, 2, False)
    """

    def __init__(self, dict=None, ref_type=WeakIdRef) -> None:
        self.data: dict = {}
        self.ref_type = ref_type
        owner = weakref.ref(self)

        def forget(dead_ref) -> None:  # the key was collected (the dictionary may be too)
            d = owner()
            if d is not None:
                d.data.pop(dead_ref, None)

        self._forget = forget
        if dict is not None:
            self.update(dict)

    def _live(self):
        # a snapshot: a key collected during the loop removes its entry from self.data
        for wr, value in list(self.data.items()):
            key = wr()
            if key is not None:
                yield key, value

    def __getitem__(self, key):
        return self.data[self.ref_type(key)]

    def __setitem__(self, key, value) -> None:
        self.data[self.ref_type(key, self._forget)] = value

    def __delitem__(self, key) -> None:
        del self.data[self.ref_type(key)]

    def __contains__(self, key) -> bool:
        try:
            return self.ref_type(key) in self.data
        except TypeError:  # not weakly referenceable: never a key
            return False

    def __iter__(self):
        return (key for key, _ in self._live())

    def __len__(self) -> int:
        return sum(1 for _ in self._live())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x}>"

    def keyrefs(self) -> list:
        """The weak references to the keys (call each; ``None`` means collected).

        Example:
            >>> import ember
            >>> t = ember.ones(1)
            >>> WeakIdKeyDictionary({t: 3}).keyrefs()[0]() is t
            True
        """
        return list(self.data)

    def copy(self) -> WeakIdKeyDictionary:
        """A shallow copy (the same keys and values).

        Example:
            >>> import ember
            >>> t = ember.ones(1)
            >>> WeakIdKeyDictionary({t: 1}).copy()[t]
            1
        """
        out = type(self)(ref_type=self.ref_type)
        out.update(self._live_items())
        return out

    __copy__ = copy

    def __deepcopy__(self, memo):
        out = type(self)(ref_type=self.ref_type)
        for key, value in self._live():
            out[key] = _copy.deepcopy(value, memo)
        return out

    def _live_items(self) -> list:
        return list(self._live())

    def __or__(self, other):
        if not isinstance(other, Mapping):
            return NotImplemented
        out = self.copy()
        out.update(other)
        return out

    def __ror__(self, other):
        if not isinstance(other, Mapping):
            return NotImplemented
        out = type(self)(ref_type=self.ref_type)
        out.update(other)
        out.update(self._live_items())
        return out

    def __ior__(self, other):
        self.update(other)
        return self

    def __eq__(self, other):
        # by the keys' identities: a Tensor key's own == is elementwise
        if not isinstance(other, Mapping):
            return NotImplemented
        return {id(k): v for k, v in self.items()} == {id(k): v for k, v in other.items()}

    __hash__ = None


WeakTensorKeyDictionary = WeakIdKeyDictionary


class TensorWeakRef:
    """A weak reference to a Tensor; calling it gives the tensor, or ``None`` once collected.

    Example:
        >>> import ember
        >>> t = ember.ones(1)
        >>> TensorWeakRef(t)() is t
        True
    """

    def __init__(self, tensor) -> None:
        from .._tensor import Tensor

        if not isinstance(tensor, Tensor):
            raise AssertionError(f"expected torch.Tensor, got {type(tensor)}.")
        self.ref = weakref.ref(tensor)

    def __call__(self):
        return self.ref()
