"""The safetensors format: ``save_file``, ``load_file``, ``save``, ``load``.

An 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and byte
range, then raw little-endian data. No pickle, so loading runs nothing from the file.

Example:
    >>> ember.safetensors.save_file(model.state_dict(), "model.safetensors")
    >>> model.load_state_dict(ember.safetensors.load_file("model.safetensors"))
"""

from __future__ import annotations

import json
import os
import struct
import tempfile

import numpy as np

from . import _dtype as D
from ._backend import Device, to_numpy
from ._tensor import Tensor

__all__ = ["save_file", "load_file", "save", "load"]

_CODES = {D.float64: "F64", D.float32: "F32", D.float16: "F16", D.bfloat16: "BF16",
          D.int64: "I64", D.int32: "I32", D.int16: "I16", D.int8: "I8", D.uint8: "U8",
          D.bool: "BOOL", D.complex64: "C64"}
_FROM_CODE = {v: k for k, v in _CODES.items()}
_MAX_HEADER = 100_000_000


def save(tensors: dict, metadata: dict | None = None) -> bytes:
    """The safetensors bytes for a dict of name -> tensor."""
    if not isinstance(tensors, dict):
        raise TypeError(f"expected a dict of tensors, got {type(tensors).__name__}")
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        if not isinstance(t, Tensor):
            raise TypeError(f"safetensors can only store tensors; '{name}' is "
                            f"{type(t).__name__}")
        if t.dtype not in _CODES:
            raise TypeError(f"'{name}': dtype {t.dtype} has no safetensors code")
        raw = np.ascontiguousarray(to_numpy(t.detach()._data)).astype(
            t.dtype.np_dtype.newbyteorder("<") if t.dtype.itemsize > 1 else t.dtype.np_dtype)
        data = raw.tobytes()
        header[name] = {"dtype": _CODES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata is not None:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError("safetensors metadata must map str to str")
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # align the data to 8 bytes, as the reference writer does
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def load(data: bytes, device="cpu") -> dict:
    """Tensors from safetensors bytes."""
    return _parse(memoryview(data), "<bytes>", device)


def save_file(tensors: dict, filename, metadata: dict | None = None) -> None:
    """Write tensors to a ``.safetensors`` file atomically."""
    blob = save(tensors, metadata)
    path = os.fspath(filename)
    fd, tmp = tempfile.mkstemp(prefix=".ember-save-", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_file(filename, device="cpu") -> dict:
    """Read every tensor of a ``.safetensors`` file into a dict."""
    with open(filename, "rb") as f:
        data = f.read()
    return _parse(memoryview(data), os.fspath(filename), device)


def _parse(buf: memoryview, name: str, device) -> dict:
    if len(buf) < 8:
        raise ValueError(f"{name}: too short to be a safetensors file ({len(buf)} bytes)")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > _MAX_HEADER or 8 + n > len(buf):
        raise ValueError(f"{name}: header length {n} is invalid for a file of {len(buf)} bytes")
    try:
        header = json.loads(bytes(buf[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{name}: the safetensors header is not valid JSON ({err})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{name}: the safetensors header is not a JSON object")
    body = buf[8 + n:]
    out = {}
    dev = Device(device)
    for key, info in header.items():
        if key == "__metadata__":
            continue
        try:
            dt = _FROM_CODE[info["dtype"]]
            shape = tuple(int(s) for s in info["shape"])
            begin, end = (int(v) for v in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{name}: entry '{key}' is malformed or has an unknown dtype "
                             f"({info!r})") from None
        count = int(np.prod(shape)) if shape else 1
        if begin < 0 or end > len(body) or end - begin != count * dt.itemsize:
            raise ValueError(f"{name}: entry '{key}' has data_offsets [{begin}, {end}] that do "
                             f"not fit its shape {list(shape)} and dtype {dt} in the file")
        np_dt = dt.np_dtype.newbyteorder("<") if dt.itemsize > 1 else dt.np_dtype
        arr = np.frombuffer(body[begin:end], np_dt).astype(dt.np_dtype).reshape(shape)
        t = Tensor._make(arr, dt)
        out[key] = t if dev.type == "cpu" else t.to(dev)
    return out
