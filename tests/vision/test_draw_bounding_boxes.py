"""``utils.draw_bounding_boxes`` against checksums torchvision 0.28 printed for the same
calls (torchvision cannot be installed beside the torch oracle, so its answers are written
here). The input image is drawn from torch's stream, which ember reproduces."""

import warnings

import numpy as np
import pytest

import ember
from ember.vision.utils import draw_bounding_boxes

BOXES = ember.tensor([[1, 1, 20, 15], [10, 12, 50, 38], [30, 2, 58, 20]])
LABELS = ["cat", "dog", "owl"]


def image():
    ember.manual_seed(0)
    return (ember.rand(3, 40, 60) * 255).to(ember.uint8)


def checksum(out):
    a = out.numpy().astype(np.int64)
    return a.sum(), (a * np.arange(a.size).reshape(a.shape)).sum() % 1000003


@pytest.mark.parametrize("kwargs,want", [
    ({}, (851735, 811627)),
    ({"colors": "red"}, (874739, 331725)),
    ({"colors": ["red", (0, 255, 0), "#0000ff"], "width": 3}, (818805, 186422)),
    ({"fill": True}, (736367, 528483)),
    ({"labels": LABELS}, (826899, 818760)),
    ({"labels": LABELS, "colors": "yellow", "label_colors": "black"}, (900735, 361451)),
    ({"labels": LABELS, "fill_labels": True}, (706655, 786039)),
    ({"labels": LABELS, "fill_labels": True, "label_background_colors": "white"},
     (1011872, 83628)),
    ({"labels": ["cat", None, "owl"]}, (838203, 725419)),
])
def test_uint8_image(kwargs, want):
    out = draw_bounding_boxes(image(), BOXES, **kwargs)
    assert out.shape == (3, 40, 60) and out.dtype == ember.uint8
    assert checksum(out) == want


def test_grayscale_float_and_degenerate_boxes():
    img = image()
    assert checksum(draw_bounding_boxes(img[:1], BOXES)) == (852249, 563965)
    assert checksum(draw_bounding_boxes(img, BOXES.float() + 0.7)) == (851735, 811627)
    assert checksum(draw_bounding_boxes(img, ember.tensor([[1, 1, 1, 1]]))) == (910826, 925215)
    untouched = checksum(img)
    assert checksum(draw_bounding_boxes(img, BOXES[:1], width=0)) == untouched
    out = draw_bounding_boxes(img.float() / 255, BOXES, colors="red")
    assert out.dtype == ember.float32
    assert checksum(out) == (286, 295451)  # integer parts: pixels that came back as 1.0
    # float images are scaled by 255.999 and wrap; back to float as uint8 * (1 / 255)
    v = ember.tensor([0.0, 0.1, 0.5, 0.999, 1.0, 1.2, 2.0, 3.5, -0.3, 0.0039, 0.00393, 0.004])
    out = draw_bounding_boxes(v.reshape(1, 1, -1).repeat(3, 3, 1), ember.tensor([[0, 0, 0, 0]]),
                              colors="red")
    assert (out[1, 2] * 255).tolist() == pytest.approx(
        [0, 25, 127, 255, 255, 51, 255, 127, 180, 0, 1, 1], abs=1e-5)


def test_warnings_and_errors():
    img = image()
    with pytest.warns(UserWarning, match="No box was drawn"):
        out = draw_bounding_boxes(img, ember.zeros(0, 4))
    assert checksum(out) == checksum(img)
    with pytest.warns(UserWarning, match="'font_size' will be ignored"):
        out = draw_bounding_boxes(img, BOXES, labels=LABELS, font_size=12)
    assert checksum(out) == (826899, 818760)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draw_bounding_boxes(img, BOXES)
    cases = [
        ((img.numpy(), BOXES), {}, TypeError, "Tensor expected"),
        ((img.int(), BOXES), {}, ValueError, "uint8 or float"),
        ((img[0], BOXES), {}, ValueError, "not batches"),
        ((img[:2], BOXES), {}, ValueError, "grayscale and RGB"),
        ((img, ember.tensor([[5, 5, 1, 1]])), {}, ValueError, "xmin, ymin, xmax, ymax"),
        ((img, BOXES), {"labels": ["a"]}, ValueError, r"boxes \(3\) and labels \(1\)"),
        ((img, BOXES), {"colors": ["red"]}, ValueError, "1 < 3"),
        ((img, BOXES), {"colors": 5}, ValueError, "tuple or a string"),
    ]
    for args, kwargs, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            draw_bounding_boxes(*args, **kwargs)
