"""ember.vision.io against torchvision.io's documented behaviour, checked with Pillow and NumPy.

torchvision cannot be installed beside torch 2.13 here, so the expectations come from its
documentation and decoder sources: uint8 (C, H, W) tensors, the channels each ImageReadMode
gives per format, libpng's gray formula, its error messages.
"""

import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

pytest.importorskip("PIL")
from PIL import Image, ImageOps  # noqa: E402

import ember  # noqa: E402
from ember.vision import io as vio  # noqa: E402
from ember.vision.io import ImageReadMode  # noqa: E402

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (6, 9, 3), dtype=np.uint8)
ALPHA = RNG.integers(0, 256, (6, 9), dtype=np.uint8)


def _bytes(img: Image.Image, fmt: str, **kw) -> ember.Tensor:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return ember.tensor(list(buf.getvalue()), dtype=ember.uint8)


def _chw(arr: np.ndarray) -> np.ndarray:
    return (arr[..., None] if arr.ndim == 2 else arr).transpose(2, 0, 1)


def _libpng_gray(rgb: np.ndarray) -> np.ndarray:
    # png_set_rgb_to_gray(png, 1, 0.2989, 0.587): 15-bit coefficients, truncated sum
    rc, gc = 29890 * 32768 // 100000, 58700 * 32768 // 100000
    r, g, b = (rgb[..., k].astype(np.int64) for k in range(3))
    return ((rc * r + gc * g + (32768 - rc - gc) * b) >> 15).astype(np.uint8)


def test_image_read_mode_matches_torchvision():
    assert [(m.name, m.value) for m in ImageReadMode] == [
        ("UNCHANGED", 0), ("GRAY", 1), ("GRAY_ALPHA", 2), ("RGB", 3), ("RGB_ALPHA", 4)]
    assert ImageReadMode.RGBA is ImageReadMode.RGB_ALPHA
    data = _bytes(Image.fromarray(RGB), "PNG")
    for name in ("rgb", "RGB", "Rgb"):
        assert vio.decode_image(data, mode=name).shape == (3, 6, 9)
    with pytest.raises(KeyError):
        vio.decode_image(data, mode="CMYK")


@pytest.mark.parametrize("channels", [1, 3])
def test_png_round_trip_is_exact(tmp_path, channels):
    img = ember.from_numpy(np.ascontiguousarray(_chw(RGB)[:channels]))
    path = tmp_path / "x.png"
    vio.write_png(img, path, compression_level=9)
    for out in (vio.read_image(path), vio.read_image(str(path)), vio.decode_image(path),
                vio.decode_png(vio.read_file(path))):
        assert out.dtype == ember.uint8 and tuple(out.shape) == (channels, 6, 9)
        assert out.is_contiguous()
        np.testing.assert_array_equal(out.numpy(), img.numpy())
    # the file is an ordinary PNG
    np.testing.assert_array_equal(_chw(np.asarray(Image.open(path))), img.numpy())


def _png_cases():
    pal = Image.fromarray(RGB).quantize(8)
    pal_t = pal.copy()
    pal_t.info["transparency"] = 3
    return {
        "L": Image.fromarray(RGB[..., 0]),
        "1": Image.fromarray(RGB[..., 0] > 127),
        "LA": Image.fromarray(np.dstack([RGB[..., 0], ALPHA]), "LA"),
        "RGB": Image.fromarray(RGB),
        "RGBA": Image.fromarray(np.dstack([RGB, ALPHA]), "RGBA"),
        "P": pal,
        "P_trns": pal_t,
    }


def _expected_png(img: Image.Image, name: str, mode: ImageReadMode) -> np.ndarray:
    """torchvision's decode_png per libpng's transforms, computed from Pillow's arrays."""
    if name == "1":
        img, name = img.convert("L"), "L"
    stored = np.asarray(img)
    if mode is ImageReadMode.UNCHANGED:
        return _chw(stored)  # a palette image gives its indices
    if name.startswith("P"):
        rgba = np.asarray(img.convert("RGBA"))
        color, alpha = rgba[..., :3], rgba[..., 3]
    elif name in ("RGB", "RGBA"):
        color = stored[..., :3]
        alpha = stored[..., 3] if name == "RGBA" else np.full(stored.shape[:2], 255, np.uint8)
    else:
        color = stored if name == "L" else stored[..., 0]
        alpha = stored[..., 1] if name == "LA" else np.full(stored.shape[:2], 255, np.uint8)
    gray = color if color.ndim == 2 else _libpng_gray(color)
    rgb = color if color.ndim == 3 else np.repeat(color[..., None], 3, -1)
    return _chw({ImageReadMode.GRAY: gray, ImageReadMode.GRAY_ALPHA: np.dstack([gray, alpha]),
                 ImageReadMode.RGB: rgb, ImageReadMode.RGB_ALPHA: np.dstack([rgb, alpha])}[mode])


@pytest.mark.parametrize("mode", list(ImageReadMode))
@pytest.mark.parametrize("name", list(_png_cases()))
def test_png_modes(name, mode):
    img = _png_cases()[name]
    got = vio.decode_png(_bytes(img, "PNG"), mode)
    want = _expected_png(img, name, mode)
    assert got.dtype == ember.uint8
    assert tuple(got.shape) == want.shape
    np.testing.assert_array_equal(got.numpy(), want)
    channels = {ImageReadMode.GRAY: 1, ImageReadMode.GRAY_ALPHA: 2, ImageReadMode.RGB: 3,
                ImageReadMode.RGB_ALPHA: 4}
    if mode in channels:
        assert got.shape[0] == channels[mode]


def test_png_gray_of_equal_channels_is_that_value():
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    img = Image.fromarray(np.repeat(gray[..., None], 3, -1))
    out = vio.decode_png(_bytes(img, "PNG"), ImageReadMode.GRAY)
    np.testing.assert_array_equal(out.numpy()[0], gray)


def _png_16bit() -> ember.Tensor:
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\0" + bytes(4) for _ in range(2))  # 2x2 gray, 16 bits, filter 0
    raw = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 16, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return ember.tensor(list(raw), dtype=ember.uint8)


def test_16_bit_png_raises_naming_uint16():
    with pytest.raises(RuntimeError, match="uint16"):
        vio.decode_image(_png_16bit())


def test_jpeg_modes_and_layout(tmp_path):
    data = _bytes(Image.fromarray(RGB), "JPEG", quality=95)
    raw = bytes(data.numpy())
    ref = np.asarray(Image.open(io.BytesIO(raw)))
    out = vio.decode_jpeg(data)
    assert out.dtype == ember.uint8 and tuple(out.shape) == (3, 6, 9)
    np.testing.assert_array_equal(out.numpy(), _chw(ref))
    np.testing.assert_array_equal(vio.decode_image(data, ImageReadMode.RGB).numpy(), _chw(ref))
    # GRAY is libjpeg's grayscale output (the luma plane), as torchvision asks libjpeg for it
    lum = Image.open(io.BytesIO(raw))
    lum.draft("L", None)
    gray = vio.decode_jpeg(data, ImageReadMode.GRAY)
    assert tuple(gray.shape) == (1, 6, 9)
    np.testing.assert_array_equal(gray.numpy(), _chw(np.asarray(lum)))
    # a gray JPEG: one channel unchanged, replicated for RGB
    gdata = _bytes(Image.fromarray(RGB[..., 1]), "JPEG", quality=95)
    g = vio.decode_jpeg(gdata)
    assert tuple(g.shape) == (1, 6, 9)
    rgb = vio.decode_jpeg(gdata, "RGB").numpy()
    assert rgb.shape == (3, 6, 9) and (rgb == g.numpy()).all()
    for mode in (ImageReadMode.GRAY_ALPHA, ImageReadMode.RGB_ALPHA):
        with pytest.raises(RuntimeError, match="The provided mode is not supported for JPEG"):
            vio.decode_jpeg(data, mode)


def test_jpeg_encode_quality_list_and_errors(tmp_path):
    img = ember.from_numpy(np.ascontiguousarray(_chw(RGB)))
    low, high = vio.encode_jpeg(img, quality=5), vio.encode_jpeg(img, quality=100)
    assert low.dtype == ember.uint8 and low.ndim == 1 and low[:3].tolist() == [255, 216, 255]
    err = [np.abs(vio.decode_jpeg(b).numpy().astype(int) - _chw(RGB)).mean() for b in (low, high)]
    assert err[1] < err[0]
    outs = vio.encode_jpeg([img, img[:1].contiguous()])
    assert isinstance(outs, list) and [vio.decode_jpeg(o).shape[0] for o in outs] == [3, 1]
    assert [tuple(t.shape) for t in vio.decode_jpeg(outs)] == [(3, 6, 9), (1, 6, 9)]
    vio.write_jpeg(img, tmp_path / "x.jpg", quality=90)
    assert Image.open(tmp_path / "x.jpg").format == "JPEG"
    for q in (0, 101):
        with pytest.raises(ValueError, match="Image quality should be a positive number "
                                             "between 1 and 100"):
            vio.encode_jpeg(img, quality=q)
    with pytest.raises(ValueError, match="requires at least one input tensor"):
        vio.encode_jpeg([])
    with pytest.raises(ValueError, match="Input list must contain at least one element"):
        vio.decode_jpeg([])
    with pytest.raises(ValueError, match="All elements of the input list must be tensors."):
        vio.decode_jpeg([b"\xff"])


@pytest.mark.parametrize("fn", [vio.encode_png, vio.encode_jpeg])
def test_encode_errors_match_torchvision(fn):
    with pytest.raises(RuntimeError, match="Input tensor dtype should be uint8"):
        fn(ember.zeros(3, 4, 4))
    with pytest.raises(RuntimeError, match="Input data should be a 3-dimensional tensor"):
        fn(ember.zeros(4, 4, dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="The number of channels should be 1 or 3, got: 4"):
        fn(ember.zeros(4, 4, 4, dtype=ember.uint8))


def test_png_compression_level():
    img = ember.zeros(1, 32, 32, dtype=ember.uint8)
    sizes = [vio.encode_png(img, level).numel() for level in (0, 9)]
    assert sizes[1] < sizes[0]
    for level in (-1, 10):
        with pytest.raises(RuntimeError, match="Compression level should be between 0 and 9"):
            vio.encode_png(img, level)


def test_decode_errors_match_torchvision(tmp_path):
    with pytest.raises(RuntimeError, match="Unsupported image file. Only jpeg, png, webp and gif"):
        vio.decode_image(ember.tensor([1, 2, 3, 4, 5, 6, 7, 8], dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="Expected a torch.uint8 tensor"):
        vio.decode_image(ember.zeros(8))
    with pytest.raises(RuntimeError, match="Expected a non empty 1-dimensional tensor"):
        vio.decode_image(ember.zeros(0, dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="Content is not png!"):
        vio.decode_png(ember.tensor([0] * 16, dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="Input tensor must have uint8 data type"):
        vio.decode_png(ember.zeros(16))
    with pytest.raises(RuntimeError, match=r"\[Errno 2\] No such file or directory"):
        vio.read_image(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(RuntimeError, match="Expected a non empty file"):
        vio.read_file(tmp_path / "empty.png")
    truncated = _bytes(Image.fromarray(RGB), "PNG")[:40]
    with pytest.raises(RuntimeError):
        vio.decode_image(truncated)


def test_read_write_file_round_trip(tmp_path):
    payload = bytes(range(256)) * 3
    (tmp_path / "a.bin").write_bytes(payload)
    data = vio.read_file(tmp_path / "a.bin")
    assert data.dtype == ember.uint8 and tuple(data.shape) == (768,)
    vio.write_file(tmp_path / "b.bin", data)
    assert (tmp_path / "b.bin").read_bytes() == payload
    with pytest.raises(RuntimeError, match="Input tensor dtype should be uint8"):
        vio.write_file(tmp_path / "c.bin", ember.zeros(3))
    with pytest.raises(RuntimeError, match="Input data should be a 1-dimensional tensor"):
        vio.write_file(tmp_path / "c.bin", ember.zeros(2, 2, dtype=ember.uint8))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow_transpose(fmt, orientation):
    src = Image.fromarray(RGB)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _bytes(src, fmt, exif=exif, **({"quality": 95} if fmt == "JPEG" else {}))
    opened = Image.open(io.BytesIO(bytes(data.numpy())))
    want = _chw(np.asarray(ImageOps.exif_transpose(opened)))
    got = vio.decode_image(data, apply_exif_orientation=True)
    np.testing.assert_array_equal(got.numpy(), want)
    plain = vio.decode_image(data)  # off by default: the stored pixels
    assert tuple(plain.shape) == (3, 6, 9)


def test_gif_frames():
    frames = [Image.fromarray(np.full((5, 4, 3), 40 * k, np.uint8)) for k in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    data = ember.tensor(list(buf.getvalue()), dtype=ember.uint8)
    out = vio.decode_image(data)
    assert out.dtype == ember.uint8 and tuple(out.shape) == (3, 3, 5, 4)
    np.testing.assert_array_equal(out.numpy()[:, 0, 0, 0], [0, 40, 80])
    single = _bytes(frames[1], "GIF")
    assert tuple(vio.decode_gif(single).shape) == (3, 5, 4)


def test_webp_modes():
    from PIL import features

    if not features.check("webp"):
        pytest.skip("Pillow without WebP")
    rgba = _bytes(Image.fromarray(np.dstack([RGB, ALPHA]), "RGBA"), "WEBP", lossless=True)
    assert tuple(vio.decode_image(rgba).shape) == (4, 6, 9)
    assert tuple(vio.decode_image(rgba, "RGB").shape) == (3, 6, 9)
    rgb = _bytes(Image.fromarray(RGB), "WEBP", lossless=True)
    np.testing.assert_array_equal(vio.decode_webp(rgb).numpy(), _chw(RGB))
    assert tuple(vio.decode_webp(rgb, "RGBA").shape) == (4, 6, 9)
    vio._warned_webp_gray.clear()
    with pytest.warns(UserWarning, match="Webp does not support grayscale conversions"):
        assert tuple(vio.decode_webp(rgb, "GRAY").shape) == (3, 6, 9)


def test_pillow_is_lazy_and_missing_pillow_names_the_extra():
    code = ("import sys; import ember.vision.io as vio; assert 'PIL' not in sys.modules; "
            "sys.modules['PIL'] = None; import ember\n"
            "try:\n    vio.encode_png(ember.zeros(1, 2, 2, dtype=ember.uint8))\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert 'pip install "ember[train]"' in out.stdout


def test_decoded_images_feed_the_transforms():
    # the torchvision idiom: read_image -> float in [0, 1] -> a model input
    from ember.vision.transforms import functional as F

    img = vio.decode_image(_bytes(Image.fromarray(RGB), "PNG"))
    x = F.convert_image_dtype(img, ember.float32)
    assert x.dtype == ember.float32 and float(x.max()) <= 1.0
    np.testing.assert_allclose(x.numpy(), _chw(RGB) / 255.0, rtol=1e-6)
