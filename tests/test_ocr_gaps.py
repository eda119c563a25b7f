"""Gaps found while writing the text-recognition programs (tests/programs/ocr_*.py) and their
augmentations, each checked against PyTorch (torchvision's code paths, replayed with torch
ops, since the oracle has no torchvision): v2 ``ToDtype(float32, scale=True)`` multiplies a
uint8 image by ``1 / 255`` (v1's ``convert_image_dtype`` divides; the two differ in float32's
last bit); ``gaussian_blur`` (and so ``ElasticTransform`` on a small text line) refuses a
kernel half-width not smaller than the image, as torchvision's reflect padding does."""

import numpy as np
import pytest
import torch

import ember
from ember.vision.transforms import functional as TF
from ember.vision.transforms import v2 as T2
from ember.vision.transforms.v2 import functional as F2


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001  (the type and message are compared)
        return type(exc).__name__, str(exc)
    return None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_v2_to_dtype_scales_by_the_reciprocal(dtype):
    data = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    got = F2.to_dtype(ember.from_numpy(data.copy()), getattr(ember, dtype), scale=True)
    want = torch.from_numpy(data.copy()).to(getattr(torch, dtype)).mul_(1.0 / 255)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    via_transform = T2.ToDtype(getattr(ember, dtype), scale=True)(ember.from_numpy(data.copy()))
    np.testing.assert_array_equal(via_transform.numpy(), want.numpy())
    # v1 still divides, as torchvision's convert_image_dtype does
    v1 = TF.convert_image_dtype(ember.from_numpy(data.copy()), getattr(ember, dtype))
    np.testing.assert_array_equal(v1.numpy(), (torch.from_numpy(data.copy()).to(
        getattr(torch, dtype)) / 255).numpy())


@pytest.mark.parametrize("shape,kernel", [((1, 12, 30), [41, 41]), ((3, 12, 30), [25, 3]),
                                          ((2, 1, 12, 30), [3, 25]), ((12, 30), [61, 1]),
                                          ((1, 12, 30), [13, 13]), ((1, 12, 30), [23, 23])])
def test_gaussian_blur_kernel_wider_than_image(shape, kernel):
    img = ember.rand(*shape)

    def torchvision_like():
        x = torch.rand(*shape)
        x = x.reshape((1,) * max(0, 4 - x.dim()) + tuple(x.shape))
        torch.nn.functional.pad(x, [kernel[0] // 2] * 2 + [kernel[1] // 2] * 2,
                                mode="reflect")

    want = _error(torchvision_like)
    assert _error(lambda: TF.gaussian_blur(img, kernel, [5.0, 5.0])) == want
    assert _error(lambda: F2.gaussian_blur(img, kernel, [5.0, 5.0])) == want


def test_elastic_transform_on_a_small_text_line_refuses_like_torchvision():
    line = ember.rand(1, 12, 30)
    err = _error(lambda: T2.ElasticTransform(alpha=20.0)(line))   # sigma 5: a 41-tap blur
    assert err is not None and err[0] == "RuntimeError"
    assert "Padding size should be less than the corresponding input dimension" in err[1]
    assert T2.ElasticTransform(alpha=20.0, sigma=1.0)(line).shape == line.shape
