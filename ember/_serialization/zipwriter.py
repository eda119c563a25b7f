"""A ZIP writer for checkpoints: records stored (never compressed), each record's data starting
on an ``alignment``-byte boundary as PyTorch places it (so ``mmap=True`` maps aligned arrays),
CRC-32 computed or, with ``compute_crc32=False``, written as 0 (PyTorch's
``set_crc32_options(False)``; its loader, and ember's, skip the check for such records).

Python's ``zipfile`` always computes the CRC, cannot align data and seeks back over the output;
this writer knows every record's size before it writes it, so it never seeks: any writable
binary file works, pipes included. Offsets are counted from where writing began, so the bytes
written are a complete archive wherever they end up. ZIP64 fields are written for records,
offsets and directories past the 32-bit limits (``ZIP64_LIMIT``, lowered by the tests). As in
PyTorch's archives, each record is followed by a data descriptor and the ZIP64 end records are
always there, so a checkpoint has the size PyTorch's has.
"""

from __future__ import annotations

import struct
import zlib

ZIP64_LIMIT = 0xFFFFFFFF         # sizes and offsets at or above this need ZIP64 fields
ZIP64_COUNT_LIMIT = 0xFFFF       # so do more records than this
_PAD_ID = 0x4246                 # "FB": the extra field PyTorch pads local headers with
_DOS_DATE = (1 << 5) | 1         # 1980-01-01: fixed, so saving the same object gives the same bytes
_CHUNK = 16 << 20                # zeros written at a time for skipped storages


class ZipWriter:
    """Write stored records to ``out`` one after another; ``close()`` writes the directory.

    Example:
        >>> w = ZipWriter(io.BytesIO())
        >>> w.write("archive/version", b"3\\n")
        >>> w.close()
    """

    def __init__(self, out, compute_crc32: bool = True, alignment: int = 64):
        self._out = out
        self._pos = 0
        self._crc = bool(compute_crc32)
        self._align = max(int(alignment), 1)
        self._entries: list = []   # (name bytes, flags, crc, size, offset)

    def _emit(self, data) -> None:
        self._out.write(data)
        self._pos += len(data) if not isinstance(data, memoryview) else data.nbytes

    def records(self) -> list[tuple[bytes, int, int]]:
        """(name, CRC-32, size) of each record written so far."""
        return [(name, crc, size) for name, _, crc, size, _ in self._entries]

    def write(self, name: str, data=b"", *, size: int | None = None) -> None:
        """Add a record holding ``data`` (bytes or a C-contiguous buffer), or, when ``size``
        is given, ``size`` zero bytes with CRC 0 (``skip_data``: space for the bytes)."""
        view = None
        if size is None:
            view = memoryview(data).cast("B")
            size = view.nbytes
        raw_name = name.encode("utf-8")
        # bit 3: a data descriptor follows the data, as PyTorch writes every record (so an
        # archive's size is the same as PyTorch's); bit 11: the name is UTF-8
        flags = 0x8 if raw_name.isascii() else 0x808
        crc = zlib.crc32(view) if self._crc and view is not None else 0
        offset = self._pos
        big = size >= ZIP64_LIMIT
        extra = struct.pack("<HHQQ", 0x0001, 16, size, size) if big else b""
        # Pad with an extra field (at least its 4-byte header) up to the alignment.
        end = offset + 30 + len(raw_name) + len(extra) + 4
        pad = -end % self._align
        extra += struct.pack("<HH", _PAD_ID, pad) + b"Z" * pad
        size32 = 0xFFFFFFFF if big else size
        self._emit(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 45 if big else 20, flags, 0, 0,
                               _DOS_DATE, crc, size32, size32, len(raw_name), len(extra)))
        self._emit(raw_name)
        self._emit(extra)
        if view is not None:
            if size:
                self._emit(view)
        else:
            zeros = bytes(min(size, _CHUNK))
            left = size
            while left:
                n = min(left, len(zeros))
                self._emit(zeros if n == len(zeros) else zeros[:n])
                left -= n
        if big:
            self._emit(struct.pack("<4sIQQ", b"PK\x07\x08", crc, size, size))
        else:
            self._emit(struct.pack("<4sIII", b"PK\x07\x08", crc, size, size))
        self._entries.append((raw_name, flags, crc, size, offset))

    def close(self) -> None:
        """Write the central directory and its end records (ZIP64 ones where needed)."""
        start = self._pos
        for raw_name, flags, crc, size, offset in self._entries:
            fields = []
            if size >= ZIP64_LIMIT:
                fields += [size, size]
            if offset >= ZIP64_LIMIT:
                fields.append(offset)
            extra = struct.pack(f"<HH{len(fields)}Q", 0x0001, 8 * len(fields), *fields) \
                if fields else b""
            version = 45 if fields else 20
            size32 = 0xFFFFFFFF if size >= ZIP64_LIMIT else size
            self._emit(struct.pack(
                "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", version, version, flags, 0, 0,
                _DOS_DATE, crc, size32, size32, len(raw_name), len(extra), 0, 0, 0, 0,
                min(offset, 0xFFFFFFFF)))
            self._emit(raw_name)
            self._emit(extra)
        end = self._pos
        count, dir_size = len(self._entries), end - start
        # The ZIP64 end records are written always, as PyTorch does (readers ignore them when
        # the classic end record's fields are not saturated).
        self._emit(struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                               dir_size, start))
        self._emit(struct.pack("<4sIQI", b"PK\x06\x07", 0, end, 1))
        self._emit(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, min(count, 0xFFFF),
                               min(count, 0xFFFF), min(dir_size, 0xFFFFFFFF),
                               min(start, 0xFFFFFFFF), 0))
