"""ember.onnx.export's surface: arguments as torch.onnx.export takes them, the program it
returns, training mode, and errors that name what went wrong."""

import io
import sys

import numpy as np
import pytest

import ember
from ember import nn
from ember.fx import GraphBreak
from ember.onnx.errors import SymbolicValueError, UnsupportedOperatorError

from ._helpers import export_and_check, onnx, session


def setup_function():
    ember.manual_seed(0)


def test_signature_matches_torch(torch):
    import inspect

    ours = inspect.signature(ember.onnx.export)
    theirs = inspect.signature(torch.onnx.export)
    assert list(ours.parameters) == list(theirs.parameters)
    for name, p in theirs.parameters.items():
        if name in ("training", "operator_export_type"):
            assert int(ours.parameters[name].default) == int(p.default), name
        elif p.default is not inspect.Parameter.empty:
            assert ours.parameters[name].default == p.default, name


def test_path_program_and_defaults(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid())
    path = tmp_path / "m.onnx"
    program = ember.onnx.export(model, (ember.randn(4, 3),), str(path))
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == 20 and proto.producer_name == "ember"
    assert [i.name for i in proto.graph.input] == ["input"]  # the forward's argument name
    assert [o.name for o in proto.graph.output] == ["output"]
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [4, 3]  # static without dynamic_axes
    x = ember.randn(4, 3)
    np.testing.assert_allclose(program(x)[0].numpy(), model(x).detach().numpy(), atol=1e-6)
    assert "ONNXProgram(inputs=['input']" in repr(program)
    program.save(tmp_path / "again.onnx")
    assert onnx.load(str(tmp_path / "again.onnx")).graph == proto.graph


def test_single_tensor_args_kwargs_and_names():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x, y=None, scale=2.0):
            return self.fc(x) * scale + y, x.sum(dim=1)

    model = Two()
    x, y = ember.randn(2, 3), ember.randn(2, 3)
    buf = io.BytesIO()
    ember.onnx.export(model, (x, {"y": y}), buf, input_names=["a"], output_names=["p", "q"])
    proto = onnx.load_from_string(buf.getvalue())
    assert [i.name for i in proto.graph.input] == ["a", "y"]
    assert [o.name for o in proto.graph.output] == ["p", "q"]
    got = session(buf.getvalue()).run(None, {"a": x.numpy(), "y": y.numpy()})
    want = model(x, y=y)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.detach().numpy(), atol=1e-6)
    buf = io.BytesIO()
    ember.onnx.export(nn.ReLU(), ember.randn(2), buf)  # a bare tensor as args
    assert onnx.load_from_string(buf.getvalue()).graph.node[0].op_type == "Relu"


def test_dynamic_axes_list_form_and_output_dims():
    model = nn.Linear(3, 2)
    buf = io.BytesIO()
    ember.onnx.export(model, (ember.randn(2, 3),), buf, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": [0], "y": [0]})
    proto = onnx.load_from_string(buf.getvalue())
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "x_dynamic_axes_1"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "y_dynamic_axes_1"
    out = session(buf.getvalue()).run(None, {"x": np.ones((5, 3), np.float32)})[0]
    assert out.shape == (5, 2)


def test_reshape_with_the_batch_size_written_in():
    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(12, 2)

        def forward(self, x):
            b = x.shape[0]
            return self.fc(x.view(b, -1)).reshape(b, 1, 2).expand(b, 3, 2)

    export_and_check(Head(), ember.randn(2, 3, 4), batches=(1, 5))


def test_zero_state_made_with_the_batch_size():
    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 4, batch_first=True)

        def forward(self, x):
            h0 = ember.zeros(1, x.shape[0], 4)
            return self.rnn(x, h0)[0]

    export_and_check(Seq(), ember.randn(2, 5, 3), batches=(1, 4))


def test_training_mode_eval_by_default_and_restored():
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    model.train()
    with ember.no_grad():
        model[1].running_mean.fill_(0.3)
    x = ember.randn(3, 4)
    program = ember.onnx.export(model, (x,))
    assert model.training and all(m.training for m in model.modules())
    model.eval()
    np.testing.assert_allclose(program(x)[0].numpy(), model(x).detach().numpy(), atol=1e-6)
    ops = [n.op_type for n in program.model_proto.graph.node]
    assert "Dropout" not in ops and "BatchNormalization" in ops


def test_training_mode_batch_norm_is_refused():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    with pytest.raises(UnsupportedOperatorError, match="eval mode"):
        ember.onnx.export(model, (ember.randn(2, 1, 5, 5),),
                          training=ember.onnx.TrainingMode.TRAINING)


def test_export_params_false_and_initializers_as_inputs():
    model = nn.Linear(3, 2)
    proto = ember.onnx.export(model, (ember.randn(1, 3),), export_params=False).model_proto
    assert [i.name for i in proto.graph.input] == ["input", "weight", "bias"]
    assert len(proto.graph.initializer) == 0
    buf = io.BytesIO()
    ember.onnx.export(model, (ember.randn(1, 3),), buf, keep_initializers_as_inputs=True)
    proto = onnx.load_from_string(buf.getvalue())
    assert [i.name for i in proto.graph.input] == ["input", "weight", "bias"]
    assert {i.name for i in proto.graph.initializer} == {"weight", "bias"}


def test_is_in_onnx_export():
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(ember.onnx.is_in_onnx_export())
            return x + 1

    ember.onnx.export(Probe(), (ember.randn(2),))
    assert seen and all(seen) and not ember.onnx.is_in_onnx_export()


class Body(nn.Module):
    def forward(self, x):
        return ember.cumsum(x, dim=1)


def test_unsupported_op_names_the_op_and_the_module():
    model = nn.Sequential(nn.Linear(3, 3), Body())
    with pytest.raises(UnsupportedOperatorError) as info:
        ember.onnx.export(model, (ember.randn(2, 3),))
    msg = str(info.value)
    assert "'cumsum'" in msg and "module '1' (Body)" in msg
    assert "test_export_api.py" in msg  # the line of the model's code


def test_max_pool_indices_are_refused():
    class Pool(nn.Module):
        def forward(self, x):
            out, idx = nn.functional.max_pool2d(x, 2, return_indices=True)
            return out, idx

    with pytest.raises(UnsupportedOperatorError, match="max pooling indices"):
        ember.onnx.export(Pool(), (ember.randn(1, 1, 4, 4),))


def test_data_dependent_constants_are_refused():
    # uneven adaptive max pooling picks its windows' maxima from the data outside any op
    with pytest.raises(SymbolicValueError, match="input's values"):
        ember.onnx.export(nn.AdaptiveMaxPool2d(2), (ember.randn(1, 2, 5, 5),))


def test_python_control_flow_on_values_breaks():
    class Gate(nn.Module):
        def forward(self, x):
            if x.mean() > 0:
                return x
            return -x

    with pytest.raises(GraphBreak, match="if x.mean"):
        ember.onnx.export(Gate(), (ember.randn(3),))


def test_structure_that_depends_on_the_batch_is_refused():
    class Loop(nn.Module):
        def forward(self, x):
            out = x[0]
            for i in range(1, x.shape[0]):
                out = out + x[i]
            return out

    with pytest.raises(SymbolicValueError, match="changes with the dynamic axes"):
        ember.onnx.export(Loop(), (ember.randn(2, 3),), input_names=["x"],
                          dynamic_axes={"x": {0: "batch"}})


def test_argument_errors():
    model = nn.Linear(3, 2)
    x = ember.randn(1, 3)
    with pytest.raises(ValueError, match="neither an input nor an output"):
        ember.onnx.export(model, (x,), input_names=["x"], dynamic_axes={"z": {0: "b"}})
    with pytest.raises(ValueError, match="opset_version=9"):
        ember.onnx.export(model, (x,), opset_version=9)
    with pytest.raises(ValueError, match="out of range"):
        ember.onnx.export(model, (x,), input_names=["x"], dynamic_axes={"x": {5: "b"}})
    with pytest.raises(ValueError, match="input_names has 2 names"):
        ember.onnx.export(model, (x,), input_names=["x", "y"])


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "ember\[onnx\]"'):
        ember.onnx.export(nn.Linear(2, 2), (ember.randn(1, 2),))


def test_import_ember_onnx_loads_no_onnx():
    import subprocess

    code = ("import sys, ember; ember.onnx; import ember.onnx; "
            "print('onnx' in sys.modules, 'onnxruntime' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr
