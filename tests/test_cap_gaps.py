"""Gaps found while writing the image-captioning programs (tests/programs/cap_*.py), each
checked against PyTorch: the decoder-state mistakes a captioning loop makes. An LSTM given
only ``h_0`` (a tensor where ``(h_0, c_0)`` belongs) fails as torch fails, by indexing
``hx[1]`` or on the 3-D check, instead of a tuple-unpacking ValueError or a size message
about the wrong state; a GRU, GRUCell or RNNCell given a tuple fails on ``.dim()``/``.size()``;
an LSTMCell given one batched tensor refuses it (torch's TypeError) where ember used to
unpack its rows and then complain about the batch size; a one-state tuple is refused with
torch's "expects two hidden states" (as is a three-state one, which ember used to run)."""

import pytest
import torch

import ember


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001  (the type and message are compared)
        return type(exc).__name__, str(exc)
    return None


def _packed(lib, enforce_sorted=True):
    data = lib.arange(40.0).reshape(4, 5, 2) / 40
    return lib.nn.utils.rnn.pack_padded_sequence(data, [4, 3, 2, 2, 1],
                                                 enforce_sorted=enforce_sorted)


# (module, input, hidden state), each built for the library passed in
CASES = {
    "lstm_h0_only": lambda lib: (lib.nn.LSTM(2, 3), lib.ones(4, 5, 2), lib.zeros(1, 5, 3)),
    "lstm_two_layer_h0_only": lambda lib: (lib.nn.LSTM(2, 3, num_layers=2), lib.ones(4, 5, 2),
                                           lib.zeros(2, 5, 3)),
    "lstm_unbatched_h0_only": lambda lib: (lib.nn.LSTM(2, 3), lib.ones(4, 2), lib.zeros(1, 3)),
    "lstm_one_state_tuple": lambda lib: (lib.nn.LSTM(2, 3), lib.ones(4, 5, 2),
                                         (lib.zeros(1, 5, 3),)),
    "lstm_three_states": lambda lib: (lib.nn.LSTM(2, 3), lib.ones(4, 5, 2),
                                      (lib.zeros(1, 5, 3),) * 3),
    "lstm_4d_tensor": lambda lib: (lib.nn.LSTM(2, 3), lib.ones(4, 5, 2),
                                   lib.zeros(2, 1, 5, 3)),
    "lstm_2d_states": lambda lib: (lib.nn.LSTM(2, 3), lib.ones(4, 5, 2),
                                   (lib.zeros(5, 3), lib.zeros(5, 3))),
    "gru_tuple": lambda lib: (lib.nn.GRU(2, 3), lib.ones(4, 5, 2),
                              (lib.zeros(1, 5, 3), lib.zeros(1, 5, 3))),
    "gru_2d_state": lambda lib: (lib.nn.GRU(2, 3), lib.ones(4, 5, 2), lib.zeros(5, 3)),
    "packed_lstm_one_state_tuple": lambda lib: (lib.nn.LSTM(2, 3), _packed(lib),
                                                (lib.zeros(1, 5, 3),)),
    "packed_lstm_h0_only": lambda lib: (lib.nn.LSTM(2, 3), _packed(lib), lib.zeros(1, 5, 3)),
    "packed_gru_tuple": lambda lib: (lib.nn.GRU(2, 3), _packed(lib),
                                     (lib.zeros(1, 5, 3), lib.zeros(1, 5, 3))),
    "packed_gru_tuple_unsorted": lambda lib: (lib.nn.GRU(2, 3), _packed(lib, False),
                                              (lib.zeros(1, 5, 3),)),
    "lstm_cell_h_only": lambda lib: (lib.nn.LSTMCell(2, 3), lib.ones(5, 2), lib.zeros(5, 3)),
    "lstm_cell_3d_tensor": lambda lib: (lib.nn.LSTMCell(2, 3), lib.ones(5, 2),
                                        lib.zeros(2, 5, 3)),
    "lstm_cell_4d_tensor": lambda lib: (lib.nn.LSTMCell(2, 3), lib.ones(5, 2),
                                        lib.zeros(2, 2, 5, 3)),
    "lstm_cell_three_states": lambda lib: (lib.nn.LSTMCell(2, 3), lib.ones(5, 2),
                                           (lib.zeros(5, 3),) * 3),
    "lstm_cell_one_state_unbatched": lambda lib: (lib.nn.LSTMCell(2, 3), lib.ones(2),
                                                  (lib.zeros(3),)),
    "gru_cell_tuple": lambda lib: (lib.nn.GRUCell(2, 3), lib.ones(5, 2), (lib.zeros(5, 3),)),
    "rnn_cell_tuple": lambda lib: (lib.nn.RNNCell(2, 3), lib.ones(5, 2), (lib.zeros(5, 3),)),
}
# torch's own words here come from its C++ argument parser: ember keeps the type and says
# what was wrong in one line
SAME_TYPE_ONLY = {"packed_lstm_h0_only", "lstm_4d_tensor"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_decoder_state_mistakes_fail_as_in_torch(name):
    want = _error(lambda: (lambda m, x, h: m(x, h))(*CASES[name](torch)))
    got = _error(lambda: (lambda m, x, h: m(x, h))(*CASES[name](ember)))
    assert want is not None and got is not None
    if name in SAME_TYPE_ONLY:
        assert got[0] == want[0] and "tuple of Tensors" in got[1]
    else:
        assert got == want


@pytest.mark.parametrize("make", [
    lambda lib: (lib.nn.LSTMCell(2, 3), lib.ones(2), lib.ones(2, 3) / 2),  # unbatched: split
    lambda lib: (lib.nn.LSTMCell(2, 3), lib.ones(5, 2), [lib.ones(5, 3) / 2] * 2),
    lambda lib: (lib.nn.LSTM(2, 3), lib.ones(4, 5, 2), [lib.ones(1, 5, 3) / 2] * 2),
    lambda lib: (lib.nn.LSTM(2, 3), lib.ones(4, 2), lib.ones(2, 1, 3) / 2),
    lambda lib: (lib.nn.LSTM(2, 3), lib.ones(4, 2), (lib.ones(1, 3) / 2,) * 3),
])
def test_states_torch_accepts_still_run(make):
    outs = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        module, x, h = make(lib)
        out = module(x, h)
        first = out[0] if isinstance(out, tuple) else out
        outs.append(first.detach().numpy())
    assert outs[0].shape == outs[1].shape
    assert abs(outs[0] - outs[1]).max() < 1e-6
