"""Gaps found by the optimizer-zoo programs (tests/programs/zoo_*.py), compared with torch."""
import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
def test_rnncell_unknown_nonlinearity_is_refused_on_call(lib):
    cell = lib.nn.RNNCell(3, 4, nonlinearity="gelu")
    assert repr(cell) == "RNNCell(3, 4, nonlinearity=gelu)"
    with pytest.raises(RuntimeError, match="^Unknown nonlinearity: gelu$"):
        cell(lib.zeros(2, 3))


@pytest.mark.parametrize("pads", [(-1, 2), (2, -1), (-1, -1), (-2, 1), (1, -2), (-1, 0), (0, -1),
                                  (3, -2), (-2, 3), (1, 1)])
def test_circular_pad_negative_pads_crop_before_wrapping(pads):
    # the wrap reads the cropped run: (-1, 2) on [0..4] gives [1, 2, 3, 4, 1, 2]
    x = np.arange(10, dtype=np.float32).reshape(1, 2, 5)
    got = ember.nn.functional.pad(ember.from_numpy(x), pads, mode="circular")
    want = torch.nn.functional.pad(torch.from_numpy(x), pads, mode="circular")
    assert got.tolist() == want.tolist()


def test_circular_pad2d_negative_pad_gradient_matches_torch():
    x = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4)
    grads = []
    for lib in (ember, torch):
        t = lib.from_numpy(x.copy()).requires_grad_()
        out = lib.nn.CircularPad2d((-1, 1, 0, 2))(t)
        (out * lib.arange(out.numel()).reshape(out.shape)).sum().backward()
        grads.append(t.grad.tolist())
    assert grads[0] == grads[1]


@pytest.mark.parametrize("shape,pads", [((1, 1, 3, 4), (0, 0, 3, 3)), ((1, 1, 2, 3, 4), (0, 0, 3, 3, 0, 0)),
                                        ((1, 1, 2, 3, 4), (0, 0, 0, 0, 2, 2)), ((1, 3, 4), (4, 4))])
def test_reflection_pad_error_names_torchs_argument(shape, pads):
    messages = []
    for lib in (ember, torch):
        with pytest.raises(RuntimeError) as info:
            lib.nn.functional.pad(lib.ones(shape), pads, mode="reflect")
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("training", [True, False])
def test_rrelu_refuses_lower_above_upper(training):
    for lib in (ember, torch):
        x = -lib.ones(3)
        with pytest.raises(RuntimeError, match="^Lower bound should be less than or equal to"):
            lib.nn.functional.rrelu(x, lower=0.5, upper=0.1, training=training)
        with pytest.raises(RuntimeError, match="^Lower bound should be less than or equal to"):
            lib.rrelu(x, lower=0.5, upper=0.1, training=training)
        module = lib.nn.RReLU(0.5, 0.1)  # built without complaint, refused on the call
        with pytest.raises(RuntimeError, match="^Lower bound"):
            module(x)


CELL_CASES = [((2, 3), (3, 4)), ((3,), (1, 4)), ((2, 3), (4,)), ((2, 3), (2, 5)), ((3,), (5,)),
              ((2, 3), (2, 2, 4)), ((2, 5), (3, 4))]


@pytest.mark.parametrize("name", ["RNNCell", "GRUCell", "LSTMCell"])
@pytest.mark.parametrize("xs,hs", CELL_CASES)
def test_cells_check_the_hidden_state_as_torch(name, xs, hs):
    outcomes = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        cell = getattr(lib.nn, name)(3, 4)
        h = lib.ones(*hs)
        with pytest.raises((RuntimeError, ValueError)) as info:
            cell(lib.ones(*xs), (h, h) if name == "LSTMCell" else h)
        outcomes.append((info.type, str(info.value)))
    assert outcomes[0] == outcomes[1]


def test_lstm_cell_checks_the_cell_state_too():
    outcomes = []
    for lib in (ember, torch):
        cell = lib.nn.LSTMCell(3, 4)
        for c in (lib.ones(3, 4), lib.ones(2, 2, 4)):
            with pytest.raises((RuntimeError, ValueError)) as info:
                cell(lib.ones(2, 3), (lib.ones(2, 4), c))
            outcomes.append((info.type, str(info.value)))
    assert outcomes[:2] == outcomes[2:]


def test_bilinear_refuses_zero_in1_features():
    for lib in (ember, torch):
        with pytest.raises(ValueError, match=r"^in1_features must be > 0, but got \(in1_features=0\)$"):
            lib.nn.Bilinear(0, 2, 3)
        assert tuple(lib.nn.Bilinear(2, 0, 3).weight.shape) == (3, 2, 0)
