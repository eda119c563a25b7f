"""``utils.draw_segmentation_masks`` against values torchvision 0.28 printed (torchvision
cannot be installed beside the torch oracle, so its answers are written here)."""

import numpy as np
import pytest

import ember
from ember.vision.utils import draw_segmentation_masks

IMG = ember.tensor([[[10, 200], [255, 0]], [[0, 50], [100, 150]], [[30, 60], [90, 120]]],
                   dtype=ember.uint8)
MASKS = ember.tensor([[[True, False], [True, True]], [[False, False], [True, False]]])


def test_colours_alpha_and_black_overlap():
    out = draw_segmentation_masks(IMG, MASKS, alpha=0.8, colors=[(255, 0, 0), (0, 0, 255)])
    assert out.dtype == ember.uint8
    assert out.tolist() == [[[206, 200], [51, 204]], [[0, 50], [20, 30]], [[6, 60], [18, 24]]]
    out = draw_segmentation_masks(IMG, MASKS, alpha=0.3, colors=["red", "#00ff80"])
    assert out.tolist() == [[[83, 200], [178, 76]], [[0, 50], [70, 105]], [[21, 60], [63, 84]]]
    out = draw_segmentation_masks(IMG, MASKS[0], alpha=0.5, colors="green")
    assert out.tolist() == [[[5, 200], [127, 0]], [[64, 50], [114, 139]], [[15, 60], [45, 60]]]


def test_default_palette():
    img = ember.full((3, 1, 4), 100, dtype=ember.uint8)
    masks = ember.eye(6, dtype=ember.bool)[:, None, :4]
    out = draw_segmentation_masks(img, masks, alpha=1.0)
    assert out.tolist() == [[[0, 1, 2, 3]], [[0, 127, 254, 126]], [[0, 31, 62, 93]]]


def test_float_image_and_uint8_truncation():
    out = draw_segmentation_masks(IMG.float() / 255, MASKS, alpha=0.5,
                                  colors=[(255, 0, 0), (0, 0, 255)])
    assert out.dtype == ember.float32
    np.testing.assert_allclose(out.numpy(), [[[0.5196078, 0.7843137], [0.5, 0.5]],
                                             [[0.0, 0.1960784], [0.1960784, 0.2941177]],
                                             [[0.0588235, 0.2352941], [0.1764706, 0.2352941]]],
                               rtol=1e-6)
    img = ember.tensor([3, 6, 7, 29, 53, 58, 100, 200, 10, 20, 30, 40],
                       dtype=ember.uint8).reshape(3, 2, 2)
    mask = ember.tensor([[True, False], [False, False]])
    # unmasked pixels are blended too, so float32 rounding can take 1 off them (6 -> 5)
    assert draw_segmentation_masks(img, mask, alpha=0.1, colors=(3, 29, 53)).flatten().tolist() \
        == [2, 5, 6, 28, 50, 57, 100, 200, 14, 20, 30, 40]
    assert draw_segmentation_masks(img, mask, alpha=0.35, colors=(3, 29, 53)).flatten().tolist() \
        == [3, 6, 7, 28, 44, 57, 100, 200, 25, 20, 30, 40]


def test_errors():
    img = ember.full((3, 2, 2), 100, dtype=ember.uint8)
    m = ember.ones(2, 2, dtype=ember.bool)
    with pytest.raises(TypeError, match="must be a tensor"):
        draw_segmentation_masks(img.numpy(), m)
    with pytest.raises(ValueError, match="uint8 or float"):
        draw_segmentation_masks(img.int(), m)
    with pytest.raises(ValueError, match="not batches"):
        draw_segmentation_masks(img[0], m)
    with pytest.raises(ValueError, match="RGB"):
        draw_segmentation_masks(img[:2], m)
    with pytest.raises(ValueError, match="of dtype bool"):
        draw_segmentation_masks(img, m.int())
    with pytest.raises(ValueError, match="same height and width"):
        draw_segmentation_masks(img, m[:, :1])
    with pytest.raises(ValueError, match="1 < 2"):
        draw_segmentation_masks(img, ember.stack([m, m]), colors=[(1, 2, 3)])
    with pytest.raises(ValueError, match="tuple or a string"):
        draw_segmentation_masks(img, m, colors=5)
    with pytest.warns(UserWarning, match="No mask was drawn"):
        out = draw_segmentation_masks(img, ember.zeros(0, 2, 2, dtype=ember.bool))
    assert out.tolist() == img.tolist()
