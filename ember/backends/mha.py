"""``ember.backends.mha``: the fast path switch of ``nn.MultiheadAttention`` (a flag only:
ember has one attention path).

Example:
    >>> ember.backends.mha.get_fastpath_enabled()
    True
"""

_fastpath_enabled = True


def get_fastpath_enabled() -> bool:
    """Whether the MultiheadAttention fast path is enabled (PyTorch's default: True)."""
    return _fastpath_enabled


def set_fastpath_enabled(value: bool) -> None:
    """Enable or disable the MultiheadAttention fast path (a flag only in ember)."""
    global _fastpath_enabled
    _fastpath_enabled = bool(value)
