"""Reading PyTorch's legacy (pre-1.6) checkpoint format, ``torch.save(...,
_use_new_zipfile_serialization=False)``.

The file is a run of pickles followed by raw storage bytes:

1. the magic number ``0x1950a86a20f9469cfc6c``, 2. the protocol version ``1001``,
3. a small dict of system information (byte order, C type sizes),
4. the object itself, whose storages are persistent ids
   ``('storage', storage_type, key, location, numel, view_metadata)``; ``view_metadata`` is
   ``None`` or ``(view_key, offset, numel)`` naming a slice of the root storage ``key``,
5. the list of storage keys in the order their bytes follow,
6. for each key: an 8-byte little-endian element count, then the elements (little-endian).

The object pickle goes through the same unpicklers as zip checkpoints (with
``weights_only=True``, the restricted interpreter of ``restricted.py``), and so do the header
pickles, with no globals allowed at all. Storages are allocated while it is read (tensors
are views of them, so views keep sharing memory) and filled from the bytes that follow.
Files from before PyTorch 0.4 are tar archives; those are reported, not read.
``write_legacy`` writes the format (``ember.save(..., _use_new_zipfile_serialization=False)``).
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import sys

import numpy as np

from . import config
from .archive import storage_key, storage_location
from .brief import brief
from .pickling import ArchivePickler
from .restricted import load_plain, make_unpickler
from .unpickling import StorageType

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
_CORRUPT = (EOFError, pickle.UnpicklingError, IndexError, KeyError, TypeError, ValueError,
            AttributeError, OverflowError, struct.error)


class _LegacyPickler(ArchivePickler):
    """The zip format's pickler with the legacy six-field storage ids (no storage views:
    tensors are views of whole root storages, as the zip format writes them)."""

    def persistent_id(self, obj):
        pid = super().persistent_id(obj)
        return None if pid is None else pid + (None,)


def write_legacy(obj, out, protocol: int = 2) -> None:
    """Write ``obj`` to the binary file ``out`` in the legacy format described above."""
    sys_info = {"protocol_version": PROTOCOL_VERSION, "little_endian": True,
                "type_sizes": {"short": 2, "int": 4, "long": 4}}
    for header in (MAGIC_NUMBER, PROTOCOL_VERSION, sys_info):
        pickle.dump(header, out, protocol=protocol)
    pickler = _LegacyPickler(out, protocol)
    pickler.dump(obj)
    refs = sorted(pickler.storages, key=lambda ref: ref.key)  # torch sorts the keys as strings
    pickle.dump([ref.key for ref in refs], out, protocol=protocol)
    for ref in refs:
        arr = np.ascontiguousarray(ref.array).reshape(-1)
        if sys.byteorder == "big" and arr.dtype.itemsize > 1:
            arr = arr.byteswap()  # the format is little-endian on every machine
        out.write(struct.pack("<q", arr.size))
        out.write(memoryview(arr.view(np.uint8)) if arr.size else b"")


def _open(f):
    """A binary file object for ``f`` and whether we opened it (and so must close it)."""
    if isinstance(f, (str, os.PathLike)):
        return open(f, "rb"), True
    return f, False


def is_legacy(f) -> bool:
    """True when ``f`` starts with the legacy magic number (the position is left unchanged)."""
    fh, own = _open(f)
    try:
        pos = fh.tell()
        try:
            head = fh.read(64)  # the magic number's pickle is 16 bytes in protocol 2
            if not head.startswith(b"\x80"):
                return False
            return load_plain(io.BytesIO(head), "<header>") == MAGIC_NUMBER
        except Exception:
            return False
        finally:
            fh.seek(pos)
    except (OSError, AttributeError):
        return False
    finally:
        if own:
            fh.close()


def is_legacy_tar(f) -> bool:
    """True for the tar checkpoints of PyTorch before 0.4 ("ustar" at byte 257)."""
    fh, own = _open(f)
    try:
        pos = fh.tell()
        block = fh.read(512)
        fh.seek(pos)
        return len(block) == 512 and block[257:262] == b"ustar"
    except (OSError, AttributeError):
        return False
    finally:
        if own:
            fh.close()


class _Storages:
    """The legacy six-field storage ids: allocates each root storage once (its bytes are read
    after the pickle) and hands out views of it."""

    def __init__(self, weights_only: bool, filename: str, file_bytes: int | None):
        self._weights_only = weights_only
        self._filename = filename
        self.roots: dict = {}   # key -> (array, StorageType, location)
        self.views: dict = {}   # view key -> array (a slice of its root)
        # Storages are allocated before their bytes are read: their declared sizes together
        # may not exceed the file's own size, so a crafted numel cannot exhaust memory.
        self._bytes_left = file_bytes

    def persistent_load(self, pid):
        name = self._filename
        if isinstance(pid, tuple) and pid and pid[0] == "module" and not self._weights_only:
            return pid[1]  # a whole-module save: the class (found through find_class)
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(
                f"{name}: unexpected persistent id {brief(pid)}; only ('storage', ...) records "
                "are allowed in a weights-only load of a legacy checkpoint")
        _, stype, key, location, numel, view = pid
        if not isinstance(stype, StorageType):
            raise pickle.UnpicklingError(f"{name}: unknown storage type {brief(stype, 100)} "
                                         f"for storage {brief(key, 100)}")
        if isinstance(numel, bool) or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"{name}: storage {brief(key, 100)} has an invalid "
                                         f"size {brief(numel, 100)}")
        key = storage_key(key, name)
        location = storage_location(location, name)
        if key not in self.roots:
            nbytes = numel * stype.dtype.itemsize
            if self._bytes_left is not None:
                if nbytes > self._bytes_left:
                    raise RuntimeError(
                        f"{name}: storage {key!r} declares {numel} elements ({nbytes} bytes), "
                        "more than the file holds; the file is corrupt")
                self._bytes_left -= nbytes
            self.roots[key] = (np.zeros(numel, stype.dtype.np_dtype), stype, location)
        root = self.roots[key][0]
        if view is None:
            return root
        if not (isinstance(view, tuple) and len(view) == 3):
            raise pickle.UnpicklingError(f"{name}: storage view {brief(view, 100)} is "
                                         "malformed")
        view_key, offset, size = view
        if not (type(offset) is int and type(size) is int and 0 <= offset and 0 <= size and
                offset + size <= root.size):
            raise pickle.UnpicklingError(
                f"{name}: storage view {brief(view_key, 100)} (offset {brief(offset, 50)}, "
                f"size {brief(size, 50)}) does not fit in storage {key!r} of {root.size} "
                "elements; the file is corrupt")
        return self.views.setdefault(storage_key(view_key, name), root[offset:offset + size])


def _fill(fh, roots: dict, keys, filename: str, skip: bool = False) -> None:
    """Read each storage's count and bytes, in the order ``keys`` lists them, into place
    (``skip``: check the counts, leave the storages as they are)."""
    if not isinstance(keys, list) or not all(type(k) in (str, int) for k in keys) or \
            set(map(str, keys)) != set(roots):
        missing = set(roots) - set(map(str, keys)) if isinstance(keys, list) and \
            all(type(k) in (str, int) for k in keys) else set(roots)
        raise RuntimeError(f"{filename}: the legacy checkpoint's storage list does not match "
                           f"its tensors (missing {sorted(missing)[:3]}); the file is corrupt")
    for key in keys:
        arr, stype, _ = roots[str(key)]
        count = fh.read(8)
        if len(count) < 8:
            raise RuntimeError(f"{filename}: the legacy checkpoint ends before the data of "
                               f"storage {key!r}; the file is truncated")
        numel = int.from_bytes(count, "little", signed=True)
        if numel != arr.size:
            raise RuntimeError(f"{filename}: storage {key!r} records {numel} elements but its "
                               f"tensors need {arr.size}; the file is corrupt")
        raw = arr.view(np.uint8).reshape(-1)
        if skip:  # skip_data(): the storage keeps its zeros; its bytes are passed over
            fh.seek(raw.size, io.SEEK_CUR)
            continue
        got = fh.readinto(memoryview(raw)) if raw.size else 0
        if got != raw.size:
            raise RuntimeError(
                f"{filename}: storage {key!r} has {got or 0} of its {raw.size} bytes "
                f"({arr.size} x {stype.dtype}); the legacy checkpoint is truncated")
        if sys.byteorder == "big" and arr.dtype.itemsize > 1:
            arr.byteswap(inplace=True)  # the format is little-endian on every machine


def _bytes_after(fh) -> int | None:
    """How many bytes follow the current position of ``fh`` (None when it cannot be told)."""
    try:
        pos = fh.tell()
        end = fh.seek(0, io.SEEK_END)
        fh.seek(pos)
        return max(end - pos, 0)
    except (OSError, AttributeError, ValueError):
        return None


def read_legacy(f, filename: str, map_location, weights_only: bool, use_mmap: bool,
                encoding: str = "utf-8"):
    """Load a legacy checkpoint (see the module docstring for the layout)."""
    if use_mmap:
        raise RuntimeError(f"{filename}: mmap=True works only with zip checkpoints; this is a "
                           "legacy (pre-1.6) one. Load it without mmap.")
    fh, own = _open(f)
    try:
        try:
            magic = load_plain(fh, filename)
            version = load_plain(fh, filename)
            load_plain(fh, filename)  # system info: the data is little-endian regardless
        except _CORRUPT as err:
            if "Weights only load failed" in str(err):
                raise
            raise RuntimeError(f"{filename}: the legacy checkpoint header is truncated or "
                               f"corrupt ({type(err).__name__}: {err})") from None
        if magic != MAGIC_NUMBER:
            raise RuntimeError(f"{filename}: invalid magic number; corrupt file?")
        if version != PROTOCOL_VERSION:
            raise RuntimeError(f"{filename}: invalid legacy protocol version: "
                               f"{brief(version, 100)}")
        left = _bytes_after(fh)
        storages = _Storages(weights_only, filename, left)
        try:
            result = make_unpickler(fh, storages.persistent_load, weights_only, filename,
                                    encoding, limit=left).load()
            keys = load_plain(fh, filename)
        except pickle.UnpicklingError as err:
            if "Weights only load failed" in str(err) or filename in str(err):
                raise
            raise RuntimeError(f"{filename}: the legacy checkpoint is truncated or corrupt "
                               f"(UnpicklingError: {err})") from None
        except (*_CORRUPT, RecursionError) as err:
            raise RuntimeError(f"{filename}: the legacy checkpoint is truncated or corrupt "
                               f"({type(err).__name__}: {err})") from None
        _fill(fh, storages.roots, keys, filename, config.skipping_data())
    finally:
        if own:
            fh.close()
    _relocate(storages.roots, map_location, filename)
    return result


def _relocate(roots: dict, map_location, filename: str) -> None:
    """Apply ``map_location``. Storages stay CPU arrays shared by their views; a callable may
    inspect or replace a storage with another CPU tensor of the same size."""
    from .._backend import Device
    from .._tensor import Tensor
    from .archive import _target_device

    for arr, stype, location in roots.values():
        if callable(map_location) and not isinstance(map_location, (dict, str, Device)):
            moved = map_location(Tensor._make(arr, stype.dtype), location)
            data = getattr(moved, "_data", None)
            if isinstance(data, np.ndarray) and data is not arr and data.shape == arr.shape:
                np.copyto(arr, data)
            elif data is not None and not isinstance(data, np.ndarray):
                raise NotImplementedError(
                    f"{filename}: a map_location callable that moves legacy checkpoint storages "
                    "off the CPU is not supported; load to the CPU, then call .to(device)")
            continue
        dev = _target_device(location, map_location)
        if dev is not None and dev.type != "cpu":
            raise NotImplementedError(
                f"{filename}: loading a legacy (pre-1.6) checkpoint straight to {dev} is not "
                "supported; load it with map_location='cpu', then call .to(device)")
