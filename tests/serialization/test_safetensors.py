"""ember.safetensors: round trips, interop with the reference implementation, bad files."""

import os
import struct

import numpy as np
import pytest

import ember


def test_round_trip(tmp_path):
    tensors = {"w": ember.arange(6.0).reshape(2, 3), "i": ember.tensor([1, 2], dtype=ember.int32),
               "b": ember.tensor([True, False]), "h": ember.ones(3, dtype=ember.bfloat16),
               "e": ember.zeros(0, 4)}
    ember.safetensors.save_file(tensors, tmp_path / "m.safetensors", metadata={"a": "b"})
    back = ember.safetensors.load_file(tmp_path / "m.safetensors")
    assert set(back) == set(tensors)
    for k, t in tensors.items():
        assert back[k].dtype == t.dtype and back[k].shape == t.shape
        np.testing.assert_array_equal(back[k].float().numpy(), t.float().numpy())
    blob = ember.safetensors.save(tensors)
    assert ember.safetensors.load(blob)["w"].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_interop_with_reference_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    st.save_file({"x": np.arange(4, dtype=np.float16)}, str(tmp_path / "r.safetensors"))
    assert ember.safetensors.load_file(tmp_path / "r.safetensors")["x"].tolist() == [0, 1, 2, 3]
    ember.safetensors.save_file({"y": ember.ones(2, 2)}, tmp_path / "e.safetensors")
    assert st.load_file(str(tmp_path / "e.safetensors"))["y"].shape == (2, 2)


def test_bad_files(tmp_path):
    for data in (b"", b"abc", struct.pack("<Q", 10**12) + b"{}",
                 struct.pack("<Q", 5) + b"nojso", struct.pack("<Q", 2) + b"[]"):
        with pytest.raises(ValueError):
            ember.safetensors.load(data)
    header = b'{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
    with pytest.raises(ValueError, match="data_offsets"):
        ember.safetensors.load(struct.pack("<Q", len(header)) + header + b"\0" * 8)


# -- crafted headers: refused as the reference reader refuses them, before allocating ---------

def _blob(header, body=b"", raw=None):
    import json

    text = raw if raw is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def _f32(shape, begin, end):
    return {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}


CRAFTED = {
    "gap": (_blob({"a": _f32([1], 0, 4), "b": _f32([1], 8, 12)}, bytes(12)), "invalid offset"),
    "overlap": (_blob({"a": _f32([2], 0, 8), "b": _f32([2], 4, 12)}, bytes(12)),
                "invalid offset"),
    "begin_after_end": (_blob({"a": _f32([0], 8, 0)}, bytes(8)), "invalid offset"),
    "past_the_end": (_blob({"a": _f32([4], 0, 16)}, bytes(8)), "past the end"),
    "trailing_data": (_blob({"a": _f32([2], 0, 8)}, bytes(12)), "not fully covered"),
    "negative_dim": (_blob({"a": _f32([-2], 0, 8)}, bytes(8)), "non-negative"),
    "negative_offset": (_blob({"a": _f32([2], -8, 0)}, bytes(8)), "non-negative"),
    "float_dim": (_blob({"a": _f32([2.0], 0, 8)}, bytes(8)), "non-negative"),
    "bool_dim": (_blob({"a": _f32([True], 0, 4)}, bytes(4)), "non-negative"),
    "size_mismatch": (_blob({"a": _f32([3], 0, 8)}, bytes(8)), "do not fit its shape"),
    "huge_shape": (_blob({"a": _f32([2**62, 2**62], 0, 8)}, bytes(8)), "do not fit its shape"),
    "three_offsets": (_blob(None, bytes(8), raw=b'{"a":{"dtype":"F32","shape":[2],'
                                                b'"data_offsets":[0,4,8]}}'), "data_offsets"),
    "deep_json": (_blob(None, raw=b"[" * 100_000 + b"]" * 100_000), "not valid JSON"),
    "deep_metadata": (_blob(None, raw=b'{"__metadata__":' + b"[" * 100_000 + b"]" * 100_000 +
                            b"}"), "not valid JSON|__metadata__"),
    "metadata_not_str": (_blob({"__metadata__": {"a": 1}}), "__metadata__"),
    "unknown_dtype": (_blob({"a": {"dtype": "X9", "shape": [1], "data_offsets": [0, 1]}},
                            bytes(1)), "unknown dtype"),
    "header_too_large": (struct.pack("<Q", 100_000_001) + b"{}", "header too large"),
    "header_past_end": (struct.pack("<Q", 50) + b"{}", "header length"),
    "too_short": (b"abc", "too short"),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_headers_are_refused_like_the_reference(tmp_path, name):
    blob, match = CRAFTED[name]
    with pytest.raises(ValueError, match=match):
        ember.safetensors.load(blob)
    (tmp_path / "x.safetensors").write_bytes(blob)
    with pytest.raises(ValueError, match=match):
        ember.safetensors.load_file(tmp_path / "x.safetensors")
    ref = pytest.importorskip("safetensors.numpy")
    with pytest.raises(Exception):  # noqa: B017  (SafetensorError, the reference's only type)
        ref.load(blob)


def test_out_of_order_entries_that_tile_the_data_load_like_the_reference():
    blob = _blob({"b": _f32([1], 4, 8), "z": _f32([0], 0, 0), "a": _f32([1], 0, 4)},
                 np.array([1.0, 2.0], np.float32).tobytes())
    got = ember.safetensors.load(blob)
    assert got["a"].tolist() == [1.0] and got["b"].tolist() == [2.0] and got["z"].shape == (0,)
    ref = pytest.importorskip("safetensors.numpy")
    assert ref.load(blob)["b"].tolist() == [2.0]


def test_header_cap_is_checked_before_reading_the_header(tmp_path):
    # A file claiming a 100 MB + 1 header is refused from its first 8 bytes.
    import tracemalloc

    path = tmp_path / "big.safetensors"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 100_000_001))
        f.truncate(200_000_000)  # sparse
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="header too large"):
            ember.safetensors.load_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak


def test_load_file_refuses_what_is_not_a_regular_file(tmp_path):
    with pytest.raises(IsADirectoryError):
        ember.safetensors.load_file(tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(ValueError, match="not a regular file"):
            ember.safetensors.load_file("/dev/zero")


def test_save_file_is_atomic_and_follows_symlinks(tmp_path):
    target = tmp_path / "real.safetensors"
    target.write_bytes(b"old")
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    ember.safetensors.save_file({"w": ember.ones(2)}, link)
    assert link.is_symlink() and ember.safetensors.load_file(target)["w"].tolist() == [1, 1]
    with pytest.raises(TypeError):
        ember.safetensors.save_file({"w": "not a tensor"}, link)
    assert ember.safetensors.load_file(target)["w"].tolist() == [1, 1]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ember")] == []
