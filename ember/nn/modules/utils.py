"""``torch.nn.modules.utils``: the small argument helpers layer code leans on (``_pair`` turns
``3`` into ``(3, 3)`` ...) and ``consume_prefix_in_state_dict_if_present``, which strips the
``module.`` prefix a DataParallel/DDP wrapper adds to checkpoint keys."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["consume_prefix_in_state_dict_if_present"]


def _ntuple(n, name="parse"):
    """A converter to an ``n``-tuple: an iterable is taken as it is (``tuple(x)``, whatever its
    length, as torch does), anything else is repeated ``n`` times."""

    def to_tuple(x):
        # kernel_size=3 and kernel_size=(3, 5) are both legal; only the scalar gets widened
        return tuple(x) if isinstance(x, Iterable) else (x,) * n

    to_tuple.__name__ = name
    return to_tuple


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")


def _reverse_repeat_tuple(t, n):
    """Each entry of ``t``, last one first, written ``n`` times in a row: per-dimension padding
    ``(pd, ph, pw)`` becomes the ``F.pad`` form ``(pw, pw, ph, ph, pd, pd)`` for ``n=2``."""
    return tuple(v for v in reversed(t) for _ in range(n))


def _list_with_default(out_size, defaults):
    """An adaptive-pool output size with its ``None`` entries filled from the trailing sizes of
    ``defaults`` (the input shape); a plain int passes through."""
    if isinstance(out_size, int):
        return out_size
    wanted = len(out_size)
    if len(defaults) <= wanted:
        raise ValueError(f"Input dimension should be at least {wanted + 1}")
    tail = defaults[len(defaults) - wanted:]
    return [d if v is None else v for v, d in zip(out_size, tail)]


def _strip(key: str, prefix: str):
    """``key`` without ``prefix``, or None when it is left alone. A metadata key names a
    module, so the wrapper's own entry (``"module"`` for ``"module."``: the prefix with its dots
    dropped, as torch compares it) becomes the root ``""``; the root entry never moves."""
    if not key:
        return None
    if key == prefix.replace(".", ""):
        return ""
    return key[len(prefix):] if key.startswith(prefix) else None


def consume_prefix_in_state_dict_if_present(state_dict: dict[str, Any], prefix: str) -> None:
    """Remove ``prefix`` from the keys of ``state_dict`` that start with it, in place.

    A model saved through ``nn.DataParallel`` or DDP has every key under ``module.``; stripping
    that prefix lets the bare model load the checkpoint. The ``_metadata`` an ``OrderedDict``
    state_dict carries (one entry per submodule) is renamed the same way. Renamed entries move
    to the end, in their original order.

    Example:
        >>> sd = {"module.weight": 1, "module.bias": 2}
        >>> ember.nn.modules.utils.consume_prefix_in_state_dict_if_present(sd, "module.")
        >>> sorted(sd)
        ['bias', 'weight']
    """
    for key in [k for k in state_dict if k.startswith(prefix)]:
        state_dict[key[len(prefix):]] = state_dict.pop(key)
    meta = getattr(state_dict, "_metadata", None)
    if meta is None:
        return
    for key in list(meta):
        # metadata keys are module paths without the trailing dot, hence _strip's extra case
        new = _strip(key, prefix)
        if new is not None:
            meta[new] = meta.pop(key)
