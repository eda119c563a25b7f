"""PyTorch's deterministic-algorithms switches. ember's CPU ops are deterministic already, so
the flags are kept (and read back) as PyTorch keeps them, and change nothing else."""

from __future__ import annotations

__all__ = ["use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
           "is_deterministic_algorithms_warn_only_enabled", "set_deterministic_debug_mode",
           "get_deterministic_debug_mode"]

_flags = {"enabled": False, "warn_only": False}


def _check_bool(name: str, value) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument '{name}'"
                        f"{' (position 1)' if name == 'mode' else ''} must be bool, not "
                        f"{type(value).__name__}")


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Ask for deterministic algorithms (recorded; ember's CPU ops are deterministic).

    Example:
        >>> ember.use_deterministic_algorithms(True)
        >>> ember.are_deterministic_algorithms_enabled()
        True
    """
    _check_bool("mode", mode)
    _check_bool("warn_only", warn_only)
    _flags["enabled"], _flags["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled() -> bool:
    """Whether ``use_deterministic_algorithms(True)`` is in force.

    Example:
        >>> ember.are_deterministic_algorithms_enabled()
        False
    """
    return _flags["enabled"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """Whether deterministic mode was asked for with ``warn_only=True``.

    Example:
        >>> ember.is_deterministic_algorithms_warn_only_enabled()
        False
    """
    return _flags["warn_only"]


def set_deterministic_debug_mode(debug_mode: str | int) -> None:
    """The same switch by level: ``"default"``/0 off, ``"warn"``/1, ``"error"``/2.

    Example:
        >>> ember.set_deterministic_debug_mode("warn")
        >>> ember.get_deterministic_debug_mode()
        1
    """
    if not isinstance(debug_mode, (str, int)) or isinstance(debug_mode, bool):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if isinstance(debug_mode, str):
        levels = {"default": 0, "warn": 1, "error": 2}
        if debug_mode not in levels:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, "
                               f"`warn`, `error`, but got {debug_mode}")
        debug_mode = levels[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """0 (off), 1 (warn only) or 2 (error), as ``set_deterministic_debug_mode`` sets it.

    Example:
        >>> ember.get_deterministic_debug_mode()
        0
    """
    if not _flags["enabled"]:
        return 0
    return 1 if _flags["warn_only"] else 2
