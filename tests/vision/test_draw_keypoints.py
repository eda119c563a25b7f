"""``utils.draw_keypoints`` against checksums torchvision 0.28 printed for the same calls
(torchvision cannot be installed beside the torch oracle, so its answers are written here).
The input image is drawn from torch's stream, which ember reproduces."""

import numpy as np
import pytest

import ember
from ember.vision.utils import draw_keypoints

KP = ember.tensor([[[2.6, 3.2], [30.5, 8.9], [5, 25]], [[20, 20], [35.2, 4.4], [12.7, 14.1]]])
PAIRS = [(0, 1), (1, 2)]


def image():
    ember.manual_seed(0)
    return (ember.rand(3, 30, 40) * 255).to(ember.uint8)


def checksum(out):
    a = out.numpy().astype(np.int64)
    return a.sum(), (a * np.arange(a.size).reshape(a.shape)).sum() % 1000003


@pytest.mark.parametrize("kwargs,want", [
    ({}, (451828, 117727)),  # no colour: the discs are invisible
    ({"colors": "red", "radius": 1}, (448070, 221191)),
    ({"connectivity": PAIRS, "colors": (0, 255, 0), "radius": 2, "width": 1},
     (477922, 967526)),
    ({"connectivity": PAIRS, "width": 4, "radius": 0}, (574482, 659212)),
    ({"connectivity": PAIRS + [(2, 0)],
      "visibility": ember.tensor([[True, False, True], [True, True, True]])},
     (537783, 620488)),
])
def test_uint8_image(kwargs, want):
    out = draw_keypoints(image(), KP, **kwargs)
    assert out.dtype == ember.uint8 and out.shape == (3, 30, 40)
    assert checksum(out) == want


def test_lines_are_white_and_float_images():
    img = ember.zeros(3, 12, 16, dtype=ember.uint8)
    out = draw_keypoints(img, ember.tensor([[[2.0, 3.0], [13.0, 3.0]]]), connectivity=[(0, 1)],
                         colors="red", radius=1, width=1)
    assert out[:, 3, 2:14].tolist() == [[255] * 12] * 3
    out = draw_keypoints(image().float() / 255, KP, colors="blue")
    assert out.dtype == ember.float32 and checksum(out) == (126, 366744)
    # a (num_instances, K, 1) visibility is accepted
    draw_keypoints(image(), KP, visibility=ember.ones(2, 3, 1, dtype=ember.bool))


def test_errors():
    img = image()
    cases = [
        ((img.numpy(), KP), {}, TypeError, "must be a tensor"),
        ((img[0], KP), {}, ValueError, "not batches"),
        ((img[:1], KP), {}, ValueError, "RGB"),
        ((img, KP[0]), {}, ValueError, r"keypoints must be of shape \(num_instances, K, 2\)"),
        ((img, KP), {"visibility": ember.ones(3)}, ValueError, "Got ndim=1"),
        ((img, KP), {"visibility": ember.ones(1, 2, 2, dtype=ember.bool)}, ValueError,
         "Got ndim=3"),
        ((img, KP), {"visibility": ember.ones(2, 2, dtype=ember.bool)}, ValueError,
         "same dimensionality"),
    ]
    for args, kwargs, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            draw_keypoints(*args, **kwargs)
