"""The safetensors format: ``save_file``, ``load_file``, ``save``, ``load``.

An 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and byte
range, then raw little-endian data. No pickle, so loading runs nothing from the file.

Example:
    >>> ember.safetensors.save_file(model.state_dict(), "model.safetensors")
    >>> model.load_state_dict(ember.safetensors.load_file("model.safetensors"))
"""

from __future__ import annotations

import errno
import json
import os
import stat
import struct

import numpy as np

from . import _dtype as D
from ._backend import Device, to_numpy
from ._serialization.atomic import atomic_write
from ._tensor import Tensor

__all__ = ["save_file", "load_file", "save", "load"]

_CODES = {D.float64: "F64", D.float32: "F32", D.float16: "F16", D.bfloat16: "BF16",
          D.int64: "I64", D.int32: "I32", D.int16: "I16", D.int8: "I8", D.uint8: "U8",
          D.bool: "BOOL", D.complex64: "C64", D.uint16: "U16", D.uint32: "U32", D.uint64: "U64",
          D.float8_e4m3fn: "F8_E4M3", D.float8_e5m2: "F8_E5M2",
          D.float8_e4m3fnuz: "F8_E4M3FNUZ", D.float8_e5m2fnuz: "F8_E5M2FNUZ",
          D.float8_e8m0fnu: "F8_E8M0"}
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
    """Tensors from safetensors bytes (checked as ``load_file`` checks a file).

    Example:
        >>> ember.safetensors.load(ember.safetensors.save({"w": ember.ones(2)}))["w"]
        tensor([1., 1.])
    """
    return _parse(memoryview(data), "<bytes>", device)


def save_file(tensors: dict, filename, metadata: dict | None = None) -> None:
    """Write tensors to a ``.safetensors`` file atomically (as ``ember.save`` writes).

    Example:
        >>> ember.safetensors.save_file({"w": ember.ones(2)}, "w.safetensors")
    """
    blob = save(tensors, metadata)
    atomic_write(filename, lambda out: out.write(blob))


def load_file(filename, device="cpu") -> dict:
    """Read every tensor of a ``.safetensors`` file into a dict.

    The header is checked as the reference reader checks it (at most 100 MB, valid JSON, each
    entry's dtype, shape and offsets consistent, the entries tiling the data exactly) before
    any tensor memory is allocated; a malformed file raises ValueError.

    Example:
        >>> ember.safetensors.load_file("w.safetensors")["w"]
        tensor([1., 1.])
    """
    path = os.fspath(filename)
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path}: not a regular file; safetensors files are read from disk")
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        n = _header_length(f.read(8), size, path)
        entries = _check_header(f.read(n), size - 8 - n, path)
        body = f.read(size - 8 - n)
    if len(body) != size - 8 - n:
        raise ValueError(f"{path}: the file changed while it was read")
    return _tensors(entries, memoryview(body), device)


def _parse(buf: memoryview, name: str, device) -> dict:
    n = _header_length(bytes(buf[:8]), len(buf), name)
    entries = _check_header(bytes(buf[8:8 + n]), len(buf) - 8 - n, name)
    return _tensors(entries, buf[8 + n:], device)


def _header_length(head: bytes, size: int, name: str) -> int:
    if len(head) < 8 or size < 8:
        raise ValueError(f"{name}: too short to be a safetensors file ({size} bytes): header "
                         "too small")
    (n,) = struct.unpack("<Q", head)
    if n > _MAX_HEADER:
        raise ValueError(f"{name}: header too large ({n} bytes; the format allows at most "
                         f"{_MAX_HEADER})")
    if 8 + n > size:
        raise ValueError(f"{name}: header length {n} is invalid for a file of {size} bytes")
    return n


def _is_count(v) -> bool:
    return type(v) is int and v >= 0


def _check_header(raw: bytes, body_len: int, name: str) -> list:
    """``[(key, dtype, shape, begin, end)]`` sorted by offset, after every check the reference
    reader makes; nothing is allocated for tensors before this returns."""
    try:
        header = json.loads(raw.decode("utf-8"))
    except ValueError as err:  # bad UTF-8 or JSON, or an integer of over 4300 digits
        raise ValueError(f"{name}: the safetensors header is not valid JSON ({err})") from None
    except RecursionError:
        raise ValueError(f"{name}: the safetensors header is not valid JSON (nested too "
                         "deeply)") from None
    if not isinstance(header, dict):
        raise ValueError(f"{name}: the safetensors header is not a JSON object")
    entries = []
    for key, info in header.items():
        if key == "__metadata__":
            if info is not None and not (isinstance(info, dict) and all(
                    isinstance(v, str) for v in info.values())):
                raise ValueError(f"{name}: __metadata__ must map strings to strings")
            continue
        try:
            dt = _FROM_CODE[info["dtype"]]
            shape, offsets = info["shape"], info["data_offsets"]
        except (KeyError, TypeError):
            raise ValueError(f"{name}: entry '{key}' is malformed or has an unknown dtype "
                             f"({str(info)[:200]})") from None
        if not (isinstance(shape, list) and all(map(_is_count, shape))):
            raise ValueError(f"{name}: entry '{key}' has shape {str(shape)[:200]}; dimensions "
                             "must be non-negative integers")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))):
            raise ValueError(f"{name}: entry '{key}' has data_offsets {str(offsets)[:200]}; "
                             "expected [begin, end] of non-negative integers")
        entries.append((offsets[0], offsets[1], key, dt, tuple(shape)))
    entries.sort(key=lambda e: (e[0], e[1]))
    end_prev = 0
    for begin, end, key, dt, shape in entries:
        if begin != end_prev or end < begin:
            raise ValueError(
                f"{name}: entry '{key}' has data_offsets [{begin}, {end}]: invalid offset (the "
                f"tensors must tile the data without gaps or overlaps; the previous one ends at "
                f"{end_prev})")
        if end > body_len:
            raise ValueError(f"{name}: entry '{key}' has data_offsets [{begin}, {end}] past the "
                             f"end of the data ({body_len} bytes); the file is truncated")
        count = _checked_numel(shape, dt, key, name)
        if count * dt.itemsize != end - begin:
            raise ValueError(
                f"{name}: entry '{key}' has data_offsets [{begin}, {end}] ({end - begin} bytes) "
                f"that do not fit its shape {list(shape)} and dtype {dt} "
                f"({count * dt.itemsize} bytes)")
        end_prev = end
    if end_prev != body_len:
        raise ValueError(f"{name}: the tensors' data_offsets cover {end_prev} bytes of data but "
                         f"the file holds {body_len}: incomplete metadata, file not fully covered")
    return entries


_U64 = (1 << 64) - 1
_I64 = (1 << 63) - 1


def _checked_numel(shape: tuple, dt, key: str, name: str) -> int:
    """The element count of ``shape``, refusing what the reference reader refuses (a running
    product that overflows 64 bits) and what NumPy cannot hold (more than 64 dimensions, or
    extents past 2**63 bytes even with a zero dimension), before anything is allocated."""
    count = 1
    for s in shape:
        count *= s
        if count * dt.itemsize > _U64:
            raise ValueError(f"{name}: entry '{key}' has shape {str(list(shape))[:200]}: "
                             "overflow computing buffer size from shape and/or element type "
                             "(its data_offsets do not fit its shape)")
    if len(shape) > 64:
        raise ValueError(f"{name}: entry '{key}' has {len(shape)} dimensions; ember tensors "
                         "have at most 64")
    extent = dt.itemsize
    for s in shape:
        extent *= max(s, 1)
    if extent > _I64:
        raise ValueError(f"{name}: entry '{key}' has shape {str(list(shape))[:200]}, too large "
                         "for a tensor (its extent passes 2**63 bytes)")
    return count


def _tensors(entries: list, body: memoryview, device) -> dict:
    out = {}
    dev = Device(device)
    for begin, end, key, dt, shape in entries:
        np_dt = dt.np_dtype.newbyteorder("<") if dt.itemsize > 1 else dt.np_dtype
        arr = np.frombuffer(body[begin:end], np_dt).astype(dt.np_dtype).reshape(shape)
        t = Tensor._make(arr, dt)
        out[key] = t if dev.type == "cpu" else t.to(dev)
    return out
