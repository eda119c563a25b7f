"""Image files as tensors, mirroring ``torchvision.io``: uint8 images laid out (C, H, W).

Decoding and encoding go through Pillow (the ``train`` extra: ``pip install "ember[train]"``),
imported on first use; ``import ember.vision.io`` itself needs only NumPy. The results follow
torchvision's decoders (libpng, libjpeg): the same dtype, layout, channel counts per
:class:`ImageReadMode`, errors and, for PNG grayscale conversion, libpng's integer formula.

Differences from torchvision, each raising rather than answering wrongly: 16-bit PNGs
(torchvision returns uint16, a dtype ember does not have) and CUDA decoding through nvjpeg
(``device="cuda"`` decodes on the CPU and moves the result).

Example:
    >>> from ember.vision.io import read_image, write_png, ImageReadMode
    >>> write_png(ember.zeros(3, 4, 5, dtype=ember.uint8), "black.png")
    >>> read_image("black.png", ImageReadMode.GRAY).shape
    torch.Size([1, 4, 5])
"""

from __future__ import annotations

import io as _pyio
import os
import warnings
from enum import Enum

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor

__all__ = ["ImageReadMode", "read_file", "write_file", "decode_png", "encode_png", "write_png",
           "decode_jpeg", "encode_jpeg", "write_jpeg", "decode_gif", "decode_webp",
           "decode_image", "read_image"]

_EXTRA = 'pip install "ember[train]"'


class ImageReadMode(Enum):
    """The colour mode an image is decoded to (a string such as ``"RGB"`` works too).

    ``UNCHANGED`` keeps the file's channels; ``GRAY``, ``GRAY_ALPHA``, ``RGB`` and ``RGB_ALPHA``
    (alias ``RGBA``) convert. JPEG supports ``UNCHANGED``, ``GRAY`` and ``RGB``; WebP ignores
    the gray modes (with a warning); GIF always decodes to RGB.

    Example:
        >>> ImageReadMode.RGB.value
        3
    """

    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = RGB_ALPHA


def _pil():
    """PIL.Image, or an ImportError naming the extra that installs it."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(f"ember.vision.io decodes and encodes images with Pillow, which is "
                          f"not installed: {_EXTRA}") from e
    return Image


def _mode(mode) -> ImageReadMode:
    if isinstance(mode, str):
        return ImageReadMode[mode.upper()]  # KeyError for an unknown name, as torchvision
    if not isinstance(mode, ImageReadMode):
        raise TypeError(f"mode should be an ImageReadMode or a string such as 'RGB', "
                        f"got {type(mode).__name__}")
    return mode


def _tensor(arr: np.ndarray) -> Tensor:
    return Tensor._make(np.ascontiguousarray(arr), D.from_numpy_dtype(arr.dtype))


# -- files ------------------------------------------------------------------------------------

def read_file(path: str | os.PathLike) -> Tensor:
    """The bytes of a file as a one-dimensional uint8 tensor.

    Example:
        >>> data = read_file("cat.png"); data.dtype, data.ndim
        (torch.uint8, 1)
    """
    path = str(path)
    try:
        size = os.stat(path).st_size
    except OSError as e:
        raise RuntimeError(f"[Errno {e.errno}] {e.strerror}: '{path}'") from None
    if size <= 0:
        raise RuntimeError("Expected a non empty file")
    with open(path, "rb") as f:
        return _tensor(np.frombuffer(f.read(), np.uint8).copy())


def write_file(filename: str | os.PathLike, data: Tensor) -> None:
    """Write a one-dimensional uint8 tensor's bytes to ``filename``.

    Example:
        >>> write_file("copy.png", read_file("cat.png"))
    """
    raw = _check_bytes_tensor(data, "Input tensor should be on CPU",
                              "Input tensor dtype should be uint8",
                              "Input data should be a 1-dimensional tensor", allow_empty=True)
    with open(str(filename), "wb") as f:
        f.write(raw)


def _check_bytes_tensor(data, cpu_msg: str, dtype_msg: str, dim_msg: str,
                        allow_empty: bool = False) -> bytes:
    if not isinstance(data, Tensor):
        raise TypeError(f"expected a uint8 tensor of encoded bytes, got {type(data).__name__}")
    if data.device.type != "cpu":
        raise RuntimeError(cpu_msg)
    if data.dtype is not D.uint8:
        raise RuntimeError(dtype_msg)
    if data.ndim != 1 or (not allow_empty and data.numel() == 0):
        raise RuntimeError(dim_msg)
    return np.ascontiguousarray(data._data).tobytes()


def _encoded_bytes(data) -> bytes:
    """The raw bytes of an encoded image tensor, checked as torchvision's decoders check."""
    if not isinstance(data, Tensor):
        raise TypeError(f"expected a uint8 tensor of encoded bytes, got {type(data).__name__}")
    if data.device.type != "cpu":
        raise RuntimeError("Expected a CPU tensor")
    if data.dtype is not D.uint8:
        raise RuntimeError(f"Input tensor must have uint8 data type, got {data.dtype}")
    if data.ndim != 1 or data.numel() == 0:
        raise RuntimeError(f"Input tensor must be 1-dimensional and non-empty, got {data.ndim} "
                           f"dims  and {data.numel()} numels.")
    return np.ascontiguousarray(data._data).tobytes()


# -- decoding ---------------------------------------------------------------------------------

# libpng's png_set_rgb_to_gray(png, 1, 0.2989, 0.587) coefficients, 15-bit fixed point,
# applied with truncation (torchvision's GRAY conversion of colour PNGs without a gAMA chunk)
_PNG_RC, _PNG_GC = 29890 * 32768 // 100000, 58700 * 32768 // 100000
_PNG_BC = 32768 - _PNG_RC - _PNG_GC


def _png_gray(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., k].astype(np.uint32) for k in range(3))
    return ((_PNG_RC * r + _PNG_GC * g + _PNG_BC * b) >> 15).astype(np.uint8)


def _with_alpha(arr: np.ndarray, alpha) -> np.ndarray:
    if alpha is None:
        alpha = np.full(arr.shape[:2], 255, np.uint8)
    return np.dstack([arr, alpha])


def _open(raw: bytes):
    Image = _pil()
    try:
        return Image.open(_pyio.BytesIO(raw))
    except (OSError, SyntaxError, ValueError) as e:  # UnidentifiedImageError is an OSError
        raise RuntimeError(f"Could not decode the image: {e}") from None


def _orient(hwc: np.ndarray, img, apply: bool) -> Tensor:
    """(H, W, C) -> (C, H, W), with the EXIF orientation applied when asked, as torchvision."""
    chw = np.moveaxis(hwc if hwc.ndim == 3 else hwc[..., None], -1, 0)
    if apply:
        chw = _exif_transform(chw, img.getexif().get(0x0112, 1))
    return _tensor(chw)


def _exif_transform(chw: np.ndarray, orientation: int) -> np.ndarray:
    if orientation == 2:
        return chw[..., ::-1]
    if orientation == 3:
        return chw[..., ::-1, ::-1]
    if orientation == 4:
        return chw[..., ::-1, :]
    if orientation == 5:
        return np.swapaxes(chw, -1, -2)
    if orientation == 6:
        return np.rot90(chw, -1, axes=(-2, -1))
    if orientation == 7:
        return np.swapaxes(chw, -1, -2)[..., ::-1, ::-1]
    if orientation == 8:
        return np.rot90(chw, 1, axes=(-2, -1))
    return chw


def decode_png(input: Tensor, mode: ImageReadMode | str = ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> Tensor:
    """Decode PNG bytes (a 1-D uint8 tensor) into a uint8 (C, H, W) tensor.

    ``UNCHANGED`` keeps the stored channels (a palette image gives its indices, one channel);
    the other modes convert as libpng does.

    Example:
        >>> decode_png(read_file("cat.png"), ImageReadMode.RGB).shape
        torch.Size([3, 32, 32])
    """
    raw = _encoded_bytes(input)
    return _decode_png(raw, _mode(mode), apply_exif_orientation)


def _decode_png(raw: bytes, mode: ImageReadMode, apply_exif: bool) -> Tensor:
    if len(raw) < 8:
        raise RuntimeError("Content is too small for png!")
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        raise RuntimeError("Content is not png!")
    if len(raw) >= 26 and raw[12:16] == b"IHDR":
        bit_depth, color_type = raw[24], raw[25]
    else:
        raise RuntimeError("Could read image metadata from content.")
    if bit_depth == 16:
        raise RuntimeError("decode_png: this is a 16-bit PNG, which torchvision decodes to a "
                           "uint16 tensor; ember has no uint16 dtype. Save the image with 8 bits "
                           "per channel, or open it with Pillow and convert it yourself.")
    img = _open(raw)
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as e:
        raise RuntimeError(f"decode_png: {e}") from None
    palette, has_color, has_alpha = color_type == 3, bool(color_type & 2), bool(color_type & 4)
    if palette:
        stored = np.asarray(img)  # the palette indices
    elif img.mode == "1":
        stored = np.asarray(img.convert("L"))
    else:
        stored = np.asarray(img)
    if mode is ImageReadMode.UNCHANGED or (
            mode is ImageReadMode.GRAY and color_type == 0) or (
            mode is ImageReadMode.GRAY_ALPHA and color_type == 4) or (
            mode is ImageReadMode.RGB and color_type == 2) or (
            mode is ImageReadMode.RGB_ALPHA and color_type == 6):
        return _orient(stored, img, apply_exif)
    if palette:  # libpng's png_set_palette_to_rgb: the tRNS chunk becomes alpha
        rgba = np.asarray(img.convert("RGBA"))
        color, alpha = rgba[..., :3], rgba[..., 3] if "transparency" in img.info else None
    elif has_color:
        color, alpha = stored[..., :3], stored[..., 3] if has_alpha else None
    else:
        color, alpha = (stored[..., 0], stored[..., 1]) if has_alpha else (stored, None)
    is_rgb = color.ndim == 3
    if mode is ImageReadMode.GRAY:
        out = _png_gray(color) if is_rgb else color
    elif mode is ImageReadMode.GRAY_ALPHA:
        out = _with_alpha(_png_gray(color) if is_rgb else color, alpha)
    elif mode is ImageReadMode.RGB:
        out = color if is_rgb else np.repeat(color[..., None], 3, -1)
    else:
        out = _with_alpha(color if is_rgb else np.repeat(color[..., None], 3, -1), alpha)
    return _orient(out, img, apply_exif)


def decode_jpeg(input: Tensor | list, mode: ImageReadMode | str = ImageReadMode.UNCHANGED,
                device="cpu",
                apply_exif_orientation: bool = False) -> Tensor | list:
    """Decode JPEG bytes (a 1-D uint8 tensor, or a list of them) into uint8 (C, H, W) tensors.

    Modes: ``UNCHANGED``, ``GRAY`` (libjpeg's luma, no RGB round trip) and ``RGB``.
    ``device`` is where the result goes; decoding itself runs on the CPU.

    Example:
        >>> decode_jpeg(read_file("cat.jpg")).shape
        torch.Size([3, 32, 32])
    """
    from .._backend import Device

    device = Device(device) if not isinstance(device, Device) else device
    mode = _mode(mode)
    if isinstance(input, list):
        if len(input) == 0:
            raise ValueError("Input list must contain at least one element")
        if not all(isinstance(t, Tensor) for t in input):
            raise ValueError("All elements of the input list must be tensors.")
        if not all(t.device.type == "cpu" for t in input):
            raise ValueError("Input list must contain tensors on CPU.")
        return [_decode_jpeg(_encoded_bytes(t), mode, apply_exif_orientation).to(device)
                for t in input]
    if isinstance(input, Tensor) and input.device.type != "cpu":
        raise ValueError("Input tensor must be a CPU tensor")
    out = _decode_jpeg(_encoded_bytes(input), mode, apply_exif_orientation)
    return out if device.type == "cpu" else out.to(device)


def _decode_jpeg(raw: bytes, mode: ImageReadMode, apply_exif: bool) -> Tensor:
    if mode not in (ImageReadMode.UNCHANGED, ImageReadMode.GRAY, ImageReadMode.RGB):
        raise RuntimeError("The provided mode is not supported for JPEG files")
    img = _open(raw)
    if img.format != "JPEG":
        head = raw[:2].ljust(2, b"\0")
        raise RuntimeError(f"Not a JPEG file: starts with 0x{head[0]:02x} 0x{head[1]:02x}")
    if mode is ImageReadMode.GRAY and img.mode in ("RGB", "YCbCr"):
        img.draft("L", None)  # libjpeg's JCS_GRAYSCALE output: the Y plane
    try:
        img.load()
    except OSError as e:
        raise RuntimeError(str(e)) from None
    if mode is ImageReadMode.GRAY and img.mode != "L":
        img = img.convert("RGB").convert("L")  # CMYK: through RGB, as torchvision
    elif mode is ImageReadMode.RGB and img.mode != "RGB":
        img = img.convert("RGB")
    return _orient(np.asarray(img), img, apply_exif)


def decode_gif(input: Tensor) -> Tensor:
    """Decode GIF bytes into a uint8 RGB tensor: (3, H, W) for one frame, (N, 3, H, W) for N.

    Example:
        >>> decode_gif(read_file("spinner.gif")).shape
        torch.Size([8, 3, 16, 16])
    """
    return _decode_gif(_encoded_bytes(input))


def _decode_gif(raw: bytes) -> Tensor:
    img = _open(raw)
    if img.format != "GIF":
        raise RuntimeError("DGifOpenFileName() failed - 103")
    frames = []
    for k in range(getattr(img, "n_frames", 1)):
        img.seek(k)
        frames.append(np.moveaxis(np.asarray(img.convert("RGB")), -1, 0))
    return _tensor(frames[0] if len(frames) == 1 else np.stack(frames))


def decode_webp(input: Tensor, mode: ImageReadMode | str = ImageReadMode.UNCHANGED) -> Tensor:
    """Decode WebP bytes into a uint8 (3 or 4, H, W) tensor (gray modes are not supported).

    Example:
        >>> decode_webp(read_file("cat.webp"), ImageReadMode.RGB).shape
        torch.Size([3, 32, 32])
    """
    return _decode_webp(_encoded_bytes(input), _mode(mode))


_warned_webp_gray: list = []


def _decode_webp(raw: bytes, mode: ImageReadMode) -> Tensor:
    img = _open(raw)
    if getattr(img, "n_frames", 1) > 1:
        raise RuntimeError("Animated webp files are not supported.")
    if mode in (ImageReadMode.GRAY, ImageReadMode.GRAY_ALPHA) and not _warned_webp_gray:
        _warned_webp_gray.append(True)
        warnings.warn("Webp does not support grayscale conversions. The returned tensor will be "
                      "in the colorspace of the original image.", UserWarning, stacklevel=3)
    has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    rgb = mode is ImageReadMode.RGB or (mode is not ImageReadMode.RGB_ALPHA and not has_alpha)
    return _orient(np.asarray(img.convert("RGB" if rgb else "RGBA")), img, False)


def decode_image(input: Tensor | str | os.PathLike,
                 mode: ImageReadMode | str = ImageReadMode.UNCHANGED,
                 apply_exif_orientation: bool = False) -> Tensor:
    """Decode a JPEG, PNG, GIF or WebP image (bytes tensor or path) into a uint8 (C, H, W) tensor.

    Example:
        >>> decode_image("cat.png", mode="RGB").shape
        torch.Size([3, 32, 32])
    """
    if not isinstance(input, Tensor):
        input = read_file(str(input))
    mode = _mode(mode)
    if input.device.type != "cpu":
        raise RuntimeError("Expected a CPU tensor")
    if input.dtype is not D.uint8:
        raise RuntimeError("Expected a torch.uint8 tensor")
    if input.ndim != 1 or input.numel() == 0:
        raise RuntimeError("Expected a non empty 1-dimensional tensor")
    raw = np.ascontiguousarray(input._data).tobytes()
    if raw[:3] == b"\xff\xd8\xff":
        return _decode_jpeg(raw, mode, apply_exif_orientation)
    if raw[:4] == b"\x89PNG":
        return _decode_png(raw, mode, apply_exif_orientation)
    if raw[:6] in (b"GIF89a", b"GIF87a"):
        return _decode_gif(raw)
    if raw[:4] == b"RIFF" and raw[8:15] == b"WEBPVP8":
        return _decode_webp(raw, mode)
    raise RuntimeError("Unsupported image file. Only jpeg, png, webp and gif are currently "
                       "supported.")


def read_image(path: str | os.PathLike,
               mode: ImageReadMode | str = ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> Tensor:
    """Read a JPEG, PNG, GIF or WebP file into a uint8 (C, H, W) tensor.

    Example:
        >>> read_image("cat.jpg", ImageReadMode.RGB).dtype
        torch.uint8
    """
    return decode_image(read_file(path), mode, apply_exif_orientation=apply_exif_orientation)


# -- encoding ---------------------------------------------------------------------------------

def _image_array(input, what: str) -> np.ndarray:
    """(C, H, W) uint8 tensor -> (H, W) or (H, W, 3) array, checked as torchvision checks."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{what} expects a uint8 (C, H, W) tensor, got {type(input).__name__}")
    if input.device.type != "cpu":
        raise RuntimeError("Input tensor should be on CPU")
    if input.dtype is not D.uint8:
        raise RuntimeError("Input tensor dtype should be uint8")
    if input.ndim != 3:
        raise RuntimeError("Input data should be a 3-dimensional tensor")
    channels = input.shape[0]
    if channels not in (1, 3):
        raise RuntimeError(f"The number of channels should be 1 or 3, got: {channels}")
    hwc = np.ascontiguousarray(np.moveaxis(np.asarray(input._data), 0, -1))
    return hwc[..., 0] if channels == 1 else hwc


def encode_png(input: Tensor, compression_level: int = 6) -> Tensor:
    """Encode a uint8 (1 or 3, H, W) tensor as PNG bytes (a 1-D uint8 tensor).

    Example:
        >>> encode_png(ember.zeros(1, 2, 2, dtype=ember.uint8))[:4].tolist()
        [137, 80, 78, 71]
    """
    if not 0 <= compression_level <= 9:
        raise RuntimeError("Compression level should be between 0 and 9")
    arr = _image_array(input, "encode_png")
    buf = _pyio.BytesIO()
    _pil().fromarray(arr).save(buf, format="PNG", compress_level=int(compression_level))
    return _tensor(np.frombuffer(buf.getvalue(), np.uint8).copy())


def write_png(input: Tensor, filename: str | os.PathLike, compression_level: int = 6) -> None:
    """Save a uint8 (1 or 3, H, W) tensor as a PNG file.

    Example:
        >>> write_png(ember.zeros(3, 8, 8, dtype=ember.uint8), "black.png")
    """
    write_file(filename, encode_png(input, compression_level))


def encode_jpeg(input: Tensor | list, quality: int = 75) -> Tensor | list:
    """Encode a uint8 (1 or 3, H, W) tensor (or a list of them) as JPEG bytes.

    Example:
        >>> encode_jpeg(ember.zeros(3, 8, 8, dtype=ember.uint8))[:3].tolist()
        [255, 216, 255]
    """
    if quality < 1 or quality > 100:
        raise ValueError("Image quality should be a positive number between 1 and 100")
    if isinstance(input, list):
        if not input:
            raise ValueError("encode_jpeg requires at least one input tensor when a list is "
                             "passed")
        return [_encode_jpeg(t, quality) for t in input]
    return _encode_jpeg(input, quality)


def _encode_jpeg(input: Tensor, quality: int) -> Tensor:
    arr = _image_array(input, "encode_jpeg")
    buf = _pyio.BytesIO()
    _pil().fromarray(arr).save(buf, format="JPEG", quality=int(quality))
    return _tensor(np.frombuffer(buf.getvalue(), np.uint8).copy())


def write_jpeg(input: Tensor, filename: str | os.PathLike, quality: int = 75) -> None:
    """Save a uint8 (1 or 3, H, W) tensor as a JPEG file.

    Example:
        >>> write_jpeg(ember.zeros(3, 8, 8, dtype=ember.uint8), "black.jpg", quality=90)
    """
    write_file(filename, encode_jpeg(input, quality))
