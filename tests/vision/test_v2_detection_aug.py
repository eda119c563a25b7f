"""``RandomPhotometricDistort``, ``RandomIoUCrop``, ``ScaleJitter``, ``RandomShortestSize`` and
``RandomResize`` (``transforms.v2``) against torchvision 0.28's answers.

The cases live in ``fixtures/make_v2_detection_aug.py``, which ran them under torchvision and
stored the outputs in ``fixtures/v2_detection_aug.npz``: each tv_tensor kind (uint8 and float
``Image``, plain tensor, PIL image, ``Video``, one-channel image) with boxes in every format,
masks and labels, several canvas sizes, seeds 0..5. Here the same code runs under ember and
every leaf must match (value, dtype, type, canvas size, box format), and the next ``rand(1)``
too, so ember draws as many numbers, in the same order, as torchvision.
"""

from pathlib import Path

import numpy as np
import pytest

import ember
from ember.vision import tv_tensors
from ember.vision.transforms import v2

from ._v2_recorded import check_case, load_recorder

M = load_recorder("make_v2_detection_aug")
EXPECTED = M.load()
LIB = (ember, v2, tv_tensors)


@pytest.mark.parametrize("name,seeded,build", M.CASES, ids=[c[0] for c in M.CASES])
def test_matches_torchvision(name, seeded, build):
    check_case(M, EXPECTED, LIB, name, seeded, build)


def test_fixtures_are_small():
    fx = Path(__file__).parent / "fixtures"
    assert sum((fx / n).stat().st_size for n in ("v2_detection_aug.npz", "keypoints.npz")) \
        < 250_000


def _count_draws(fn, seed=0) -> int:
    """How many ``rand(1)`` steps of the global generator ``fn`` consumed."""
    ember.manual_seed(seed)
    fn()
    after = ember.get_rng_state()
    for k in range(64):
        ember.manual_seed(seed)
        for _ in range(k):
            ember.rand(1)
        if ember.equal(ember.get_rng_state(), after):
            return k
    raise AssertionError("more than 63 draws")


def test_photometric_distort_draws_six_coins_and_only_the_factors_it_uses():
    # torchvision 0.28 (probed): p=0 draws the six coins only; p=1 adds four factors and
    # randperm(3) (two steps)
    img = tv_tensors.Image(ember.zeros(3, 4, 4))
    assert _count_draws(lambda: v2.RandomPhotometricDistort(p=0.0)(img)) == 6
    assert _count_draws(lambda: v2.RandomPhotometricDistort(p=1.0)(img)) == 12


def test_iou_crop_zeroes_boxes_whose_centre_left_the_window():
    img = tv_tensors.Image(ember.zeros(3, 40, 40))
    boxes = tv_tensors.BoundingBoxes([[0, 0, 4, 4], [16, 16, 24, 24]], format="XYXY",
                                     canvas_size=(40, 40))
    for seed in range(10):
        ember.manual_seed(seed)
        out_img, out = v2.RandomIoUCrop()(img, boxes)
        h, w = out.canvas_size
        assert tuple(out_img.shape[-2:]) == (h, w)
        data = out.numpy()
        kept = data[np.any(data != 0, axis=1)]
        # surviving boxes lie inside the window (crop clamps them)
        assert (kept[:, [0, 2]] <= w).all() and (kept[:, [1, 3]] <= h).all()


def test_v2_hue_scales_uint8_like_torchvision_v2():
    # regression: v2's adjust_hue enters float as x * float32(1/255), not x / 255 (v1's way);
    # torchvision 0.28 v2 gives 154 for this pixel, v1 (and ember before the fix) 153
    pixel = ember.tensor([136, 78, 192], dtype=ember.uint8).reshape(3, 1, 1)
    out = v2.functional.adjust_hue(tv_tensors.Image(pixel), 0.025437194854021072)
    assert out.flatten().tolist() == [154, 78, 192]
    assert type(out) is tv_tensors.Image
