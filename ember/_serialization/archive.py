"""PyTorch's zip archive: writing it atomically, reading it (optionally memory-mapped), and
clear errors for files that are not one."""

from __future__ import annotations

import io
import mmap
import os
import struct
import sys
import tempfile
import warnings
import zipfile

import numpy as np

from .. import _dtype as D
from .._backend import Device, to_device_array
from .pickling import ArchivePickler
from .unpickling import ArchiveUnpickler


def write_archive(obj, f, pickle_protocol: int = 2) -> None:
    """Write ``obj`` as a PyTorch zip checkpoint to a path (atomically) or a file object."""
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        folder = os.path.splitext(os.path.basename(path))[0] or "archive"
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".ember-save-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                _write(obj, out, folder, pickle_protocol)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)  # the old file stays intact until the new one is complete
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    else:
        _write(obj, f, "archive", pickle_protocol)


def _write(obj, out, folder: str, protocol: int) -> None:
    buf = io.BytesIO()
    pickler = ArchivePickler(buf, protocol)
    pickler.dump(obj)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr(f"{folder}/data.pkl", buf.getvalue())
        z.writestr(f"{folder}/byteorder", sys.byteorder)
        for ref in pickler.storages:
            arr = ref.array
            data = np.ascontiguousarray(arr).view(np.uint8).reshape(-1) if arr.size else b""
            z.writestr(f"{folder}/data/{ref.key}", memoryview(data) if arr.size else data)
        z.writestr(f"{folder}/version", "3\n")


def _storage_dtype_np(dt: D.dtype):
    return dt.np_dtype


class _Reader:
    def __init__(self, f, filename: str, use_mmap: bool):
        self.filename = filename
        self._mm = None
        try:
            if use_mmap:
                if not isinstance(f, (str, os.PathLike)):
                    raise ValueError("mmap=True needs a file path, not a file object")
                self._fh = open(f, "rb")
                self._mm = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ)
                self.zip = zipfile.ZipFile(io.BytesIO(self._mm))
            else:
                self.zip = zipfile.ZipFile(f)
        except zipfile.BadZipFile:
            raise RuntimeError(_not_zip_message(f, filename)) from None
        except (OSError, ValueError) as err:
            if isinstance(err, FileNotFoundError):
                raise
            raise RuntimeError(f"{filename}: cannot read the checkpoint ({err})") from None
        names = self.zip.namelist()
        if not names:
            raise RuntimeError(f"{filename}: the zip archive is empty, not a checkpoint")
        self.prefix = names[0].split("/")[0]
        self.names = set(names)
        big = self._read_optional("byteorder") == b"big"
        self.byteorder = ">" if big else "<"

    def _read_optional(self, name):
        full = f"{self.prefix}/{name}"
        return self.read(full) if full in self.names else None

    def read(self, full: str) -> bytes:
        try:
            return self.zip.read(full)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, struct.error) as err:
            raise RuntimeError(f"{self.filename}: record '{full}' is unreadable: {err} "
                               "(the file is truncated or corrupt)") from None

    def record_array(self, key: str, dt: D.dtype, numel: int) -> np.ndarray:
        full = f"{self.prefix}/data/{key}"
        if full not in self.names:
            raise RuntimeError(f"{self.filename}: storage record 'data/{key}' is missing")
        np_dt = np.dtype(_storage_dtype_np(dt)).newbyteorder(self.byteorder) \
            if dt.itemsize > 1 else np.dtype(dt.np_dtype)
        if isinstance(numel, bool) or not isinstance(numel, int) or numel < 0:
            raise RuntimeError(f"{self.filename}: storage data/{key} has an invalid size "
                               f"{numel!r}; the file is corrupt")
        need = numel * dt.itemsize
        if self._mm is not None:
            info = self.zip.getinfo(full)
            start = _data_offset(self._mm, info)
            if info.compress_type != zipfile.ZIP_STORED or start + info.file_size > len(self._mm):
                raise RuntimeError(f"{self.filename}: record data/{key} cannot be mapped")
            raw = np.frombuffer(self._mm, np.uint8, count=info.file_size, offset=start)
        else:
            raw = np.frombuffer(self.read(full), np.uint8)
        if raw.size != need:
            raise RuntimeError(
                f"{self.filename}: storage record data/{key} has {raw.size} bytes but the "
                f"checkpoint declares {numel} x {dt} = {need} bytes; the file is truncated or "
                "corrupt")
        arr = raw.view(np_dt)
        if np_dt.byteorder == ">" or (np_dt.byteorder == "=" and sys.byteorder == "big"):
            arr = arr.astype(dt.np_dtype)
        elif self._mm is None:
            arr = arr.copy()  # own, writable memory
        return arr


def _data_offset(mm, info: zipfile.ZipInfo) -> int:
    header = mm[info.header_offset:info.header_offset + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise RuntimeError("bad local zip header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


def _not_zip_message(f, filename: str) -> str:
    head = b""
    try:
        if isinstance(f, (str, os.PathLike)):
            with open(f, "rb") as fh:
                head = fh.read(8)
        else:
            pos = f.tell()
            head = f.read(8)
            f.seek(pos)
    except OSError:
        pass
    if not head:
        return f"{filename}: the file is empty, not a checkpoint"
    if head[:2] == b"\x80\x02" or head[:1] == b"\x80":
        return (f"{filename}: this is a plain pickle, not a PyTorch checkpoint (neither the zip "
                "format nor the legacy one); load it with pickle if you trust it.")
    from .legacy import is_legacy_tar

    if is_legacy_tar(f):
        return (f"{filename}: this is a tar checkpoint from PyTorch before 0.4, which ember "
                "does not read; load it with torch and save it again with torch.save.")
    if head[:2] == b"PK":
        return f"{filename}: the zip archive is truncated or corrupt"
    return f"{filename}: not a PyTorch checkpoint (expected a zip archive, found other data)"


def _target_device(location: str, map_location):
    if map_location is None:
        dev = Device(location)
    elif isinstance(map_location, dict):
        dev = Device(map_location.get(location, location))
    elif isinstance(map_location, (str, Device)):
        dev = Device(map_location)
    else:
        return None  # a callable: applied to the tensor later
    if dev.type == "cuda":
        from .._backend import cuda_available

        if not cuda_available():
            warnings.warn(f"checkpoint storage on '{location}' was loaded to the CPU because "
                          "CUDA is not available (pass map_location='cpu' to silence this)",
                          stacklevel=4)
            return Device("cpu")
    return dev


def read_archive(f, map_location=None, weights_only: bool = True, use_mmap: bool = False):
    filename = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "<file>")
    from . import legacy

    if legacy.is_legacy(f):  # torch.save(..., _use_new_zipfile_serialization=False)
        return legacy.read_legacy(f, str(filename), map_location, weights_only, use_mmap)
    reader = _Reader(f, str(filename), use_mmap)
    pkl_name = f"{reader.prefix}/data.pkl"
    if pkl_name not in reader.names:
        raise RuntimeError(f"{filename}: the archive has no data.pkl; not a PyTorch checkpoint")
    cache = {}

    def load_storage(dt, key, location, numel):
        if key not in cache:
            arr = reader.record_array(key, dt, numel)
            dev = _target_device(location, map_location)
            if dev is not None and dev.type != "cpu":
                arr = to_device_array(arr, dev)
            elif callable(map_location) and not isinstance(map_location, (dict, str, Device)):
                from .._tensor import Tensor

                moved = map_location(Tensor._make(arr, dt), location)
                arr = moved._data if hasattr(moved, "_data") else arr
            cache[key] = arr
        return cache[key]

    data = reader.read(pkl_name)
    try:
        return ArchiveUnpickler(io.BytesIO(data), load_storage, weights_only,
                                str(filename)).load()
    except (EOFError, IndexError, KeyError, TypeError, ValueError, AttributeError) as err:
        import pickle

        if isinstance(err, pickle.UnpicklingError):
            raise
        raise RuntimeError(f"{filename}: data.pkl is corrupt ({type(err).__name__}: {err})") \
            from None
