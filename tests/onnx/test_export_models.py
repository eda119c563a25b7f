"""ember.onnx.export of vision.models (LeNet, ResNet-18, MobileNetV2, VGG): each file runs in
onnxruntime like ember at other batch sizes, and, where torch is installed, like the file
torch.onnx.export writes for the same weights (its TorchScript exporter, which needs no
onnxscript)."""

import io

import numpy as np
import pytest

import ember
from ember import nn
from ember.vision import models

from ._helpers import export_and_check, op_types, session


def _randomise_bn(model, seed=0):
    g = np.random.default_rng(seed)
    with ember.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(ember.from_numpy((g.random(c) + 0.5).astype(np.float32)))
                m.bias.copy_(ember.from_numpy((g.standard_normal(c) * 0.1).astype(np.float32)))
                m.running_mean.copy_(ember.from_numpy(
                    (g.standard_normal(c) * 0.1).astype(np.float32)))
                m.running_var.copy_(ember.from_numpy((g.random(c) + 0.5).astype(np.float32)))


def _small_vgg():
    """ember's VGG (its forward: features, 7x7 adaptive pool, flatten, classifier) with layers
    a unit test can afford: VGG's own classifier holds 120 million weights."""
    model = models.VGG.__new__(models.VGG)
    nn.Module.__init__(model)
    model.features = models.make_layers([8, "M", 16], batch_norm=True)
    model.avgpool = nn.AdaptiveAvgPool2d((7, 7))
    model.classifier = nn.Sequential(nn.Linear(16 * 7 * 7, 12), nn.ReLU(True), nn.Dropout(),
                                     nn.Linear(12, 12), nn.ReLU(True), nn.Dropout(),
                                     nn.Linear(12, 5))
    return model


MODELS = {
    "lenet": (lambda: models.lenet(num_classes=10), (2, 1, 28, 28)),
    "resnet18": (lambda: models.resnet18(num_classes=10), (2, 3, 32, 32)),
    "mobilenet_v2": (lambda: models.mobilenet_v2(num_classes=10, width_mult=0.5),
                     (2, 3, 32, 32)),
    "vgg": (_small_vgg, (2, 3, 14, 14)),
}


def _export_bytes(model, x):
    buf = io.BytesIO()
    ember.onnx.export(model, (x,), buf, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_runs_in_onnxruntime_like_ember(name):
    ember.manual_seed(0)
    make, shape = MODELS[name]
    model = make()
    _randomise_bn(model)
    proto = export_and_check(model, ember.randn(*shape), batches=(1, 3), atol=1e-5, rtol=1e-4)
    names = {i.name for i in proto.graph.initializer}
    assert set(model.state_dict()) - {k for k in model.state_dict()
                                      if k.endswith("num_batches_tracked")} <= names
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def _torch_twin(torch, name):
    from ..vision import _torch_reference as ref

    if name == "lenet":
        tn = torch.nn
        features = tn.Sequential(tn.Conv2d(1, 6, 5, padding=2), tn.ReLU(), tn.MaxPool2d(2),
                                 tn.Conv2d(6, 16, 5), tn.ReLU(), tn.MaxPool2d(2))
        classifier = tn.Sequential(tn.Linear(400, 120), tn.ReLU(), tn.Linear(120, 84), tn.ReLU(),
                                   tn.Linear(84, 10))

        class LeNet(tn.Module):
            def __init__(self):
                super().__init__()
                self.features, self.classifier = features, classifier

            def forward(self, x):
                return self.classifier(torch.flatten(self.features(x), 1))

        return LeNet()
    if name == "resnet18":
        return ref.resnet18(num_classes=10)
    if name == "mobilenet_v2":
        return ref.MobileNetV2(num_classes=10, width_mult=0.5)
    tn = torch.nn

    class VGG(tn.Module):
        def __init__(self):
            super().__init__()
            self.features = tn.Sequential(tn.Conv2d(3, 8, 3, padding=1), tn.BatchNorm2d(8),
                                          tn.ReLU(True), tn.MaxPool2d(2, 2),
                                          tn.Conv2d(8, 16, 3, padding=1), tn.BatchNorm2d(16),
                                          tn.ReLU(True))
            self.avgpool = tn.AdaptiveAvgPool2d((7, 7))
            self.classifier = tn.Sequential(tn.Linear(16 * 7 * 7, 12), tn.ReLU(True),
                                            tn.Dropout(), tn.Linear(12, 12), tn.ReLU(True),
                                            tn.Dropout(), tn.Linear(12, 5))

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    return VGG()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_file_agrees_with_torchs_file(torch, name):
    ember.manual_seed(0)
    make, shape = MODELS[name]
    model = make()
    _randomise_bn(model)
    model.eval()
    twin = _torch_twin(torch, name).eval()
    sd = model.state_dict()
    twin.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in sd.items()})
    x = ember.randn(*shape)
    ours = session(_export_bytes(model, x))
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(twin, (torch.from_numpy(x.numpy()),), buf, dynamo=False,
                          input_names=["x"], output_names=["logits"],
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    theirs = session(buf.getvalue())
    for n in (2, 3):
        xs = np.random.default_rng(n).standard_normal((n,) + shape[1:]).astype(np.float32)
        a = ours.run(None, {"x": xs})[0]
        b = theirs.run(None, {"x": xs})[0]
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-4)


def test_resnet_graph_uses_fused_onnx_operators():
    model = models.resnet18(num_classes=10).eval()
    proto = ember.onnx.export(model, (ember.randn(2, 3, 32, 32),)).model_proto
    types = op_types(proto)
    assert types.count("Conv") == 20 and types.count("BatchNormalization") == 20
    assert types.count("Gemm") == 1 and "MaxPool" in types
    # batch norm reads the buffers themselves, under their state_dict names
    bn = next(n for n in proto.graph.node if n.op_type == "BatchNormalization")
    assert list(bn.input[1:]) == ["bn1.weight", "bn1.bias", "bn1.running_mean",
                                  "bn1.running_var"]
