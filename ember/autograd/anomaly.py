"""``detect_anomaly``: name the forward op whose backward produced NaN."""

from __future__ import annotations

import traceback

import numpy as np

from .grad_mode import _GradModeContext

_enabled = [False]


def is_enabled() -> bool:
    return _enabled[0]


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly`` (or after ``set_detect_anomaly(True)``)."""
    return _enabled[0]


def is_anomaly_check_nan_enabled() -> bool:
    return _enabled[0]


def check(node, grads) -> None:
    """Raise when a node's backward returned NaN, naming the node and where it was created."""
    for i, g in enumerate(grads):
        if g is None:
            continue
        data = g._data
        if data.dtype.kind in "fc" and np.isnan(data).any():
            where = ""
            if node._anomaly_trace:
                where = "\nThe forward call that created it:\n" + "".join(node._anomaly_trace)
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its {i}th output." + where)


def record_trace(node) -> None:
    node._anomaly_trace = traceback.format_stack()[:-3]


class detect_anomaly(_GradModeContext):
    """Context manager that checks every backward result for NaN and names the forward op.

    Example:
        >>> with ember.autograd.detect_anomaly():
        ...     loss.backward()
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = _enabled[0]
        _enabled[0] = self.check_nan

    def __exit__(self, *exc):
        _enabled[0] = self._prev
        return False

    def clone(self):
        return self.__class__(self.check_nan)


class set_detect_anomaly(detect_anomaly):
    """Turn anomaly detection on or off; works as a call and as a context manager.

    Example:
        >>> ember.autograd.set_detect_anomaly(True)
    """

    def __init__(self, mode: bool, check_nan: bool = True):
        super().__init__(bool(mode) and check_nan)
        self._prev = _enabled[0]
        _enabled[0] = self.check_nan

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _enabled[0] = self._prev
        return False
