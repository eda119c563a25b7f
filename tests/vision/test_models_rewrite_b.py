"""DenseNet, VGG/AlexNet, ShuffleNetV2 and SqueezeNet details the other vision tests leave open:
torchvision 0.28's argument checks (messages recorded from it), its configuration tables, the
channel shuffle against torch's, and the per-family initialisation rules."""

import numpy as np
import pytest

import ember
from ember.vision import models
from ember.vision.models import shufflenetv2, vgg


def test_channel_shuffle_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 12, 3, 5)).astype(np.float32)
    for groups in (2, 3, 4):
        want = torch.nn.functional.channel_shuffle(torch.from_numpy(x), groups).numpy()
        got = shufflenetv2.channel_shuffle(ember.from_numpy(x), groups).numpy()
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("args, message", [
    ((8, 8, 4), "illegal stride value"),
    ((4, 8, 1), "Invalid combination of stride 1, inp 4 and oup 8 values. If stride == 1 then "
                "inp should be equal to oup // 2 << 1."),
])
def test_shufflenet_unit_checks(args, message):
    with pytest.raises(ValueError) as info:
        shufflenetv2.InvertedResidual(*args)
    assert str(info.value) == message


def test_shufflenet_unit_layout():
    down = shufflenetv2.InvertedResidual(4, 6, 2)
    assert [type(m).__name__ for m in down.branch1] == [
        "Conv2d", "BatchNorm2d", "Conv2d", "BatchNorm2d", "ReLU"]
    assert down.branch1[0].groups == 4 and down.branch2[3].groups == 3
    keep = shufflenetv2.InvertedResidual(8, 8, 1)
    assert len(keep.branch1) == 0 and keep.branch2[0].in_channels == 4
    assert shufflenetv2.InvertedResidual.depthwise_conv(5, 5, 3, padding=1).groups == 5
    assert tuple(keep(ember.randn(2, 8, 6, 6)).shape) == (2, 8, 6, 6)


def test_shufflenet_config_checks():
    with pytest.raises(ValueError, match="^expected stages_repeats as list of 3 positive ints$"):
        models.ShuffleNetV2([1, 2], [1, 2, 3, 4, 5])
    with pytest.raises(ValueError,
                       match="^expected stages_out_channels as list of 5 positive ints$"):
        models.ShuffleNetV2([1, 2, 3], [1, 2, 3, 4])
    m = models.ShuffleNetV2([1, 2, 1], [8, 16, 32, 64, 40], num_classes=3)
    assert m._stage_out_channels == [8, 16, 32, 64, 40]
    assert [len(m.stage2), len(m.stage3), len(m.stage4)] == [1, 2, 1]


def test_vgg_configurations():
    # torchvision 0.28's table (configurations A, B, D, E of the paper)
    assert vgg.cfgs == {
        "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
        "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
        "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
              "M"],
        "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512,
              512, 512, 512, "M"],
    }
    layers = models.make_layers([8, "M", 16], batch_norm=False)
    assert [type(m).__name__ for m in layers] == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU"]
    assert layers[3].in_channels == 8 and layers[1].inplace


def test_vgg_init_weights_flag():
    ember.manual_seed(0)
    plain = models.VGG(models.make_layers([8, "M", 512]), num_classes=3, init_weights=False)
    ember.manual_seed(0)
    fresh = models.VGG(models.make_layers([8, "M", 512]), num_classes=3)
    # without init_weights the default (uniform) initialisation stays: biases are not zero
    assert (plain.classifier[6].bias.detach().numpy() != 0).any()
    assert (fresh.classifier[6].bias.detach().numpy() == 0).all()
    assert [type(m).__name__ for m in fresh.classifier] == [
        "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    alex = models.AlexNet(num_classes=3, dropout=0.25)
    assert [type(m).__name__ for m in alex.classifier] == [
        "Dropout", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Linear"]
    assert alex.classifier[0].p == 0.25 and alex.features[0].padding == (2, 2)


def test_squeezenet_init_and_dropout():
    ember.manual_seed(0)
    m = models.squeezenet1_1(num_classes=10, dropout=0.2)
    assert m.classifier[0].p == 0.2 and m.num_classes == 10
    final = m.classifier[1].weight.detach().numpy()
    assert abs(final.std() - 0.01) < 2e-3
    for mod in m.modules():
        if isinstance(mod, ember.nn.Conv2d):
            assert (mod.bias.detach().numpy() == 0).all()
    assert m.features[3].inplanes == 64


def test_densenet_layer_accepts_tensor_or_list_and_drops_out():
    from ember.vision.models.densenet import _DenseBlock, _DenseLayer

    ember.manual_seed(0)
    layer = _DenseLayer(6, growth_rate=4, bn_size=2, drop_rate=0.5).eval()
    x = ember.randn(2, 6, 5, 5)
    a, b = x[:, :3], x[:, 3:]
    np.testing.assert_allclose(layer(x).detach().numpy(), layer([a, b]).detach().numpy(),
                               rtol=1e-6, atol=1e-6)
    layer.train()
    out = layer(x)
    assert tuple(out.shape) == (2, 4, 5, 5) and float((out == 0).float().mean()) > 0.2
    block = _DenseBlock(3, 6, bn_size=2, growth_rate=4, drop_rate=0.0)
    assert list(block.keys()) == ["denselayer1", "denselayer2", "denselayer3"]
    assert tuple(block(x).shape) == (2, 6 + 3 * 4, 5, 5)


def test_densenet_memory_efficient_with_dropout_same_stream():
    results = []
    for memory_efficient in (False, True):
        ember.manual_seed(0)
        model = models.DenseNet(4, (2, 2, 2, 2), 8, bn_size=2, drop_rate=0.3, num_classes=2,
                                memory_efficient=memory_efficient)
        ember.manual_seed(1)
        x = ember.randn(2, 3, 32, 32, requires_grad=True)
        ember.manual_seed(2)
        model(x).sum().backward()
        results.append(x.grad.numpy())
    # checkpointing replays the bottleneck only (no randomness there), so the dropout draws
    # and hence the gradients agree
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)
