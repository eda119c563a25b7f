"""A small reader of MATLAB level-5 ``.mat`` files (numeric and character arrays).

torchvision reads SVHN's ``.mat`` files with ``scipy.io.loadmat``; ember reads them itself so
that SVHN needs no SciPy. Only what datasets store is understood: numeric arrays (real or
complex, compressed or not) and character arrays. Cells, structs, objects, sparse matrices
and MATLAB 7.3 (HDF5) files raise ``RuntimeError`` naming what was found.
"""

from __future__ import annotations

import os
import zlib

import numpy as np

__all__ = ["load_mat"]

# miXXX data type codes -> element type (byte order is applied when reading)
_MI_TYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8",
             12: "i8", 13: "u8", 16: "u1", 17: "u2", 18: "u4"}
_MI_MATRIX, _MI_COMPRESSED = 14, 15
# the numeric mxXXX array classes (their values keep the type they are stored in)
_MX_CLASSES = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4",
               14: "i8", 15: "u8"}
_MX_CHAR = 4
_MX_NAMES = {1: "cell array", 2: "struct", 3: "object", 5: "sparse matrix", 16: "function"}


class _Reader:
    def __init__(self, blob: bytes | memoryview, order: str, path: str) -> None:
        # a memoryview: slicing out an element's payload copies nothing
        self.blob, self.order, self.path = memoryview(blob), order, path

    def _error(self, what: str) -> RuntimeError:
        return RuntimeError(f"Cannot read MAT file {self.path}: {what} (the file is corrupt or "
                            "truncated; delete it and download again)")

    def element(self, pos: int) -> tuple[int, memoryview, int]:
        """The data type, payload and end position of the element that starts at ``pos``."""
        if pos + 8 > len(self.blob):
            raise self._error("an element tag runs past the end of the file")
        first, second = np.frombuffer(self.blob, self.order + "u4", 2, pos)
        first, second = int(first), int(second)
        if first >> 16:  # small data element: type and size share 4 bytes, data the next 4
            size, kind = first >> 16, first & 0xFFFF
            if size > 4:
                raise self._error(f"a small data element claims {size} bytes")
            return kind, self.blob[pos + 4:pos + 4 + size], pos + 8
        kind, size = first, second
        end = pos + 8 + size
        if end > len(self.blob):
            raise self._error(f"an element of {size} bytes runs past the end of the file")
        payload = self.blob[pos + 8:end]
        # every element but a compressed one is padded to a multiple of 8 bytes
        return kind, payload, end if kind == _MI_COMPRESSED else end + (-size % 8)

    def values(self, kind: int, payload: memoryview) -> np.ndarray:
        if kind not in _MI_TYPES:
            raise self._error(f"unknown data type code {kind}")
        dtype = np.dtype(_MI_TYPES[kind]).newbyteorder(self.order)
        if len(payload) % dtype.itemsize:
            raise self._error(f"{len(payload)} bytes is not a whole number of {dtype} values")
        return np.frombuffer(payload, dtype).astype(dtype.newbyteorder("="))

    def matrix(self, payload: memoryview) -> tuple[str, np.ndarray]:
        sub = _Reader(payload, self.order, self.path)
        parts, pos = [], 0
        while pos < len(payload) and len(parts) < 5:
            kind, data, pos = sub.element(pos)
            parts.append((kind, data))
        if len(parts) < 3:
            raise self._error("an array element lacks its flags, dimensions or name")
        flags = sub.values(*parts[0])
        mx_class, is_complex = int(flags[0]) & 0xFF, bool(int(flags[0]) & 0x0800)
        shape = tuple(int(d) for d in sub.values(*parts[1]))
        name = parts[2][1].tobytes().decode("ascii", "replace")
        if mx_class in _MX_NAMES:
            raise RuntimeError(f"MAT file {self.path}: variable {name!r} is a "
                               f"{_MX_NAMES[mx_class]}, which ember's reader does not support "
                               "(numeric and character arrays only)")
        if mx_class != _MX_CHAR and mx_class not in _MX_CLASSES:
            raise self._error(f"variable {name!r} has unknown array class {mx_class}")
        if len(parts) < 4:
            raise self._error(f"variable {name!r} has no data")
        count = int(np.prod(shape, dtype=np.int64))
        real = sub.values(*parts[3])
        if real.size != count:
            raise self._error(f"variable {name!r} has shape {shape} but {real.size} values")
        if mx_class == _MX_CHAR:
            text = real.reshape(shape, order="F")
            return name, _char_array(text)
        # like scipy.io.loadmat (mat_dtype=False), the values keep the type they are stored
        # in: MATLAB saves a double matrix of small integers as uint8
        out = real
        if is_complex:
            if len(parts) < 5:
                raise self._error(f"complex variable {name!r} has no imaginary part")
            imag = sub.values(*parts[4])
            out = out + 1j * imag
        # MATLAB stores column-major; like scipy, the array is a Fortran-ordered view
        return name, out.reshape(shape, order="F")


def _char_array(codes: np.ndarray) -> np.ndarray:
    """A MATLAB char matrix as scipy gives it: one string per row (all but the last axis)."""
    if codes.ndim == 0 or codes.size == 0:
        return np.array([""] if codes.ndim else "", dtype="<U1")
    rows = codes.reshape(-1, codes.shape[-1])
    strings = ["".join(chr(c) for c in row) for row in rows]
    width = max(1, codes.shape[-1])
    return np.array(strings, dtype=f"<U{width}").reshape(codes.shape[:-1])


def load_mat(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The variables of a MATLAB level-5 ``.mat`` file, by name, as NumPy arrays.

    Like ``scipy.io.loadmat`` with its defaults: numeric arrays keep the type their values are
    stored in (in native byte order) and at least two dimensions;
    character matrices become arrays of strings, one per row. The header text is under
    ``"__header__"``. Cells, structs and MATLAB 7.3 (HDF5) files raise ``RuntimeError``.

    Example:
        >>> mat = load_mat("data/train_32x32.mat")
        >>> mat["X"].shape, mat["X"].dtype
        ((32, 32, 3, 73257), dtype('uint8'))
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        blob = fh.read()
    if len(blob) < 128:
        raise RuntimeError(f"{path} is not a MATLAB 5 file: it is only {len(blob)} bytes long")
    endian = blob[126:128]
    if endian not in (b"IM", b"MI"):
        raise RuntimeError(f"{path} is not a MATLAB 5 file: its header ends in {endian!r}, "
                           "expected 'IM' or 'MI'")
    order = "<" if endian == b"IM" else ">"
    version = int(np.frombuffer(blob, order + "u2", 1, 124)[0])
    if version == 0x0200:
        raise RuntimeError(f"{path} is a MATLAB 7.3 (HDF5) file, which ember's reader does not "
                           "support; save it with -v7 or read it with h5py")
    out: dict[str, np.ndarray] = {"__header__": blob[:116].rstrip(b" \0"),
                                  "__version__": "1.0", "__globals__": []}
    reader, pos = _Reader(blob, order, path), 128
    while pos + 8 <= len(blob):
        kind, payload, pos = reader.element(pos)
        if kind == _MI_COMPRESSED:
            try:
                payload = zlib.decompress(payload)
            except zlib.error as err:
                raise reader._error(f"a compressed element does not inflate ({err})") from err
            kind, payload, _ = _Reader(payload, order, path).element(0)
        if kind != _MI_MATRIX:
            raise reader._error(f"a top-level element has data type {kind}, expected an array")
        name, array = reader.matrix(payload)
        out[name] = array
    return out
