"""``ember.ao.nn.quantizable``: float modules written so that eager-mode static quantization
can observe every intermediate result (as ``torch.ao.nn.quantizable``): ``LSTMCell`` and
``LSTM`` built from ``Linear`` layers and ``FloatFunctional`` arithmetic, and
``MultiheadAttention`` with separate q/k/v projections.

Example:
    >>> lstm = ember.ao.nn.quantizable.LSTM(3, 4)
    >>> out, (h, c) = lstm(ember.randn(5, 2, 3))
    >>> out.shape, h.shape
    (torch.Size([5, 2, 4]), torch.Size([1, 2, 4]))
"""

from . import modules  # noqa: F401
from .modules import LSTM, LSTMCell, MultiheadAttention

__all__ = ["LSTM", "LSTMCell", "MultiheadAttention"]
