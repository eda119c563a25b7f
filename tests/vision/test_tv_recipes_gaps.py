"""Gaps found by the torchvision training-recipe programs (``tests/programs/tv_*.py``).

torchvision is not importable beside the test oracle, so the expected values were printed by
torchvision 0.28.0 (torch 2.13) and are written here as literals.
"""

import pytest

import ember
from ember.vision.transforms.v2 import functional as F

# A 1x4x4 uint8 image where sharpening by 1.7 lands one pixel exactly on an integer: torchvision
# blends from the image (``img + (1 - factor) * (blurred - img)``), which keeps it at 41; blending
# from the blurred end (what ember did for factors above 1.5) gave 40.
_IMG = [163, 120, 202, 243, 0, 184, 223, 64, 221, 76, 168, 120, 254, 200, 12, 135]
_SHARP_1_7 = [163, 120, 202, 243, 0, 200, 255, 64, 221, 41, 185, 120, 254, 200, 12, 135]


def test_adjust_sharpness_uint8_factor_above_one_and_a_half():
    img = ember.tensor(_IMG, dtype=ember.uint8).reshape(1, 4, 4)
    out = F.adjust_sharpness(img, 1.7)
    assert out.dtype == ember.uint8
    assert out.flatten().tolist() == _SHARP_1_7


def test_auto_augment_sharpness_step_matches_functional():
    # AutoAugment's ImageNet policy applies Sharpness with magnitude 0.7 (factor 1.7); the
    # transform must give what the functional gives
    img = ember.tensor(_IMG * 3, dtype=ember.uint8).reshape(3, 4, 4)
    out = F.adjust_sharpness(img, 1.0 + float(ember.tensor(0.7)))
    assert out[0].flatten().tolist() == _SHARP_1_7


def test_v2_to_grayscale_is_rgb_to_grayscale():
    # torchvision.transforms.v2.functional.to_grayscale was missing; torchvision binds it to
    # the very function rgb_to_grayscale
    from ember.vision import tv_tensors

    assert F.to_grayscale is F.rgb_to_grayscale
    img = tv_tensors.Image(ember.tensor(_IMG * 3, dtype=ember.uint8).reshape(3, 4, 4))
    out = F.to_grayscale(img)
    assert type(out) is tv_tensors.Image and tuple(out.shape) == (1, 4, 4)
    # equal channels: the luma weights sum just under 1 and uint8 truncates (probed)
    assert out.flatten().tolist() == [162, 119, 201, 242, 0, 183, 222, 63, 220, 75, 167, 119,
                                      253, 199, 11, 134]
    assert tuple(F.to_grayscale(img, 3).shape) == (3, 4, 4)


def test_v2_rgb_to_grayscale_channel_count_message():
    with pytest.raises(ValueError, match=r"^num_output_channels must be 1 or 3, got 2\.$"):
        F.rgb_to_grayscale(ember.rand(3, 4, 4), 2)
    with pytest.raises(TypeError, match="supports inputs of type"):
        from ember.vision import tv_tensors

        F.to_grayscale(tv_tensors.Mask(ember.zeros(1, 4, 4)))


def test_brightness_numpy_float64_factor_stays_float32():
    # a NumPy float64 factor promoted the uint8 blend to float64: at 0.29, 100 * 0.29 gave 28
    # instead of torch's float32 29 (probed over 0..255)
    import numpy as np

    x = ember.arange(256, dtype=ember.uint8)[None, None].repeat(3, 1, 1)
    out = F.adjust_brightness(x, np.float64(0.29))
    assert out[0, 0, 95:105].tolist() == [27, 27, 28, 28, 28, 29, 29, 29, 29, 30]
    mismatched = [i for i in range(256) if int(out[0, 0, i]) != int(np.float64(0.29) * i)]
    assert mismatched == [100, 200]


def test_uint8_grayscale_weights_in_float32():
    # this pixel's luma is 188.99... in float64 and 189.0 in torch's float32
    img = ember.tensor([[[250]], [[157]], [[194]]], dtype=ember.uint8)
    assert F.rgb_to_grayscale(img).item() == 189


def test_float64_colour_ops_keep_float64_precision():
    # torchvision's sums (the blends ran in float32 before, about 1e-7 off)
    x = (ember.arange(48, dtype=ember.float64).reshape(3, 4, 4) * 0.7351).remainder(1.0)
    expected = {F.adjust_brightness: 16.93495999999998, F.adjust_contrast: 24.192148519999975,
                F.adjust_saturation: 24.192148519999975, F.adjust_sharpness: 24.308184615384587}
    for fn, want in expected.items():
        out = fn(x, 0.7)
        assert out.dtype == ember.float64
        assert abs(out.sum().item() - want) < 1e-12, fn.__name__


def test_v2_adjust_gamma():
    img = ember.tensor([[[10, 100, 200]], [[50, 150, 250]], [[0, 128, 255]]], dtype=ember.uint8)
    assert F.adjust_gamma(img, 0.5).tolist() == [[[50, 160, 226]], [[113, 196, 253]],
                                                  [[0, 181, 255]]]
    assert F.adjust_gamma(img, 2.2, 0.8).tolist() == [[[0, 26, 120]], [[5, 63, 196]],
                                                       [[0, 44, 204]]]
    with pytest.raises(ValueError, match="Gamma should be a non-negative real number"):
        F.adjust_gamma(img, -1.0)


def test_v2_random_colour_transforms():
    from ember.vision import tv_tensors
    from ember.vision.transforms import v2

    img = tv_tensors.Image(ember.tensor([[[10, 100, 200], [30, 60, 90], [5, 250, 128]]] * 3,
                                        dtype=ember.uint8))
    expected = {  # torchvision 0.28's outputs, first channel
        v2.RandomAdjustSharpness(2.0, p=1.0): [10, 100, 200, 30, 34, 90, 5, 250, 128],
        v2.RandomAutocontrast(p=1.0): [5, 98, 202, 26, 57, 88, 0, 254, 128],
        v2.RandomEqualize(p=1.0): [10, 100, 200, 30, 60, 90, 5, 250, 128],
        v2.RandomPosterize(3, p=1.0): [0, 96, 192, 0, 32, 64, 0, 224, 128],
        v2.RandomSolarize(100.0, p=1.0): [10, 155, 55, 30, 60, 90, 5, 5, 127],
    }
    for t, want in expected.items():
        out = t(img)
        assert type(out) is tv_tensors.Image
        assert out[0].flatten().tolist() == want, repr(t)
    assert repr(v2.RandomPosterize(3)) == "RandomPosterize(p=0.5, bits=3)"
    assert repr(v2.RandomSolarize(100.0, p=0.7)) == "RandomSolarize(p=0.7, threshold=100.0)"
    assert repr(v2.RandomAutocontrast()) == "RandomAutocontrast(p=0.5)"
    with pytest.raises(ValueError, match="`p` should be a floating point value"):
        v2.RandomInvert(p=2)
    # one rand(1) per call, applied below p (torch's sequence for seed 0)
    ember.manual_seed(0)
    inv = v2.RandomInvert(p=0.5)
    assert [inv(img)[0, 0, 0].item() for _ in range(12)] == [245, 10, 245, 245, 245, 10, 245,
                                                              10, 245, 10, 245, 245]
    # masks and boxes pass through untouched
    mask = tv_tensors.Mask(ember.ones(3, 3, dtype=ember.uint8))
    _, m = v2.RandomInvert(p=1.0)(img, mask)
    assert m.tolist() == mask.tolist()


def test_v2_pil_conversions():
    # v2.PILToTensor / v2.ToPILImage were missing (the classification reference's presets use
    # PILToTensor); behaviour as probed on torchvision 0.28
    import numpy as np
    from PIL import Image

    from ember.vision import tv_tensors
    from ember.vision.transforms import v2

    pil = Image.fromarray(np.arange(18, dtype=np.uint8).reshape(2, 3, 3))
    boxes = tv_tensors.BoundingBoxes([[0, 0, 1, 1]], format="XYXY", canvas_size=(2, 3))
    out, b = v2.PILToTensor()(pil, boxes)
    assert type(out) is ember.Tensor and out.dtype == ember.uint8
    assert tuple(out.shape) == (3, 2, 3) and out[:, 0, 0].tolist() == [0, 1, 2]
    assert type(b) is tv_tensors.BoundingBoxes
    img = tv_tensors.Image(ember.zeros(3, 2, 2, dtype=ember.uint8))
    assert type(v2.PILToTensor()(img)) is tv_tensors.Image
    assert repr(v2.PILToTensor()) == "PILToTensor()"

    assert repr(v2.ToPILImage()) == "ToPILImage()"
    assert repr(v2.ToPILImage(mode="RGB")) == "ToPILImage(mode=RGB)"
    p, b = v2.ToPILImage()(img, boxes)
    assert isinstance(p, Image.Image) and p.mode == "RGB" and p.size == (2, 2)
    assert type(b) is tv_tensors.BoundingBoxes
    assert v2.ToPILImage()(ember.rand(1, 2, 2)).mode == "L"
    assert v2.ToPILImage()(pil) is pil
    mask = tv_tensors.Mask(ember.zeros(2, 2, dtype=ember.uint8))
    assert type(v2.ToPILImage()(mask)) is tv_tensors.Mask
