"""ember.safetensors: round trips, interop with the reference implementation, bad files."""

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
