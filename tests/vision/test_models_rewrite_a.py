"""ResNet / RegNet / EfficientNet / ConvNeXt details the other model tests leave open.

torchvision cannot be imported in CI, so its answers are recorded here (torchvision 0.28,
torch 2.13): seeded-initialisation fingerprints and outputs, RegNet stage arithmetic, error
types and messages, config reprs. Block forwards and gradients are compared with the same
blocks written in plain ``torch.nn``.
"""

import numpy as np
import pytest

import ember
from ember.vision import models
from ember.vision.models.convnext import CNBlock, CNBlockConfig, ConvNeXt, LayerNorm2d
from ember.vision.models.efficientnet import EfficientNet, MBConv, MBConvConfig
from ember.vision.models.regnet import BlockParams, ResBottleneckBlock
from ember.vision.models.resnet import BasicBlock, Bottleneck, ResNet

# --- seeded initialisation and outputs, against recorded torchvision -----------------------

# Per parameter after ``manual_seed(0)`` construction: sum(p * cos(arange(numel))) (equal
# values in order mean the same init calls drew the same random stream); then the first
# outputs and the |output| sum in eval mode for ``_input()``.
RESNET_FACTS = {
    "resnet18": ([
        1.57208, 1.14612, 0, -8.24645, 1.14612, 0, 20.7742, 1.14612, 0, -7.55521, 1.14612,
        0, 5.74369, 1.14612, 0, 0.821534, 1.50637, 0, 3.52728, 1.50637, 0, 0.255573,
        1.50637, 0, -16.2522, 1.50637, 0, -0.304213, 1.50637, 0, 15.9075, -0.394624, 0,
        -23.9387, -0.394624, 0, 9.4519, -0.394624, 0, -4.45864, -0.394624, 0, 9.5875,
        -0.394624, 0, -11.1087, 1.0712, 0, -22.5763, 1.0712, 0, 14.4028, 1.0712, 0,
        -6.39832, 1.0712, 0, -26.7487, 1.0712, 0, 0.407756, 0.053061],
        [-0.4280349, -0.268014, -0.3000023, 0.8809313, -0.5708951, -0.819796], 9.224876),
    "bottleneck_options": ([
        -1.59162, 1.14612, 0, 1.32034, 1.14612, 0, 2.72099, 1.14612, 0, 6.66771, 0, 0,
        5.01663, -0.394624, 0, 18.547, 1.50637, 0, 0.125153, 1.50637, 0, 3.79986, 0, 0,
        -7.44704, 1.0712, 0, -3.32763, 1.50637, 0, 0.534521, 1.50637, 0, -20.877, 0, 0,
        -4.69638, -0.394624, 0, -2.26929, -0.394624, 0, 4.31386, 0, 0, 12.4591, -0.138774,
        0, -4.69883, 1.0712, 0, 1.36844, 1.0712, 0, -25.1478, 0, 0, 23.305, -0.261391, 0,
        -1.0444, -0.009872],
        [-0.0190669, -0.0105787, -0.0482223, 0.0050648, 0.0186202, 0.0145825], 0.251026),
    "basic_zero_init": ([
        0.486209, 1.14612, 0, 1.82776, 1.14612, 0, 6.67417, 0, 0, 0.084237, 1.50637, 0,
        -18.6789, 0, 0, 12.2627, 1.50637, 0, 2.98201, -0.394624, 0, -2.17353, 0, 0,
        23.9994, -0.394624, 0, 15.8898, 1.0712, 0, -16.3595, 0, 0, 8.50833, 1.0712, 0,
        0.295547, -0.010935],
        [-0.0022892, -0.0027722, -0.0747095, -0.0362897, 0.0101884, -0.0824432], 0.208692),
}

RESNET_BUILDS = {
    "resnet18": lambda: models.resnet18(num_classes=10),
    "bottleneck_options": lambda: ResNet(
        Bottleneck, [1, 2, 1, 1], groups=2, width_per_group=32, zero_init_residual=True,
        replace_stride_with_dilation=[False, False, True], num_classes=7),
    "basic_zero_init": lambda: ResNet(BasicBlock, [1, 1, 1, 1], zero_init_residual=True,
                                      num_classes=3),
}


def _fingerprint(model):
    out = []
    for p in model.parameters():
        v = p.detach().numpy().astype(np.float64).ravel()
        out.append((v * np.cos(np.arange(v.size))).sum())
    return np.array(out)


def _input():
    return np.random.default_rng(0).standard_normal((2, 3, 48, 48)).astype(np.float32)


@pytest.mark.parametrize("name", sorted(RESNET_FACTS))
def test_resnet_seeded_init_and_output_match_torchvision(name):
    fingerprint, first, abs_sum = RESNET_FACTS[name]
    ember.manual_seed(0)
    model = RESNET_BUILDS[name]().eval()
    np.testing.assert_allclose(_fingerprint(model), fingerprint, rtol=1e-4, atol=2e-4)
    with ember.no_grad():
        out = model(ember.from_numpy(_input())).numpy().astype(np.float64)
    np.testing.assert_allclose(out.ravel()[:6], first, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.abs(out).sum(), abs_sum, rtol=1e-4)


# --- RegNet stage arithmetic -----------------------------------------------------------------

# (from_init_params arguments, [depths, widths, group_widths]) as torchvision 0.28 answers.
# The first three land on the other side of a rounding step in float64: torchvision computes
# in float32.
REGNET_PARAMS = [
    (dict(depth=14, w_0=200, w_a=46.49, w_m=2.18, group_width=8),
     [[3, 7, 4], [200, 432, 952], [8, 8, 8]]),
    (dict(depth=16, w_0=240, w_a=86.97, w_m=2.05, group_width=8),
     [[2, 4, 8, 2], [240, 496, 1008, 2064], [8, 8, 8, 8]]),
    (dict(depth=14, w_0=120, w_a=88.41, w_m=2.1, group_width=8),
     [[1, 2, 5, 6], [120, 248, 528, 1112], [8, 8, 8, 8]]),
    (dict(depth=22, w_0=24, w_a=24.48, w_m=2.54, group_width=16),
     [[1, 2, 7, 12], [32, 64, 160, 400], [16, 16, 16, 16]]),
    (dict(depth=10, w_0=16, w_a=10.5, w_m=2.2, group_width=56, bottleneck_multiplier=0.25),
     [[1, 3, 6], [16, 32, 80], [4, 8, 20]]),
    (dict(depth=12, w_0=32, w_a=20.0, w_m=1.9, group_width=24, bottleneck_multiplier=1.5,
          se_ratio=0.5),
     [[1, 2, 4, 5], [32, 64, 112, 224], [24, 24, 24, 24]]),
    (dict(depth=5, w_0=8, w_a=0.0, w_m=2.0, group_width=8), [[5], [8], [8]]),
]


@pytest.mark.parametrize("kwargs,want", REGNET_PARAMS)
def test_regnet_block_params_match_torchvision(kwargs, want):
    p = BlockParams.from_init_params(**kwargs)
    assert [p.depths, p.widths, p.group_widths] == want
    n = len(want[0])
    assert p.strides == [2] * n and p.se_ratio == kwargs.get("se_ratio")
    assert p.bottleneck_multipliers == [kwargs.get("bottleneck_multiplier", 1.0)] * n
    assert all(isinstance(w, int) for w in p.widths + p.depths)


# --- errors, as torchvision raises them ------------------------------------------------------

ERRORS = [
    (lambda: BasicBlock(64, 64, groups=2), ValueError,
     "BasicBlock only supports groups=1 and base_width=64"),
    (lambda: BasicBlock(64, 64, base_width=32), ValueError,
     "BasicBlock only supports groups=1 and base_width=64"),
    (lambda: BasicBlock(64, 64, dilation=2), NotImplementedError,
     "Dilation > 1 not supported in BasicBlock"),
    (lambda: ResNet(BasicBlock, [1, 1, 1, 1], replace_stride_with_dilation=[False, True,
                                                                            True]),
     NotImplementedError, "Dilation > 1 not supported in BasicBlock"),
    (lambda: ResNet(Bottleneck, [1, 1, 1, 1], replace_stride_with_dilation=[False, True]),
     ValueError, "replace_stride_with_dilation should be None or a 3-element tuple, got "
                 "[False, True]"),
    (lambda: BlockParams.from_init_params(depth=4, w_0=47, w_a=2.0, w_m=2.0, group_width=8),
     ValueError, "Invalid RegNet settings"),
    (lambda: BlockParams.from_init_params(depth=4, w_0=48, w_a=2.0, w_m=1.0, group_width=8),
     ValueError, "Invalid RegNet settings"),
    (lambda: BlockParams.from_init_params(depth=4, w_0=48, w_a=-1.0, w_m=2.0, group_width=8),
     ValueError, "Invalid RegNet settings"),
    (lambda: EfficientNet([], 0.2), ValueError,
     "The inverted_residual_setting should not be empty"),
    (lambda: EfficientNet([1, 2], 0.2), TypeError,
     "The inverted_residual_setting should be List[MBConvConfig]"),
    (lambda: MBConv(MBConvConfig(1, 3, 3, 32, 16, 1), 0.1, ember.nn.BatchNorm2d), ValueError,
     "illegal stride value"),
    (lambda: ConvNeXt([]), ValueError, "The block_setting should not be empty"),
    (lambda: ConvNeXt([1, 2]), TypeError, "The block_setting should be List[CNBlockConfig]"),
    # one block in all: the stochastic-depth ramp divides by (blocks - 1)
    (lambda: ConvNeXt([CNBlockConfig(8, None, 1)]), ZeroDivisionError, "float division by zero"),
]


@pytest.mark.parametrize("build,exc,message", ERRORS)
def test_errors_match_torchvision(build, exc, message):
    with pytest.raises(exc) as info:
        build()
    assert str(info.value) == message


# --- configs -------------------------------------------------------------------------------

def test_mbconv_config_scaling_repr_and_equality():
    cnf = MBConvConfig(6, 3, 2, 16, 24, 2, width_mult=1.1, depth_mult=1.2)
    assert (cnf.input_channels, cnf.out_channels, cnf.num_layers) == (16, 24, 3)
    assert repr(cnf) == ("MBConvConfig(expand_ratio=6, kernel=3, stride=2, input_channels=16, "
                         "out_channels=24, num_layers=3, block=<class "
                         "'ember.vision.models.efficientnet.MBConv'>)")
    assert cnf == MBConvConfig(6, 3, 2, 16, 24, 3)
    assert MBConvConfig.adjust_channels(30, 1.1) == 32
    assert MBConvConfig.adjust_depth(3, 1.1) == 4
    assert MBConvConfig(1, 3, 1, 32, 16, 1, width_mult=1.4).input_channels == 48


def test_cnblock_config_repr():
    assert repr(CNBlockConfig(96, None, 3)) == \
        "CNBlockConfig(input_channels=96, out_channels=None, num_layers=3)"


def test_stochastic_depth_ramps_as_torchvision():
    # torchvision 0.28's probabilities (reprs print them in full)
    eff = models.efficientnet_b0(num_classes=3)
    assert [eff.features[i][j].stochastic_depth.p for i, j in [(1, 0), (2, 0), (7, 0)]] == \
        [0.0, 0.0125, 0.1875]
    cnx = models.convnext_tiny(num_classes=3)
    assert [cnx.features[i][j].stochastic_depth.p for i, j in [(1, 1), (3, 2), (7, 2)]] == \
        [0.0058823529411764705, 0.029411764705882353, 0.1]


# --- block forwards and gradients against the same blocks in torch.nn ------------------------

def _copy_into_ember(tmodule, emodule):
    state = tmodule.state_dict()
    assert list(state) == list(emodule.state_dict())
    emodule.load_state_dict({k: ember.from_numpy(v.detach().numpy().copy())
                             for k, v in state.items()})


def _randomise(torch, tmodule, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in tmodule.state_dict().items():
            if t.is_floating_point():
                noise = torch.rand(t.shape, generator=g)
                t.copy_(noise + 0.5 if name.endswith("running_var") else noise - 0.5)


def _compare(torch, tmodule, emodule, shape, train, rtol=1e-4, atol=1e-5):
    _randomise(torch, tmodule)
    _copy_into_ember(tmodule, emodule)
    tmodule.train(train)
    emodule.train(train)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    tx, ex = torch.from_numpy(x).requires_grad_(), ember.from_numpy(x).requires_grad_()
    ty, ey = tmodule(tx), emodule(ex)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    w = np.random.default_rng(2).standard_normal(tuple(ty.shape)).astype(np.float32)
    (ty * torch.from_numpy(w)).sum().backward()
    (ey * ember.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)


def _torch_se(torch, channels, squeeze, act):
    tnn = torch.nn

    class SE(tnn.Module):
        def __init__(self):
            super().__init__()
            self.avgpool, self.fc1 = tnn.AdaptiveAvgPool2d(1), tnn.Conv2d(channels, squeeze, 1)
            self.fc2 = tnn.Conv2d(squeeze, channels, 1)

        def forward(self, x):
            return torch.sigmoid(self.fc2(act(self.fc1(self.avgpool(x))))) * x
    return SE()


@pytest.mark.parametrize("train", [False, True])
def test_dilated_grouped_bottleneck_matches_torch(torch, train):
    tnn = torch.nn

    class TorchBottleneck(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = tnn.Conv2d(8, 8, 1, bias=False), tnn.BatchNorm2d(8)
            self.conv2 = tnn.Conv2d(8, 8, 3, 1, padding=2, dilation=2, groups=2, bias=False)
            self.bn2 = tnn.BatchNorm2d(8)
            self.conv3, self.bn3 = tnn.Conv2d(8, 16, 1, bias=False), tnn.BatchNorm2d(16)
            self.downsample = tnn.Sequential(tnn.Conv2d(8, 16, 1, bias=False),
                                             tnn.BatchNorm2d(16))

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = self.bn3(self.conv3(torch.relu(self.bn2(self.conv2(y)))))
            return torch.relu(y + self.downsample(x))

    down = ember.nn.Sequential(ember.nn.Conv2d(8, 16, 1, bias=False), ember.nn.BatchNorm2d(16))
    block = Bottleneck(8, 4, downsample=down, groups=2, base_width=64, dilation=2)
    _compare(torch, TorchBottleneck(), block, (2, 8, 7, 7), train)


@pytest.mark.parametrize("train", [False, True])
def test_mbconv_matches_torch(torch, train):
    tnn = torch.nn
    silu = torch.nn.functional.silu

    class TorchMBConv(tnn.Module):
        def __init__(self):
            super().__init__()
            self.block = tnn.Sequential(
                tnn.Sequential(tnn.Conv2d(8, 48, 1, bias=False), tnn.BatchNorm2d(48), tnn.SiLU()),
                tnn.Sequential(tnn.Conv2d(48, 48, 5, padding=2, groups=48, bias=False),
                               tnn.BatchNorm2d(48), tnn.SiLU()),
                _torch_se(torch, 48, 2, silu),
                tnn.Sequential(tnn.Conv2d(48, 8, 1, bias=False), tnn.BatchNorm2d(8)))

        def forward(self, x):
            return self.block(x) + x

    block = MBConv(MBConvConfig(6, 5, 1, 8, 8, 1), 0.0, ember.nn.BatchNorm2d)
    assert block.use_res_connect and block.out_channels == 8
    _compare(torch, TorchMBConv(), block, (2, 8, 6, 6), train)


@pytest.mark.parametrize("train", [False, True])
def test_regnet_block_matches_torch(torch, train):
    tnn = torch.nn

    def cna(i, o, k, s=1, g=1, act=True):
        layers = [tnn.Conv2d(i, o, k, s, (k - 1) // 2, groups=g, bias=False), tnn.BatchNorm2d(o)]
        return tnn.Sequential(*layers, *([tnn.ReLU()] if act else []))

    class TorchRegNetBlock(tnn.Module):
        def __init__(self):
            super().__init__()
            self.proj = cna(8, 16, 1, 2, act=False)
            self.f = tnn.Module()
            self.f.a, self.f.b = cna(8, 16, 1), cna(16, 16, 3, 2, g=2)
            self.f.se, self.f.c = _torch_se(torch, 16, 2, torch.relu), cna(16, 16, 1, act=False)

        def forward(self, x):
            f = self.f
            return torch.relu(self.proj(x) + f.c(f.se(f.b(f.a(x)))))

    block = ResBottleneckBlock(8, 16, 2, ember.nn.BatchNorm2d, ember.nn.ReLU, group_width=8,
                               se_ratio=0.25)
    _compare(torch, TorchRegNetBlock(), block, (2, 8, 8, 8), train)


@pytest.mark.parametrize("train", [False, True])
def test_cnblock_and_layernorm2d_match_torch(torch, train):
    tnn = torch.nn

    class TorchCNBlock(tnn.Module):
        def __init__(self):
            super().__init__()
            self.layer_scale = tnn.Parameter(torch.ones(8, 1, 1))
            self.block = tnn.Sequential(
                tnn.Conv2d(8, 8, 7, padding=3, groups=8), tnn.Identity(),
                tnn.LayerNorm(8, eps=1e-6), tnn.Linear(8, 32), tnn.GELU(), tnn.Linear(32, 8))

        def forward(self, x):
            y = self.block[0](x).permute(0, 2, 3, 1)
            for m in self.block[2:]:
                y = m(y)
            return self.layer_scale * y.permute(0, 3, 1, 2) + x

    _compare(torch, TorchCNBlock(), CNBlock(8, 1.0, 0.0), (2, 8, 9, 9), train)

    class TorchLN2d(tnn.LayerNorm):
        def forward(self, x):
            return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    _compare(torch, TorchLN2d(8, eps=1e-6), LayerNorm2d(8, eps=1e-6), (2, 8, 5, 5), train)
