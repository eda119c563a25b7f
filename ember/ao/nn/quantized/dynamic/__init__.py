"""``ember.ao.nn.quantized.dynamic``: modules with int8 weights whose activations are
quantized per batch at run time (``quantize_dynamic`` puts them in place): ``Linear``,
``LSTM``, ``GRU``, ``LSTMCell``, ``GRUCell``, ``RNNCell``."""

from .linear import Linear  # noqa: F401
from .rnn import GRU, LSTM, GRUCell, LSTMCell, RNNCell  # noqa: F401

__all__ = ["Linear", "LSTM", "GRU", "LSTMCell", "GRUCell", "RNNCell"]
