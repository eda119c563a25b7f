"""``ember.testing``: ``assert_close`` and ``make_tensor``, mirroring ``torch.testing``.

Example:
    >>> ember.testing.assert_close(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 2.0 + 1e-7]))
    >>> x = ember.testing.make_tensor(2, 3, dtype=ember.float32, device="cpu", low=-1, high=1)
"""

from ._comparison import assert_allclose, assert_close
from ._creation import make_tensor

__all__ = ["assert_allclose", "assert_close", "make_tensor"]
