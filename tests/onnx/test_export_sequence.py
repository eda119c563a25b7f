"""ember.onnx.export of recurrent layers and attention: ONNX's LSTM/GRU/RNN operators and
the attention ops, run in onnxruntime against ember with other batch sizes."""

import pytest

import ember
from ember import nn

from ._helpers import export_and_check, op_types


def setup_function():
    ember.manual_seed(0)


class First(nn.Module):
    """The module's outputs flattened to tensors (RNNs return (out, h) or (out, (h, c)))."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, *xs):
        out = self.inner(*xs)
        flat = []

        def walk(v):
            if isinstance(v, ember.Tensor):
                flat.append(v)
            elif isinstance(v, (tuple, list)):
                for u in v:
                    walk(u)

        walk(out)
        return tuple(flat)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("batch_first, bidirectional, layers", [
    (False, False, 1), (True, True, 2)])
def test_recurrent_layers(kind, batch_first, bidirectional, layers):
    model = First(getattr(nn, kind)(3, 4, num_layers=layers, batch_first=batch_first,
                                   bidirectional=bidirectional))
    shape = (2, 5, 3) if batch_first else (5, 2, 3)
    proto = export_and_check(model, ember.randn(*shape), axis=0 if batch_first else 1)
    assert kind in op_types(proto)


def test_lstm_with_initial_state():
    lstm = nn.LSTM(3, 4, batch_first=True)

    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = lstm

        def forward(self, x, h, c):
            out, (hn, cn) = self.lstm(x, (h, c))
            return out, hn, cn

    export_and_check(WithState(), (ember.randn(2, 5, 3), ember.randn(1, 2, 4),
                                   ember.randn(1, 2, 4)), dynamic=False)


def test_multihead_attention():
    mha = nn.MultiheadAttention(8, 2, batch_first=True)

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = mha

        def forward(self, x):
            out, weights = self.mha(x, x, x)
            return out, weights

    proto = export_and_check(SelfAttention(), ember.randn(2, 5, 8))
    assert "Softmax" in op_types(proto)


def test_transformer_encoder():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True)
    model = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    export_and_check(model, ember.randn(2, 5, 8), atol=2e-5)
