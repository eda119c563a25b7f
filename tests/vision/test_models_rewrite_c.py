"""MobileNetV2/V3, ViT and the shared model helpers after their clean-room rewrite.

torchvision cannot be imported in CI, so its answers are recorded here (torchvision 0.28 with
torch 2.13, probed as a black box): the cases the older tests do not pin down.
"""

import doctest
import importlib

import numpy as np
import pytest

import ember
from ember import nn
from ember.vision import models
from ember.vision.models import _utils
from ember.vision.models.mobilenetv3 import (
    InvertedResidual,
    InvertedResidualConfig,
    MobileNetV3,
    _mobilenet_v3_conf,
)
from ember.vision.models.vision_transformer import Encoder, EncoderBlock, MLPBlock

MODULES = ["mobilenet", "mobilenetv3", "vision_transformer", "_utils"]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module):
    mod = importlib.import_module(f"ember.vision.models.{module}")
    ember.manual_seed(0)
    result = doctest.testmod(mod, extraglobs={"ember": ember, "nn": nn},
                             optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0 and result.failed == 0


# --- MobileNetV3 options ------------------------------------------------------------------

# torchvision: parameter count, classifier widths and, for the last four bottlenecks,
# (features index, depthwise weight shape, stride, dilation), with reduced_tail and dilated
TAILS = {
    "mobilenet_v3_large": (1934762, 480, 640, [(12, (672, 1, 3, 3), 1, 1),
                                               (13, (672, 1, 5, 5), 1, 2),
                                               (14, (480, 1, 5, 5), 1, 2),
                                               (15, (480, 1, 5, 5), 1, 2)]),
    "mobilenet_v3_small": (591802, 288, 512, [(8, (144, 1, 5, 5), 1, 1),
                                              (9, (288, 1, 5, 5), 1, 2),
                                              (10, (288, 1, 5, 5), 1, 2),
                                              (11, (288, 1, 5, 5), 1, 2)]),
}


@pytest.mark.parametrize("name", sorted(TAILS))
def test_mobilenet_v3_reduced_dilated_tail_matches_torchvision(name):
    # the tail's first block keeps its full expansion (672 / 288) while its output halves
    count, lin_in, lin_out, tail = TAILS[name]
    model = models.get_model(name, num_classes=10, reduced_tail=True, dilated=True)
    assert sum(p.numel() for p in model.parameters()) == count
    assert (model.classifier[0].in_features, model.classifier[0].out_features) == (lin_in,
                                                                                   lin_out)
    got = []
    for i, block in enumerate(model.features):
        if isinstance(block, InvertedResidual):
            dw = next(m for m in block.modules() if isinstance(m, nn.Conv2d) and m.groups > 1)
            got.append((i, tuple(dw.weight.shape), dw.stride[0], dw.dilation[0]))
    assert got[-4:] == tail
    # dilation keeps the resolution: 64 / 16 instead of 64 / 32
    assert tuple(model.features(ember.randn(1, 3, 64, 64)).shape[2:]) == (4, 4)


def test_mobilenet_v3_config_and_errors():
    assert [InvertedResidualConfig.adjust_channels(c, w) for c, w in
            [(1280, 0.75), (16, 0.35), (576, 0.1), (100, 1.0)]] == [960, 8, 56, 104]
    with pytest.raises(ValueError, match="^The inverted_residual_setting should not be empty$"):
        MobileNetV3([], 10)
    with pytest.raises(TypeError, match=r"should be List\[InvertedResidualConfig\]$"):
        MobileNetV3([1], 10)
    with pytest.raises(ValueError, match="^Unsupported model type x$"):
        _mobilenet_v3_conf("x")
    bad = InvertedResidualConfig(16, 3, 16, 16, True, "RE", 3, 1, 1.0)
    with pytest.raises(ValueError, match="^illegal stride value$"):
        InvertedResidual(bad, nn.BatchNorm2d)
    with pytest.raises(ValueError, match="should be non-empty or a 4-element list, got \\[\\]"):
        models.MobileNetV2(inverted_residual_setting=[])


# --- ViT ----------------------------------------------------------------------------------

def test_vit_representation_head_init_matches_torchvision():
    # torchvision, after torch.manual_seed(0): sums of these initial values
    want = {"conv_proj.weight": -0.6853, "conv_proj.bias": 0.0,
            "encoder.pos_embedding": -0.18719,
            "encoder.layers.encoder_layer_0.mlp.0.weight": 4.32401,
            "encoder.layers.encoder_layer_1.mlp.0.weight": 5.55042,
            "heads.pre_logits.weight": 2.49487, "heads.pre_logits.bias": 0.0,
            "heads.head.weight": 0.0, "heads.head.bias": 0.0}
    ember.manual_seed(0)
    model = models.VisionTransformer(32, 8, 2, 2, 16, 32, num_classes=5, representation_size=6)
    state = model.state_dict()
    for key, total in want.items():
        assert float(state[key].numpy().astype(np.float64).sum()) == pytest.approx(
            total, abs=2e-4), key
    assert list(model.heads._modules) == ["pre_logits", "act", "head"]
    ember.manual_seed(1)
    x = ember.randn(2, 3, 32, 32)
    model.heads.head = nn.Identity()  # the zero head would hide the rest
    with ember.no_grad():
        out = model.eval()(x).numpy().astype(np.float64)
    assert np.abs(out).sum() == pytest.approx(7.298628777265549, rel=1e-5)


def test_vit_token_checks_as_torchvision():
    block = EncoderBlock(2, 8, 16, 0.0, 0.0)
    message = r"^Expected \(batch_size, seq_length, hidden_dim\) got torch.Size\(\[2, 8\]\)$"
    with pytest.raises(AssertionError, match=message):
        block(ember.randn(2, 8))
    with pytest.raises(AssertionError, match=message):
        Encoder(5, 1, 2, 8, 16, 0.0, 0.0)(ember.randn(2, 8))
    model = models.VisionTransformer(32, 16, 1, 2, 8, 16)
    with pytest.raises(AssertionError, match="^Wrong image width! Expected 32 but got 64!$"):
        model(ember.randn(1, 3, 32, 64))


def test_mlp_block_version_and_legacy_keys():
    # torchvision's MLPBlock is at state_dict version 2; version-1 checkpoints named its
    # linears linear_1 / linear_2 and still load
    model = models.VisionTransformer(32, 16, 1, 2, 8, 16, num_classes=3)
    state = model.state_dict()
    prefix = "encoder.layers.encoder_layer_0.mlp"
    assert state._metadata[prefix] == {"version": 2}
    assert state._metadata[prefix + ".0"] == {"version": 1}

    ember.manual_seed(7)
    block = MLPBlock(8, 16, 0.0)
    legacy = {f"linear_{i + 1}.{kind}": v for i, name in enumerate(["0", "3"])
              for kind, v in [("weight", block.state_dict()[f"{name}.weight"]),
                              ("bias", block.state_dict()[f"{name}.bias"])]}
    for version in (None, 1, 2):
        fresh = MLPBlock(8, 16, 0.0)
        state = type(block.state_dict())(legacy)
        state._metadata = {"": {} if version is None else {"version": version}}
        if version == 2:  # a current checkpoint has no legacy names to translate
            with pytest.raises(RuntimeError, match="linear_1"):
                fresh.load_state_dict(state)
            continue
        fresh.load_state_dict(state)
        for key, value in block.state_dict().items():
            np.testing.assert_array_equal(fresh.state_dict()[key].numpy(), value.numpy())


# --- shared helpers -----------------------------------------------------------------------

def test_make_divisible_and_overwrite_as_torchvision():
    # torchvision's _make_divisible answers
    cases = [((3, 8), 8), ((10, 8), 16), ((11.9, 8), 16), ((13.1, 8), 16), ((100, 8), 104),
             ((0.3, 8), 8), ((10, 8, 16), 16), ((1.5, 1), 2), ((9, 8), 16), ((30, 16), 32),
             ((24.0, 8), 24)]
    for args, want in cases:
        got = _utils._make_divisible(*args)
        assert got == want and isinstance(got, int), args
    kwargs = {"groups": 32}
    _utils._ovewrite_named_param(kwargs, "groups", 32)
    _utils._ovewrite_named_param(kwargs, "width_per_group", 4)
    assert kwargs == {"groups": 32, "width_per_group": 4}
    with pytest.raises(ValueError, match="^The parameter 'groups' expected value 64 but got 32 "
                                         "instead.$"):
        _utils._ovewrite_named_param(kwargs, "groups", 64)


def test_no_pretrained_messages_and_legacy_flag():
    kwargs = {"pretrained": False, "num_classes": 3}
    assert _utils._no_pretrained("m", None, kwargs) is None and kwargs == {"num_classes": 3}
    with pytest.raises(ValueError, match=r"^m\(weights='DEFAULT'\): ember cannot download"):
        _utils._no_pretrained("m", "DEFAULT", {"pretrained": True})
    with pytest.raises(ValueError, match=r"^m\(pretrained=True\): .*ember.load\('m.pth'\)"):
        _utils._no_pretrained("m", None, {"pretrained": 1})
    with pytest.raises(ValueError, match=r"weights=MobileNet_V3_Small_Weights.IMAGENET1K_V1"):
        models.mobilenet_v3_small(weights=models.MobileNet_V3_Small_Weights.DEFAULT)


def test_init_mobile_weights_touches_only_its_kinds():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(4, 8, 3), nn.BatchNorm2d(8), nn.GroupNorm(2, 8),
                          nn.LayerNorm(8), nn.Linear(8, 100), nn.Conv1d(3, 3, 1))
    for p in model.parameters():
        nn.init.constant_(p, 5.0)
    seen = []
    _utils.init_mobile_weights(model, seen.append)
    assert seen == [model[4]]
    values = {k: v.numpy() for k, v in model.state_dict().items()}
    assert (values["0.bias"] == 0).all() and values["0.weight"].std() > 0.05
    for k in ("1", "2"):
        assert (values[f"{k}.weight"] == 1).all() and (values[f"{k}.bias"] == 0).all()
    assert (values["4.weight"] == 5).all() and (values["4.bias"] == 0).all()
    assert (values["3.weight"] == 5).all() and (values["5.weight"] == 5).all()
    layer = nn.Linear(256, 512)
    nn.init.constant_(layer.bias, 3.0)
    _utils.normal_linear(layer)
    weight, bias = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert abs(weight.std() - 0.01) < 5e-4 and (bias == 3).all()
