"""Crafting hostile checkpoints by hand: a pickle assembler and the two container formats.

``Asm`` writes a pickle opcode by opcode, so a test can build exactly what an attacker would
(a BUILD on a tensor, a SETITEM into one, a global PyTorch does not allow) without any Python
object that pickles that way. ``zip_checkpoint`` and ``legacy_checkpoint`` wrap such a pickle
in PyTorch's zip format or its pre-1.6 format.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class Asm:
    """A pickle written opcode by opcode; every method returns ``self``."""

    def __init__(self, protocol: int = 2, legacy: bool = False):
        self.out = bytearray(b"\x80" + bytes([protocol]))
        self.legacy = legacy  # storages get the legacy format's six-field persistent ids

    def raw(self, data: bytes) -> Asm:
        self.out += data
        return self

    def glob(self, module: str, name: str) -> Asm:
        return self.raw(b"c" + f"{module}\n{name}\n".encode())

    def str(self, text: str) -> Asm:
        data = text.encode()
        return self.raw(b"X" + struct.pack("<I", len(data)) + data)

    def int(self, n: int) -> Asm:
        if 0 <= n < 256:
            return self.raw(b"K" + bytes([n]))
        if -2**31 <= n < 2**31:
            return self.raw(b"J" + struct.pack("<i", n))
        data = pickle.encode_long(n)
        return self.raw(b"\x8a" + bytes([len(data)]) + data)

    def float(self, x: float) -> Asm:
        return self.raw(b"G" + struct.pack(">d", x))

    def none(self) -> Asm:
        return self.raw(b"N")

    def false(self) -> Asm:
        return self.raw(b"\x89")

    def mark(self) -> Asm:
        return self.raw(b"(")

    def tuple(self) -> Asm:
        return self.raw(b"t")

    def ints(self, values) -> Asm:
        """A tuple of ints."""
        self.mark()
        for v in values:
            self.int(v)
        return self.tuple()

    def empty_dict(self) -> Asm:
        return self.raw(b"}")

    def empty_list(self) -> Asm:
        return self.raw(b"]")

    def reduce(self) -> Asm:
        return self.raw(b"R")

    def build(self) -> Asm:
        return self.raw(b"b")

    def setitem(self) -> Asm:
        return self.raw(b"s")

    def append(self) -> Asm:
        return self.raw(b"a")

    def ordered_dict(self) -> Asm:
        return self.glob("collections", "OrderedDict").raw(b")").reduce()

    def tensor(self, numel: int = 4, size=(4,), stride=(1,), key: str = "0",
               legacy: bool | None = None) -> Asm:
        """``_rebuild_tensor_v2(<float storage key>, 0, size, stride, False, OrderedDict())``."""
        self.glob("torch._utils", "_rebuild_tensor_v2").mark()
        self.mark().str("storage").glob("torch", "FloatStorage").str(key).str("cpu").int(numel)
        if self.legacy if legacy is None else legacy:
            self.none()
        self.tuple().raw(b"Q")  # BINPERSID
        self.int(0).ints(size).ints(stride).false().ordered_dict()
        return self.tuple().reduce()

    def stop(self) -> bytes:
        return bytes(self.out + b".")


def zip_checkpoint(path, pkl: bytes, records: dict | None = None, compress=None):
    """A zip checkpoint ``x/`` holding ``pkl`` as data.pkl and ``records`` as data/<key>."""
    if records is None:
        records = {"0": np.arange(4, dtype=np.float32).tobytes()}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("x/data.pkl", pkl)
        z.writestr("x/byteorder", "little")
        for key, data in records.items():
            z.writestr(f"x/data/{key}", data, compress_type=compress)
        z.writestr("x/version", "3\n")
    return path


def legacy_checkpoint(path, pkl: bytes, records: dict | None = None):
    """A pre-1.6 checkpoint: magic, protocol, system info, ``pkl``, the key list, the data."""
    if records is None:  # the assembler's tensors use storage "0"
        records = {"0": np.arange(4, dtype=np.float32)} if b"FloatStorage" in pkl else {}
    out = io.BytesIO()
    for header in (LEGACY_MAGIC, 1001, {"little_endian": True}):
        pickle.dump(header, out, protocol=2)
    out.write(pkl)
    pickle.dump(list(records), out, protocol=2)
    for arr in records.values():
        out.write(int(arr.size).to_bytes(8, "little", signed=True))
        out.write(arr.tobytes())
    path.write_bytes(out.getvalue())
    return path
