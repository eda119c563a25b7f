"""A small reader of MATLAB level-5 ``.mat`` files (numeric, character, cell, struct arrays).

torchvision reads SVHN's, ImageNet's and StanfordCars' ``.mat`` files with
``scipy.io.loadmat``; ember reads them itself so that they need no SciPy. Only what datasets
store is understood: numeric arrays (real or complex, compressed or not), character arrays,
cell arrays, struct arrays and sparse matrices (as ``CSCMatrix``, whose ``toarray()``
gives the dense array). Objects, functions and MATLAB 7.3 (HDF5) files raise
``RuntimeError`` naming what was found.
"""

from __future__ import annotations

import os
import zlib

import numpy as np

__all__ = ["load_mat", "CSCMatrix"]

# miXXX data type codes -> element type (byte order is applied when reading)
_MI_TYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8",
             12: "i8", 13: "u8", 16: "u1", 17: "u2", 18: "u4"}
_MI_MATRIX, _MI_COMPRESSED = 14, 15
# the numeric mxXXX array classes (their values keep the type they are stored in)
_MX_CLASSES = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4",
               14: "i8", 15: "u8"}
_MX_CHAR, _MX_CELL, _MX_STRUCT, _MX_SPARSE = 4, 1, 2, 5
_MX_NAMES = {3: "an object", 16: "a function"}
_MAX_DEPTH = 32  # cells and structs nest; deeper than this is refused, not recursed into
# zlib cannot expand data more than about 1032 times: a compressed element claiming more
# than this many bytes per compressed byte is corrupt, refused before inflating
_MAX_INFLATION = 1100


class _Reader:
    def __init__(self, blob: bytes | memoryview, order: str, path: str,
                 squeeze_me: bool = False) -> None:
        # a memoryview: slicing out an element's payload copies nothing
        self.blob, self.order, self.path = memoryview(blob), order, path
        self.squeeze_me = squeeze_me

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

    def matrix(self, payload: memoryview, depth: int = 0) -> tuple[str, np.ndarray]:
        if depth > _MAX_DEPTH:
            raise self._error(f"arrays nest more than {_MAX_DEPTH} levels deep")
        if len(payload) == 0:  # an empty element: MATLAB's [] inside a cell or struct
            return "", self._squeeze(np.empty((0, 0), dtype=np.float64))
        sub = _Reader(payload, self.order, self.path, self.squeeze_me)
        parts, pos = [], 0
        while pos < len(payload) and len(parts) < 3:
            kind, data, pos = sub.element(pos)
            parts.append((kind, data))
        if len(parts) < 3:
            raise self._error("an array element lacks its flags, dimensions or name")
        flags = sub.values(*parts[0])
        if flags.size == 0:
            raise self._error("an array element has empty flags")
        mx_class, is_complex = int(flags[0]) & 0xFF, bool(int(flags[0]) & 0x0800)
        shape = tuple(int(d) for d in sub.values(*parts[1]))
        name = parts[2][1].tobytes().decode("ascii", "replace")
        if any(d < 0 for d in shape):
            raise self._error(f"variable {name!r} has negative dimensions {shape}")
        count = 1
        for d in shape:
            count *= d
        if mx_class in (_MX_CELL, _MX_STRUCT):
            return name, self._container(sub, pos, mx_class, shape, count, name, depth)
        if mx_class == _MX_SPARSE:
            return name, self._sparse(sub, pos, shape, name, is_complex)
        if mx_class in _MX_NAMES:
            raise RuntimeError(f"MAT file {self.path}: variable {name!r} is "
                               f"{_MX_NAMES[mx_class]}, which ember's reader does not support "
                               "(numeric, character, cell and struct arrays only)")
        if mx_class != _MX_CHAR and mx_class not in _MX_CLASSES:
            raise self._error(f"variable {name!r} has unknown array class {mx_class}")
        if pos >= len(payload):
            raise self._error(f"variable {name!r} has no data")
        kind, data, pos = sub.element(pos)
        real = sub.values(kind, data)
        if real.size != count:
            raise self._error(f"variable {name!r} has shape {shape} but {real.size} values")
        if mx_class == _MX_CHAR:
            text = real.reshape(shape, order="F")
            return name, self._squeeze(_char_array(text))
        # like scipy.io.loadmat (mat_dtype=False), the values keep the type they are stored
        # in: MATLAB saves a double matrix of small integers as uint8
        out = real
        if is_complex:
            if pos >= len(payload):
                raise self._error(f"complex variable {name!r} has no imaginary part")
            imag = sub.values(*sub.element(pos)[:2])
            if imag.size != count:
                raise self._error(f"complex variable {name!r} has {imag.size} imaginary "
                                  f"values for shape {shape}")
            out = out + 1j * imag
        # MATLAB stores column-major; like scipy, the array is a Fortran-ordered view
        return name, self._squeeze(out.reshape(shape, order="F"))

    def _container(self, sub: _Reader, pos: int, mx_class: int, shape: tuple, count: int,
                   name: str, depth: int) -> np.ndarray:
        """A cell array (an object array) or struct array (a record array with one object
        field per struct field), as scipy.io.loadmat gives them (struct_as_record=True)."""
        fields: list[str] = []
        if mx_class == _MX_STRUCT:
            if pos >= len(sub.blob):
                raise self._error(f"struct {name!r} lacks its field names")
            kind, data, pos = sub.element(pos)
            width = sub.values(kind, data)
            if width.size != 1 or int(width[0]) <= 0:
                raise self._error(f"struct {name!r} has a bad field name length")
            width = int(width[0])
            if pos >= len(sub.blob):
                raise self._error(f"struct {name!r} lacks its field names")
            kind, data, pos = sub.element(pos)
            raw = data.tobytes()
            if len(raw) % width:
                raise self._error(f"struct {name!r}: {len(raw)} bytes of field names is not "
                                  f"a multiple of {width}")
            fields = [raw[k:k + width].split(b"\0")[0].decode("ascii", "replace")
                      for k in range(0, len(raw), width)]
            if not fields:
                raise RuntimeError(f"MAT file {self.path}: struct {name!r} has no fields, which "
                                   "ember's reader does not support")
            if len(set(fields)) != len(fields) or "" in fields:
                raise self._error(f"struct {name!r} has empty or repeated field names")
        # every value is an element with an 8-byte tag: refuse a count the bytes cannot hold
        # before allocating anything
        values_needed = count * (len(fields) if mx_class == _MX_STRUCT else 1)
        if values_needed * 8 > len(sub.blob) - pos:
            raise self._error(f"{'struct' if fields else 'cell'} {name!r} claims shape "
                              f"{shape} but holds only {len(sub.blob) - pos} bytes")
        items = []
        for _ in range(values_needed):
            kind, data, pos = sub.element(pos)
            if kind != _MI_MATRIX:
                raise self._error(f"an element of {name!r} has data type {kind}, expected "
                                  "an array")
            items.append(self.matrix(data, depth + 1)[1])
        if mx_class == _MX_CELL:
            flat = np.empty(count, dtype=object)
            for k, item in enumerate(items):
                flat[k] = item
        else:
            flat = np.empty(count, dtype=[(f, object) for f in fields])
            for k in range(count):
                for j, f in enumerate(fields):
                    flat[k][f] = items[k * len(fields) + j]
        return self._squeeze(flat.reshape(shape, order="F"))

    def _sparse(self, sub: _Reader, pos: int, shape: tuple, name: str,
                is_complex: bool) -> CSCMatrix:
        """A sparse matrix: row indices, column starts, then the real (and imaginary)
        values of its nonzeros, column by column."""
        if len(shape) != 2:
            raise self._error(f"sparse {name!r} has shape {shape}, not two dimensions")
        parts = []
        for _ in range(3 + is_complex):
            if pos >= len(sub.blob):
                raise self._error(f"sparse {name!r} lacks its indices or values")
            kind, data, pos = sub.element(pos)
            parts.append(sub.values(kind, data))
        rows, starts, real = parts[:3]
        rows, starts = rows.astype(np.int64), starts.astype(np.int64)
        if starts.size != shape[1] + 1:
            raise self._error(f"sparse {name!r} has {starts.size} column starts for "
                              f"{shape[1]} columns")
        nnz = int(starts[-1]) if starts.size else 0
        if (np.any(np.diff(starts) < 0) or starts[0] != 0 or nnz > rows.size
                or real.size < nnz or (is_complex and parts[3].size < nnz)):
            raise self._error(f"sparse {name!r} has inconsistent indices")
        rows = rows[:nnz]
        if nnz and (rows.min() < 0 or rows.max() >= shape[0]):
            raise self._error(f"sparse {name!r} has row indices outside {shape[0]} rows")
        # as scipy: the values keep the type they are stored in (a logical matrix's too)
        values = real[:nnz]
        if is_complex:
            values = values + 1j * parts[3][:nnz]
        return CSCMatrix(values, rows, starts, shape)

    def _squeeze(self, array: np.ndarray):
        """scipy's ``squeeze_me``: unit dimensions dropped, a 0-d plain value unwrapped."""
        if not self.squeeze_me:
            return array
        if array.size == 0:
            return np.array([])
        array = np.squeeze(array)
        if array.ndim == 0 and array.dtype.names is None:  # a struct stays a 0-d record
            return array.item()
        return array


class CSCMatrix:
    """A sparse matrix read from a ``.mat`` file, in compressed sparse column form as
    ``scipy.sparse.csc_array`` (what ``scipy.io.loadmat`` returns): ``data``, ``indices``
    (rows), ``indptr`` (column starts), ``shape``, ``dtype``, ``nnz`` and ``toarray()``.

    Example:
        >>> m = load_mat("cls/2008_000002.mat")["GTcls"][0]["Boundaries"][0][0][0]
        >>> m.toarray().shape
        (375, 500)
    """

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                 shape: tuple[int, int]) -> None:
        self.data, self.indices, self.indptr, self.shape = data, indices, indptr, shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def nnz(self) -> int:
        return int(self.data.size)

    def toarray(self) -> np.ndarray:
        """The dense (rows, columns) array; repeated entries add up, as scipy's."""
        dense = np.zeros(self.shape, dtype=self.data.dtype)
        columns = np.repeat(np.arange(self.shape[1]), np.diff(self.indptr))
        np.add.at(dense, (self.indices, columns), self.data)
        return dense

    def __repr__(self) -> str:
        return (f"<CSCMatrix of shape {self.shape}, dtype {self.dtype}, with {self.nnz} "
                "stored elements>")


def _char_array(codes: np.ndarray) -> np.ndarray:
    """A MATLAB char matrix as scipy gives it: one string per row (all but the last axis)."""
    if codes.ndim == 0 or codes.size == 0:
        return np.array([""] if codes.ndim else "", dtype="<U1")
    rows = codes.reshape(-1, codes.shape[-1])
    strings = ["".join(chr(c) for c in row) for row in rows]
    width = max(1, codes.shape[-1])
    return np.array(strings, dtype=f"<U{width}").reshape(codes.shape[:-1])


def load_mat(path: str | os.PathLike, squeeze_me: bool = False) -> dict[str, np.ndarray]:
    """The variables of a MATLAB level-5 ``.mat`` file, by name, as NumPy arrays.

    Like ``scipy.io.loadmat`` with its defaults: numeric arrays keep the type their values are
    stored in (in native byte order) and at least two dimensions;
    character matrices become arrays of strings, one per row; cell arrays become object
    arrays and struct arrays record arrays with one object field per struct field
    (``struct_as_record=True``). With ``squeeze_me=True``, as scipy's, unit dimensions are
    dropped and 0-d values unwrapped (a 1x1 double becomes a Python number, a string a
    ``str``, an empty array ``array([])``). The header text is under ``"__header__"``.
    Sparse matrices become ``CSCMatrix`` (scipy's ``csc_array`` in the parts datasets use:
    ``toarray()``, ``shape``, ``dtype``, ``data``/``indices``/``indptr``).
    Objects, functions and MATLAB 7.3 (HDF5) files raise ``RuntimeError``,
    as do corrupt files (sizes beyond the file, compressed data claiming more than zlib
    can expand to), before anything large is allocated.

    Example:
        >>> mat = load_mat("data/train_32x32.mat")
        >>> mat["X"].shape, mat["X"].dtype
        ((32, 32, 3, 73257), dtype('uint8'))
        >>> load_mat("devkit/cars_meta.mat", squeeze_me=True)["class_names"][0]
        'AM General Hummer SUV 2000'
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
    reader, pos = _Reader(blob, order, path, squeeze_me), 128
    while pos + 8 <= len(blob):
        kind, payload, pos = reader.element(pos)
        if kind == _MI_COMPRESSED:
            payload = _inflate(reader, payload, order)
            kind, payload, _ = _Reader(payload, order, path).element(0)
        if kind != _MI_MATRIX:
            raise reader._error(f"a top-level element has data type {kind}, expected an array")
        name, array = reader.matrix(payload)
        out[name] = array
    return out


def _inflate(reader: _Reader, packed: memoryview, order: str) -> bytes:
    """A compressed element's inflated bytes, no more than its inner tag claims."""
    inflater = zlib.decompressobj()
    try:
        head = inflater.decompress(packed, 8)
        if len(head) < 8:
            raise reader._error("a compressed element is shorter than an element tag")
        first, size = (int(v) for v in np.frombuffer(head, order + "u4", 2))
        size = 4 if first >> 16 else size
        if size > _MAX_INFLATION * len(packed) + 1024:
            raise reader._error(f"a compressed element of {len(packed)} bytes claims {size} "
                                "bytes inflated, more than zlib can expand it to")
        body = inflater.decompress(inflater.unconsumed_tail, size + 8)
    except zlib.error as err:
        raise reader._error(f"a compressed element does not inflate ({err})") from err
    return head + body
