"""Gaps found while writing the speech programs (tests/programs/asr_*.py), each checked
against PyTorch: ``torch.stft`` on a float16/bfloat16 signal is refused on the CPU (torch's FFT
kernels take float32/float64; ember returned a complex128 spectrogram); the wording of the
recurrent layers' input-rank error differs per class (``RNN`` says "1D tensor", ``GRU`` and
``LSTM`` say "1D")."""

import pytest
import torch

import ember


def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001  (the type is compared, the message's start)
        return type(exc).__name__, str(exc)
    return None


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("window", [True, False])
def test_stft_refuses_half_signals(dtype, window):
    def run(lib):
        x = lib.randn(64).to(getattr(lib, dtype))
        win = lib.hann_window(16).to(x.dtype) if window else None
        return _error(lambda: lib.stft(x, 16, hop_length=4, window=win, return_complex=True))

    mine, theirs = run(ember), run(torch)
    assert mine is not None and theirs is not None
    assert mine[0] == theirs[0] and mine[1].startswith(theirs[1])


def test_stft_float_signal_still_works_under_bf16_autocast():
    outs = []
    for lib in (torch, ember):
        with lib.autocast("cpu", dtype=lib.bfloat16):
            x = lib.arange(64.0).sin()
            outs.append(str(lib.stft(x, 16, window=lib.hann_window(16),
                                     return_complex=True).dtype))
    assert outs[0] == outs[1] == "torch.complex64"


@pytest.mark.parametrize("cls,kw", [("GRU", {}), ("LSTM", {}), ("RNN", {}),
                                    ("RNN", {"nonlinearity": "relu"}),
                                    ("LSTM", {"proj_size": 2})])
@pytest.mark.parametrize("shape", [(4,), (2, 2, 2, 4)])
def test_rnn_input_rank_messages(cls, kw, shape):
    def run(lib):
        lib.manual_seed(0)
        return _error(lambda: getattr(lib.nn, cls)(4, 3, **kw)(lib.zeros(shape)))

    assert run(ember) == run(torch)
