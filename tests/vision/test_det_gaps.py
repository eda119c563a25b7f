"""Detection-pipeline gaps found by the ``det_*`` programs, checked against torchvision 0.28's
answers (probed with torchvision 0.28.0 beside torch 2.13 and written down here, since the test
oracle has no torchvision of its own)."""

import pytest

import ember
from ember.vision import tv_tensors
from ember.vision.transforms import v2


def _sample():
    img = tv_tensors.Image(ember.arange(2 * 4 * 6, dtype=ember.uint8).reshape(2, 4, 6))
    boxes = tv_tensors.BoundingBoxes([[1, 1, 3, 3], [0, 0, 6, 4]], format="XYXY",
                                     canvas_size=(4, 6))
    mask = tv_tensors.Mask(ember.ones(4, 6, dtype=ember.uint8))
    return img, boxes, mask


# seed -> (canvas (H, W), left, top), as torchvision 0.28 draws them for side_range=(1, 2)
ZOOM_OUT = {0: ((7, 10), 0, 0), 1: ((5, 7), 0, 0), 2: ((5, 8), 1, 0)}


@pytest.mark.parametrize("seed", sorted(ZOOM_OUT))
def test_random_zoom_out_matches_torchvision(seed):
    img, boxes, mask = _sample()
    zoom = v2.RandomZoomOut(fill={tv_tensors.Image: 7, "others": 0}, side_range=(1.0, 2.0),
                            p=1.0)
    ember.manual_seed(seed)
    out_img, out_boxes, out_mask = zoom(img, boxes, mask)
    (h, w), left, top = ZOOM_OUT[seed]
    assert type(out_img) is tv_tensors.Image and type(out_mask) is tv_tensors.Mask
    assert tuple(out_img.shape) == (2, h, w) and tuple(out_mask.shape) == (h, w)
    assert ember.equal(out_img[:, top:top + 4, left:left + 6], img)
    outside = ember.ones(h, w, dtype=ember.bool)
    outside[top:top + 4, left:left + 6] = False
    assert bool((out_img[:, outside] == 7).all())  # the Image's fill from the dict
    assert int(out_mask.sum()) == 24  # "others" fill 0 for the mask
    assert out_boxes.canvas_size == (h, w)
    assert out_boxes.tolist() == [[1 + left, 1 + top, 3 + left, 3 + top],
                                  [left, top, 6 + left, 4 + top]]


def test_random_zoom_out_probability_and_plain_tensor():
    # p=0.5, seed 0: rand 0.4963 < 0.5 applies; ratio 1 + 0.7682 * 3 gives a 13 x 19 canvas
    ember.manual_seed(0)
    assert tuple(v2.RandomZoomOut(p=0.5)(_sample()[0]).shape) == (2, 13, 19)
    x = ember.arange(24.0).reshape(1, 4, 6)
    boxes = tv_tensors.BoundingBoxes([[1, 1, 3, 3.0]], format="XYXY", canvas_size=(4, 6))
    ember.manual_seed(0)
    out, out_boxes = v2.RandomZoomOut(fill=[9.0], p=1)(x, boxes)
    assert type(out) is ember.Tensor and tuple(out.shape) == (1, 13, 19)
    assert out[0, :3, :3].tolist() == [[9, 9, 9], [9, 0, 1], [9, 6, 7]]
    assert out_boxes.tolist() == [[2, 2, 4, 4]] and out_boxes.canvas_size == (13, 19)
    ember.manual_seed(0)
    rgb = v2.RandomZoomOut(fill=[1.0, 2.0, 3.0], p=1)(tv_tensors.Image(ember.ones(3, 4, 6)))
    assert rgb[:, -1, -1].tolist() == [1, 2, 3]


def test_random_zoom_out_repr_and_errors():
    assert repr(v2.RandomZoomOut()) == "RandomZoomOut(p=0.5, fill=0, side_range=(1.0, 4.0))"
    assert (repr(v2.RandomZoomOut(fill=[1, 2, 3], side_range=(1, 3), p=0.3))
            == "RandomZoomOut(p=0.3, fill=[1, 2, 3], side_range=(1, 3))")
    assert (repr(v2.RandomZoomOut(fill={tv_tensors.Image: 7}, side_range=(1.0, 2.0), p=1.0))
            == "RandomZoomOut(p=1.0, side_range=(1.0, 2.0))")
    with pytest.raises(ValueError, match=r"Invalid side range provided \(0.5, 2\)."):
        v2.RandomZoomOut(side_range=(0.5, 2))
    with pytest.raises(ValueError, match="Invalid side range"):
        v2.RandomZoomOut(side_range=(2, 1))
    with pytest.raises(ValueError, match="`p` should be"):
        v2.RandomZoomOut(p=2)


def test_convert_bounding_box_format_transform():
    img, boxes, _ = _sample()
    tf = v2.ConvertBoundingBoxFormat("CXCYWH")
    assert repr(tf) == "ConvertBoundingBoxFormat(format=CXCYWH)"
    out = tf({"image": img, "boxes": boxes})
    assert out["image"] is img
    assert out["boxes"].format == tv_tensors.BoundingBoxFormat.CXCYWH
    assert out["boxes"].tolist() == [[2, 2, 2, 2], [3, 2, 6, 4]]
    assert out["boxes"].canvas_size == (4, 6)
    xywh = v2.ConvertBoundingBoxFormat(tv_tensors.BoundingBoxFormat.XYWH)(boxes)
    assert xywh.tolist() == [[1, 1, 2, 2], [0, 0, 6, 4]]
    fb = tv_tensors.BoundingBoxes([[1, 1, 3, 3.0]], format="XYXY", canvas_size=(4, 6))
    lower = v2.ConvertBoundingBoxFormat("cxcywh")
    assert repr(lower) == "ConvertBoundingBoxFormat(format=cxcywh)"
    assert lower(fb).tolist() == [[2.0, 2.0, 2.0, 2.0]]
    # a plain tensor (taken for the image) passes through untouched
    x = ember.zeros(1, 4, 6)
    assert v2.ConvertBoundingBoxFormat("XYWH")(x, fb)[0] is x


def test_sanitize_bounding_boxes_repr_names_default_getter():
    assert (repr(v2.SanitizeBoundingBoxes())
            == "SanitizeBoundingBoxes(min_size=1.0, min_area=1.0, labels_getter=default)")
    assert (repr(v2.SanitizeBoundingBoxes(labels_getter=None))
            == "SanitizeBoundingBoxes(min_size=1.0, min_area=1.0)")
    assert (repr(v2.SanitizeBoundingBoxes(min_size=3.0, min_area=2, labels_getter=lambda s: s))
            == "SanitizeBoundingBoxes(min_size=3.0, min_area=2)")
