"""``torch.torch_version``: ``TorchVersion``, the string type of ``ember.__version__``.

Programs compare the version as a string, a tuple or a ``packaging`` ``Version``
(``torch.__version__ >= (2, 0)``, ``>= "1.10"``); ``TorchVersion`` compares by PEP 440 order in
each case (so ``"0.10" > "0.9"``), and as a plain string when either side is no version at all.

Example:
    >>> from ember.torch_version import TorchVersion
    >>> TorchVersion("1.10.0") > "1.9", TorchVersion("2.1.0+cpu") >= (2, 1)
    (True, True)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["TorchVersion"]

# PEP 440's public grammar, with its usual spellings (1.10.0a0, 2.1.0rc1, 1.0.post1, 2.0.dev3)
_PATTERN = re.compile(
    r"^\s*v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>\d*))?"
    r"(?:-(?P<post_n1>\d+)|[-_.]?(?:post|rev|r)[-_.]?(?P<post_n2>\d*))?"
    r"(?:[-_.]?dev[-_.]?(?P<dev_n>\d*))?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$", re.IGNORECASE)

_PRE = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
_INF = float("inf")


class InvalidVersion(ValueError):
    """A string that is not a PEP 440 version."""


def _key(text: str) -> tuple:
    """A sort key in PEP 440 order: 1.0.dev0 < 1.0a1 < 1.0 < 1.0.post1 < 1.0+local."""
    match = _PATTERN.match(text)
    if match is None:
        raise InvalidVersion(text)
    release = [int(p) for p in match["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    dev = int(match["dev_n"] or 0) if match["dev_n"] is not None or "dev" in text.lower() \
        else None
    if match["pre_l"]:
        pre = (_PRE[match["pre_l"].lower()], int(match["pre_n"] or 0))
    elif dev is not None and match["post_n1"] is None and match["post_n2"] is None:
        pre = (-_INF, 0)  # 1.0.dev0 sorts before 1.0a0
    else:
        pre = (_INF, 0)
    post_text = match["post_n1"] if match["post_n1"] is not None else match["post_n2"]
    has_post = post_text is not None or re.search(r"(post|rev|r)\d*$|-\d+", text.split("+")[0])
    post = int(post_text or 0) if has_post else -_INF
    local = tuple((0, int(p)) if p.isdigit() else (-1, p)
                  for p in re.split(r"[-_.]", match["local"] or "") if p)
    return (int(match["epoch"] or 0), tuple(release), pre, post,
            _INF if dev is None else dev, local)


def _other_key(other) -> tuple:
    if isinstance(other, str):
        return _key(other)
    if hasattr(other, "release") and hasattr(other, "public"):  # packaging's Version
        return _key(str(other))
    if isinstance(other, Iterable):
        return _key(".".join(str(item) for item in other))
    raise InvalidVersion(other)


class TorchVersion(str):
    """A version string that compares as a version with strings, tuples and ``Version``\\ s.

    Example:
        >>> v = ember.torch_version.TorchVersion("2.10.1")
        >>> v > "2.9", v == (2, 10, 1), v < "2.10.1.post1"
        (True, True, True)
    """

    __slots__ = ()

    def _compare(self, other, method: str) -> bool:
        try:
            mine, theirs = _key(self), _other_key(other)
        except InvalidVersion:
            return getattr(str, method)(self, other)
        return getattr(mine, method)(theirs)

    def __gt__(self, other):
        return self._compare(other, "__gt__")

    def __lt__(self, other):
        return self._compare(other, "__lt__")

    def __ge__(self, other):
        return self._compare(other, "__ge__")

    def __le__(self, other):
        return self._compare(other, "__le__")

    def __eq__(self, other):
        return self._compare(other, "__eq__")

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = str.__hash__
