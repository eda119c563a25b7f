"""Float functions on quantized tensors, as PyTorch's QuantizedCPU kernels run them: the layers
a statically quantized model leaves unfused (ReLU, pools, flatten, cat, nearest upsampling)
must take quantized activations and give PyTorch's integers."""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantization is deprecated in torch
        yield


CASES = {
    "F.relu": lambda L, q: L.nn.functional.relu(q),
    "torch.relu": lambda L, q: L.relu(q),
    "nn.ReLU": lambda L, q: L.nn.ReLU()(q),
    "relu6": lambda L, q: L.nn.functional.relu6(q),
    "hardtanh": lambda L, q: L.nn.functional.hardtanh(q, -0.45, 0.8),
    "max_pool2d": lambda L, q: L.nn.functional.max_pool2d(q, 2),
    "nn.MaxPool2d": lambda L, q: L.nn.MaxPool2d(3, 2, 1, ceil_mode=True)(q),
    "avg_pool2d": lambda L, q: L.nn.functional.avg_pool2d(q, 3, 2, 1),
    "avg_pool2d no pad count": lambda L, q: L.nn.functional.avg_pool2d(
        q, 3, 2, 1, count_include_pad=False),
    "adaptive_avg_pool2d": lambda L, q: L.nn.functional.adaptive_avg_pool2d(q, 1),
    "nn.AdaptiveAvgPool2d": lambda L, q: L.nn.AdaptiveAvgPool2d((3, 2))(q),
    "mean": lambda L, q: L.mean(q, (2, 3)),
    "mean keepdim": lambda L, q: q.mean(-1, keepdim=True),
    "flatten": lambda L, q: L.flatten(q, 1),
    "nn.Flatten": lambda L, q: L.nn.Flatten()(q),
    "interpolate nearest": lambda L, q: L.nn.functional.interpolate(q, scale_factor=2),
    "interpolate size": lambda L, q: L.nn.functional.interpolate(q, size=(5, 9)),
    "cat same": lambda L, q: L.cat([q, q], 1),
}


def _quantized(lib, dtype_name, seed, scale=0.05, zero_point=None):
    x = np.random.default_rng(seed).standard_normal((2, 3, 7, 7)).astype(np.float32) * 2
    dtype = getattr(lib, dtype_name)
    zp = (10 if dtype_name == "quint8" else -3) if zero_point is None else zero_point
    return lib.quantize_per_tensor(lib.from_numpy(x), scale, zp, dtype)


@pytest.mark.parametrize("dtype_name", ["quint8", "qint8"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_integers_match_torch(case, dtype_name):
    for seed in range(3):
        ours = CASES[case](ember, _quantized(ember, dtype_name, seed))
        theirs = CASES[case](torch, _quantized(torch, dtype_name, seed))
        assert str(ours.dtype) == str(theirs.dtype)
        assert (ours.q_scale(), ours.q_zero_point()) == (theirs.q_scale(), theirs.q_zero_point())
        assert ours.int_repr().tolist() == theirs.int_repr().tolist()


def test_cat_requantizes_to_the_first_input():
    parts = {lib: [_quantized(lib, "quint8", 0), _quantized(lib, "quint8", 1, 0.11, 3)]
             for lib in (torch, ember)}
    ours, theirs = ember.cat(parts[ember], 2), torch.cat(parts[torch], 2)
    assert (ours.q_scale(), ours.q_zero_point()) == (0.05, 10)
    assert ours.int_repr().tolist() == theirs.int_repr().tolist()
    with pytest.raises(RuntimeError, match="All dtypes must be the same"):
        ember.cat([parts[ember][0], _quantized(ember, "qint8", 0)])


def test_modes_torch_lacks_are_refused_like_torch():
    q = _quantized(ember, "quint8", 0)
    with pytest.raises(NotImplementedError, match="upsample_bicubic"):
        ember.nn.functional.interpolate(q, scale_factor=2, mode="bicubic")


def _static_cnn(lib):
    nn, Q = lib.nn, lib.ao.quantization

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant, self.dequant = Q.QuantStub(), Q.DeQuantStub()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.relu, self.pool = nn.ReLU(), nn.MaxPool2d(2)  # left unfused on purpose
            self.gap = nn.AdaptiveAvgPool2d(2)
            self.fc = nn.Linear(16, 3)

        def forward(self, x):
            x = self.pool(self.relu(self.conv(self.quant(x))))
            x = lib.flatten(self.gap(x), 1)
            return self.dequant(self.fc(x))

    lib.manual_seed(0)
    model = Net().eval()
    model.qconfig = Q.default_qconfig  # min/max observers: the same scales in both
    prepared = Q.prepare(model)
    rng = np.random.default_rng(0)
    for _ in range(3):
        prepared(lib.from_numpy(rng.standard_normal((4, 1, 8, 8)).astype(np.float32)))
    return Q.convert(prepared)


def test_static_quantized_cnn_with_unfused_layers_matches_torch():
    """A quantized model whose ReLU, max pool, adaptive pool and flatten stay float modules
    (ember raised on the first of them)."""
    x = np.random.default_rng(1).standard_normal((2, 1, 8, 8)).astype(np.float32)
    ours = _static_cnn(ember)(ember.from_numpy(x))
    theirs = _static_cnn(torch)(torch.from_numpy(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6)
