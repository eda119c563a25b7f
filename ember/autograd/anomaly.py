"""``detect_anomaly``: name the forward op whose backward produced NaN."""

from __future__ import annotations

import traceback
import warnings

import numpy as np

from .grad_mode import _GradModeContext

# Two switches, as in PyTorch: anomaly mode (record where each node was made) and, within it,
# the NaN check on backward results (``check_nan=False`` keeps the traces without the check).
_enabled = [False]
_check_nan = [True]


def is_enabled() -> bool:
    return _enabled[0]


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly`` (or after ``set_detect_anomaly(True)``).

    Example:
        >>> ember.is_anomaly_enabled()
        False
    """
    return _enabled[0]


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode checks backward results for NaN (True unless turned off with
    ``check_nan=False``).

    Example:
        >>> ember.is_anomaly_check_nan_enabled()
        True
    """
    return _check_nan[0]


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly mode on or off (what ``detect_anomaly`` and ``set_detect_anomaly`` do).

    Example:
        >>> ember.set_anomaly_enabled(True, check_nan=False)
        >>> ember.is_anomaly_enabled(), ember.is_anomaly_check_nan_enabled()
        (True, False)
        >>> ember.set_anomaly_enabled(False)
    """
    for pos, (name, value) in enumerate((("enabled", enabled), ("check_nan", check_nan)), 1):
        if not isinstance(value, bool):
            raise TypeError(f"set_anomaly_enabled(): argument '{name}' (position {pos}) must be "
                            f"bool, not {type(value).__name__}")
    _enabled[0] = enabled
    _check_nan[0] = check_nan


def check(node, grads) -> None:
    """Raise when a node's backward returned NaN, naming the node and where it was created."""
    if not _check_nan[0]:
        return
    for i, g in enumerate(grads):
        if g is None:
            continue
        data = g._data
        if data.dtype.kind in "fc" and np.isnan(data).any():
            warn_forward_trace(node)
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")


def warn_forward_trace(node) -> None:
    """Warn, as PyTorch does when a node's backward fails in anomaly mode, with the traceback
    of the forward call that created the node (the error itself stays unchanged)."""
    if node._anomaly_trace:
        where = ("Traceback of forward call that caused the error:\n"
                 + "".join(node._anomaly_trace).rstrip("\n"))
    else:
        where = ("No forward pass information available. Enable detect anomaly during forward "
                 "pass for more information.")
    warnings.warn(f"Error detected in {node.name()}. {where}", UserWarning, stacklevel=2)


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
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self):
        self._prev = (_enabled[0], _check_nan[0])
        set_anomaly_enabled(True, bool(self.check_nan))

    def __exit__(self, *exc):
        _enabled[0], _check_nan[0] = self._prev
        return False

    def clone(self):
        return self.__class__(self.check_nan)


class set_detect_anomaly(detect_anomaly):
    """Turn anomaly detection on or off; works as a call and as a context manager.

    Example:
        >>> ember.autograd.set_detect_anomaly(True)
    """

    def __init__(self, mode: bool, check_nan: bool = True):
        self.check_nan = check_nan  # (no warning here, unlike detect_anomaly: as PyTorch)
        self._prev = (_enabled[0], _check_nan[0])
        set_anomaly_enabled(bool(mode), bool(check_nan))

    def __enter__(self):
        pass
