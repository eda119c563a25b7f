"""``to_pil_image`` of a float tensor outside [0, 1] wraps like ``pic.mul(255).byte()`` (as
torchvision does) instead of saturating; ``FakeData``'s normal-noise images depend on it."""

import numpy as np
import pytest

import ember
from ember.vision import datasets
from ember.vision.transforms import functional as F

torch = pytest.importorskip("torch")


def test_float_image_wraps_like_byte_cast():
    values = np.random.default_rng(0).normal(size=(3, 4, 5)).astype(np.float32) * 1.5
    got = np.asarray(F.to_pil_image(ember.tensor(values)))
    want = torch.tensor(values).mul(255).byte().permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(got, want)
    gray = np.asarray(F.to_pil_image(ember.tensor(values[0])))
    np.testing.assert_array_equal(gray, torch.tensor(values[0]).mul(255).byte().numpy())


def test_fakedata_pixels_match_torchvision():
    # printed by torchvision 0.28: FakeData(size=6, image_size=(3, 4, 5), num_classes=3,
    # random_offset=7)[2] -> red channel, target
    img, target = datasets.FakeData(size=6, image_size=(3, 4, 5), num_classes=3,
                                    random_offset=7)[2]
    assert np.asarray(img)[:, :, 0].tolist() == [[240, 74, 21, 111, 112],
                                                 [157, 59, 140, 254, 115],
                                                 [168, 72, 179, 56, 239],
                                                 [59, 221, 211, 243, 75]]
    assert target == 0
