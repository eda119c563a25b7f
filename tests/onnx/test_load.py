"""ember.onnx.load: ONNX files as nn.Modules running ember ops. Round trips (export, load,
same outputs at other batch sizes), files PyTorch wrote, fine-tuning, unknown operators and
untrusted external-data paths."""

import io
import os

import numpy as np
import pytest

import ember
from ember import nn
from ember.onnx.errors import OnnxExporterError, UnsupportedOperatorError
from ember.vision import models

from ._helpers import onnx, resize, session
from .test_export_layers import ACTIVATIONS, LAYERS, _activation
from .test_export_models import MODELS, _randomise_bn, _torch_twin


def setup_function():
    ember.manual_seed(0)


def _flat(out):
    if isinstance(out, ember.Tensor):
        return [out]
    return [t for o in out for t in _flat(o)]


def _round_trip(model, x, batches=(1, 3), atol=1e-5):
    model.eval()
    buf = io.BytesIO()
    ember.onnx.export(model, (x,), buf, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    loaded = ember.onnx.load(buf.getvalue())
    for n in (None,) + tuple(batches):
        xs = x if n is None else resize(x, n)
        with ember.no_grad():
            want, got = _flat(model(xs)), _flat(loaded(xs))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w.numpy(), atol=atol, rtol=1e-4)
    return loaded


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_round_trip_layers(name):
    make, shape, _ = LAYERS[name]
    model = make()
    loaded = _round_trip(model, ember.randn(*shape))
    keys = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]
    assert list(loaded.state_dict()) == keys


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_round_trip_activations(name):
    _round_trip(_activation(name), ember.randn(2, 3, 4) * 3)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_models(name):
    make, shape = MODELS[name]
    model = make()
    _randomise_bn(model)
    loaded = _round_trip(model, ember.randn(*shape), batches=(3,))
    params = dict(loaded.named_parameters())
    buffers = dict(loaded.named_buffers())
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        if "running_" in k:
            assert k in buffers
        else:
            assert isinstance(params[k], nn.Parameter)
        np.testing.assert_array_equal(loaded.state_dict()[k].numpy(), v.numpy())


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_round_trip_recurrent(kind):
    model = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    loaded = _round_trip(model, ember.randn(2, 5, 3))
    assert sorted(dict(loaded.named_parameters())) == sorted(dict(model.named_parameters()))


def test_loaded_model_fine_tunes_like_the_original():
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    buf = io.BytesIO()
    ember.onnx.export(model, (ember.randn(3, 4),), buf, input_names=["x"],
                      dynamic_axes={"x": {0: "batch"}})
    loaded = ember.onnx.load(buf.getvalue())
    x, y = ember.randn(6, 4), ember.randn(6, 2)
    losses = []
    for m in (model, loaded):
        opt = ember.optim.SGD(m.parameters(), lr=0.1)
        run = []
        for _ in range(3):
            opt.zero_grad()
            loss = nn.functional.mse_loss(m(x), y)
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses.append(run)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)
    assert losses[1][2] < losses[1][0]
    for k, v in model.state_dict().items():
        np.testing.assert_allclose(loaded.state_dict()[k].numpy(), v.numpy(), atol=1e-6)


def test_torch_exported_resnet18_loads_and_matches_onnxruntime(torch):
    twin = _torch_twin(torch, "resnet18").eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in twin.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(twin, (torch.randn(2, 3, 32, 32),), buf, dynamo=False,
                          input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    loaded = ember.onnx.load(buf.getvalue())
    sess = session(buf.getvalue())
    for n in (1, 3):
        x = np.random.default_rng(n).standard_normal((n, 3, 32, 32)).astype(np.float32)
        want = sess.run(None, {"x": x})[0]
        with ember.no_grad():
            got = loaded(ember.from_numpy(x)).numpy()
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4)
    # torch folds batch norm into the convolutions: weights under its own initializer names
    assert all(isinstance(p, nn.Parameter) for p in loaded.parameters())
    assert len(list(loaded.parameters())) > 0


def test_torch_exported_recurrent_layers_load(torch):
    for make, shape in [(lambda: torch.nn.LSTM(3, 4, 2, batch_first=True), (2, 5, 3)),
                        (lambda: torch.nn.GRU(3, 4, bidirectional=True), (5, 2, 3))]:
        model = make().eval()
        buf = io.BytesIO()
        with torch.no_grad():
            torch.onnx.export(model, (torch.randn(*shape),), buf, dynamo=False,
                              input_names=["x"], dynamic_axes={"x": {0: "batch"}})
        loaded = ember.onnx.load(buf.getvalue())
        x = np.random.default_rng(0).standard_normal((3,) + shape[1:]).astype(np.float32)
        want = session(buf.getvalue()).run(None, {"x": x})
        with ember.no_grad():
            got = _flat(loaded(ember.from_numpy(x)))
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w, atol=2e-5, rtol=1e-4)


def _model(nodes, inputs=("x",), initializers=(), opset=17):
    helper = onnx.helper
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(i, onnx.TensorProto.FLOAT, [2]) for i in
                     inputs],
        [helper.make_tensor_value_info(nodes[-1].output[0], onnx.TensorProto.FLOAT, None)],
        initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_unknown_operators_are_listed_all_at_once():
    helper = onnx.helper
    nodes = [helper.make_node("FooOp", ["x"], ["a"]), helper.make_node("Relu", ["a"], ["b"]),
             helper.make_node("BarOp", ["b"], ["c"]), helper.make_node("BarOp", ["c"], ["d"]),
             helper.make_node("Gelu", ["d"], ["e"], domain="com.microsoft")]
    with pytest.raises(UnsupportedOperatorError) as info:
        ember.onnx.load(_model(nodes).SerializeToString())
    assert "3 operator type(s)" in str(info.value)
    assert "BarOp (x2), FooOp, com.microsoft::Gelu" in str(info.value)


def test_control_flow_and_garbage_are_refused():
    helper = onnx.helper
    then = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "t", [],
                             [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)])
    node = helper.make_node("If", ["c"], ["z"], then_branch=then, else_branch=then)
    with pytest.raises(UnsupportedOperatorError, match="If"):
        ember.onnx.load(_model([node], inputs=("c",)).SerializeToString())
    with pytest.raises(OnnxExporterError, match="not an ONNX model"):
        ember.onnx.load(b"\x00garbage\xff" * 10)


def _external_model(tmp_path, location, data=b"\x00" * 8, offset=0, length=8):
    tensor = onnx.TensorProto()
    tensor.name, tensor.data_type = "w", onnx.TensorProto.FLOAT
    tensor.dims.extend([2])
    tensor.data_location = onnx.TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = k, v
    model = _model([onnx.helper.make_node("Add", ["x", "w"], ["y"])], initializers=[tensor])
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    path = folder / "m.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def test_external_data_inside_the_folder_loads(tmp_path):
    path = _external_model(tmp_path, "weights.bin")
    (path.parent / "weights.bin").write_bytes(np.array([1.0, 2.0], np.float32).tobytes())
    loaded = ember.onnx.load(str(path))
    np.testing.assert_array_equal(loaded(ember.zeros(2)).detach().numpy(), [1.0, 2.0])
    with open(path, "rb") as fh:  # a file object with a name: its folder counts
        np.testing.assert_array_equal(ember.onnx.load(fh)(ember.zeros(2)).detach().numpy(),
                                      [1.0, 2.0])


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd", "sub/../../secret.bin",
                                      "link.bin"])
def test_external_data_outside_the_folder_is_refused(tmp_path, location):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\x01" * 8)
    path = _external_model(tmp_path, location)
    if location == "link.bin":
        os.symlink(secret, path.parent / "link.bin")
    with pytest.raises(OnnxExporterError, match="refusing to read it"):
        ember.onnx.load(str(path))


def test_external_data_bad_range_missing_file_and_bytes(tmp_path):
    path = _external_model(tmp_path, "w.bin", offset=4, length=8)
    (path.parent / "w.bin").write_bytes(b"\x00" * 8)
    with pytest.raises(OnnxExporterError, match="outside 'w.bin'"):
        ember.onnx.load(str(path))
    path = _external_model(tmp_path, "none.bin")
    with pytest.raises(OnnxExporterError, match="missing"):
        ember.onnx.load(str(path))
    with pytest.raises(OnnxExporterError, match="load the model from its path"):
        ember.onnx.load(path.read_bytes())


def test_saved_with_external_data_round_trips(tmp_path):
    model = models.lenet().eval()
    x = ember.randn(2, 1, 28, 28)
    program = ember.onnx.export(model, (x,))
    program.save(tmp_path / "lenet.onnx", external_data=True)
    assert (tmp_path / "lenet.onnx.data").exists()
    loaded = ember.onnx.load(tmp_path / "lenet.onnx")
    np.testing.assert_allclose(loaded(x).detach().numpy(), model(x).detach().numpy(),
                               atol=1e-5)


def test_inputs_by_name_and_errors():
    model = nn.Linear(2, 1)
    buf = io.BytesIO()
    ember.onnx.export(model, (ember.randn(1, 2),), buf, input_names=["x"])
    loaded = ember.onnx.load(buf.getvalue())
    assert loaded.input_names == ["x"] and loaded.output_names == ["output"]
    x = ember.randn(1, 2)
    np.testing.assert_allclose(loaded(x=x).detach().numpy(), model(x).detach().numpy())
    with pytest.raises(TypeError, match="missing inputs: x"):
        loaded()
    with pytest.raises(TypeError, match="unknown input 'y'"):
        loaded(x, y=x)
    assert "inputs=['x']" in repr(loaded)
