"""Small helpers the op tests share to compare an ember result with torch's."""

import numpy as np

import ember


def np_of(t):
    """``t`` as a NumPy array (ember or torch)."""
    return t.detach().cpu().numpy()


def version(t) -> int:
    """``t``'s version counter (an int in both libraries)."""
    return t._version


def same(e, t):
    """Same shape, dtype name and values (NaN equal) for ember ``e`` and torch ``t``."""
    assert tuple(e.shape) == tuple(t.shape)
    assert str(e.dtype) == str(t.dtype)
    np.testing.assert_allclose(np_of(e), np_of(t), rtol=1e-6, atol=1e-6, equal_nan=True)


__all__ = ["np_of", "same", "version", "ember"]
