"""``stft``/``istft`` beyond the op table: the argument checks and warnings PyTorch gives,
``return_complex=False``, complex inputs, ``align_to_window``, the Tensor methods and the
round trip."""

import warnings

import numpy as np
import pytest

import ember

from ._outcomes import outcome as _outcome

SIG = np.random.default_rng(0).standard_normal(64)
WIN = np.hanning(18)[1:-1]




def _x(L, n=64, dtype="float32"):
    return L.tensor(SIG[:n]).to(getattr(L, dtype))


def _S(L):
    return L.stft(_x(L), 16, window=L.tensor(WIN, dtype=L.float32), return_complex=True)


CASES = {
    "no_return_complex": lambda L: L.stft(_x(L), 16),
    "return_complex_false": lambda L: L.stft(_x(L), 16, return_complex=False),
    "complex_input": lambda L: L.stft(_x(L, dtype="complex64"), 16),
    "complex_input_onesided": lambda L: L.stft(_x(L, dtype="complex64"), 16, onesided=True),
    "complex_window": lambda L: L.stft(_x(L), 8, window=L.ones(8, dtype=L.complex64)),
    "int_window": lambda L: L.stft(_x(L), 8, window=L.ones(8, dtype=L.int64),
                                   return_complex=True),
    "float64_signal_float32_window": lambda L: L.stft(_x(L, dtype="float64"), 8,
                                                      window=L.ones(8), return_complex=True),
    "int_signal": lambda L: L.stft(L.arange(20), 8, return_complex=True),
    "3d_signal": lambda L: L.stft(_x(L).reshape(2, 2, 16), 4, return_complex=True),
    "n_fft_too_big": lambda L: L.stft(_x(L), 200, center=False, return_complex=True),
    "reflect_pad_too_big": lambda L: L.stft(_x(L, 10), 32, return_complex=True),
    "bad_pad_mode": lambda L: L.stft(_x(L), 16, pad_mode="bogus", return_complex=True),
    "hop_zero": lambda L: L.stft(_x(L), 16, hop_length=0, return_complex=True),
    "win_length_too_big": lambda L: L.stft(_x(L), 16, win_length=20, return_complex=True),
    "window_size_mismatch": lambda L: L.stft(_x(L), 16, window=L.ones(10),
                                             return_complex=True),
    "align_with_center": lambda L: L.stft(_x(L), 16, align_to_window=True,
                                          return_complex=True),
    "align_to_window": lambda L: L.stft(_x(L), 16, hop_length=4, win_length=10,
                                        window=L.ones(10), center=False, align_to_window=True,
                                        return_complex=True),
    "tensor_method": lambda L: _x(L).stft(8, return_complex=True),
    "istft": lambda L: L.istft(_S(L), 16, window=L.tensor(WIN, dtype=L.float32)),
    "istft_length_longer": lambda L: L.istft(_S(L), 16, window=L.tensor(WIN, dtype=L.float32),
                                             length=80),
    "istft_return_complex_onesided": lambda L: L.istft(_S(L), 16, return_complex=True),
    "istft_real_input": lambda L: L.istft(_S(L).real, 16),
    "istft_wrong_freq_size": lambda L: L.istft(_S(L)[:8], 16),
    "istft_zero_window": lambda L: L.istft(_S(L), 16, window=L.zeros(16)),
    "istft_empty": lambda L: L.istft(_S(L)[:, :0], 16),
    "istft_hop_too_big": lambda L: L.istft(_S(L), 16, hop_length=17),
    "istft_1d": lambda L: L.istft(_S(L)[0], 16),
    "istft_tensor_method": lambda L: _S(L).istft(16),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_outcome_matches_torch(torch, name):
    assert _outcome(ember, CASES[name]) == _outcome(torch, CASES[name])


def test_values_of_the_less_common_paths(torch):
    for fn in [CASES["return_complex_false"], CASES["complex_input"], CASES["align_to_window"],
               CASES["istft_length_longer"], CASES["complex_window"]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            e, t = fn(ember), fn(torch)
        np.testing.assert_allclose(e.numpy(), t.resolve_conj().numpy(), atol=1e-5, rtol=1e-5)


def test_warnings_as_pytorch_gives_them():
    with pytest.warns(UserWarning, match="A window was not provided"):
        ember.stft(_x(ember), 16, return_complex=True)
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        ember.stft(_x(ember), 16, window=ember.ones(16), return_complex=False)
    with pytest.warns(UserWarning, match="padded with zeros in the tail"):
        ember.istft(_S(ember), 16, window=ember.tensor(WIN, dtype=ember.float32), length=80)


def test_round_trip_recovers_the_signal():
    x = ember.tensor(SIG)
    w = ember.tensor(WIN)
    for hop in (2, 4, 8):
        S = ember.stft(x, 16, hop_length=hop, window=w, return_complex=True)
        y = ember.istft(S, 16, hop_length=hop, window=w, length=64)
        np.testing.assert_allclose(y.numpy(), SIG, atol=1e-10)
