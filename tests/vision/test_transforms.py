"""Transforms checked against their definitions: value ranges, shapes, crops on a fixed seed."""

import numpy as np
import pytest

pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

import ember  # noqa: E402
from ember.vision import transforms as T  # noqa: E402
from ember.vision import utils  # noqa: E402
from ember.vision.transforms import functional as F  # noqa: E402


@pytest.fixture
def rgb():
    arr = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    return arr, Image.fromarray(arr)


def test_to_tensor_and_back(rgb):
    arr, img = rgb
    t = T.ToTensor()(img)
    assert t.dtype == ember.float32 and tuple(t.shape) == (3, 12, 16)
    np.testing.assert_allclose(t.numpy(), arr.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    f = np.random.default_rng(1).random((4, 5, 2))
    tf = F.to_tensor(f)  # float arrays keep their values and dtype
    assert tf.dtype == ember.float64
    np.testing.assert_array_equal(tf.numpy(), f.transpose(2, 0, 1))
    p = T.PILToTensor()(img)
    assert p.dtype == ember.uint8
    np.testing.assert_array_equal(p.numpy(), arr.transpose(2, 0, 1))
    back = T.ToPILImage()(t)
    assert back.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(back), arr)
    assert F.to_pil_image(ember.zeros(1, 3, 3)).mode == "L"
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray. Got <class 'list'>"):
        T.ToTensor()([1, 2])


def test_normalize_definition_inplace_and_errors():
    x = ember.tensor(np.random.default_rng(0).random((3, 4, 4)).astype(np.float32))
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    out = T.Normalize(mean, std)(x)
    want = (x.numpy() - np.array(mean, np.float32)[:, None, None]) / np.array(
        std, np.float32)[:, None, None]
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
    assert out is not x
    y = ember.tensor(x.numpy().copy())
    assert T.Normalize(mean, std, inplace=True)(y) is y
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-6)
    with pytest.raises(ValueError, match="std evaluated to zero"):
        F.normalize(x, mean, (1.0, 0.0, 1.0))
    with pytest.raises(TypeError, match="float tensor"):
        F.normalize(ember.zeros(3, 2, 2, dtype=ember.uint8), mean, std)


def test_compose_and_reprs():
    c = T.Compose([T.ToTensor(), T.Normalize(mean=(0.5,), std=(0.5,))])
    assert repr(c) == "Compose(\n    ToTensor()\n    Normalize(mean=(0.5,), std=(0.5,))\n)"
    assert repr(T.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    assert repr(T.CenterCrop(10)) == "CenterCrop(size=(10, 10))"
    assert repr(T.Resize(8)) == ("Resize(size=8, interpolation=bilinear, max_size=None, "
                                 "antialias=True)")
    assert repr(T.ColorJitter(brightness=0.5)) == ("ColorJitter(brightness=(0.5, 1.5), "
                                                   "contrast=None, saturation=None, hue=None)")


@pytest.mark.parametrize("as_tensor", [False, True])
def test_resize_shapes(rgb, as_tensor):
    arr, img = rgb  # h=12, w=16
    x = T.PILToTensor()(img) if as_tensor else img
    out = T.Resize(6)(x)  # shorter side -> 6
    size = tuple(out.shape[-2:]) if as_tensor else out.size[::-1]
    assert size == (6, 8)
    out2 = T.Resize((5, 9))(x)
    assert (tuple(out2.shape[-2:]) if as_tensor else out2.size[::-1]) == (5, 9)


def test_tensor_resize_matches_pil_for_uint8(rgb):
    arr, img = rgb
    pil = np.asarray(F.resize(img, [6, 8])).transpose(2, 0, 1).astype(int)
    ten = F.resize(F.pil_to_tensor(img), [6, 8]).numpy().astype(int)
    assert np.abs(pil - ten).max() <= 1


@pytest.mark.parametrize("as_tensor", [False, True])
def test_crops_flips_and_pad(rgb, as_tensor):
    arr, img = rgb
    x = T.PILToTensor()(img) if as_tensor else img

    def np_of(o):
        return o.numpy().transpose(1, 2, 0) if as_tensor else np.asarray(o)

    np.testing.assert_array_equal(np_of(F.crop(x, 2, 3, 4, 5)), arr[2:6, 3:8])
    np.testing.assert_array_equal(np_of(T.CenterCrop((4, 6))(x)), arr[4:8, 5:11])
    np.testing.assert_array_equal(np_of(F.hflip(x)), arr[:, ::-1])
    np.testing.assert_array_equal(np_of(F.vflip(x)), arr[::-1])
    padded = np_of(T.Pad((1, 2))(x))
    assert padded.shape[:2] == (16, 18)
    np.testing.assert_array_equal(padded[2:14, 1:17], arr)
    assert padded[0].max() == 0
    refl = np_of(F.pad(x, 2, padding_mode="reflect"))
    np.testing.assert_array_equal(refl, np.pad(arr, ((2, 2), (2, 2), (0, 0)), mode="reflect"))
    big = np_of(T.CenterCrop(20)(x))  # larger than the image: zero padded
    assert big.shape[:2] == (20, 20)
    np.testing.assert_array_equal(big[4:16, 2:18], arr)


def test_random_crop_is_seeded_and_within_bounds(rgb):
    arr, img = rgb
    t = T.PILToTensor()(img)
    crop = T.RandomCrop((5, 7))
    ember.manual_seed(0)
    a = crop(t).numpy()
    ember.manual_seed(0)
    b = crop(t).numpy()
    np.testing.assert_array_equal(a, b)
    # the crop is some window of the image
    windows = [(i, j) for i in range(12 - 5 + 1) for j in range(16 - 7 + 1)
               if np.array_equal(arr[i:i + 5, j:j + 7].transpose(2, 0, 1), a)]
    assert windows
    ember.manual_seed(0)
    i, j, h, w = T.RandomCrop.get_params(t, (5, 7))
    assert (i, j) in windows and (h, w) == (5, 7)
    padded = T.RandomCrop(16, padding=4)(t)
    assert tuple(padded.shape) == (3, 16, 16)
    grown = T.RandomCrop((14, 20), pad_if_needed=True)(img)
    assert grown.size == (20, 14)
    with pytest.raises(ValueError, match="larger than input image size"):
        T.RandomCrop(40)(t)


def test_random_flip_probability_and_seed(rgb):
    arr, img = rgb
    assert np.array_equal(np.asarray(T.RandomHorizontalFlip(p=1.0)(img)), arr[:, ::-1])
    assert np.array_equal(np.asarray(T.RandomVerticalFlip(p=0.0)(img)), arr)
    ember.manual_seed(3)
    flips = [T.RandomHorizontalFlip()(img) is not img for _ in range(200)]
    assert 60 < sum(flips) < 140
    with pytest.raises(TypeError, match="PIL Image or a Tensor.*got list"):
        T.RandomHorizontalFlip(p=1.0)([1])


def test_random_resized_crop_and_rotation_shapes(rgb):
    arr, img = rgb
    ember.manual_seed(0)
    out = T.RandomResizedCrop(8)(img)
    assert out.size == (8, 8)
    i, j, h, w = T.RandomResizedCrop.get_params(img, (0.5, 1.0), (0.75, 4 / 3))
    assert 0 <= i and i + h <= 12 and 0 <= j and j + w <= 16
    assert 0.5 * 192 * 0.8 <= h * w <= 192
    t = T.ToTensor()(img)
    assert tuple(T.RandomResizedCrop((6, 4))(t).shape) == (3, 6, 4)
    rot = F.rotate(img, 90, expand=True)
    assert rot.size == (12, 16)
    np.testing.assert_array_equal(np.asarray(rot), np.rot90(arr))
    np.testing.assert_array_equal(F.rotate(F.pil_to_tensor(img), 90, expand=True).numpy(),
                                  np.rot90(arr).transpose(2, 0, 1))
    assert T.RandomRotation(30)(img).size == (16, 12)


def test_color_adjustments_follow_definitions(rgb):
    arr, img = rgb
    t = T.ToTensor()(img)
    x = t.numpy()
    np.testing.assert_allclose(F.adjust_brightness(t, 0.5).numpy(), x * 0.5, rtol=1e-6)
    np.testing.assert_allclose(F.adjust_brightness(t, 2.0).numpy(), np.clip(x * 2, 0, 1),
                               rtol=1e-6)
    gray = (0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2])
    np.testing.assert_allclose(F.rgb_to_grayscale(t).numpy()[0], gray, rtol=1e-5)
    np.testing.assert_allclose(F.adjust_contrast(t, 0.0).numpy(),
                               np.full_like(x, gray.mean()), rtol=1e-5)
    np.testing.assert_allclose(F.adjust_saturation(t, 0.0).numpy(),
                               np.broadcast_to(gray, x.shape), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.adjust_hue(t, 0.0).numpy(), x, atol=1e-5)
    shifted = F.adjust_hue(F.adjust_hue(t, 0.25), -0.25).numpy()
    np.testing.assert_allclose(shifted, x, atol=1e-5)
    red = ember.tensor(np.array([1.0, 0.0, 0.0], np.float32).reshape(3, 1, 1))
    np.testing.assert_allclose(F.adjust_hue(red, 1 / 3).numpy().ravel(), [0, 1, 0], atol=1e-6)
    assert F.adjust_brightness(img, 0.0).getextrema() == ((0, 0), (0, 0), (0, 0))
    assert T.Grayscale()(img).mode == "L" and T.Grayscale(3)(img).mode == "RGB"
    ember.manual_seed(0)
    jit = T.ColorJitter(0.4, 0.4, 0.4, 0.1)(t)
    assert tuple(jit.shape) == (3, 12, 16) and 0 <= jit.numpy().min() and jit.numpy().max() <= 1
    with pytest.raises(ValueError, match="hue_factor"):
        F.adjust_hue(t, 0.7)


def test_random_apply_choice_lambda_erasing():
    x = ember.ones(3, 10, 10)
    assert T.RandomApply([T.Lambda(lambda v: v * 2)], p=1.0)(x).numpy().max() == 2.0
    assert T.RandomApply([T.Lambda(lambda v: v * 2)], p=0.0)(x) is x
    picks = {float(T.RandomChoice([T.Lambda(lambda v: 1), T.Lambda(lambda v: 2)])(x))
             for _ in range(40)}
    assert picks == {1.0, 2.0}
    ember.manual_seed(0)
    er = T.RandomErasing(p=1.0, value=0)(x).numpy()
    zeros = er == 0
    assert 0 < zeros.sum() < 300 and x.numpy().min() == 1.0  # not in place
    rows, cols = np.nonzero(zeros[0])
    assert zeros[:, rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()  # a rectangle
    with pytest.raises(TypeError, match="after ToTensor"):
        T.RandomErasing(p=1.0)(Image.new("RGB", (4, 4)))


def test_make_grid_layout_and_save_image(tmp_path):
    batch = ember.tensor(np.arange(5, dtype=np.float32).reshape(5, 1, 1, 1) * np.ones(
        (5, 1, 2, 3), np.float32) / 4)
    grid = utils.make_grid(batch, nrow=3, padding=1, pad_value=0.5)
    g = grid.numpy()
    assert g.shape == (3, 1 + 2 * 3, 1 + 3 * 4)
    np.testing.assert_array_equal(g[:, 1:3, 1:4], 0.0)
    np.testing.assert_array_equal(g[:, 4:6, 5:8], 1.0)  # image 4: second row, second column
    assert g[0, 0, 0] == 0.5 and g[0, 4, 9] == 0.5  # padding and the missing 6th cell
    norm = utils.make_grid(batch * 8 - 3, normalize=True, padding=0, nrow=5)
    assert norm.numpy().min() == 0.0 and norm.numpy().max() == 1.0
    path = tmp_path / "grid.png"
    utils.save_image(batch, str(path), nrow=3, padding=1)
    saved = np.asarray(Image.open(path))
    assert saved.shape == (7, 13, 3)
    assert saved[1, 1, 0] == 0 and saved[4, 5, 0] == 255 and saved[1, 5, 0] == 64
