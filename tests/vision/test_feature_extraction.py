"""``ember.vision.models.feature_extraction`` against torchvision 0.28.

``fixtures/feature_nodes.json.gz`` holds torchvision's ``get_graph_node_names`` answers
(recorded by ``fixtures/make_feature_nodes.py``); the other expected values here are
torchvision's answers for the same calls, written in.
"""

import gzip
import json
import pathlib

import numpy as np
import pytest

import ember
from ember.vision import models
from ember.vision.models.feature_extraction import (
    create_feature_extractor,
    get_graph_node_names,
)

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "feature_nodes.json.gz"
NODES = json.loads(gzip.decompress(FIXTURE.read_bytes()))


@pytest.mark.parametrize("name", sorted(NODES))
def test_node_names_match_torchvision(name):
    train, eval_ = get_graph_node_names(models.get_model(name, num_classes=10))
    assert train == NODES[name]["train"]
    assert eval_ == NODES[name]["eval"]


def _resnet():
    ember.manual_seed(0)
    return models.resnet18(num_classes=10).eval()


def test_module_outputs_by_dict():
    model = _resnet()
    fe = create_feature_extractor(model, return_nodes={"layer1": "feat1", "layer4": "feat4"})
    assert type(fe).__name__ == "ResNet" and fe.training is False
    # torchvision's extractor keeps the used submodules only: fc's two tensors are gone
    assert list(fe.state_dict()) == [k for k in model.state_dict() if not k.startswith("fc.")]
    x = ember.randn(2, 3, 64, 64)
    out = fe(x)
    assert list(out) == ["feat1", "feat4"]
    with ember.no_grad():
        h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        f1 = model.layer1(h)
        f4 = model.layer4(model.layer3(model.layer2(f1)))
    assert out["feat1"].shape == (2, 64, 16, 16) and out["feat4"].shape == (2, 512, 2, 2)
    np.testing.assert_allclose(out["feat1"].detach().numpy(), f1.numpy(), rtol=1e-6)
    np.testing.assert_allclose(out["feat4"].detach().numpy(), f4.numpy(), rtol=1e-5,
                               atol=1e-6)


def test_operation_nodes_in_graph_order_and_gradients():
    model = _resnet()
    fe = create_feature_extractor(model, return_nodes=["layer2.0.add", "flatten", "x"])
    x = ember.randn(1, 3, 64, 64, requires_grad=True)
    out = fe(x)
    assert list(out) == ["x", "layer2.0.add", "flatten"]  # torchvision's order
    assert out["x"] is x and out["flatten"].shape == (1, 512)
    out["flatten"].sum().backward()
    assert x.grad is not None and model.conv1.weight.grad is not None
    # a module called twice: "layer1.0.relu" is its first call, "layer1.0" the block's output
    fe2 = create_feature_extractor(model, ["layer1.0.relu", "layer1.0.relu_1", "layer1.0"])
    got = fe2(ember.randn(1, 3, 32, 32))
    assert ember.equal(got["layer1.0.relu_1"], got["layer1.0"])
    assert not ember.equal(got["layer1.0.relu"], got["layer1.0"])


def test_train_and_eval_nodes():
    model = _resnet().train()
    fe = create_feature_extractor(model, train_return_nodes=["layer1"],
                                  eval_return_nodes=["layer2"])
    assert fe.training
    x = ember.randn(2, 3, 32, 32)
    assert list(fe(x)) == ["layer1"]
    fe.eval()
    assert list(fe(x)) == ["layer2"] and not model.layer2[0].bn1.training


@pytest.mark.parametrize("kwargs, message", [
    ({"return_nodes": ["nope"]}, "node: 'nope' is not present in model. Hint: use "
                                 "`get_graph_node_names`"),
    ({"return_nodes": ["layer1.0.nope"]}, "node: 'layer1.0.nope' is not present"),
    ({}, "Either `return_nodes` or `train_return_nodes` and `eval_return_nodes` together, "
         "should be specified"),
    ({"return_nodes": ["layer1"], "train_return_nodes": ["layer2"]},
     "If any of `train_return_nodes` and `eval_return_nodes` are specified, then both "
     "should be specified"),
    ({"train_return_nodes": ["layer2"]}, "If any of `train_return_nodes`"),
])
def test_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        create_feature_extractor(_resnet(), **kwargs)


def test_other_models():
    ember.manual_seed(0)
    model = models.mobilenet_v3_small(num_classes=10).eval()
    fe = create_feature_extractor(model, {"features.3.add": "res", "features": "last"})
    out = fe(ember.randn(1, 3, 64, 64))
    assert out["res"].shape == (1, 24, 8, 8) and out["last"].shape == (1, 576, 2, 2)
    ember.manual_seed(0)
    model = models.densenet121(num_classes=10).eval()
    fe = create_feature_extractor(model, ["features.denseblock1", "features.transition1.pool"])
    out = fe(ember.randn(1, 3, 64, 64))
    assert out["features.denseblock1"].shape == (1, 256, 16, 16)
    assert out["features.transition1.pool"].shape == (1, 128, 8, 8)


def test_untraceable_model_falls_back_to_module_hooks():
    # ViT checks its input size with Python control flow, which ember.fx cannot trace: node
    # names are then module paths, and the extractor hooks those modules
    ember.manual_seed(0)
    model = models.VisionTransformer(32, 16, num_layers=2, num_heads=2, hidden_dim=16,
                                     mlp_dim=32, num_classes=10).eval()
    train, eval_ = get_graph_node_names(model)
    assert train == eval_ and train[:3] == ["x", "conv_proj", "encoder"]
    assert "encoder.layers.encoder_layer_1.mlp.3" in train
    fe = create_feature_extractor(model, {"encoder": "tokens", "heads": "logits"})
    x = ember.randn(1, 3, 32, 32)
    out = fe(x)
    assert list(out) == ["tokens", "logits"]
    assert out["tokens"].shape == (1, 5, 16)
    with ember.no_grad():
        np.testing.assert_allclose(out["logits"].detach().numpy(), model(x).numpy())
    assert list(fe.state_dict()) == list(model.state_dict())
    with pytest.raises(ValueError, match="node: 'encoder.add' is not present in model"):
        create_feature_extractor(model, ["encoder.add"])


def test_leaf_modules_and_mode_dependent_graphs():
    # torchvision's answers for the same calls
    train, _ = get_graph_node_names(_resnet(),
                                    tracer_kwargs={"leaf_modules": [models.BasicBlock]})
    assert train == ["x", "conv1", "bn1", "relu", "maxpool", "layer1.0", "layer1.1",
                     "layer2.0", "layer2.1", "layer3.0", "layer3.1", "layer4.0", "layer4.1",
                     "avgpool", "flatten", "fc"]

    class Branchy(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.l = ember.nn.Linear(2, 2)

        def forward(self, x):
            x = self.l(x)
            if self.training:
                x = x * 2
            return x.relu()

    model = Branchy()
    with pytest.warns(UserWarning, match="NOTE: The nodes obtained by tracing the model in "
                                         "eval mode are a subsequence of those obtained in "
                                         "train mode."):
        assert get_graph_node_names(model) == (["x", "l", "mul", "relu"], ["x", "l", "relu"])
    fe = create_feature_extractor(model, train_return_nodes=["mul"], eval_return_nodes=["l"])
    x = ember.randn(3, 2)
    with ember.no_grad():
        assert ember.equal(fe(x)["mul"], model.l(x) * 2)
        fe.eval()
        assert ember.equal(fe(x)["l"], model.l(x))
    with pytest.raises(ValueError, match="node: 'mul' is not present in model"):
        create_feature_extractor(model, return_nodes=["mul"])
