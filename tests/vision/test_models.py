"""ember.vision.models: shapes, torchvision state_dict keys, initialisation, outputs vs torch."""

import math

import numpy as np
import pytest

import ember
from ember import nn
from ember.vision import models


@pytest.fixture
def ref(torch):
    from . import _torch_reference
    # oneDNN's first call per shape costs seconds on CPU (depthwise convs above all), and
    # torch's spinning OpenMP threads crawl when other processes share the cores; native
    # single-threaded kernels give the same values in a fraction of the time.
    saved = torch.backends.mkldnn.enabled, torch.get_num_threads()
    torch.backends.mkldnn.enabled = False
    torch.set_num_threads(1)
    yield _torch_reference
    torch.backends.mkldnn.enabled = saved[0]
    torch.set_num_threads(saved[1])


def _keys_shapes(sd):
    return [(k, tuple(v.shape)) for k, v in sd.items()]


def _copy_torch_to_ember(tmodel, emodel):
    sd = {k: ember.from_numpy(v.detach().numpy().copy()) for k, v in tmodel.state_dict().items()}
    emodel.load_state_dict(sd)


def _randomise_bn(torch, tmodel, seed=0):
    """Give BatchNorm non-trivial affine parameters and running stats so eval mode tests them."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in tmodel.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)


# --- LeNet -------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [28, 32])
def test_lenet_shapes_and_backward(size):
    model = models.LeNet(num_classes=7, input_size=size)
    x = ember.randn(3, 1, size, size)
    y = model(x)
    assert tuple(y.shape) == (3, 7)
    y.sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())
    assert model.classifier[0].in_features == 16 * 5 * 5


def test_lenet_rgb_and_unbatched():
    model = models.LeNet(num_classes=10, in_channels=3, input_size=32)
    assert tuple(model(ember.randn(3, 32, 32)).shape) == (10,)


def test_lenet_matches_torch_layout(torch):
    # Same layers in torch: outputs agree once weights are copied (checks the declared layout).
    tm = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10))
    em = models.LeNet()
    tsd = list(tm.state_dict().values())
    assert [tuple(v.shape) for v in em.state_dict().values()] == [tuple(v.shape) for v in tsd]
    em.load_state_dict({k: ember.from_numpy(v.numpy().copy())
                        for k, v in zip(em.state_dict(), tsd, strict=True)})
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(em(ember.from_numpy(x)).detach().numpy(),
                               tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_lenet_bad_input_size():
    with pytest.raises(ValueError, match="input_size"):
        models.LeNet(input_size=8)
    with pytest.raises(ValueError, match=r"\(N, C, 28, 28\)"):
        models.LeNet()(ember.randn(1, 1, 32, 32))


# --- state_dict keys equal torchvision's -------------------------------------------------

@pytest.mark.parametrize("name", ["resnet18", "resnet50", "mobilenet_v2"])
def test_state_dict_keys_order_shapes_match_torchvision(ref, name):
    em = getattr(models, name)(num_classes=10)
    tm = getattr(ref, name if name != "mobilenet_v2" else "MobileNetV2")(num_classes=10)
    assert _keys_shapes(em.state_dict()) == _keys_shapes(tm.state_dict())
    # Parameters vs buffers are split the same way (load_state_dict relies on it).
    assert [k for k, _ in em.named_parameters()] == [k for k, _ in tm.named_parameters()]
    assert [k for k, _ in em.named_buffers()] == [k for k, _ in tm.named_buffers()]


def test_mobilenet_v2_key_names_spot_check():
    keys = list(models.mobilenet_v2().state_dict())
    for k in ["features.0.0.weight", "features.0.1.running_var", "features.1.conv.0.0.weight",
              "features.1.conv.1.weight", "features.2.conv.0.0.weight",
              "features.2.conv.3.num_batches_tracked", "features.18.0.weight",
              "classifier.1.weight", "classifier.1.bias"]:
        assert k in keys, k
    assert keys[-1] == "classifier.1.bias"


def test_mobilenet_v2_width_mult(ref):
    em = models.mobilenet_v2(width_mult=0.5, num_classes=5)
    tm = ref.MobileNetV2(num_classes=5, width_mult=0.5)
    assert _keys_shapes(em.state_dict()) == _keys_shapes(tm.state_dict())
    assert em.last_channel == 1280 and em.features[0][0].out_channels == 16


def test_resnext_and_wide_shapes():
    m = models.resnext50_32x4d(num_classes=3)
    assert m.layer1[0].conv2.groups == 32 and tuple(m.layer1[0].conv2.weight.shape) == (128, 4, 3, 3)
    # wide_resnet50_2 is ResNet-50 with width_per_group=128 (68M parameters: too big to build here).
    w = models.ResNet(models.Bottleneck, [1, 1, 1, 1], width_per_group=128, num_classes=3)
    assert tuple(w.layer1[0].conv2.weight.shape) == (128, 128, 3, 3)
    with pytest.raises(ValueError, match="width_per_group"):
        models.wide_resnet50_2(width_per_group=64)
    with pytest.raises(ValueError, match="groups"):
        models.resnext50_32x4d(groups=8)


def test_vgg11_bn_keys_and_init(torch, ref):
    ember.manual_seed(0)
    em = models.vgg11_bn(num_classes=10)
    with torch.device("meta"):  # keys and shapes only: skip allocating 133M parameters twice
        tm = ref.vgg([64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"], True, 10)
    assert _keys_shapes(em.state_dict()) == _keys_shapes(tm.state_dict())
    lin = em.classifier[6].weight.detach().numpy()
    assert abs(lin.std() - 0.01) < 1e-3 and (em.classifier[6].bias.detach().numpy() == 0).all()
    conv = em.features[0]
    assert (conv.bias.detach().numpy() == 0).all() and conv.weight.detach().numpy().std() > 0.05
    assert tuple(em(ember.randn(1, 3, 32, 32)).shape) == (1, 10)
    with pytest.raises(ValueError, match="ember.load"):
        models.vgg16(weights="DEFAULT")


def test_alexnet_matches_torch(torch, ref):
    torch.manual_seed(0)
    tm = ref.AlexNet(num_classes=10).eval()
    em = models.alexnet(num_classes=10).eval()
    assert _keys_shapes(em.state_dict()) == _keys_shapes(tm.state_dict())
    _copy_torch_to_ember(tm, em)
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        ty = tm(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        ey = em(ember.from_numpy(x)).numpy()
    # Default-initialised AlexNet outputs are ~1e-2, hence the small atol.
    np.testing.assert_allclose(ey, ty, rtol=1e-4, atol=1e-7)
    assert np.abs(ty).max() > 1e-3


# --- initialisation as torchvision ----------------------------------------------------------

def test_resnet_init():
    ember.manual_seed(0)
    m = models.resnet18(num_classes=10)
    w = m.layer4[0].conv1.weight.detach().numpy()  # (512, 256, 3, 3): fan_out = 512 * 9
    assert abs(w.std() - math.sqrt(2.0 / (512 * 9))) < 0.02 * math.sqrt(2.0 / (512 * 9))
    assert abs(w.mean()) < 1e-3
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            assert (mod.weight.detach().numpy() == 1).all() and (mod.bias.detach().numpy() == 0).all()
    # fc keeps nn.Linear's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    fc = m.fc.weight.detach().numpy()
    assert np.abs(fc).max() <= 1 / math.sqrt(512) and fc.std() > 0.5 / math.sqrt(3 * 512)


def test_zero_init_residual():
    m = models.resnet18(zero_init_residual=True)
    assert all((b.bn2.weight.detach().numpy() == 0).all() for layer in
               (m.layer1, m.layer2, m.layer3, m.layer4) for b in layer)
    assert (m.layer1[0].bn1.weight.detach().numpy() == 1).all()
    m50 = models.resnet50(zero_init_residual=True)
    assert (m50.layer2[1].bn3.weight.detach().numpy() == 0).all()
    assert (m50.layer2[1].bn2.weight.detach().numpy() == 1).all()


def test_mobilenet_init():
    ember.manual_seed(0)
    m = models.mobilenet_v2()
    lin = m.classifier[1].weight.detach().numpy()
    assert abs(lin.std() - 0.01) < 5e-4 and (m.classifier[1].bias.detach().numpy() == 0).all()
    w = m.features[18][0].weight.detach().numpy()  # 1x1 conv 320 -> 1280: fan_out = 1280
    assert abs(w.std() - math.sqrt(2.0 / 1280)) < 0.02 * math.sqrt(2.0 / 1280)


# --- constructor options and errors ---------------------------------------------------------

def test_weights_refused_with_hint():
    for fn in (models.resnet18, models.resnet50, models.mobilenet_v2):
        with pytest.raises(ValueError, match="ember.load"):
            fn(weights="IMAGENET1K_V1")
        with pytest.raises(ValueError, match="load_state_dict"):
            fn(pretrained=True)
    assert isinstance(models.resnet18(weights=None, progress=False), models.ResNet)


def test_resnet_options():
    m = models.resnet50(replace_stride_with_dilation=[False, True, True], num_classes=4)
    assert m.layer3[0].conv2.stride == (1, 1) and m.layer4[1].conv2.dilation == (4, 4)
    assert tuple(m(ember.randn(1, 3, 32, 32)).shape) == (1, 4)
    with pytest.raises(ValueError, match="3-element"):
        models.resnet18(replace_stride_with_dilation=[True])
    with pytest.raises(NotImplementedError, match="Dilation"):
        models.resnet18(replace_stride_with_dilation=[False, False, True])
    with pytest.raises(ValueError, match="groups=1"):
        models.ResNet(models.BasicBlock, [1, 1, 1, 1], groups=2)
    g = models.resnet18(norm_layer=lambda c: nn.GroupNorm(4, c), num_classes=3)
    assert isinstance(g.bn1, nn.GroupNorm) and (g.bn1.weight.detach().numpy() == 1).all()
    assert tuple(g(ember.randn(1, 3, 32, 32)).shape) == (1, 3)


def test_inverted_residual_errors_and_residual():
    with pytest.raises(ValueError, match="stride should be 1 or 2"):
        models.InvertedResidual(8, 8, 3, 6)
    assert models.InvertedResidual(8, 8, 1, 6).use_res_connect
    assert not models.InvertedResidual(8, 16, 1, 6).use_res_connect
    with pytest.raises(ValueError, match="inverted_residual_setting"):
        models.MobileNetV2(inverted_residual_setting=[[1, 16, 1]])


# --- outputs and gradients vs the torch reference -------------------------------------------

def test_mobilenet_v2_eval_and_train_match_torch(torch, ref):
    torch.manual_seed(0)
    tm = ref.MobileNetV2(num_classes=10)
    _randomise_bn(torch, tm)
    em = models.mobilenet_v2(num_classes=10)
    _copy_torch_to_ember(tm, em)
    x = np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype(np.float32)
    tm.eval()
    em.eval()
    np.testing.assert_allclose(em(ember.from_numpy(x)).detach().numpy(),
                               tm(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    # Train mode (batch statistics; dropout off so both are deterministic), on 64x64 input: at
    # 32x32 the last stages see 1x1 maps, where train-mode BatchNorm over two values per channel
    # chains into chaos (torch and ember differ by O(1) even in float64).
    x = np.random.default_rng(2).standard_normal((2, 3, 64, 64)).astype(np.float32)
    tm.train()
    em.train()
    tm.classifier[0].p = 0.0
    em.classifier[0].p = 0.0
    with torch.no_grad():
        ty = tm(torch.from_numpy(x))
    with ember.no_grad():
        ey = em(ember.from_numpy(x))
    np.testing.assert_allclose(ey.numpy(), ty.numpy(), rtol=1e-4, atol=1e-4)
    # Gradients in float64: through ~50 train-mode BatchNorms float32 gradients drift ~1% from
    # float64 in torch itself, so float32 cannot tell a bug from rounding.
    tm.double()
    em.double()
    x = x.astype(np.float64)
    ty = tm(torch.from_numpy(x))
    ey = em(ember.from_numpy(x))
    ty.square().mean().backward()
    ey.square().mean().backward()
    tg = dict(tm.named_parameters())
    scale = max(float(p.grad.abs().max()) for p in tg.values())
    for k, p in em.named_parameters():
        # atol scaled by the largest gradient: BN biases feeding a train-mode BN through a conv
        # have mathematically zero gradients, holding only rounding noise in both libraries.
        np.testing.assert_allclose(p.grad.numpy(), tg[k].grad.numpy(), rtol=1e-7,
                                   atol=1e-9 * scale, err_msg=k)
    tb = tm.state_dict()
    for k, b in em.named_buffers():
        np.testing.assert_allclose(b.numpy(), tb[k].numpy(), rtol=1e-4, atol=1e-5, err_msg=k)
