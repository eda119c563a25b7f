"""``ember.signal`` (``torch.signal``): signal processing; so far the ``windows`` module.

Loaded on first use (``import ember`` does not import it).

Example:
    >>> ember.signal.windows.hann(5)
    tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
"""

from . import windows

__all__ = ["windows"]
