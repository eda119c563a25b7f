"""Gaps found by the audio-classification programs (tests/programs/audio_*), compared with
PyTorch: ``torch.stft`` without a window warns about the rectangular window before it checks
``return_complex``, so a call that then fails on a missing ``return_complex`` still warns as
PyTorch does; ``F.interpolate``'s error for a size or scale_factor of the wrong length (a 1-D
resample given a 2-D size) shows the argument as the caller wrote it, with PyTorch's message;
float32 ``log10`` (decibels) is correctly rounded as PyTorch's is, so ``log10(100.)`` is exactly 2
and prints ``tensor([2.])`` (NumPy's float32 log10 gave 2.0000002)."""

import json

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


_STFT_SNIPPET = """
import json, warnings
import {lib} as lib
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        lib.stft(lib.randn(512), 128, hop_length=32)
        error = None
    except RuntimeError as e:
        error = str(e)
print(json.dumps([[str(w.message).split(".")[0] for w in caught], error]))
"""


def _warnings_and_error(library):
    """The warnings and the error of a window-less stft in a process that has not warned
    yet (PyTorch gives this warning once per process)."""
    from tests._fresh_interpreter import run_each_fresh

    out = run_each_fresh(library, {"stft": _STFT_SNIPPET.format(lib=library)})["stft"]
    return json.loads(out)


def test_stft_without_window_warns_before_return_complex_error():
    got, want = _warnings_and_error("ember"), _warnings_and_error("torch")
    assert want[0], "torch warns about the missing window"
    assert got[0][:1] == want[0][:1]
    assert got[1] is not None and got[1].split(".")[0] == want[1].split(".")[0]


@pytest.mark.parametrize("shape", [(2, 3, 40), (2, 40)])
@pytest.mark.parametrize("kwargs", [{"size": (20, 20)}, {"size": [20, 20]},
                                    {"scale_factor": (0.5, 0.5)}, {"scale_factor": [2, 3]}],
                         ids=["size-tuple", "size-list", "scale-tuple", "scale-list"])
def test_interpolate_wrong_length_message_as_torch(shape, kwargs):
    def message(lib):
        with pytest.raises(ValueError) as info:
            lib.nn.functional.interpolate(lib.zeros(shape), mode="nearest", **kwargs)
        return str(info.value)

    assert message(ember) == message(torch)


POWERS_OF_TEN = [10.0 ** k for k in range(-30, 31)]


@pytest.mark.parametrize("inplace", [False, True], ids=["log10", "log10_"])
def test_log10_float32_bitwise_as_torch(inplace):
    rng = np.random.default_rng(0)
    values = np.concatenate([np.float32(POWERS_OF_TEN),
                             rng.uniform(1e-3, 1e3, 2000).astype(np.float32)])

    def run(lib):
        x = lib.tensor(values)
        return (x.log10_() if inplace else lib.log10(x)).numpy()

    np.testing.assert_array_equal(run(ember), run(torch))


def test_log10_decibels_print_as_torch():
    def show(lib):
        power = lib.tensor([1.0, 10.0, 100.0, 1000.0])
        return str(10 * lib.log10(power))

    assert show(ember) == show(torch)
