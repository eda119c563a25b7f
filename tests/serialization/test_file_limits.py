"""Resource limits on malformed checkpoints: nothing is read, inflated or allocated beyond what
the file declares and can hold, and sources that are not checkpoint files are refused first.

The zip files here are crafted by patching what a zip entry declares (its sizes, in the central
directory) or by deflating large runs of zeros into tiny records; memory is measured with
tracemalloc (NumPy reports its buffers to it), never with wall-clock time.
"""

import io
import os
import pickle
import stat
import struct
import sys
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest

import ember

sys.path.insert(0, os.path.dirname(__file__))
from _pickle_asm import LEGACY_MAGIC, Asm, zip_checkpoint  # noqa: E402

MB = 1 << 20


def _patch_declared(path, name: str, file_size=None, compress_size=None):
    """Rewrite the sizes the central directory declares for entry ``name``."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    pos = 0
    while True:
        pos = data.index(b"PK\x01\x02", pos)
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46:pos + 46 + name_len]) == encoded:
            break
        pos += 4
    if compress_size is not None:
        struct.pack_into("<I", data, pos + 20, compress_size)
    if file_size is not None:
        struct.pack_into("<I", data, pos + 24, file_size)
    path.write_bytes(bytes(data))
    return path


def _zeros_record_zip(path, n_bytes: int, numel: int, record="x/data/0"):
    """A checkpoint whose storage record (or data.pkl) is ``n_bytes`` zeros, deflated."""
    pkl = Asm().tensor(numel=numel, size=(numel,)).stop()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name in ("x/data.pkl", "x/data/0"):
            if name == record:
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_DEFLATED
                with z.open(info, "w", force_zip64=True) as w:
                    chunk = bytes(MB)
                    for _ in range(n_bytes // MB):
                        w.write(chunk)
            else:
                z.writestr(name, pkl if name.endswith("pkl") else bytes(16))
        z.writestr("x/version", "3\n")
    return path


@pytest.fixture
def opened(monkeypatch):
    """The zip entries opened for reading (inflated), in order."""
    names = []
    original = zipfile.ZipFile.open

    def spy(self, name, mode="r", *args, **kwargs):
        if mode == "r":
            names.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return original(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return names


def _peak(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_record_size_is_checked_before_inflating(tmp_path, opened):
    # The pickle expects 16 bytes; the record declares (and would inflate to) 8 MB.
    path = zip_checkpoint(tmp_path / "x.pth", Asm().tensor().stop(),
                          records={"0": bytes(8 * MB)}, compress=zipfile.ZIP_DEFLATED)
    with pytest.raises(RuntimeError, match="has 8388608 bytes but the checkpoint declares 16"):
        ember.load(path)
    assert "x/data/0" not in opened


def test_deflate_bomb_is_refused_without_inflating(tmp_path, opened):
    # 96 MB of zeros deflate to ~100 KB: a storage the pickle sizes consistently, but the
    # archive would inflate ~1000x. Refused from the declared sizes alone.
    path = _zeros_record_zip(tmp_path / "bomb.pth", 96 * MB, numel=24 * MB)
    assert path.stat().st_size < MB

    def load():
        with pytest.raises(RuntimeError, match="refusing a possible decompression bomb"):
            ember.load(path)

    peak = _peak(load)
    assert "x/data/0" not in opened
    assert peak < 8 * MB, peak


def test_data_pkl_bomb_is_refused_without_inflating(tmp_path, opened):
    path = _zeros_record_zip(tmp_path / "bomb.pth", 96 * MB, numel=4, record="x/data.pkl")
    with pytest.raises(RuntimeError, match="decompression bomb"):
        ember.load(path)
    assert "x/data.pkl" not in opened


def test_compressed_records_within_limits_still_load(tmp_path):
    # PyTorch reads deflated records too (a re-zipped checkpoint): so does ember, within limits.
    path = zip_checkpoint(tmp_path / "x.pth", Asm().tensor().stop(),
                          compress=zipfile.ZIP_DEFLATED)
    assert ember.load(path).tolist() == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("patch,match", [
    (dict(file_size=2**31), "impossible"),               # deflate cannot expand 2**31/20
    (dict(compress_size=2**31), "impossible"),           # more than the archive holds
])
def test_impossible_declared_sizes(tmp_path, opened, patch, match):
    path = zip_checkpoint(tmp_path / "x.pth", Asm().tensor(numel=2**29, size=(4,)).stop(),
                          compress=zipfile.ZIP_DEFLATED)
    _patch_declared(path, "x/data/0", **patch)
    with pytest.raises(RuntimeError, match=match):
        ember.load(path)
    assert "x/data/0" not in opened


def test_stored_record_whose_sizes_disagree(tmp_path):
    path = zip_checkpoint(tmp_path / "x.pth", Asm().tensor().stop())
    _patch_declared(path, "x/data/0", compress_size=8)
    with pytest.raises(RuntimeError, match="impossible"):
        ember.load(path)


def test_unsupported_compression_method(tmp_path, torch):
    path = zip_checkpoint(tmp_path / "x.pth", Asm().tensor().stop(),
                          compress=zipfile.ZIP_BZIP2)
    with pytest.raises(RuntimeError, match="compressed with zip method 12"):
        ember.load(path)
    with pytest.raises(RuntimeError, match="unsupported method"):
        torch.load(path)


# -- sources that are not checkpoint files ------------------------------------------------------

def test_directory_is_refused_as_torch(tmp_path, torch):
    for load in (ember.load, torch.load):
        with pytest.raises(IsADirectoryError):
            load(tmp_path)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_character_device_is_refused_before_reading(torch):
    # Today's bug: ember.load("/dev/zero") read until memory ran out. PyTorch reads one zero
    # byte and stops with UnpicklingError (an unknown opcode).
    peak = _peak(lambda: pytest.raises(RuntimeError, ember.load, "/dev/zero"))
    assert peak < MB
    with pytest.raises(RuntimeError, match=r"not a regular file \(a character device\)"):
        ember.load("/dev/zero")
    with pytest.raises(pickle.UnpicklingError):
        torch.load("/dev/zero")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.pth"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    outcome = []

    def load():
        try:
            ember.load(fifo)
        except RuntimeError as err:
            outcome.append(str(err))

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(60)  # open() on a pipe with no writer would block forever
    assert outcome and "not a regular file (a pipe)" in outcome[0]


def test_file_object_on_a_pipe_is_refused(tmp_path):
    read_fd, write_fd = os.pipe()
    try:
        with os.fdopen(read_fd, "rb", buffering=0) as f:
            with pytest.raises(RuntimeError, match="not a regular file"):
                ember.load(f)
    finally:
        os.close(write_fd)


def test_unseekable_file_object_gets_torchs_error(torch):
    class Stream(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, b):
            return 0

    for load in (ember.load, torch.load):
        with pytest.raises(io.UnsupportedOperation, match="only torch.load from a file that is "
                                                          "seekable"):
            load(Stream())


def test_large_file_without_magic_is_refused_after_a_few_bytes(tmp_path, torch):
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        f.truncate(4 << 30)  # 4 GiB of zeros, sparse on disk
    with pytest.raises(RuntimeError):  # once first, so lazy imports do not count below
        ember.load(path)
    peak = _peak(lambda: pytest.raises(RuntimeError, ember.load, path))
    assert peak < MB, peak
    with pytest.raises(RuntimeError, match="not a PyTorch checkpoint"):
        ember.load(path)


def test_empty_zip_archive(tmp_path):
    with zipfile.ZipFile(tmp_path / "e.pth", "w"):
        pass
    with pytest.raises(RuntimeError, match="the zip archive is empty"):
        ember.load(tmp_path / "e.pth")


# -- legacy files ---------------------------------------------------------------------------------

def _legacy_prefix() -> bytes:
    out = io.BytesIO()
    for header in (LEGACY_MAGIC, 1001, {"little_endian": True}):
        pickle.dump(header, out, protocol=2)
    return out.getvalue()


def test_legacy_string_longer_than_the_file_is_not_allocated(tmp_path):
    # A BINUNICODE declaring 4 GB in a 100-byte file: refused before reading or allocating.
    path = tmp_path / "l.pth"
    path.write_bytes(_legacy_prefix() + b"\x80\x02X\xf0\xff\xff\xff" + b"abc")
    peak = _peak(lambda: pytest.raises(RuntimeError, ember.load, path))
    assert peak < MB, peak
    with pytest.raises(RuntimeError, match="truncated or corrupt"):
        ember.load(path)


def test_legacy_header_with_a_deeply_nested_key_is_refused(tmp_path):
    # The system-info header is a pickle too; Python's unpickler would crash hashing this key.
    header = b"\x80\x02}" + b"N" + b"\x85" * 100_000 + b"Ns."
    path = tmp_path / "l.pth"
    out = io.BytesIO()
    pickle.dump(LEGACY_MAGIC, out, protocol=2)
    pickle.dump(1001, out, protocol=2)
    path.write_bytes(out.getvalue() + header)
    with pytest.raises(pickle.UnpicklingError, match="nested more than 100 deep"):
        ember.load(path)


def test_legacy_header_may_name_no_global(tmp_path):
    path = tmp_path / "l.pth"
    out = io.BytesIO()
    pickle.dump(LEGACY_MAGIC, out, protocol=2)
    out.write(b"\x80\x02cposix\nsystem\n.")
    path.write_bytes(out.getvalue())
    with pytest.raises((RuntimeError, pickle.UnpicklingError), match="system"):
        ember.load(path)


def test_limits_leave_real_checkpoints_alone(tmp_path):
    x = ember.arange(3 * MB, dtype=ember.float32)  # 12 MB: stored records are never capped
    ember.save({"x": x}, tmp_path / "x.pth")
    assert np.array_equal(ember.load(tmp_path / "x.pth")["x"].numpy(), x.numpy())


def test_a_flipped_data_byte_fails_the_crc_check(tmp_path):
    ember.save({"x": ember.arange(1024.0)}, tmp_path / "x.pth")
    data = bytearray((tmp_path / "x.pth").read_bytes())
    data[data.index(np.arange(1024.0, dtype=np.float32).tobytes()) + 100] ^= 0xFF
    (tmp_path / "x.pth").write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="Bad CRC-32"):
        ember.load(tmp_path / "x.pth")


def test_files_torch_saved_without_crc_load(tmp_path, torch):
    # torch.utils.serialization.config.save.compute_crc32 = False writes every CRC as 0.
    from torch.utils.serialization import config

    saved = config.save.compute_crc32
    config.save.compute_crc32 = False
    try:
        torch.save({"a": torch.arange(4.0)}, tmp_path / "t.pth")
    finally:
        config.save.compute_crc32 = saved
    assert ember.load(tmp_path / "t.pth")["a"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert ember.load(tmp_path / "t.pth", mmap=True)["a"].tolist() == [0.0, 1.0, 2.0, 3.0]
