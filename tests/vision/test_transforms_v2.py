"""``ember.vision.transforms.v2`` and ``tv_tensors`` against torchvision 0.28's answers.

The cases (samples, transforms, seeds) live in ``fixtures/make_transforms_v2.py``, which ran
them under torchvision and stored the outputs in ``fixtures/transforms_v2.npz``; here the same
code runs under ember and every leaf must match: value, dtype, tv_tensor type, box format and
canvas, and for seeded cases the next ``rand(1)`` (so ember draws as many numbers as
torchvision). Then a few properties torchvision shows directly (types through tensor ops,
errors) are checked against values probed from it.
"""

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.vision import tv_tensors
from ember.vision.transforms import v2
from ember.vision.transforms.v2 import functional as F

from ._v2_recorded import check_case, load_recorder

M = load_recorder("make_transforms_v2")
EXPECTED = M.load()
LIB = (ember, v2, tv_tensors)


@pytest.mark.parametrize("name,seeded,build", M.CASES, ids=[c[0] for c in M.CASES])
def test_matches_torchvision(name, seeded, build):
    check_case(M, EXPECTED, LIB, name, seeded, build)


def test_fixture_is_small():
    assert (Path(__file__).parent / "fixtures" / "transforms_v2.npz").stat().st_size < 200_000


# --- tv_tensors behaviour (probed from torchvision 0.28) ---------------------------------------

def _boxes():
    return tv_tensors.BoundingBoxes([[1, 2, 3, 4]], format="XYXY", canvas_size=(10, 20))


def test_tensor_ops_return_plain_tensors_but_clone_to_detach_keep_type():
    im = tv_tensors.Image(ember.zeros(3, 4, 5))
    for out in (im + 1, im[0], im.flip(-1)):
        assert type(out) is ember.Tensor
    for out in (im.clone(), im.to(ember.float64), im.detach()):
        assert type(out) is tv_tensors.Image
    b = _boxes()
    c = b.clone()
    assert type(c) is tv_tensors.BoundingBoxes and c.canvas_size == (10, 20)
    assert c.format is tv_tensors.BoundingBoxFormat.XYXY


def test_constructors_and_repr():
    assert tv_tensors.Image(ember.zeros(4, 5)).shape == (1, 4, 5)
    assert tv_tensors.Image(ember.zeros(1, 2, 4, 5)).shape == (1, 2, 4, 5)
    b = _boxes()
    assert b.dtype == ember.int64 and b.clamping_mode == "soft"
    assert repr(b) == ("BoundingBoxes([[1, 2, 3, 4]], format=BoundingBoxFormat.XYXY, "
                       "canvas_size=(10, 20), clamping_mode=soft)")
    assert repr(tv_tensors.Mask(ember.zeros(2, 2, dtype=ember.uint8))) == (
        "Mask([[0, 0],\n      [0, 0]], dtype=torch.uint8)")
    assert repr(tv_tensors.Image(ember.zeros(1, 1, 2, dtype=ember.uint8))) == (
        "Image([[[0, 0]]], dtype=torch.uint8, )")
    assert tv_tensors.BoundingBoxFormat["CXCYWH"].value == "CXCYWH"
    with pytest.raises(ValueError, match="Tensor must be 2D or higher, got 1D tensor."):
        tv_tensors.Image(ember.zeros(3))
    with pytest.raises(ValueError):
        tv_tensors.Video(ember.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="Expected a 1D or 2D tensor, got 0D"):
        tv_tensors.BoundingBoxes(ember.zeros(()), format="XYXY", canvas_size=(1, 1))
    with pytest.raises(KeyError):
        tv_tensors.BoundingBoxes(ember.zeros(1, 4), format="abc", canvas_size=(1, 1))


def test_wrap_copy_and_pickle_keep_metadata():
    b = _boxes()
    w = tv_tensors.wrap(b + 1, like=b)
    assert type(w) is tv_tensors.BoundingBoxes and w.canvas_size == (10, 20)
    assert w.tolist() == [[2, 3, 4, 5]]
    for other in (copy.deepcopy(b), pickle.loads(pickle.dumps(b))):
        assert type(other) is tv_tensors.BoundingBoxes and other.canvas_size == (10, 20)
        assert other.tolist() == b.tolist()


def test_transforms_preserve_structure_and_types():
    img = tv_tensors.Image(ember.zeros(3, 4, 4))
    out = v2.RandomHorizontalFlip(p=1.0)({"a": [img, 3, "x"], "b": (img,)})
    assert type(out["a"]) is list and type(out["b"]) is tuple
    assert type(out["a"][0]) is tv_tensors.Image and out["a"][1:] == [3, "x"]
    assert type(v2.Resize(2)(ember.zeros(3, 4, 4))) is ember.Tensor
    assert type(v2.ToImage()(ember.zeros(3, 4, 4))) is tv_tensors.Image
    assert v2.Compose([v2.Identity()])(1, 2) == (1, 2)


def test_errors_match_torchvision():
    from PIL import Image as PILImage

    with pytest.raises(TypeError, match=r"Normalize\(\) does not support PIL images"):
        v2.Normalize([0.5], [0.5])(PILImage.new("L", (2, 2)))
    boxes = tv_tensors.BoundingBoxes([[0, 0, 20, 10]], format="XYXY", canvas_size=(10, 20))
    with pytest.raises(ValueError, match="Could not infer where the labels are"):
        v2.SanitizeBoundingBoxes()({"boxes": boxes})
    with pytest.raises(ValueError, match="must be a dictionary or a two-tuple"):
        v2.SanitizeBoundingBoxes()(boxes)
    assert v2.SanitizeBoundingBoxes(labels_getter=None)(boxes).tolist() == [[0, 0, 20, 10]]
    with pytest.raises(ValueError, match="have to be passed"):
        F.clamp_bounding_boxes(ember.zeros(1, 4), format="XYXY", canvas_size=(2, 2))


def test_clamping_mode_none_leaves_boxes_unclamped():
    b = tv_tensors.BoundingBoxes([[-3.0, -2.0, 4.0, 30.0]], format="XYXY", canvas_size=(10, 20),
                                 clamping_mode=None)
    # torchvision 0.28: neither crop nor ClampBoundingBoxes clamps such boxes
    assert F.crop(b, 1, 1, 5, 5).tolist() == [[-4.0, -3.0, 3.0, 29.0]]
    assert v2.ClampBoundingBoxes()(b).tolist() == [[-3.0, -2.0, 4.0, 30.0]]
    assert F.clamp_bounding_boxes(b, clamping_mode="hard").tolist() == [[0.0, 0.0, 4.0, 10.0]]


def test_reprs():
    assert repr(v2.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    assert repr(v2.Resize(3)) == "Resize(size=[3], interpolation=bilinear, antialias=True)"
    assert repr(v2.ClampBoundingBoxes()) == "ClampBoundingBoxes(clamping_mode=auto)"
    assert repr(v2.Compose([v2.Identity(), v2.ToDtype(ember.float32, scale=True)])) == (
        "Compose(\n      Identity()\n      ToDtype(scale=True)\n)")


@pytest.mark.parametrize("mode,antialias", [("bilinear", True), ("bilinear", False),
                                            ("bicubic", True)])
def test_uint8_resize_matches_torch_interpolate(mode, antialias):
    # torchvision resizes uint8 tensors with torch's uint8 kernels; compare with them directly
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    interp = {"bilinear": v2.InterpolationMode.BILINEAR, "bicubic": v2.InterpolationMode.BICUBIC}
    for _ in range(40):
        c = int(rng.integers(1, 4))
        h, w, oh, ow = (int(v) for v in rng.integers(1, 30, 4))
        a = rng.integers(0, 256, (c, h, w), dtype=np.uint8)
        want = torch.nn.functional.interpolate(torch.from_numpy(a)[None], (oh, ow), mode=mode,
                                               antialias=antialias, align_corners=False)[0]
        got = F.resize(tv_tensors.Image(ember.from_numpy(a)), [oh, ow], interp[mode],
                       antialias=antialias)
        np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=f"{(c, h, w, oh, ow)}")


def test_custom_transform_subclass_draws_once_per_call():
    class Shift(v2.Transform):
        def make_params(self, flat_inputs):
            return {"dx": int(ember.randint(0, 5, (1,)).item())}

        def transform(self, inpt, params):
            if isinstance(inpt, tv_tensors.BoundingBoxes):
                return tv_tensors.wrap(inpt + params["dx"], like=inpt)
            return inpt

    boxes = tv_tensors.BoundingBoxes([[0, 0, 1, 1]], format="XYXY", canvas_size=(4, 4))
    ember.manual_seed(0)
    out = Shift()({"a": boxes, "b": boxes})
    ember.manual_seed(0)
    dx = int(ember.randint(0, 5, (1,)).item())
    assert out["a"].tolist() == out["b"].tolist() == [[dx, dx, dx + 1, dx + 1]]
    assert type(out["a"]) is tv_tensors.BoundingBoxes
