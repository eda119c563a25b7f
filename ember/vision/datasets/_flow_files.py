"""Readers of the optical-flow and disparity file formats the flow and stereo datasets use:
Middlebury ``.flo``, ``.pfm`` and KITTI's 16-bit PNG flow. Each checks a file's header and
size against its length before allocating, so a malformed file raises ``ValueError`` naming
it instead of a wrong answer or a huge allocation."""

from __future__ import annotations

import os
import re

import numpy as np

_FLO_MAGIC = b"PIEH"  # 202021.25 as a little-endian float32


def _read_flo(file_name: str | os.PathLike) -> np.ndarray:
    """A Middlebury ``.flo`` file as a float32 array of shape (2, H, W) (u then v).

    The format is little-endian: the magic ``PIEH``, int32 width and height, then H*W
    interleaved (u, v) float32 pairs.

    Example:
        >>> _read_flo("FlyingChairs/data/00001_flow.flo").shape
        (2, 384, 512)
    """
    size = os.path.getsize(file_name)
    with open(file_name, "rb") as f:
        header = f.read(12)
        if len(header) < 4 or header[:4] != _FLO_MAGIC:
            raise ValueError(f"Magic number incorrect. Invalid .flo file: {file_name} does not "
                             f"start with {_FLO_MAGIC!r}")
        if len(header) < 12:
            raise ValueError(f"Invalid .flo file {file_name}: the header (magic, width, height) "
                             f"needs 12 bytes, the file has {size}")
        w, h = (int(v) for v in np.frombuffer(header[4:], "<i4"))
        needed = 12 + 8 * w * h
        if w <= 0 or h <= 0 or size < needed:
            raise ValueError(f"Invalid .flo file {file_name}: a {w}x{h} flow needs {needed} "
                             f"bytes, the file has {size}")
        data = np.fromfile(f, "<f4", count=2 * w * h)
    return data.reshape(h, w, 2).transpose(2, 0, 1)


def _read_pfm(file_name: str | os.PathLike, slice_channels: int = 2) -> np.ndarray:
    """A ``.pfm`` file (``PF``: 3 channels, ``Pf``: 1) as float32 (C, H, W), rows top to
    bottom, keeping the first ``slice_channels`` channels.

    Example:
        >>> _read_pfm("FlyingThings3D/optical_flow/TRAIN/A/0000/into_future/left/"
        ...           "OpticalFlowIntoFuture_0006_L.pfm").shape
        (2, 540, 960)
    """
    size = os.path.getsize(file_name)
    with open(file_name, "rb") as f:
        header = f.readline().rstrip()
        if header not in (b"PF", b"Pf"):
            raise ValueError(f"Invalid PFM file {file_name}: it starts with {header[:16]!r}, "
                             "not PF or Pf")
        dim_match = re.match(rb"^(\d+)\s(\d+)\s$", f.readline())
        if not dim_match:
            raise ValueError(f"Malformed PFM header in {file_name}: expected '<width> <height>'")
        w, h = (int(dim) for dim in dim_match.groups())
        try:
            scale = float(f.readline().rstrip())
        except ValueError:
            raise ValueError(f"Malformed PFM header in {file_name}: the scale line is not a "
                             "number") from None
        endian = "<" if scale < 0 else ">"  # a negative scale means little-endian
        channels = 3 if header == b"PF" else 1
        count = w * h * channels
        if w <= 0 or h <= 0 or size - f.tell() < 4 * count:
            raise ValueError(f"Invalid PFM file {file_name}: {w}x{h}x{channels} float32 values "
                             f"need {4 * count} bytes after the header, the file has "
                             f"{size - f.tell()}")
        data = np.fromfile(f, dtype=endian + "f", count=count)
    data = data.reshape(h, w, channels).transpose(2, 0, 1)
    data = np.flip(data, axis=1)  # PFM stores rows bottom to top
    return data[:slice_channels, :, :].astype(np.float32)


def _png_channels(file_name: str | os.PathLike) -> np.ndarray:
    """A PNG's samples as an (H, W, C) array at full depth: 16-bit RGB(A) kept as uint16.

    Pillow reads 16-bit colour PNGs as 8-bit RGB (the high bytes); decoding again with the
    little-endian raw mode gives the low bytes of the big-endian samples.
    """
    from PIL import Image

    def decode(rawmode=None) -> np.ndarray:
        with Image.open(file_name) as image:
            if rawmode is not None:
                image.tile = [tile._replace(args=rawmode) for tile in image.tile]
            return np.asarray(image)

    with Image.open(file_name) as image:
        mode = image.mode
        rawmode = image.tile[0].args if image.format == "PNG" and image.tile else None
    if rawmode in ("RGB;16B", "RGBA;16B"):
        high = decode().astype(np.uint16)
        low = decode(rawmode.replace(";16B", ";16L"))
        return high << 8 | low
    if mode not in ("RGB", "RGBA"):
        raise ValueError(f"{file_name}: a flow PNG has three channels (u, v, valid), this "
                         f"image is {mode}")
    return decode()


def _read_16bits_png_with_flow_and_valid_mask(
        file_name: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """KITTI's flow PNG: float32 flow (2, H, W) = (sample - 2**15) / 64 from the first two
    channels, and the bool (H, W) valid mask from the third.

    Example:
        >>> flow, valid = _read_16bits_png_with_flow_and_valid_mask(
        ...     "KittiFlow/training/flow_occ/000000_10.png")
    """
    channels = _png_channels(file_name).astype(np.float32).transpose(2, 0, 1)
    flow = (channels[:2] - 2**15) / 64  # KITTI's fixed-point encoding
    return flow, channels[2].astype(bool)
