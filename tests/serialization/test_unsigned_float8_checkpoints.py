"""uint16/uint32/uint64 and float8 tensors in checkpoints and safetensors files, both ways
against PyTorch 2.13: files torch writes load in ember with the same dtype and bits, and files
ember writes load in torch (weights_only=True) with the same dtype and bits."""

import io
import json
import struct

import numpy as np
import pytest

import ember
import ember.safetensors as est

torch = pytest.importorskip("torch")

UNSIGNED = ["uint16", "uint32", "uint64"]
FLOAT8 = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"]
NEW = UNSIGNED + FLOAT8
CODES = {"uint16": "U16", "uint32": "U32", "uint64": "U64", "float8_e4m3fn": "F8_E4M3",
         "float8_e5m2": "F8_E5M2", "float8_e4m3fnuz": "F8_E4M3FNUZ",
         "float8_e5m2fnuz": "F8_E5M2FNUZ", "float8_e8m0fnu": "F8_E8M0"}


def _bits(t):
    if isinstance(t, torch.Tensor):
        return t.contiguous().reshape(-1).view(torch.uint8).numpy()
    return np.ascontiguousarray(t.detach()._data).reshape(-1).view(np.uint8)


def _torch_sample(name):
    """Every bit pattern (float8), or values across the range (unsigned), as a 2-D tensor."""
    dt = getattr(torch, name)
    if dt.itemsize == 1:
        return torch.arange(256, dtype=torch.int32).to(torch.uint8).view(dt).reshape(16, 16)
    vals = {"uint16": [0, 1, 255, 256, 65534, 65535],
            "uint32": [0, 1, 65536, 2**31, 2**32 - 2, 2**32 - 1],
            "uint64": [0, 1, 2**32, 2**62, 2**63, 2**64 - 1]}[name]
    return torch.tensor(vals, dtype=dt).reshape(2, 3)


def _same(e, t):
    assert repr(e.dtype) == repr(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(_bits(e), _bits(t))


@pytest.mark.parametrize("weights_only", [True, False])
@pytest.mark.parametrize("name", NEW)
def test_torch_checkpoint_loads_in_ember(tmp_path, name, weights_only):
    t = _torch_sample(name)
    torch.save({"w": t, "row": t[1], "col": t[:, 1], "p": torch.nn.Parameter(
        t.clone(), requires_grad=False)}, tmp_path / "t.pth")
    back = ember.load(tmp_path / "t.pth", weights_only=weights_only)
    _same(back["w"], t)
    _same(back["row"], t[1])
    _same(back["col"], t[:, 1])
    _same(back["p"], t)
    assert isinstance(back["p"], ember.nn.Parameter)
    back["w"][1, 0] = back["w"][0, 0]  # views still share the loaded storage
    assert _bits(back["row"])[:back["w"].element_size()].tolist() == \
        _bits(back["w"][0, 0]).tolist()


@pytest.mark.parametrize("name", NEW)
def test_ember_checkpoint_loads_in_torch(tmp_path, name):
    t = _torch_sample(name)
    e = ember.tensor(_bits(t)).view(getattr(ember, name)).reshape(tuple(t.shape)).clone()
    ember.save({"w": e, "row": e[1], "col": e[:, 1],
                "p": ember.nn.Parameter(e.clone(), requires_grad=False)}, tmp_path / "e.pth")
    back = torch.load(tmp_path / "e.pth", weights_only=True)
    _same(e, back["w"])
    _same(e[1], back["row"])
    _same(e[:, 1], back["col"])
    assert isinstance(back["p"], torch.nn.Parameter)
    _same(e, back["p"])
    back["w"][1, 0] = back["w"][0, 0]  # one storage, as torch writes it
    assert torch.equal(back["row"][:1].view(torch.uint8), back["w"][0, :1].view(torch.uint8))
    # and back again through ember
    again = ember.load(tmp_path / "e.pth")
    _same(again["w"], t)


@pytest.mark.parametrize("name", NEW)
def test_legacy_format(tmp_path, name):
    """torch 2.13 writes these dtypes in the pre-1.6 format but cannot read them back
    ('UntypedStorage' has no attribute 'dtype'); ember reads torch's file and its own."""
    t = _torch_sample(name)
    torch.save({"w": t}, tmp_path / "t.pth", _use_new_zipfile_serialization=False)
    _same(ember.load(tmp_path / "t.pth")["w"], t)
    e = ember.tensor(_bits(t)).view(getattr(ember, name)).reshape(tuple(t.shape))
    ember.save({"w": e}, tmp_path / "e.pth", _use_new_zipfile_serialization=False)
    assert (tmp_path / "e.pth").read_bytes()[:200].find(b"_rebuild_tensor_v3") > 0
    _same(ember.load(tmp_path / "e.pth")["w"], t)


@pytest.mark.parametrize("name", NEW)
def test_safetensors_both_ways(tmp_path, name):
    from safetensors.torch import load_file, save_file

    t = _torch_sample(name)
    save_file({"w": t, "v": t[0].clone()}, tmp_path / "t.safetensors")
    back = est.load_file(tmp_path / "t.safetensors")
    _same(back["w"], t)
    _same(back["v"], t[0])
    est.save_file(back, tmp_path / "e.safetensors")
    raw = (tmp_path / "e.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    assert json.loads(raw[8:8 + n])["w"]["dtype"] == CODES[name]
    again = load_file(tmp_path / "e.safetensors")
    _same(back["w"], again["w"])
    assert again["w"].dtype == t.dtype
    # in-memory bytes too
    _same(est.load(est.save({"w": back["w"]}))["w"], t)


@pytest.mark.parametrize("name", NEW)
def test_safetensors_size_check_uses_itemsize(name):
    """An entry whose byte range does not match shape x itemsize is refused before any tensor
    is made (one element short)."""
    item = getattr(torch, name).itemsize
    header = {"w": {"dtype": CODES[name], "shape": [4], "data_offsets": [0, 3 * item]}}
    text = json.dumps(header).encode()
    blob = struct.pack("<Q", len(text)) + text + bytes(3 * item)
    with pytest.raises(ValueError, match="do not fit its shape"):
        est.load(blob)
    from safetensors import SafetensorError
    from safetensors.torch import load as torch_load

    with pytest.raises(SafetensorError):  # the reference reader refuses it as well
        torch_load(blob)


def test_torch_state_dict_with_mixed_dtypes(tmp_path):
    """A quantized-checkpoint shape: float8 weights with float32 scales, loaded and cast."""
    w = torch.randn(4, 8)
    scale = w.abs().amax() / 448.0
    q = (w / scale).to(torch.float8_e4m3fn)
    buf = io.BytesIO()
    torch.save({"q": q, "scale": scale, "idx": torch.arange(3).to(torch.uint32)}, buf)
    sd = ember.load(io.BytesIO(buf.getvalue()))
    deq = sd["q"].to(ember.float32) * sd["scale"]
    np.testing.assert_array_equal(deq.numpy(), (q.to(torch.float32) * scale).numpy())
    assert sd["idx"].dtype is ember.uint32 and sd["idx"].tolist() == [0, 1, 2]
