"""Quantized tensors against PyTorch: dtypes, quantize/dequantize to the bit, accessors,
printing, layout ops and the errors of ops a quantized tensor has no kernel for."""

import warnings

import numpy as np
import pytest

import ember

pytestmark = pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor")

QDTYPES = ["qint8", "quint8", "qint32"]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def both(torch, fn):
    return fn(ember), fn(torch)


@pytest.mark.parametrize("name", QDTYPES + ["quint4x2", "quint2x4"])
def test_dtype_properties(torch, name):
    e, t = getattr(ember, name), getattr(torch, name)
    assert repr(e) == repr(t) and str(e) == str(t)
    assert e.itemsize == t.itemsize
    assert e.is_floating_point is t.is_floating_point is False
    assert e.is_complex is t.is_complex is False
    assert e.to_real() is e
    for obj in (e, t):
        with pytest.raises(RuntimeError, match="isSignedType not supported"):
            _ = obj.is_signed
        with pytest.raises(RuntimeError, match="Unknown Complex ScalarType"):
            obj.to_complex()


def test_qschemes(torch):
    for name in ("per_tensor_affine", "per_channel_affine", "per_tensor_symmetric",
                 "per_channel_symmetric", "per_channel_affine_float_qparams"):
        assert repr(getattr(ember, name)) == repr(getattr(torch, name))
    assert type(ember.per_tensor_affine).__name__ == "qscheme"


def test_promotion_refused(torch):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="promoteTypes with quantized numbers"):
            lib.promote_types(lib.qint8, lib.float32)


@pytest.mark.parametrize("dtype", QDTYPES)
def test_quantize_per_tensor_bit_exact(torch, rng, dtype):
    """Random scales and zero points, ties included (x = k * scale / 2): int_repr equal."""
    for trial in range(40):
        n = 7 if trial % 2 else 3000  # a short (scalar tail) and a long (vector) run
        x = (rng.standard_normal(n) * rng.uniform(0.1, 10)).astype(np.float32)
        scale = float(rng.uniform(1e-3, 0.5))
        x[:3] = np.float32([0.5, 1.5, -2.5]) * np.float32(scale)
        e, t = getattr(ember, dtype), getattr(torch, dtype)
        lo, hi = (-100, 100) if dtype != "quint8" else (0, 255)
        zp = int(rng.integers(lo, hi))
        qe = ember.quantize_per_tensor(ember.from_numpy(x), scale, zp, e)
        qt = torch.quantize_per_tensor(torch.from_numpy(x), scale, zp, t)
        np.testing.assert_array_equal(qe.int_repr().numpy(), qt.int_repr().numpy())
        np.testing.assert_array_equal(qe.dequantize().numpy(), qt.dequantize().numpy())
        assert qe.int_repr().dtype == ember.int8 if dtype == "qint8" else True
        assert str(qe.int_repr().dtype) == str(qt.int_repr().dtype)


@pytest.mark.parametrize("dtype", QDTYPES)
def test_nan_and_inf(torch, dtype):
    x = [float("nan"), float("inf"), -float("inf"), 1.0]
    e, t = both(torch, lambda L: L.quantize_per_tensor(L.tensor(x), 0.1, 3,
                                                       getattr(L, dtype)).int_repr())
    assert e.tolist() == t.tolist()
    e, t = both(torch, lambda L: L.fake_quantize_per_tensor_affine(L.tensor(x), 0.1, 3, 0, 255))
    assert e.tolist() == t.tolist()


def test_round_half_even_and_saturation(torch):
    x = [0.5, 1.5, 2.5, -0.5, -1.5, 1000.0, -1000.0]
    e, t = both(torch, lambda L: L.quantize_per_tensor(L.tensor(x), 1.0, 0, L.qint8).int_repr())
    assert e.tolist() == t.tolist() == [0, 2, 2, 0, -2, 127, -128]


def test_quantize_per_channel_bit_exact(torch, rng):
    for axis in (0, 1, 2):
        x = (rng.standard_normal((4, 5, 6)) * 3).astype(np.float32)
        n = x.shape[axis]
        sc = rng.uniform(0.001, 0.1, n)
        for name in QDTYPES:
            zp = rng.integers(0 if name == "quint8" else -10, 10, n)
            qe = ember.quantize_per_channel(ember.from_numpy(x), ember.from_numpy(sc),
                                            ember.from_numpy(zp), axis, getattr(ember, name))
            qt = torch.quantize_per_channel(torch.from_numpy(x), torch.from_numpy(sc),
                                            torch.from_numpy(zp), axis, getattr(torch, name))
            np.testing.assert_array_equal(qe.int_repr().numpy(), qt.int_repr().numpy())
            np.testing.assert_array_equal(qe.dequantize().numpy(), qt.dequantize().numpy())
            assert qe.q_per_channel_axis() == qt.q_per_channel_axis()
            assert qe.q_per_channel_scales().dtype == ember.float64
            assert qe.q_per_channel_zero_points().dtype == ember.int64
            np.testing.assert_array_equal(qe.q_per_channel_scales().numpy(),
                                          qt.q_per_channel_scales().numpy())


def test_accessors_and_kind(torch):
    e, t = both(torch, lambda L: L.quantize_per_tensor(L.tensor([1.0, 2.0]), 0.1, 3, L.quint8))
    assert e.q_scale() == t.q_scale() and type(e.q_scale()) is float
    assert e.q_zero_point() == t.q_zero_point() and type(e.q_zero_point()) is int
    assert repr(e.qscheme()) == repr(t.qscheme())
    assert e.is_quantized and t.is_quantized and not ember.ones(1).is_quantized
    assert e.element_size() == 1 and e.nbytes == t.nbytes
    assert not e.is_floating_point() and e.type() == t.type()
    assert isinstance(e, ember.Tensor) and e.shape == (2,)
    assert ember.q_scale(e) == torch.q_scale(t)
    assert ember.int_repr(e).tolist() == torch.int_repr(t).tolist()
    assert e.stride() == t.stride() and e.is_contiguous()


def test_per_channel_accessor_errors(torch):
    for L in (ember, torch):
        q = L.quantize_per_channel(L.ones(2, 2), L.tensor([0.1, 0.2]), L.tensor([0, 1]), 0,
                                   L.qint8)
        with pytest.raises(RuntimeError, match="kPerTensorAffine"):
            q.q_scale()
        p = L.quantize_per_tensor(L.ones(2), 0.1, 0, L.qint8)
        with pytest.raises(RuntimeError, match="kPerChannelAffine"):
            p.q_per_channel_scales()


def test_tensor_scale_and_list_forms(torch):
    def make(L):
        x = L.tensor([[-1.0, 0.0, 0.5], [1.0, 2.0, 3.0]])
        one = L.quantize_per_tensor(x, L.tensor(0.1), L.tensor(3), L.qint8)
        many = L.quantize_per_tensor([x, x * 2], L.tensor([0.1, 0.2]), L.tensor([3, 4]),
                                     L.qint8)
        return [one, *many]
    for e, t in zip(*both(torch, make)):
        assert repr(e) == repr(t)  # the scale of a float32 tensor reads 0.10000000149011612


@pytest.mark.parametrize("dtype", ["quint8", "qint8"])
@pytest.mark.parametrize("reduce_range", [False, True])
def test_quantize_per_tensor_dynamic(torch, rng, dtype, reduce_range):
    for trial in range(20):
        x = (rng.standard_normal(50) * rng.uniform(0.01, 5) + rng.uniform(-2, 2))
        x = x.astype(np.float32)
        if trial == 0:
            x[:] = 0
        if trial == 1:
            x = np.abs(x)
        qe = ember.quantize_per_tensor_dynamic(ember.from_numpy(x), getattr(ember, dtype),
                                               reduce_range)
        qt = torch.quantize_per_tensor_dynamic(torch.from_numpy(x), getattr(torch, dtype),
                                               reduce_range)
        assert qe.q_scale() == qt.q_scale() and qe.q_zero_point() == qt.q_zero_point()
        np.testing.assert_array_equal(qe.int_repr().numpy(), qt.int_repr().numpy())


def test_repr_matches(torch, rng):
    x = (rng.standard_normal((2, 3, 4))).astype(np.float32)
    cases = [
        lambda L: L.quantize_per_tensor(L.tensor([-1.0, 0.0, 0.05, 30.0]), 0.1, 10, L.quint8),
        lambda L: L.quantize_per_tensor(L.from_numpy(x), 0.05, 3, L.qint8),
        lambda L: L.quantize_per_tensor(L.tensor([0.5, 1.5]), 1.0, 0, L.qint32),
        lambda L: L.quantize_per_tensor(L.tensor([0.0, 0.1, 0.5, 1.0, 2.0]), 0.1, 0,
                                        L.quint4x2),
        lambda L: L.quantize_per_channel(L.tensor([[-1.0, 0.0, 0.5], [1.0, 2.0, 3.0]]),
                                         L.tensor([0.1, 0.2]), L.tensor([0, 5]), 0, L.quint8),
    ]
    for case in cases:
        e, t = both(torch, case)
        assert repr(e) == repr(t)


def test_dequantize_forms(torch):
    q = ember.quantize_per_tensor(ember.tensor([0.25, 0.5]), 0.1, 0, ember.qint8)
    assert ember.dequantize(q).tolist() == pytest.approx([0.2, 0.5])
    assert isinstance(ember.dequantize([q, q]), tuple)
    x = ember.ones(2)
    assert x.dequantize() is x and ember.dequantize(x) is x
    assert torch.ones(2).dequantize().tolist() == x.dequantize().tolist()


@pytest.mark.parametrize("method", ["int_repr", "q_scale", "q_zero_point", "qscheme",
                                    "q_per_channel_axis"])
def test_dense_accessors_raise(torch, method):
    for L in (ember, torch):
        with pytest.raises(NotImplementedError, match=f"Could not run 'aten::{method}' with "
                           "arguments from the 'CPU' backend"):
            getattr(L.ones(2), method)()


def test_creation_errors(torch):
    for L in (ember, torch):
        x = L.tensor([1.0, 2.0])
        with pytest.raises(RuntimeError, match="Quantize only works on Float Tensor, got Long"):
            L.quantize_per_tensor(x.long(), 0.1, 0, L.qint8)
        with pytest.raises(RuntimeError, match="Quantize only works on Float Tensor, got Double"):
            L.quantize_per_tensor(x.double(), 0.1, 0, L.qint8)
        with pytest.raises(RuntimeError, match="ScalarType Float is not supported in new_qtensor"):
            L.quantize_per_tensor(x, 0.1, 0, L.float32)
        with pytest.raises(RuntimeError, match="zero_point 300 is above upper bound"):
            L.quantize_per_tensor(x, 0.1, 300, L.quint8)
        with pytest.raises(RuntimeError, match="zero_point -1 is below lower bound"):
            L.quantize_per_tensor(x, 0.1, -1, L.quint8)
        with pytest.raises(RuntimeError, match="length of scales must equal to channel"):
            L.quantize_per_channel(L.ones(2, 3), L.tensor([0.1, 0.2]), L.tensor([0, 5]), 1,
                                   L.quint8)
        with pytest.raises(RuntimeError, match="per_channel_affine zero_point -6 is below"):
            L.quantize_per_channel(L.ones(2), L.tensor([0.1, 0.2]), L.tensor([0, -6]), 0,
                                   L.quint8)
        with pytest.raises(RuntimeError, match="Channel axis out of range"):
            L.quantize_per_channel(L.ones(2), L.tensor([0.1, 0.2]), L.tensor([0, 1]), -1,
                                   L.quint8)
        with pytest.raises(TypeError, match="argument 'scales' .* must be Tensor, not list"):
            L.quantize_per_channel(L.ones(2, 3), [0.1, 0.2], [0, 5], 0, L.quint8)


def test_unsupported_ops_raise_quantized_cpu(torch):
    for L in (ember, torch):
        q = L.quantize_per_tensor(L.tensor([1.0, 2.0]), 0.1, 3, L.quint8)
        with pytest.raises(NotImplementedError, match="Could not run 'aten::add.out' with "
                           "arguments from the 'QuantizedCPU' backend"):
            q + q
        with pytest.raises(NotImplementedError, match="'QuantizedCPU' backend"):
            q.sum()
        with pytest.raises(NotImplementedError, match="'QuantizedCPU' backend"):
            L.exp(q)
        with pytest.raises(RuntimeError, match="only Tensors of floating point dtype"):
            q.requires_grad_()
        with pytest.raises(RuntimeError, match="requires quantized dtype like torch.quint8"):
            q.float()
    q = ember.quantize_per_tensor(ember.tensor([1.0, 2.0]), 0.1, 3, ember.quint8)
    with pytest.raises(NotImplementedError, match="dequantize"):
        ember.mul(q, q)


def test_layout_ops_and_relu(torch, rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    ops = [lambda q: q.view(6, 4), lambda q: q.reshape(-1), lambda q: q.flatten(1),
           lambda q: q.permute(2, 0, 1), lambda q: q.transpose(0, 1), lambda q: q[1, :, 2:],
           lambda q: q.unsqueeze(0).squeeze(0), lambda q: q.clone(), lambda q: q.detach(),
           lambda q: q.transpose(0, 1).contiguous(), lambda q: q.relu(), lambda q: q[0],
           lambda q: q.mean((1, 2)), lambda q: q.mean(0, keepdim=True)]
    for op in ops:
        e, t = both(torch, lambda L, op=op: op(L.quantize_per_tensor(L.from_numpy(x), 0.05, 3,
                                                                      L.quint8)))
        assert repr(e) == repr(t)
        np.testing.assert_array_equal(e.int_repr().numpy(), t.int_repr().numpy())
    e, t = both(torch, lambda L: L.quantize_per_tensor(L.from_numpy(x), 0.05, 3, L.quint8))
    assert e.equal(e.clone()) and len(e) == len(t) == 2
    assert [r.shape for r in e] == [r.shape for r in t]
    one = ember.quantize_per_tensor(ember.tensor([0.5]), 0.1, 0, ember.qint8)
    assert one.item() == torch.quantize_per_tensor(torch.tensor([0.5]), 0.1, 0,
                                                   torch.qint8).item()


def test_deprecation_warning_once(torch):
    import ember._quantized_tensor as Q

    Q._CREATION_WARNED = False
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ember.quantize_per_tensor(ember.ones(2), 0.1, 0, ember.qint8)
        ember.quantize_per_tensor(ember.ones(2), 0.1, 0, ember.qint8)
    messages = [str(w.message) for w in seen]
    assert len(messages) == 1 and "are deprecated" in messages[0]


def test_deepcopy_and_pickle():
    import copy
    import pickle

    q = ember.quantize_per_tensor(ember.tensor([0.5, 1.0]), 0.1, 2, ember.qint8)
    c = copy.deepcopy(q)
    assert c.equal(q) and c is not q and c._data.ints is not q._data.ints
    per_channel = ember.quantize_per_channel(ember.ones(2, 2), ember.tensor([0.1, 0.2]),
                                             ember.tensor([0, 1]), 1, ember.quint8)
    for original in (q, per_channel):
        back = pickle.loads(pickle.dumps(original))
        assert back.dtype == original.dtype and back.qscheme() is original.qscheme()
        assert back.int_repr().tolist() == original.int_repr().tolist()
        assert back.dequantize().tolist() == original.dequantize().tolist()
