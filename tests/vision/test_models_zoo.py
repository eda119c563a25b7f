"""New torchvision classification builders against recorded torchvision 0.28 facts.

torchvision cannot be imported in CI, so ``fixtures/models_zoo.json.gz`` holds its answers
(recorded by ``fixtures/make_models_zoo.py``, which documents how to run it): for each builder,
after ``manual_seed(0)`` construction, the ordered state_dict keys, shapes and initial-value sums
(equal sums in order mean the same init calls drew the same random stream), the parameter
count, and the eval-mode output for an input drawn after ``manual_seed(1)``.
"""

import gzip
import json
import pathlib

import numpy as np
import pytest

import ember
from ember.vision import models

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "models_zoo.json.gz"
FACTS = json.loads(gzip.decompress(FIXTURE.read_bytes()))


def _build(name):
    fact = FACTS[name]
    ember.manual_seed(0)
    return models.get_model(name, weights=None, **fact["kwargs"]).eval(), fact


@pytest.mark.parametrize("name", sorted(FACTS))
def test_state_dict_and_init_match_torchvision(name):
    model, fact = _build(name)
    state = model.state_dict()
    assert [[k, list(v.shape)] for k, v in state.items()] == [[k, s] for k, s, _ in fact["state"]]
    got = np.array([float(v.numpy().astype(np.float64).sum()) for v in state.values()])
    want = np.array([s for _, _, s in fact["state"]])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    assert sum(p.numel() for p in model.parameters()) == fact["num_params"]


@pytest.mark.parametrize("name", sorted(FACTS))
def test_output_matches_torchvision(name):
    model, fact = _build(name)
    if fact["headless"]:
        model.heads = ember.nn.Identity()  # a zero-initialized head would give zero logits
    ember.manual_seed(1)
    x = ember.randn(*fact["input_shape"])
    with ember.no_grad():
        out = model(x).numpy().astype(np.float64)
    assert list(out.shape) == fact["out_shape"]
    scale = max(abs(v) for v in fact["out_first"]) or 1.0
    np.testing.assert_allclose(out.ravel()[:5], fact["out_first"], rtol=1e-4, atol=1e-4 * scale)
    np.testing.assert_allclose(np.abs(out).sum(), fact["out_abs_sum"], rtol=1e-4)
    np.testing.assert_allclose(out.sum(), fact["out_sum"], rtol=1e-4,
                               atol=1e-4 * fact["out_abs_sum"])


def test_list_models():
    assert models.list_models(include="resnet*") == [
        "resnet101", "resnet152", "resnet18", "resnet34", "resnet50"]
    assert models.list_models(include=["vgg1*", "alexnet"], exclude="*_bn") == [
        "alexnet", "vgg11", "vgg13", "vgg16", "vgg19"]
    assert models.list_models(include="nope*") == []
    every = models.list_models()
    assert every == sorted(every) and "lenet" not in every
    assert set(FACTS) <= set(every)
    assert models.list_models(module=models) == every
    assert models.list_models(module=models.squeezenet) == ["squeezenet1_0", "squeezenet1_1"]
    # each builder is public in models or in its subpackage (models.detection.ssd300_vgg16,
    # models.quantization.resnet18 listed as "quantized_resnet18"), as in torchvision
    subpackages = ("detection", "segmentation", "video", "quantization", "optical_flow")
    homes = [models] + [getattr(models, s) for s in subpackages if hasattr(models, s)]
    for name in every:
        builder = models.get_model_builder(name)
        assert any(getattr(home, builder.__name__, None) is builder for home in homes), name


@pytest.mark.parametrize("name", sorted(FACTS))
def test_pretrained_refused(name):
    with pytest.raises(ValueError, match="cannot download"):
        models.get_model(name, weights="DEFAULT")


def test_weight_enums():
    # torchvision 0.28's answers
    w = models.ResNet50_Weights
    assert [m.name for m in w] == ["IMAGENET1K_V1", "IMAGENET1K_V2"]
    assert w.DEFAULT is w.IMAGENET1K_V2 and repr(w.DEFAULT) == "ResNet50_Weights.IMAGENET1K_V2"
    assert str(models.ResNet18_Weights.DEFAULT) == "ResNet18_Weights.IMAGENET1K_V1"
    assert w.DEFAULT.url == "https://download.pytorch.org/models/resnet50-11ad3fa6.pth"
    assert w.DEFAULT.meta["num_params"] == 25557032
    assert models.get_weight("ResNet50_Weights.DEFAULT") is w.IMAGENET1K_V2
    assert models.get_model_weights("resnet18") is models.ResNet18_Weights
    assert models.get_model_weights(models.vit_b_16) is models.ViT_B_16_Weights
    assert w.verify("IMAGENET1K_V1") is w.IMAGENET1K_V1 and w.verify(None) is None
    with pytest.raises(TypeError, match="expected ResNet50_Weights but received "
                                        "ResNet34_Weights"):
        w.verify(models.ResNet34_Weights.DEFAULT)
    with pytest.raises(KeyError):
        w.verify("X")
    with pytest.raises(ValueError, match="Invalid weight name provided: 'ResNet50_Weights'."):
        models.get_weight("ResNet50_Weights")
    with pytest.raises(ValueError, match="The weight enum 'Nope' for the specific method"):
        models.get_weight("Nope.X")
    with pytest.raises(ValueError, match="Unknown model nope"):
        models.get_model_weights("nope")
    with pytest.raises(RuntimeError, match="does not download"):
        w.DEFAULT.get_state_dict(progress=True)
    # every builder has its enum, and the enum's recorded parameter count is the 1000-class
    # model's (checked here for the small ones)
    for name in models.list_models():
        assert models.get_model_weights(name).DEFAULT.url.startswith("https://")
    for name in ["squeezenet1_0", "shufflenet_v2_x0_5", "mobilenet_v3_small"]:
        model = models.get_model(name)
        n = sum(p.numel() for p in model.parameters())
        assert n == models.get_model_weights(name).DEFAULT.meta["num_params"]
    with pytest.raises(ValueError, match="cannot download"):
        models.resnet18(weights=models.ResNet18_Weights.DEFAULT)


def test_densenet_memory_efficient_same_values_and_grads():
    results = []
    for memory_efficient in (False, True):
        ember.manual_seed(0)
        model = models.DenseNet(8, (2, 2, 2, 2), 16, num_classes=3,
                                memory_efficient=memory_efficient)
        ember.manual_seed(1)
        x = ember.randn(2, 3, 32, 32, requires_grad=True)
        out = model(x)
        out.sum().backward()
        results.append((out.detach().numpy(), x.grad.numpy(),
                        model.features.conv0.weight.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_vit_checks_image_size():
    # torchvision asserts with torch._assert: AssertionError, with these messages
    model = models.VisionTransformer(32, 16, 1, 2, 8, 16, num_classes=3)
    with pytest.raises(AssertionError, match="Wrong image height! Expected 32 but got 64!"):
        model(ember.randn(1, 3, 64, 64))
    with pytest.raises(AssertionError, match="Input shape indivisible by patch size!"):
        models.VisionTransformer(30, 16, 1, 2, 8, 16)


def test_builder_arguments():
    # torchvision's builders take these keywords too
    assert models.mobilenet_v3_large(reduced_tail=True).classifier[0].out_features == 640
    assert models.convnext_tiny().features[1][2].stochastic_depth.p == pytest.approx(0.1 * 2 / 17)
    assert models.efficientnet_b0(dropout=0.5).classifier[0].p == 0.5
    assert models.vit_b_16(image_size=32).seq_length == 5
    with pytest.raises(ValueError, match="Unsupported SqueezeNet version 2_0"):
        models.SqueezeNet("2_0")
