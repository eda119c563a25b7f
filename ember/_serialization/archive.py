"""PyTorch's zip archive: writing it atomically, reading it (optionally memory-mapped), and
clear errors for files that are not one.

Reading checks what the file declares before acting on it: the source must be a regular file
(or a seekable file object) starting with the zip or the legacy magic; a record's declared size
must be what the pickle expects (a storage: exactly numel x itemsize) and plausible for its
compressed size, and all records together may not inflate to more than
``max(64 MiB, 100 x the archive's size)``, so a deflate bomb or overlapping records are refused
before anything is inflated.
"""

from __future__ import annotations

import copy
import errno
import hashlib
import io
import mmap
import os
import pickle
import stat
import struct
import sys
import warnings
import zipfile
import zlib

import numpy as np

from .. import _dtype as D
from .._backend import Device
from . import config, locations
from .atomic import atomic_write
from .brief import brief
from .pickling import ArchivePickler
from .restricted import make_unpickler
from .unpickling import ForeignOrderBytes, StorageType, bind_storage
from .zipwriter import ZipWriter

ZIP_MAGIC = b"PK\x03\x04"
_INFLATE_FLOOR = 64 << 20        # bytes any archive may inflate to
_INFLATE_RATIO = 100             # ... or this many times its own size, whichever is more
_DEFLATE_MAX_RATIO = 1032        # deflate cannot expand data more than this
_SMALL_RECORD = 64               # byteorder, version: a few bytes
# A deflated data.pkl may inflate to this much, or this many times its compressed size: the
# interpreter builds up to ~200 bytes of objects per byte of pickle (an empty set per opcode),
# so the usual 1032x of deflate would let a 60 kB file take 13 GB and minutes. (PyTorch
# stores data.pkl uncompressed; a real one deflates about 4x.)
_PICKLE_INFLATE_FLOOR = 1 << 20
_PICKLE_INFLATE_RATIO = 16
_NATIVE = ">" if sys.byteorder == "big" else "<"


def write_archive(obj, f, pickle_protocol: int = 2, legacy: bool = False) -> None:
    """Write ``obj`` as a PyTorch zip checkpoint (``legacy``: in the pre-1.6 format) to a path
    (atomically) or a file object."""
    if not isinstance(f, (str, os.PathLike)) and not hasattr(f, "write"):
        raise AttributeError("expected 'f' to be string, path, or a file-like object with a "
                             "'write' attribute")
    if legacy:
        if config.skipping_data():
            raise RuntimeError(
                "Cannot use skip_data=True with _use_new_zipfile_serialization=False")
        from .legacy import write_legacy

        if isinstance(f, (str, os.PathLike)):
            atomic_write(os.fspath(f), lambda out: write_legacy(obj, out, pickle_protocol))
        else:
            write_legacy(obj, f, pickle_protocol)
    elif isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        folder = os.path.splitext(os.path.basename(path))[0] or "archive"
        atomic_write(path, lambda out: _write(obj, out, folder, pickle_protocol))
    else:
        _write(obj, f, "archive", pickle_protocol)


def _write(obj, out, folder: str, protocol: int) -> None:
    buf = io.BytesIO()
    pickler = ArchivePickler(buf, protocol)
    pickler.dump(obj)
    # The settings are read once, so a save is consistent even if another thread changes them.
    skip = config.skipping_data()
    align = _alignment(config.save.storage_alignment)
    z = ZipWriter(out, compute_crc32=bool(config.save.compute_crc32), alignment=align)
    z.write(f"{folder}/data.pkl", buf.getbuffer())
    # The records PyTorch 2.x writes beside the data, in its order (readers skip them).
    z.write(f"{folder}/.format_version", b"1")
    z.write(f"{folder}/.storage_alignment", str(align).encode())
    z.write(f"{folder}/byteorder", sys.byteorder.encode())
    for ref in pickler.storages:
        arr = ref.array
        name = f"{folder}/data/{ref.key}"
        if skip:  # skip_data(): the record keeps its size, its bytes are left as zeros
            z.write(name, size=arr.nbytes)
        else:
            z.write(name, np.ascontiguousarray(arr).reshape(-1).view(np.uint8))
    z.write(f"{folder}/version", b"3\n")
    # A 40-digit id of the contents, the length PyTorch's has (its digits are its own): a
    # digest of the records' names, CRC-32s and sizes, so it costs nothing per byte saved and
    # the same checkpoint saved twice is the same file
    digest = hashlib.sha256(repr(z.records()).encode())
    z.write(f"{folder}/.data/serialization_id", str(int(digest.hexdigest(), 16))[:40].encode())
    z.close()


def _alignment(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value & (value - 1):
        raise ValueError(f"storage_alignment must be a positive power of two, got {value!r}")
    return value


class NotACheckpointError(pickle.UnpicklingError, RuntimeError):
    """A file that is neither a zip nor a legacy checkpoint. PyTorch reads such a file as a
    legacy pickle stream and fails with ``UnpicklingError``; ember says what the file is and
    stays a ``RuntimeError`` as well, so either ``except`` catches it."""


class EmptyCheckpointError(EOFError, RuntimeError):
    """An empty file: ``EOFError`` as in PyTorch, and a ``RuntimeError`` as well."""


def check_source(f, filename: str) -> str:
    """``"zip"`` or ``"legacy"`` for a checkpoint; raises, before reading more than a few
    bytes, for a directory, a device, a pipe, an unseekable stream or other data."""
    if isinstance(f, (str, os.PathLike)):
        st = os.stat(f)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), filename)
        if not stat.S_ISREG(st.st_mode):
            raise RuntimeError(
                f"{filename}: not a regular file ({_file_kind(st.st_mode)}); ember.load reads "
                "checkpoint files and seekable file objects. Copy the data into a file or an "
                "io.BytesIO first.")
        with open(f, "rb") as fh:
            head = fh.read(len(ZIP_MAGIC))
    else:
        try:
            fileno = f.fileno()
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            fileno = None
        if fileno is not None:
            mode = os.fstat(fileno).st_mode
            if not stat.S_ISREG(mode):
                raise RuntimeError(f"{filename}: not a regular file ({_file_kind(mode)}); "
                                   "load from a checkpoint file or an io.BytesIO")
        try:
            seek = f.seek  # (torch's f.seek(f.tell()) looks up seek first)
            pos = f.tell()
            seek(pos)
        except (io.UnsupportedOperation, AttributeError) as err:
            raise type(err)(f"{err}. You can only torch.load from a file that is seekable. "
                            "Please pre-load the data into a buffer like io.BytesIO and try to "
                            "load from it instead.") from None
        head = f.read(len(ZIP_MAGIC))
        f.seek(pos)
    if head == ZIP_MAGIC:
        return "zip"
    from . import legacy

    if legacy.is_legacy(f):
        return "legacy"
    message = _not_zip_message(f, filename)
    raise (EmptyCheckpointError if "file is empty" in message else NotACheckpointError)(message)


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a pipe"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a plain file"


def _storage_dtype_np(dt: D.dtype):
    return dt.np_dtype


class _Reader:
    def __init__(self, f, filename: str, use_mmap: bool):
        self.filename = filename
        self._mm = None
        self._fh = self._src = None
        start = None if isinstance(f, (str, os.PathLike)) else f.tell()
        try:
            if use_mmap:
                self._open_mapped(f)
                self.zip = zipfile.ZipFile(self._fh)
                self.size = len(self._mm)
            else:
                self._src = self._fh = open(f, "rb") if isinstance(f, (str, os.PathLike)) \
                    else None
                self._src = self._src or f
                self.zip = zipfile.ZipFile(self._src)
                self.size = _size_of(self._src)
        except zipfile.BadZipFile:
            self.close()
            if start is not None:
                f.seek(start)  # zipfile moved it; the message reads the file's first bytes
            raise RuntimeError(_not_zip_message(f, filename)) from None
        except (OSError, ValueError) as err:
            self.close()
            if isinstance(err, FileNotFoundError):
                raise
            raise RuntimeError(f"{filename}: cannot read the checkpoint ({err})") from None
        # What the records may inflate to, all together (see the module docstring).
        self._budget = max(_INFLATE_FLOOR, _INFLATE_RATIO * self.size)
        names = self.zip.namelist()
        if not names:
            self.close()
            raise RuntimeError(f"{filename}: the zip archive is empty, not a checkpoint")
        self.prefix = names[0].split("/")[0]
        self.names = set(names)
        self.byteorder = self._byteorder()

    def _open_mapped(self, path) -> None:
        """Map the whole file. ``MAP_PRIVATE`` (the default) maps it copy-on-write: tensors are
        writable, the file never changes, and pages are read only when touched. ``MAP_SHARED``
        writes tensor changes through to the file; a file this process may not write is then
        mapped read-only (its tensors refuse in-place changes)."""
        if config.load.mmap_flags == config.MAP_SHARED:
            try:
                self._fh = open(path, "r+b")
                access = mmap.ACCESS_WRITE
            except PermissionError:
                self._fh = open(path, "rb")
                access = mmap.ACCESS_READ
        else:
            self._fh = open(path, "rb")
            access = mmap.ACCESS_COPY
        if os.fstat(self._fh.fileno()).st_size == 0:
            raise ValueError("cannot map an empty file")
        self._mm = mmap.mmap(self._fh.fileno(), 0, access=access)

    def _byteorder(self) -> str:
        """``"<"`` or ``">"``: the ``byteorder`` record, else ``set_default_load_endianness``'s
        choice (None or NATIVE: this machine's order)."""
        record = self._read_optional("byteorder", _SMALL_RECORD)
        if record is None:
            choice = config.load.endianness
            if choice is config.LoadEndianness.LITTLE:
                return "<"
            if choice is config.LoadEndianness.BIG:
                return ">"
            return ">" if sys.byteorder == "big" else "<"
        text = record.decode("utf-8", "backslashreplace")
        if text not in ("little", "big"):
            self.close()
            raise ValueError(f"Unknown endianness type: {text}")
        return ">" if text == "big" else "<"

    def close(self):
        for obj in (getattr(self, "zip", None), self._fh):
            if obj is not None:
                obj.close()

    def _read_optional(self, name, most: int):
        full = f"{self.prefix}/{name}"
        return self.read(full, most=most) if full in self.names else None

    def _check_declared(self, info: zipfile.ZipInfo, need: int | None = None,
                        most: int | None = None) -> None:
        """Refuse a record from what its zip entry declares, before inflating anything."""
        name, where = info.filename, self.filename
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or \
                info.flag_bits & 0x1:
            raise RuntimeError(
                f"{where}: record '{name}' is encrypted or compressed with zip method "
                f"{info.compress_type}; checkpoints store records uncompressed (or deflated). "
                "Re-save the file with ember.save or torch.save.")
        if need is not None and info.file_size != need:
            raise RuntimeError(
                f"{where}: storage record {name.split('/', 1)[-1]} has {info.file_size} bytes "
                f"but the checkpoint declares {need} bytes; the file is truncated or corrupt")
        if most is not None and info.file_size > most:
            raise RuntimeError(f"{where}: record '{name}' declares {info.file_size} bytes, "
                               f"more than the {most} it can hold; the file is corrupt")
        stored = info.compress_type == zipfile.ZIP_STORED
        if info.compress_size > self.size or stored and info.compress_size != info.file_size \
                or info.file_size > _DEFLATE_MAX_RATIO * info.compress_size + 1024:
            raise RuntimeError(
                f"{where}: record '{name}' declares {info.file_size} bytes from "
                f"{info.compress_size} stored in a {self.size}-byte archive, which is "
                "impossible; the file is truncated or corrupt")
        if info.file_size > self._budget:
            raise RuntimeError(
                f"{where}: record '{name}' would inflate to {info.file_size} bytes, more than "
                f"this {self.size}-byte archive can hold (its records may inflate to at most "
                f"{_INFLATE_RATIO}x its size, or {_INFLATE_FLOOR >> 20} MiB); refusing a "
                "possible decompression bomb. PyTorch writes records uncompressed: if you trust "
                "the file, extract it and save the object again.")
        self._budget -= info.file_size

    def _check_pickle_ratio(self, info: zipfile.ZipInfo) -> None:
        most = max(_PICKLE_INFLATE_FLOOR, _PICKLE_INFLATE_RATIO * info.compress_size)
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > most:
            raise RuntimeError(
                f"{self.filename}: record '{info.filename}' inflates {info.compress_size} bytes "
                f"to {info.file_size}, more than {_PICKLE_INFLATE_RATIO}x (or "
                f"{_PICKLE_INFLATE_FLOOR >> 20} MiB); refusing a possible pickle bomb. PyTorch "
                "stores data.pkl uncompressed: if you trust the file, extract it and save the "
                "object again.")

    def read(self, full: str, most: int | None = None) -> bytes:
        try:
            info = self.zip.getinfo(full)
            self._check_declared(info, most=most)
            if full.endswith("/data.pkl"):
                self._check_pickle_ratio(info)
            return self.zip.read(_crc_checked(info))
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError,
                struct.error) as err:
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
                               f"{brief(numel)}; the file is corrupt")
        need = numel * dt.itemsize
        info = self.zip.getinfo(full)
        self._check_declared(info, need)
        if config.skipping_data():  # skip_data(): the shape is kept, the bytes are not read
            return np.zeros(numel, dt.np_dtype)
        try:
            if self._mm is not None:
                start = _data_offset(self._mm[info.header_offset:info.header_offset + 30], info)
                if info.compress_type != zipfile.ZIP_STORED or \
                        start + info.file_size > len(self._mm):
                    raise RuntimeError(f"{self.filename}: record data/{key} cannot be mapped")
                raw = np.frombuffer(self._mm, np.uint8, count=info.file_size, offset=start)
            elif info.compress_type == zipfile.ZIP_STORED:
                raw = self._read_stored(info)
            else:
                raw = np.frombuffer(self.zip.read(_crc_checked(info)), np.uint8)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, struct.error) as err:
            hint = " or was changed in place through load(mmap=True) with MAP_SHARED, which " \
                "leaves the old CRC-32 (load such a file with mmap=True)" if "CRC" in str(err) \
                else ""
            raise RuntimeError(f"{self.filename}: record '{full}' is unreadable: {err} "
                               f"(the file is truncated or corrupt{hint})") from None
        if raw.size != need:
            raise RuntimeError(
                f"{self.filename}: storage record data/{key} has {raw.size} bytes but the "
                f"checkpoint declares {numel} x {dt} = {need} bytes; the file is truncated or "
                "corrupt")
        arr = raw.view(np_dt)
        if np_dt.byteorder == ">" or (np_dt.byteorder == "=" and sys.byteorder == "big"):
            arr = arr.astype(dt.np_dtype)
        elif self._mm is None and not arr.flags.writeable:
            arr = arr.copy()  # own, writable memory
        return arr

    def _read_stored(self, info: zipfile.ZipInfo) -> np.ndarray:
        """An uncompressed record read straight into its own (writable) array: one copy, not
        two, with the CRC checked as zipfile checks it."""
        fh = self._src
        fh.seek(info.header_offset)
        start = _data_offset(fh.read(30), info)
        arr = np.empty(info.file_size, np.uint8)
        fh.seek(start)
        got = fh.readinto(memoryview(arr)) if arr.size else 0
        if got != arr.size:
            raise EOFError(f"the record ends after {got} of its {arr.size} bytes")
        if info.CRC and zlib.crc32(arr) != info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
        return arr


def _crc_checked(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """``info`` for zipfile to read, without the CRC check where the writer left the CRC 0:
    ``torch.save`` with ``compute_crc32=False`` does, and PyTorch reads those files."""
    if info.CRC or not info.file_size:
        return info
    unchecked = copy.copy(info)
    del unchecked.CRC
    return unchecked


def _size_of(f) -> int:
    if isinstance(f, (str, os.PathLike)):
        return os.path.getsize(f)
    pos = f.tell()
    end = f.seek(0, io.SEEK_END)
    f.seek(pos)
    return end


def _data_offset(header, info: zipfile.ZipInfo) -> int:
    """Where a record's data starts, from the 30 bytes of its local header."""
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad local zip header")
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
    if head[:4] == b"PK\x05\x06":
        return f"{filename}: the zip archive is empty, not a checkpoint"
    if head[:2] == b"PK":
        return f"{filename}: the zip archive is truncated or corrupt"
    return f"{filename}: not a PyTorch checkpoint (expected a zip archive, found other data)"


def storage_key(key, filename: str) -> str:
    """A storage id's key as the record name it stands for: PyTorch writes a str (very old
    files an int); anything else is refused, never converted with ``str()``, whose cost
    depends on what the file built."""
    if type(key) is str:
        return key
    if type(key) is int:
        return str(key)
    raise pickle.UnpicklingError(f"{filename}: a storage key must be a string, got "
                                 f"{type(key).__name__} {brief(key, 100)}")


def storage_location(location, filename: str) -> str:
    """A storage id's location (``"cpu"``, ``"cuda:0"``): a str, or ASCII bytes in files
    pickled by Python 2 (PyTorch decodes those too)."""
    if type(location) is bytes:
        location = location.decode("ascii", "replace")
    if type(location) is not str:
        raise pickle.UnpicklingError(f"{filename}: a storage location must be a string such "
                                     f"as 'cpu', got {type(location).__name__} "
                                     f"{brief(location, 100)}")
    return location


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


def read_archive(f, map_location=None, weights_only: bool = True, use_mmap: bool = False,
                 encoding: str = "utf-8"):
    filename = str(os.fspath(f) if isinstance(f, (str, os.PathLike))
                   else getattr(f, "name", "<file>"))
    if check_source(f, filename) == "legacy":  # torch.save(_use_new_zipfile_serialization=False)
        from . import legacy

        return legacy.read_legacy(f, filename, map_location, weights_only, use_mmap, encoding)
    reader = _Reader(f, filename, use_mmap)
    try:
        return _read_objects(reader, filename, map_location, weights_only, encoding)
    finally:
        reader.close()


def read_pickle_record(f) -> bytes:
    """The ``data.pkl`` record of a zip checkpoint, as bytes, for static inspection."""
    filename = str(os.fspath(f) if isinstance(f, (str, os.PathLike))
                   else getattr(f, "name", "<file>"))
    expected = "Expected input to be a checkpoint returned by torch.save"
    if check_source(f, filename) == "legacy":
        raise ValueError(f"{expected} (the zip format); {filename} is a legacy checkpoint")
    reader = _Reader(f, filename, False)
    try:
        if f"{reader.prefix}/constants.pkl" in reader.names:
            raise ValueError(f"{expected} but got a torchscript checkpoint")
        pkl_name = f"{reader.prefix}/data.pkl"
        if pkl_name not in reader.names:
            raise ValueError(f"{expected}; {filename} has no data.pkl")
        return reader.read(pkl_name)
    finally:
        reader.close()


def _read_objects(reader, filename, map_location, weights_only, encoding):
    pkl_name = f"{reader.prefix}/data.pkl"
    if pkl_name not in reader.names:
        raise RuntimeError(f"{filename}: the archive has no data.pkl; not a PyTorch checkpoint")
    cache = {}

    def persistent_load(pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(
                f"{filename}: unexpected persistent id {brief(pid)}; only ('storage', type, "
                "key, location, numel) records are allowed in a checkpoint")
        _, stype, key, location, numel = pid
        if not isinstance(stype, StorageType):
            raise pickle.UnpicklingError(
                f"{filename}: unknown storage type {brief(stype, 100)} for record "
                f"data/{brief(key, 100)}")
        return load_storage(stype.dtype, storage_key(key, filename),
                            storage_location(location, filename), numel,
                            stype.name == "UntypedStorage")

    def load_storage(dt, key, location, numel, untyped=False):
        if key not in cache:
            arr = reader.record_array(key, dt, numel)
            if untyped and reader.byteorder != _NATIVE:
                # Bytes whose element type only a tensor names (_rebuild_tensor_v3), which
                # then puts each element in this machine's order.
                arr = arr.view(ForeignOrderBytes)
            if locations.has_custom_entries() and (
                    map_location is None or isinstance(map_location, (dict, str, Device))):
                placed = locations.restore_registered(arr, location, map_location)
                if placed is not None:  # a deserializer from register_package placed it
                    cache[key] = placed
                    return placed
            dev = _target_device(location, map_location)
            if dev is not None and dev.type != "cpu":
                arr = bind_storage(arr, dev)  # tensors are built on the host, then moved
            elif callable(map_location) and not isinstance(map_location, (dict, str, Device)):
                from .._tensor import Tensor

                moved = map_location(Tensor._make(arr, dt), location)
                arr = moved._data if hasattr(moved, "_data") else arr
            cache[key] = arr
        return cache[key]

    data = reader.read(pkl_name)
    try:
        return make_unpickler(io.BytesIO(data), persistent_load, weights_only, filename,
                              encoding, limit=len(data)).load()
    except pickle.UnpicklingError:
        raise
    except (EOFError, IndexError, KeyError, TypeError, ValueError, AttributeError,
            OverflowError, struct.error, RecursionError) as err:
        raise RuntimeError(f"{filename}: data.pkl is corrupt ({type(err).__name__}: {err})") \
            from None
