"""A short, bounded description of an object read from an untrusted file, for error messages.

``repr()`` of what a pickle built can take forever: with the memo, a 1 kB pickle can make a
list of 60 levels whose every level holds the level below twice, and its repr would be 2**60
items long (``f"{x!r:.200}"`` still builds the whole repr before cutting it). ``brief`` shows
at most a few levels and a few items of each container, so its cost does not depend on what
the file built.
"""

from __future__ import annotations

import reprlib

import numpy as np


class _Brief(reprlib.Repr):
    def __init__(self):
        super().__init__()
        self.maxlevel = 3
        self.maxtuple = self.maxlist = self.maxset = self.maxfrozenset = self.maxdeque = 6
        self.maxdict = 4
        self.maxstring = self.maxother = 80
        self.maxlong = 40

    def repr_instance(self, x, level):
        # Subclasses of the containers (OrderedDict, Counter, Size) would otherwise get their
        # full builtin repr; tensors and arrays are described by shape, never printed.
        for kind, name in ((dict, "dict"), (list, "list"), (tuple, "tuple"), (set, "set")):
            if isinstance(x, kind):
                return f"{type(x).__name__}({getattr(self, 'repr_' + name)(x, level)})"
        if isinstance(x, (bytes, bytearray)):
            return self.repr_str(x[:self.maxother], level)
        shape = getattr(x, "shape", None)
        if isinstance(x, np.ndarray) or type(x).__name__ in ("Tensor", "Parameter"):
            return f"<{type(x).__name__} of shape {tuple(shape)}>"
        return super().repr_instance(x, level)


_BRIEF = _Brief()


def brief(obj, limit: int = 200) -> str:
    """``repr(obj)`` cut to a few levels and items, at most ``limit`` characters.

    Example:
        >>> brief([[1, 2, 3, 4, 5, 6, 7, 8]] * 3)
        '[[1, 2, 3, 4, 5, 6, ...], [1, 2, 3, 4, 5, 6, ...], [1, 2, 3, 4, 5, 6, ...]]'
    """
    text = _BRIEF.repr(obj)
    return text if len(text) <= limit else text[:limit - 3] + "..."
