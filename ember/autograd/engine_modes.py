"""Switches of PyTorch's backward engine that ember keeps as flags: multithreaded backward and
view replay.

ember's engine walks the graph on the calling thread and records views by their base and
strides, so neither switch changes how a backward runs; they exist (with PyTorch's defaults,
per thread as in PyTorch) so that programs that read or set them run unchanged.
"""

from __future__ import annotations

import threading

from .grad_mode import _GradModeContext

__all__ = ["is_multithreading_enabled", "set_multithreading_enabled", "is_view_replay_enabled"]


class _State(threading.local):
    def __init__(self):
        self.multithreading = True


_state = _State()


def is_multithreading_enabled() -> bool:
    """Whether backward may run on the engine's worker threads (True unless turned off with
    ``set_multithreading_enabled(False)``).

    Example:
        >>> ember.autograd.is_multithreading_enabled()
        True
    """
    return _state.multithreading


def is_view_replay_enabled() -> bool:
    """Whether views are replayed by their view function in autograd (False: PyTorch turns it
    on only inside ``torch.autograd._force_original_view_tracking``).

    Example:
        >>> ember.autograd.is_view_replay_enabled()
        False
    """
    return False


class set_multithreading_enabled(_GradModeContext):
    """Enable or disable multithreaded backward, as a call, a context manager or a decorator
    (thread-local; the previous setting returns when the block ends).

    Args:
        mode: True to allow worker threads (the default), False for the calling thread only.

    Example:
        >>> with ember.autograd.set_multithreading_enabled(False):
        ...     ember.autograd.is_multithreading_enabled()
        False
    """

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_multithreading_enabled(): argument 'enabled' (position 1) "
                            f"must be bool, not {type(mode).__name__}")
        self.prev = _state.multithreading
        _state.multithreading = mode
        self.mode = mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        _state.multithreading = self.prev

    def clone(self) -> set_multithreading_enabled:
        return self.__class__(self.mode)
