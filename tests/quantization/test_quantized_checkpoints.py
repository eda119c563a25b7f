"""Quantized tensors and quantized layers in checkpoints, in PyTorch's format both ways.

PyTorch writes a quantized tensor as ``torch._utils._rebuild_qtensor(<QInt8Storage ...>, offset,
size, stride, quantizer_params, False, {})``; quantized ``Linear`` layers keep ``scale``,
``zero_point`` and the packed ``(weight, bias)`` pair in their state dict. The dynamic
quantization tutorial measures a model's size by saving that state dict, and loading it back
must restore the weights. Crafted files with impossible quantization parameters are refused.
"""

import io
import warnings

import numpy as np
import pytest

import ember
from tests.serialization._pickle_asm import Asm, zip_checkpoint

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both libraries warn that quantization is deprecated
        yield


def _summary(q):
    per_channel = q.qscheme() in (torch.per_channel_affine, ember.per_channel_affine)
    params = ((q.q_per_channel_scales().tolist(), q.q_per_channel_zero_points().tolist(),
               q.q_per_channel_axis()) if per_channel else (q.q_scale(), q.q_zero_point()))
    return (str(q.dtype), tuple(q.shape), q.stride(), q.int_repr().tolist(), params)


def _samples(lib):
    x = lib.arange(24.0).reshape(4, 6) / 4 - 2
    per_tensor = lib.quantize_per_tensor(x, 0.05, 3, lib.qint8)
    return {
        "quint8": lib.quantize_per_tensor(x, 0.1, 20, lib.quint8),
        "qint32": lib.quantize_per_tensor(x, 0.001, -5, lib.qint32),
        "row view": per_tensor[2],           # a storage offset
        "transposed": per_tensor.permute(1, 0),  # strides
        "per channel": lib.quantize_per_channel(
            x, lib.tensor([0.1, 0.2, 0.05, 0.3], dtype=lib.float64),
            lib.tensor([0, 1, -2, 3]), 0, lib.qint8),
    }


def test_ember_reads_quantized_tensors_torch_saved():
    buf = io.BytesIO()
    torch.save(_samples(torch), buf)
    buf.seek(0)
    ours = ember.load(buf)  # weights_only, the default
    for name, q in _samples(torch).items():
        assert _summary(ours[name]) == _summary(q), name
        assert ours[name].dequantize().tolist() == q.dequantize().tolist(), name


def test_torch_reads_quantized_tensors_ember_saved():
    buf = io.BytesIO()
    ember.save(_samples(ember), buf)
    buf.seek(0)
    theirs = torch.load(buf)
    for name, q in _samples(ember).items():
        assert _summary(theirs[name]) == _summary(q), name
    # the row view shares its storage with the tensor it came from, as torch's own save does
    assert theirs["row view"].storage_offset() == 12


def _dynamic_model(lib):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(8, 16), lib.nn.ReLU(), lib.nn.Linear(16, 4))
    return lib.ao.quantization.quantize_dynamic(model, {lib.nn.Linear}, dtype=lib.qint8)


def _fresh_dynamic_model(lib):
    lib.manual_seed(1)  # other weights: loading must replace them
    model = lib.nn.Sequential(lib.nn.Linear(8, 16), lib.nn.ReLU(), lib.nn.Linear(16, 4))
    return lib.ao.quantization.quantize_dynamic(model, {lib.nn.Linear}, dtype=lib.qint8)


def test_dynamic_quantized_state_dict_layout_is_torchs():
    ours, theirs = _dynamic_model(ember).state_dict(), _dynamic_model(torch).state_dict()
    assert list(ours) == list(theirs)
    # the versions steer how torch's loader reads the layers (an older one changes outputs)
    assert ours._metadata == theirs._metadata
    for key, value in theirs.items():
        if isinstance(value, tuple):
            assert _summary(ours[key][0]) == _summary(value[0])
            assert ours[key][1].tolist() == value[1].tolist()
        elif isinstance(value, torch.Tensor):
            assert (str(ours[key].dtype), ours[key].tolist()) == (str(value.dtype), value.tolist())
        else:
            assert str(ours[key]) == str(value)


@pytest.mark.parametrize("writer", ["torch", "ember"])
def test_saved_dynamic_model_loads_back_with_its_weights(writer, tmp_path):
    """The tutorial's round trip: save the quantized state dict, load it into a fresh
    quantized model, get the saved model's outputs (ember used to keep the fresh weights)."""
    lib = torch if writer == "torch" else ember
    path = tmp_path / "model.pt"
    lib.save(_dynamic_model(lib).state_dict(), path)
    assert path.stat().st_size > 8 * 16  # the int8 weights are in the file
    x = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    expected = _dynamic_model(torch)(torch.from_numpy(x))
    for reader in (torch, ember):
        model = _fresh_dynamic_model(reader)
        model.load_state_dict(reader.load(path))
        out = model(reader.from_numpy(x))
        np.testing.assert_allclose(out.detach().numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)


def test_static_quantized_layers_state_dicts_match_torchs():
    for lib in (torch, ember):
        lib.manual_seed(0)
    pairs = [(torch.ao.nn.quantized.Linear(3, 2), ember.ao.nn.quantized.Linear(3, 2)),
             (torch.ao.nn.quantized.Conv2d(1, 2, 3, bias=False),
              ember.ao.nn.quantized.Conv2d(1, 2, 3, bias=False)),
             (torch.ao.nn.quantized.Conv2d(2, 2, 1), ember.ao.nn.quantized.Conv2d(2, 2, 1))]
    for theirs, ours in pairs:
        theirs_sd = theirs.state_dict()
        assert list(ours.state_dict()) == list(theirs_sd)
        buf = io.BytesIO()
        torch.save(theirs_sd, buf)
        buf.seek(0)
        ours.load_state_dict(ember.load(buf))
        assert _summary(ours.weight()) == _summary(theirs.weight())
        assert (ours.scale, ours.zero_point) == (theirs.scale, theirs.zero_point)


def test_incomplete_quantized_state_is_reported_as_missing_keys():
    layer = ember.ao.nn.quantized.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"Missing key\(s\).*zero_point"):
        layer.load_state_dict({"scale": ember.tensor(2.0)})
    sd = layer.state_dict()
    sd["_packed_params._packed_params"] = (ember.ones(2, 3), None)
    with pytest.raises(RuntimeError, match="not a quantized tensor"):
        layer.load_state_dict(sd)


# -- crafted files ------------------------------------------------------------------------------

def _qtensor_pickle(params, *, numel=4, size=(4,), stride=(1,), offset=0, requires_grad=False,
                    storage="QInt8Storage"):
    a = Asm().glob("torch._utils", "_rebuild_qtensor").mark()
    a.mark().str("storage").glob("torch", storage).str("0").str("cpu").int(numel)
    a.tuple().raw(b"Q").int(offset).ints(size).ints(stride)
    params(a)
    (a.raw(b"\x88") if requires_grad else a.false()).ordered_dict()
    return a.tuple().reduce().stop()


def _per_tensor(scheme, scale, zero_point):
    def write(a):
        a.mark().glob("torch", scheme).float(scale).int(zero_point).tuple()
    return write


def _per_channel(scales_numel, axis):
    def write(a):
        a.mark().glob("torch", "per_channel_affine")
        a.tensor(numel=scales_numel, size=(scales_numel,), key="1")
        a.glob("torch._utils", "_rebuild_tensor_v2").mark()
        a.mark().str("storage").glob("torch", "LongStorage").str("2").str("cpu").int(
            scales_numel)
        a.tuple().raw(b"Q").int(0).ints((scales_numel,)).ints((1,)).false().ordered_dict()
        a.tuple().reduce().int(axis).tuple()
    return write


def _records(numel=4, channels=2):
    return {"0": np.arange(numel, dtype=np.int8).tobytes(),
            "1": np.full(channels, 0.1, np.float32).tobytes(),
            "2": np.zeros(channels, np.int64).tobytes()}


def test_a_well_formed_crafted_qtensor_loads(tmp_path):
    path = zip_checkpoint(tmp_path / "ok.pt", _qtensor_pickle(_per_tensor(
        "per_tensor_affine", 0.5, 1)), _records())
    q = ember.load(path)
    assert q.int_repr().tolist() == [0, 1, 2, 3] and q.dequantize().tolist() == [-0.5, 0, 0.5, 1]
    path = zip_checkpoint(tmp_path / "pc.pt", _qtensor_pickle(
        _per_channel(2, 0), size=(2, 2), stride=(2, 1)), _records())
    assert ember.load(path).q_per_channel_axis() == 0


@pytest.mark.parametrize("case, pkl, message", [
    ("nan scale", _qtensor_pickle(_per_tensor("per_tensor_affine", float("nan"), 0)),
     "scale"),
    ("negative scale", _qtensor_pickle(_per_tensor("per_tensor_affine", -0.1, 0)), "scale"),
    ("zero point outside qint8", _qtensor_pickle(_per_tensor("per_tensor_affine", 0.1, 300)),
     "zero point"),
    ("symmetric scheme", _qtensor_pickle(_per_tensor("per_tensor_symmetric", 0.1, 0)),
     "per_tensor_symmetric"),
    ("requires_grad", _qtensor_pickle(_per_tensor("per_tensor_affine", 0.1, 0),
                                      requires_grad=True), "requires_grad"),
    ("float storage", _qtensor_pickle(_per_tensor("per_tensor_affine", 0.1, 0),
                                      storage="FloatStorage"), "integer storage"),
    ("view past the storage", _qtensor_pickle(_per_tensor("per_tensor_affine", 0.1, 0),
                                              size=(8,)), "invalid tensor record"),
    ("offset past the storage", _qtensor_pickle(_per_tensor("per_tensor_affine", 0.1, 0),
                                                offset=3, size=(2,)), "invalid tensor record"),
    ("scales for the wrong channel count", _qtensor_pickle(
        _per_channel(3, 0), size=(2, 2), stride=(2, 1)), "per-channel"),
    ("axis out of range", _qtensor_pickle(_per_channel(2, 2), size=(2, 2), stride=(2, 1)),
     "axis"),
])
def test_crafted_quantizer_parameters_are_refused(tmp_path, case, pkl, message):
    records = _records(channels=3 if "wrong channel" in case else 2)
    if "float storage" in case:
        records["0"] = np.zeros(4, np.float32).tobytes()
    path = zip_checkpoint(tmp_path / "q.pt", pkl, records)
    for weights_only in (True, False):
        with pytest.raises(Exception, match=message) as err:
            ember.load(path, weights_only=weights_only)
        assert isinstance(err.value, (RuntimeError, ember.serialization.pickle.UnpicklingError))


# -- float16 dynamic quantization ----------------------------------------------------------------

def _float16_model(lib, big=False):
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(8, 4), lib.nn.ReLU(), lib.nn.Linear(4, 3))
    if big:  # out of float16's range, below its smallest subnormal, and a subnormal
        with lib.no_grad():
            model[0].weight[0, :4] = lib.tensor([1e6, -7e4, 1e-9, 3e-5])
    return lib.ao.quantization.quantize_dynamic(model, {lib.nn.Linear}, dtype=lib.float16)


@pytest.mark.parametrize("big", [False, True])
def test_float16_dynamic_linear_matches_torch(big):
    ours, theirs = _float16_model(ember, big), _float16_model(torch, big)
    assert str(ours) == str(theirs)
    assert ours[0].weight().tolist() == theirs[0].weight().tolist()  # rounded, saturated
    x = np.random.default_rng(1).standard_normal((5, 8)).astype(np.float32)
    out, expected = ours(ember.from_numpy(x)), theirs(torch.from_numpy(x))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    assert (out.grad_fn is None) == (expected.grad_fn is None)  # the bias is added outside


def test_float16_dynamic_state_dict_round_trips_with_torch(tmp_path):
    ours, theirs = _float16_model(ember).state_dict(), _float16_model(torch).state_dict()
    assert list(ours) == list(theirs) and ours._metadata == theirs._metadata
    assert ours["0._packed_params.dtype"] is ember.float16
    path = tmp_path / "fp16.pt"
    ember.save(ours, path)
    fresh = _float16_model(torch)
    for layer in (fresh[0], fresh[2]):
        layer.set_weight_bias(layer.weight() * 0, layer.bias() * 0)
    fresh.load_state_dict(torch.load(path))
    assert fresh[2].weight().tolist() == _float16_model(torch)[2].weight().tolist()
    torch.save(theirs, path)
    mine = _float16_model(ember)
    mine[0].set_weight_bias(mine[0].weight() * 0, None)
    mine.load_state_dict(ember.load(path))
    assert mine[0].weight().tolist() == _float16_model(torch)[0].weight().tolist()


def test_float16_dynamic_lstm_says_it_is_not_supported():
    with pytest.raises(NotImplementedError, match="qint8 weights only"):
        ember.ao.quantization.quantize_dynamic(ember.nn.Sequential(ember.nn.LSTM(4, 3)),
                                               {ember.nn.LSTM}, dtype=ember.float16)


def test_qfunctional_keeps_its_qparams_in_the_state_dict():
    """A quantized ResNet's residual adds (FloatFunctional -> QFunctional) save and load their
    output scale and zero point, as in torch (ember saved nothing, so a reloaded model added
    with scale 1.0)."""
    theirs = torch.ao.nn.quantized.QFunctional()
    ours = ember.ao.nn.quantized.QFunctional()
    for f in (theirs, ours):
        f.scale, f.zero_point = 0.0125, 3
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["scale", "zero_point"]
    buf = io.BytesIO()
    torch.save(theirs.state_dict(), buf)
    buf.seek(0)
    fresh = ember.ao.nn.quantized.QFunctional()
    fresh.load_state_dict(ember.load(buf))
    reloaded = torch.ao.nn.quantized.QFunctional()
    reloaded.load_state_dict(theirs.state_dict())  # the scale comes back float32-rounded
    assert (fresh.scale, fresh.zero_point) == (reloaded.scale, reloaded.zero_point)
    assert fresh.zero_point == 3 and abs(fresh.scale - 0.0125) < 1e-9
    with pytest.raises(RuntimeError, match=r"Missing key\(s\).*zero_point"):
        fresh.load_state_dict({"scale": ember.tensor(0.5)})
