"""The per-type kernels of ``transforms.v2.functional`` against torchvision 0.28: every kernel's
answer on seeded inputs, the list of kernel names and their parameters, and the dispatching
functionals serving the built-in types through those kernels (the kernel table).

The scenarios live in ``fixtures/make_v2_kernels.py``; torchvision's answers are recorded in
``fixtures/v2_kernels.json.gz`` (and fetched live when ``EMBER_TORCHVISION_PATH`` is set).
"""

import inspect
import warnings

import pytest

import ember
from ember.vision import tv_tensors
from ember.vision.transforms.v2 import _registry as R
from ember.vision.transforms.v2 import functional as F

from ._v2_recorded import load_recorder

M = load_recorder("make_v2_kernels")
CASES = [c[0] for c in M.CALLS]


def _ember(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return M.run_case(M.ember_lib(), name)


@pytest.mark.parametrize("name", CASES)
def test_kernel_matches_recorded_torchvision(name):
    M.compare(_ember(name), M.recorded()["cases"][name], name)


def test_kernels_match_live_torchvision(tmp_path):
    want = M.live(tmp_path)
    for name in CASES:
        M.compare(_ember(name), want["cases"][name], name)
    assert M.signatures(F) == want["signatures"]


def test_kernel_names_and_parameters_match_torchvision():
    # the same public names ending in _image/_mask/_bounding_boxes/_keypoints/_video, each
    # with torchvision's parameter names in torchvision's order
    want = M.recorded()["signatures"]
    got = M.signatures(F)
    assert sorted(got) == sorted(want)
    assert got == want


def test_functional_parameters_match_torchvision():
    # the table passes a functional's arguments to a kernel by name: both must use
    # torchvision's names (regression: colour factors, *args, jpeg's ``image``)
    assert M.functional_signatures(F) == M.recorded()["functionals"]


def test_every_kernel_is_documented_and_in_all():
    for name in M.signatures(F):
        if name in ("to_image", "to_pil_image"):
            continue
        assert getattr(F, name).__doc__, name
        assert name in F.__all__, name


@pytest.mark.parametrize("functional, cls, kernel", [
    ("resize", tv_tensors.Image, "resize_image"),
    ("resize", ember.Tensor, "resize_image"),
    ("resize", tv_tensors.Video, "resize_video"),
    ("resize", tv_tensors.Mask, "resize_mask"),
    ("resize", tv_tensors.BoundingBoxes, "resize_bounding_boxes"),
    ("resize", tv_tensors.KeyPoints, "resize_keypoints"),
    ("crop", tv_tensors.BoundingBoxes, "crop_bounding_boxes"),
    ("horizontal_flip", tv_tensors.Mask, "horizontal_flip_mask"),
    ("elastic", tv_tensors.KeyPoints, "elastic_keypoints"),
    ("adjust_brightness", tv_tensors.Image, "adjust_brightness_image"),
    ("to_dtype", tv_tensors.Video, "to_dtype_video"),
])
def test_functional_dispatches_through_public_kernel(functional, cls, kernel):
    # the table's entry for a built-in type runs the public kernel (one code path); plain
    # tensors and Images keep the functional's own body, which the image kernel runs too
    entry = R._KERNELS[getattr(F, functional)][cls]
    if cls in (ember.Tensor, tv_tensors.Image):
        assert entry is getattr(F, functional).__wrapped__
        ember.manual_seed(0)
        x = ember.rand(3, 6, 8)
        args = ([3, 4],) if functional == "resize" else (1.3,)
        out = getattr(F, functional)(cls(x) if cls is tv_tensors.Image else x, *args)
        assert type(out) is cls
        assert ember.equal(out.as_subclass(ember.Tensor), getattr(F, kernel)(x, *args))
    else:
        assert entry.kernel is getattr(F, kernel)


def test_kernels_return_plain_tensors_from_tv_tensors():
    img = tv_tensors.Image(ember.rand(3, 6, 8))
    out = F.resize_image(img, [3, 4])
    assert type(out) is ember.Tensor and tuple(out.shape) == (3, 3, 4)
    boxes = tv_tensors.BoundingBoxes([[1.0, 1.0, 5.0, 5.0]], format="XYXY", canvas_size=(6, 8))
    data, canvas = F.crop_bounding_boxes(boxes, boxes.format, 1, 1, 3, 3)
    assert type(data) is ember.Tensor and canvas == (3, 3)
    assert data.tolist() == [[0.0, 0.0, 3.0, 3.0]]


def test_functional_keeps_box_metadata_through_kernel():
    # the entry hands the boxes' format, canvas and clamping mode to the kernel and wraps the
    # answer back (clamping_mode=None: a crop leaves coordinates outside the window)
    boxes = tv_tensors.BoundingBoxes([[1.0, 1.0, 7.0, 5.0]], format="XYXY", canvas_size=(6, 8),
                                     clamping_mode=None)
    out = F.crop(boxes, 2, 2, 3, 3)
    assert type(out) is tv_tensors.BoundingBoxes
    assert (out.format, out.canvas_size, out.clamping_mode) == (boxes.format, (3, 3), None)
    assert out.tolist() == [[-1.0, -1.0, 5.0, 3.0]]
    clamped = F.crop(tv_tensors.wrap(boxes, like=boxes, clamping_mode="soft"), 2, 2, 3, 3)
    assert clamped.tolist() == [[0.0, 0.0, 3.0, 3.0]]


def test_functional_and_kernel_agree_on_mask_and_video():
    mask = tv_tensors.Mask(ember.randint(0, 3, (6, 8)))
    out = F.rotate(mask, 20.0)
    assert type(out) is tv_tensors.Mask
    assert out.tolist() == F.rotate_mask(mask, 20.0).tolist()
    video = tv_tensors.Video(ember.rand(2, 3, 6, 8))
    crops = F.five_crop(video, [2, 3])
    assert all(type(c) is tv_tensors.Video for c in crops)
    assert [c.tolist() for c in crops] == [c.tolist() for c in F.five_crop_video(video, [2, 3])]


def test_colour_functionals_take_torchvision_parameter_names():
    # regression: these functionals named their factor ``factor`` or took ``*args``, so the
    # keyword calls torchvision accepts failed, and the table could not pass them on
    img = tv_tensors.Image(ember.rand(3, 4, 4))
    names = {"adjust_brightness": ["inpt", "brightness_factor"],
             "adjust_contrast": ["inpt", "contrast_factor"],
             "adjust_saturation": ["inpt", "saturation_factor"],
             "adjust_hue": ["inpt", "hue_factor"],
             "adjust_sharpness": ["inpt", "sharpness_factor"],
             "posterize": ["inpt", "bits"], "solarize": ["inpt", "threshold"],
             "adjust_gamma": ["inpt", "gamma", "gain"], "autocontrast": ["inpt"]}
    for name, params in names.items():
        assert list(inspect.signature(getattr(F, name)).parameters) == params, name
    assert F.adjust_brightness(img, brightness_factor=1.0).tolist() == img.tolist()
    assert F.adjust_sharpness(img, sharpness_factor=1.0).shape == img.shape
    assert F.adjust_gamma(img, gamma=1.0, gain=1.0).tolist() == img.tolist()
    u8 = tv_tensors.Image(ember.full((1, 2, 2), 255, dtype=ember.uint8))
    assert F.posterize(u8, bits=2).tolist() == [[[192, 192], [192, 192]]]
    assert F.solarize(img, threshold=1.0).tolist() == img.tolist()


def test_unknown_types_still_refused_after_kernels():
    # the built-in kernels fill only the built-in rows: a mask given to a colour functional
    # is still refused with the table's TypeError
    with pytest.raises(TypeError, match="Functional F.adjust_hue supports inputs"):
        F.adjust_hue(tv_tensors.Mask(ember.zeros(2, 2)), 0.1)


def test_perspective_functional_takes_coefficients():
    # regression: v2's perspective had no ``coefficients`` (torchvision's last parameter); the
    # functional on tv_tensors now agrees with the kernels, which the fixture checks against
    # torchvision
    coeffs = [1.05, 0.1, -0.8, -0.05, 0.95, 1.2, 0.002, -0.003]
    assert list(inspect.signature(F.perspective).parameters) == [
        "inpt", "startpoints", "endpoints", "interpolation", "fill", "coefficients"]
    img = tv_tensors.Image(ember.rand(3, 6, 8))
    out = F.perspective(img, None, None, coefficients=coeffs)
    assert type(out) is tv_tensors.Image
    assert out.tolist() == F.perspective_image(img, None, None, coefficients=coeffs).tolist()
    boxes = tv_tensors.BoundingBoxes([[1.0, 1.0, 5.0, 4.0]], format="XYXY", canvas_size=(6, 8))
    moved = F.perspective(boxes, None, None, coefficients=coeffs)
    want = F.perspective_bounding_boxes(boxes, boxes.format, boxes.canvas_size, None, None,
                                        coefficients=coeffs)
    assert type(moved) is tv_tensors.BoundingBoxes and moved.tolist() == want.tolist()
    with pytest.raises(ValueError, match="Either the startpoints/endpoints"):
        F.perspective(img, None, None)
