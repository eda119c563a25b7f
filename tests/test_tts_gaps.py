"""Gaps found while writing the text-to-speech programs (tests/programs/tts_*.py), each checked
against PyTorch: the window functions follow PyTorch's overloads, where ``alpha``/``beta`` exist
only together with ``periodic`` (``kaiser_window(16, beta=8.0)`` is a TypeError in PyTorch, the
spelling a vocoder's STFT-loss config tends to produce; ``kaiser_window(16, True, 8.0)`` and
``kaiser_window(16, periodic=True, beta=8.0)`` work); ``stft(center=True)`` pads the signal
with PyTorch's padding op, whose node ties the gradient to the signal, so the gradient of a loss
linear in the spectrogram (taken with ``create_graph=True``) stays on the graph and a second
``autograd.grad`` gives zeros, as in PyTorch, instead of "does not require grad"."""

import pytest
import torch

import ember

WINDOW_CALLS = [
    ("kaiser_window", (16,), {"beta": 8.0}),
    ("kaiser_window", (16,), {"beta": 8.0, "dtype": "float64"}),
    ("kaiser_window", (16,), {"periodic": True, "beta": 8.0}),
    ("kaiser_window", (16, False), {"beta": 8.0}),
    ("kaiser_window", (16, True, 5.0), {}),
    ("kaiser_window", (16,), {}),
    ("hamming_window", (16,), {"alpha": 0.5}),
    ("hamming_window", (16,), {"beta": 0.3}),
    ("hamming_window", (16, True), {"beta": 0.3}),
    ("hamming_window", (16,), {"periodic": False, "alpha": 0.5, "beta": 0.3}),
    ("hamming_window", (16, True), {"alpha": 0.5}),
    ("hamming_window", (16, True, 0.5), {"beta": 0.3}),
    ("hamming_window", (16,), {}),
    ("hann_window", (16, False), {}),
]


def _call(lib, name, args, kwargs):
    kwargs = {k: getattr(lib, v) if k == "dtype" else v for k, v in kwargs.items()}
    try:
        return getattr(lib, name)(*args, **kwargs)
    except TypeError as err:
        return err


@pytest.mark.parametrize("name,args,kwargs", WINDOW_CALLS,
                         ids=[f"{n}{a}{sorted(k)}" for n, a, k in WINDOW_CALLS])
def test_window_overloads_match_torch(name, args, kwargs):
    expected = _call(torch, name, args, kwargs)
    got = _call(ember, name, args, kwargs)
    if isinstance(expected, TypeError):
        assert isinstance(got, TypeError), f"torch raises TypeError, ember returned {got}"
        assert str(got).startswith(f"{name}() received an invalid combination of arguments")
        assert "bool periodic, float" in str(got)
    else:
        assert not isinstance(got, Exception), got
        assert got.dtype == getattr(ember, str(expected.dtype).split(".")[1])
        torch.testing.assert_close(torch.from_numpy(got.numpy()), expected, rtol=1e-6,
                                   atol=1e-6)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "constant", "circular"])
@pytest.mark.parametrize("batched", [False, True])
def test_stft_center_pad_second_derivative_matches_torch(mode, batched):
    def run(lib):
        x = lib.linspace(-1, 1, 16, dtype=lib.float64).sin().requires_grad_(True)
        sig = x.view(2, 8) if batched else x
        n_fft = 4 if batched else 8
        window = lib.hann_window(n_fft, dtype=lib.float64)
        spec = lib.stft(sig, n_fft, 2, window=window, pad_mode=mode, return_complex=True)
        loss = (spec.real * 2 + spec.imag).sum()  # linear in x: the second derivative is 0
        (g,) = lib.autograd.grad(loss, x, create_graph=True)
        if not g.requires_grad:
            return g.detach().numpy(), None
        (gg,) = lib.autograd.grad(g.pow(2).sum(), x)
        return g.detach().numpy(), gg.numpy()

    g_t, gg_t = run(torch)
    g_e, gg_e = run(ember)
    torch.testing.assert_close(torch.from_numpy(g_e), torch.from_numpy(g_t))
    assert (gg_e is None) == (gg_t is None)
    if gg_t is not None:
        torch.testing.assert_close(torch.from_numpy(gg_e), torch.from_numpy(gg_t))
