"""Window functions against PyTorch: ``ember.hann_window`` and friends (``periodic`` both
ways) and ``ember.signal.windows`` (``sym`` both ways), lengths 0, 1, 2, 5, 16, float32 and
float64, their argument checks, and ``stft`` with a Hann window."""

import subprocess
import sys

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

LENGTHS = [0, 1, 2, 5, 16]
DTYPES = ["float32", "float64"]
# float32 windows agree to an ulp or two of 1.0 (cos/exp/i0 implementations differ in the
# last bit); kaiser's float32 i0 in PyTorch is a few ulps from the correctly rounded value
TOL = {"float32": dict(rtol=0, atol=1e-6), "float64": dict(rtol=0, atol=1e-14)}

TOP_LEVEL = {
    "hann_window": [()],
    "hamming_window": [(), (0.5,), (0.6, 0.3)],
    "blackman_window": [()],
    "bartlett_window": [()],
    "kaiser_window": [(), (5.0,), (0.0,)],
}


def _check(e, t, dtype):
    t = t.detach().numpy()
    e = e.detach().numpy()
    assert e.dtype == t.dtype and e.shape == t.shape
    np.testing.assert_allclose(e, t, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("name", TOP_LEVEL)
def test_window_matches_torch(name, n, periodic, dtype):
    for extra in TOP_LEVEL[name]:
        e = getattr(ember, name)(n, periodic, *extra, dtype=getattr(ember, dtype))
        t = getattr(torch, name)(n, periodic, *extra, dtype=getattr(torch, dtype))
        _check(e, t, dtype)


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_window_defaults_and_keywords(name):
    e, t = getattr(ember, name)(7), getattr(torch, name)(7)  # periodic, default dtype
    _check(e, t, "float32")
    ember.set_default_dtype(ember.float64)
    try:
        assert getattr(ember, name)(3).dtype == ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
    g = getattr(ember, name)(4, requires_grad=True, device="cpu", layout=ember.strided)
    assert g.requires_grad and g.is_leaf and g.device.type == "cpu"
    half = getattr(ember, name)(5, dtype=ember.float16)
    np.testing.assert_allclose(half.float().numpy(),
                               getattr(torch, name)(5, dtype=torch.float16).float().numpy(),
                               atol=2e-3)


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_window_argument_errors(name):
    for lib in (ember, torch):
        fn = getattr(lib, name)
        with pytest.raises(RuntimeError, match=f"{name} requires non-negative window_length, "
                                               "got window_length=-1"):
            fn(-1)
        with pytest.raises(RuntimeError, match=f"{name} expects floating point dtypes"):
            fn(3, dtype=lib.int64)
        with pytest.raises(RuntimeError, match=f"{name} is not implemented for sparse types"):
            fn(3, layout=lib.sparse_coo)
        with pytest.raises(TypeError):
            fn(3.0)
        with pytest.raises(NotImplementedError):
            fn(3, dtype=lib.complex64)


SIGNAL = ["cosine", "exponential", "gaussian", "general_hamming", "hamming", "hann",
          "blackman", "bartlett", "kaiser", "nuttall"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sym", [True, False])
@pytest.mark.parametrize("name", SIGNAL)
def test_signal_window_matches_torch(name, sym, dtype):
    for n in LENGTHS:
        e = getattr(ember.signal.windows, name)(n, sym=sym, dtype=getattr(ember, dtype))
        t = getattr(torch.signal.windows, name)(n, sym=sym, dtype=getattr(torch, dtype))
        _check(e, t, dtype)


@pytest.mark.parametrize("kwargs", [
    ("exponential", dict(tau=2.5)), ("exponential", dict(center=1.0, sym=False)),
    ("gaussian", dict(std=0.4)), ("kaiser", dict(beta=3.0)), ("general_hamming",
                                                             dict(alpha=0.7)),
    ("general_cosine", dict(a=[0.5, 0.3, 0.2])), ("general_cosine", dict(a=(1.0,))),
], ids=lambda k: f"{k[0]}-{k[1]}")
def test_signal_window_parameters(kwargs):
    name, kw = kwargs
    for n in (1, 6, 9):
        for sym in (True, False):
            if name == "exponential" and "center" in kw and sym:
                continue
            kw2 = dict(kw, sym=sym)
            _check(getattr(ember.signal.windows, name)(n, **kw2),
                   getattr(torch.signal.windows, name)(n, **kw2), "float32")


def test_signal_window_errors_and_grad():
    for lib in (ember, torch):
        w = lib.signal.windows
        for fn, args, kwargs, exc, msg in [
            (w.hann, (-1,), {}, ValueError, "general_cosine requires non-negative window"),
            (w.bartlett, (-1,), {}, ValueError, "bartlett requires non-negative window length"),
            (w.hann, (3,), dict(dtype=lib.float16), ValueError,
             "general_cosine expects float32 or float64 dtypes"),
            (w.bartlett, (3,), dict(layout=lib.sparse_coo), ValueError,
             "implemented for strided tensors only"),
            (w.exponential, (3,), dict(tau=0), ValueError, "Tau must be positive"),
            (w.exponential, (3,), dict(center=1.0), ValueError, "Center must be None"),
            (w.gaussian, (3,), dict(std=-1), ValueError, "Standard deviation must be positive"),
            (w.kaiser, (3,), dict(beta=-1), ValueError, "beta must be non-negative"),
            (w.general_cosine, (3,), dict(a=[]), ValueError, "Coefficients cannot be empty"),
            (w.general_cosine, (3,), dict(a=1.0), TypeError, "Coefficients must be a list"),
        ]:
            with pytest.raises(exc, match=msg):
                fn(*args, **kwargs)
        # requires_grad goes to the linspace: the window is a function of it (PyTorch's way)
        g = w.exponential(4, requires_grad=True)
        assert g.requires_grad and not g.is_leaf


def test_stft_with_hann_window_matches_torch():
    sig = np.random.default_rng(0).standard_normal((2, 300)).astype(np.float32)
    for n_fft, hop in ((64, 16), (50, 25)):
        e = ember.stft(ember.tensor(sig), n_fft, hop, window=ember.hann_window(n_fft),
                       return_complex=True)
        t = torch.stft(torch.tensor(sig), n_fft, hop, window=torch.hann_window(n_fft),
                       return_complex=True)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-4, atol=1e-4)
        back = ember.istft(e, n_fft, hop, window=ember.hann_window(n_fft), length=300)
        np.testing.assert_allclose(back.numpy(), sig, atol=1e-5)


def test_import_ember_does_not_import_signal():
    code = ("import sys, ember\n"
            "assert 'ember.signal' not in sys.modules\n"
            "ember.hann_window(4)\n"
            "assert 'ember.signal' not in sys.modules\n"
            "ember.signal.windows.hann(4)\n"
            "assert 'ember.signal.windows' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
