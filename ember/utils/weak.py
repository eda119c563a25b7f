"""Weak references keyed by identity, as ``torch.utils.weak``.

A ``Tensor``'s ``==`` is elementwise and its hash is its id, so ``weakref.WeakKeyDictionary``
cannot key on tensors; ``WeakIdKeyDictionary`` compares keys by identity (``WeakIdRef``) and
drops an entry when its key is collected.

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

import collections.abc as _collections_abc
import weakref
from collections.abc import Mapping, MutableMapping
from weakref import ref

__all__ = ["TensorWeakRef", "WeakIdRef", "WeakIdKeyDictionary", "WeakTensorKeyDictionary"]

WeakRef = ref


class _IterationGuard:
    # While the dictionary is iterated, keys that die are queued and removed afterwards
    # (removing them during iteration would change the dict's size under the iterator).
    def __init__(self, weakcontainer) -> None:
        self.weakcontainer = ref(weakcontainer)

    def __enter__(self):
        w = self.weakcontainer()
        if w is not None:
            w._iterating.add(self)
        return self

    def __exit__(self, e, t, b):
        w = self.weakcontainer()
        if w is not None:
            s = w._iterating
            s.remove(self)
            if not s:
                w._commit_removals()


class WeakIdRef(weakref.ref):
    """A weak reference that hashes and compares by its referent's identity (while alive).

    Example:
        >>> import ember
        >>> t = ember.zeros(1)
        >>> WeakIdRef(t) == WeakIdRef(t), hash(WeakIdRef(t)) == id(t)
        (True, True)
    """

    __slots__ = ["_id"]

    def __init__(self, key, callback=None) -> None:
        # the id is kept: the key must still hash the same after it has died
        self._id = id(key)
        super().__init__(key, callback)

    def __call__(self):
        r = super().__call__()
        if hasattr(r, "_fix_weakref"):
            r._fix_weakref()
        return r

    def __hash__(self):
        return self._id

    def __eq__(self, other):
        a = self()
        b = other()
        if a is not None and b is not None:
            return a is b
        return self is other


class _WeakHashRef(weakref.ref):
    # like WeakIdRef, but by the referent's hash (for objects that hash by value)
    __slots__ = ["_id"]

    def __init__(self, key, callback=None) -> None:
        self._id = hash(key)
        super().__init__(key, callback)

    def __call__(self):
        r = super().__call__()
        if hasattr(r, "_fix_weakref"):
            r._fix_weakref()
        return r

    def __hash__(self):
        return self._id

    def __eq__(self, other):
        a = self()
        b = other()
        if a is not None and b is not None:
            return hash(a) == hash(b)
        return self is other


class WeakIdKeyDictionary(MutableMapping):
    """A mapping with weakly held keys compared by identity; an entry goes when its key is
    collected. ``WeakTensorKeyDictionary`` is the same class.

    Args:
        dict: initial items.
        ref_type: the key reference class (``WeakIdRef``).

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

        def remove(k, selfref=ref(self)) -> None:
            self = selfref()
            if self is not None:
                if self._iterating:
                    self._pending_removals.append(k)
                else:
                    try:
                        del self.data[k]
                    except KeyError:
                        pass

        self._remove = remove
        self._pending_removals: list = []
        self._iterating: set = set()
        self._dirty_len = False
        if dict is not None:
            self.update(dict)

    def _commit_removals(self) -> None:
        pop = self._pending_removals.pop
        d = self.data
        while True:
            try:
                key = pop()
            except IndexError:
                return
            try:
                del d[key]
            except KeyError:
                pass

    def _scrub_removals(self) -> None:
        d = self.data
        self._pending_removals = [k for k in self._pending_removals if k in d]
        self._dirty_len = False

    def __delitem__(self, key) -> None:
        self._dirty_len = True
        del self.data[self.ref_type(key)]

    def __getitem__(self, key):
        return self.data[self.ref_type(key)]

    def __len__(self) -> int:
        if self._dirty_len and self._pending_removals:
            self._scrub_removals()
        return len(self.data) - len(self._pending_removals)

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} at {id(self):#x}>"

    def __setitem__(self, key, value) -> None:
        self.data[self.ref_type(key, self._remove)] = value

    def copy(self):
        """A shallow copy (same keys, same values).

        Example:
            >>> import ember
            >>> t = ember.ones(1); d = WeakIdKeyDictionary({t: 1})
            >>> d.copy()[t]
            1
        """
        new = WeakIdKeyDictionary()
        with _IterationGuard(self):
            for key, value in self.data.items():
                o = key()
                if o is not None:
                    new[o] = value
        return new

    __copy__ = copy

    def __deepcopy__(self, memo):
        from copy import deepcopy

        new = self.__class__()
        with _IterationGuard(self):
            for key, value in self.data.items():
                o = key()
                if o is not None:
                    new[o] = deepcopy(value, memo)
        return new

    def get(self, key, default=None):
        """The value for ``key``, else ``default``.

        Example:
            >>> import ember
            >>> WeakIdKeyDictionary().get(ember.ones(1), "none")
            'none'
        """
        return self.data.get(self.ref_type(key), default)

    def __contains__(self, key) -> bool:
        try:
            wr = self.ref_type(key)
        except TypeError:  # not weak-referenceable: never a key
            return False
        return wr in self.data

    def items(self):
        """The live ``(key, value)`` pairs.

        Example:
            >>> import ember
            >>> t = ember.ones(1)
            >>> [v for _, v in WeakIdKeyDictionary({t: 3}).items()]
            [3]
        """
        with _IterationGuard(self):
            for wr, value in self.data.items():
                key = wr()
                if key is not None:
                    yield key, value

    def keys(self):
        """The live keys.

        Example:
            >>> import ember
            >>> t = ember.ones(1)
            >>> list(WeakIdKeyDictionary({t: 3}).keys())[0] is t
            True
        """
        with _IterationGuard(self):
            for wr in self.data:
                obj = wr()
                if obj is not None:
                    yield obj

    __iter__ = keys

    def values(self):
        """The values of live keys.

        Example:
            >>> import ember
            >>> t = ember.ones(1)
            >>> list(WeakIdKeyDictionary({t: 3}).values())
            [3]
        """
        with _IterationGuard(self):
            for wr, value in self.data.items():
                if wr() is not None:
                    yield value

    def keyrefs(self):
        """Weak references to the keys (check each for ``None`` before use).

        Example:
            >>> import ember
            >>> t = ember.ones(1)
            >>> WeakIdKeyDictionary({t: 3}).keyrefs()[0]() is t
            True
        """
        return list(self.data)

    def popitem(self):
        """Remove and return a live ``(key, value)`` pair.

        Example:
            >>> import ember
            >>> t = ember.ones(1)
            >>> WeakIdKeyDictionary({t: 3}).popitem()[1]
            3
        """
        self._dirty_len = True
        while True:
            key, value = self.data.popitem()
            o = key()
            if o is not None:
                return o, value

    def pop(self, key, *args):
        """Remove ``key`` and return its value (or the default given).

        Example:
            >>> import ember
            >>> t = ember.ones(1)
            >>> WeakIdKeyDictionary({t: 3}).pop(t)
            3
        """
        self._dirty_len = True
        return self.data.pop(self.ref_type(key), *args)

    def setdefault(self, key, default=None):
        """The value for ``key``, inserting ``default`` first if absent.

        Example:
            >>> import ember
            >>> t = ember.ones(1)
            >>> WeakIdKeyDictionary().setdefault(t, [])
            []
        """
        return self.data.setdefault(self.ref_type(key, self._remove), default)

    def update(self, dict=None, **kwargs) -> None:
        """Add the items of a mapping (or of ``(key, value)`` pairs).

        Example:
            >>> import ember
            >>> t = ember.ones(1); d = WeakIdKeyDictionary(); d.update([(t, 1)]); d[t]
            1
        """
        d = self.data
        if dict is not None:
            if not hasattr(dict, "items"):
                dict = type({})(dict)
            for key, value in dict.items():
                d[self.ref_type(key, self._remove)] = value
        if kwargs:
            self.update(kwargs)

    def __ior__(self, other):
        self.update(other)
        return self

    def __or__(self, other):
        if isinstance(other, _collections_abc.Mapping):
            c = self.copy()
            c.update(other)
            return c
        return NotImplemented

    def __ror__(self, other):
        if isinstance(other, _collections_abc.Mapping):
            c = self.__class__()
            c.update(other)
            c.update(self)
            return c
        return NotImplemented

    def __eq__(self, other):
        # by the keys' identities: a Tensor key's own == is elementwise
        if not isinstance(other, Mapping):
            return NotImplemented
        return {id(k): v for k, v in self.items()} == {id(k): v for k, v in other.items()}


WeakTensorKeyDictionary = WeakIdKeyDictionary


class TensorWeakRef:
    """A weak reference to a Tensor; calling it gives the tensor or ``None``.

    Example:
        >>> import ember
        >>> t = ember.ones(1); r = TensorWeakRef(t)
        >>> r() is t
        True
    """

    def __init__(self, tensor) -> None:
        from ember import Tensor

        if not isinstance(tensor, Tensor):
            raise AssertionError(f"expected torch.Tensor, got {type(tensor)}.")
        self.ref = weakref.ref(tensor)

    def __call__(self):
        from ember import Tensor

        out = self.ref()
        if out is None:
            return out
        if not isinstance(out, Tensor):
            raise AssertionError(f"expected torch.Tensor, got {type(out)}.")
        return out
