"""``tv_tensors.KeyPoints``, the key-point kernels of ``transforms.v2.functional``,
``ClampKeyPoints`` / ``SanitizeKeyPoints`` and the v2 transforms that carry key points, against
torchvision 0.28's answers.

The cases live in ``fixtures/make_keypoints.py``, which ran them under torchvision and stored
the outputs in ``fixtures/keypoints.npz``; here the same code runs under ember and every leaf
must match (value, dtype, type, canvas size), and for seeded cases (seeds 0..5) the next
``rand(1)`` too, so ember draws as many numbers as torchvision.
"""

import pytest

import ember
from ember.vision import tv_tensors
from ember.vision.transforms import v2

from ._v2_recorded import check_case, load_recorder

M = load_recorder("make_keypoints")
EXPECTED = M.load()
LIB = (ember, v2, tv_tensors)


@pytest.mark.parametrize("name,seeded,build", M.CASES, ids=[c[0] for c in M.CASES])
def test_matches_torchvision(name, seeded, build):
    check_case(M, EXPECTED, LIB, name, seeded, build)


def test_keypoints_keep_type_through_clone_and_lose_it_through_arithmetic():
    kp = tv_tensors.KeyPoints([[1.0, 2.0]], canvas_size=(10, 20))
    assert type(kp.clone()) is tv_tensors.KeyPoints and kp.clone().canvas_size == (10, 20)
    assert type(kp * 2) is ember.Tensor
    assert isinstance(kp, tv_tensors.TVTensor)


def test_flip_twice_is_identity_and_moves_pixels_with_the_image():
    # a point on pixel (x, y) follows that pixel's value through the flip
    img = ember.zeros(1, 4, 6)
    img[0, 1, 2] = 1.0
    kp = tv_tensors.KeyPoints([[2, 1]], canvas_size=(4, 6))
    out_img, out_kp = v2.RandomHorizontalFlip(p=1.0)(tv_tensors.Image(img), kp)
    x, y = out_kp[0].tolist()
    assert out_img[0, y, x].item() == 1.0
    assert ember.equal(v2.functional.horizontal_flip(out_kp), kp)
