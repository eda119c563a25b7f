"""Op-table entries for ``ember/_ops/spectral/stft.py``: ``stft`` (centred with each pad mode,
uncentred, a window shorter than ``n_fft``, normalized, two-sided) and ``istft`` of its output,
with gradients for the signal and the window."""

import numpy as np

from ..spec import OpSpec


def _signal_and_window(n, win):
    def make(rng):
        return [rng.uniform(-2, 2, n), np.hanning(win + 2)[1:-1] + 0.1]
    return make


def _parts(y):
    return (y.real, y.imag)


OPS = [
    OpSpec("stft", lambda L, x, w: _parts(L.stft(x, 16, window=w, return_complex=True)),
           [], make=_signal_and_window(40, 16), noncontig=False),
    OpSpec("stft_batched_hop_win_length",
           lambda L, x, w: _parts(L.stft(x.reshape(2, 20), 8, hop_length=3, win_length=6,
                                         window=w, pad_mode="constant", return_complex=True)),
           [], make=_signal_and_window(40, 6), noncontig=False),
    OpSpec("stft_uncentred_normalized_twosided",
           lambda L, x, w: _parts(L.stft(x, 9, hop_length=4, window=w, center=False,
                                         normalized=True, onesided=False,
                                         return_complex=True)),
           [], make=_signal_and_window(33, 9), noncontig=False),
    OpSpec("stft_replicate_sq",
           lambda L, x, w: L.stft(x, 8, window=w, pad_mode="replicate",
                                  return_complex=True).abs(),
           [], make=_signal_and_window(30, 8), noncontig=False),
    OpSpec("istft",
           lambda L, x, w: L.istft(L.stft(x, 16, hop_length=4, window=w, return_complex=True)
                                   * (1 + x[:9].reshape(9, 1)), 16, hop_length=4, window=w,
                                   length=40),
           [], make=_signal_and_window(40, 16), noncontig=False),
    OpSpec("istft_win_length_circular",
           lambda L, x, w: L.istft(L.stft(x, 10, hop_length=3, win_length=7, window=w,
                                          pad_mode="circular", return_complex=True),
                                   10, hop_length=3, win_length=7, window=w),
           [], make=_signal_and_window(36, 7), noncontig=False),
]

# every entry runs once, on the arrays its make() draws
for _spec in OPS:
    _spec.shapes = [None]
