"""Gaps found by the biological-sequence programs (tests/programs/bio_*), compared with
PyTorch: ``mean``/``nanmean`` given an integer or bool ``dtype=`` refuse it with PyTorch's
words ("Optional dtype must be ...", naming the dtype asked for, not the input's), and
``nanmean`` no longer returns a float mean when asked for an integer dtype; a BatchNorm layer
given an input whose channel count differs from ``num_features`` raises PyTorch's RuntimeError
("running_mean should contain 4 elements not 3"), not an ember-only ValueError, and runs
where PyTorch does (no running stats, no affine)."""

import pytest

import ember

torch = pytest.importorskip("torch")


def outcome(lib, call):
    try:
        return repr(call(lib))
    except Exception as e:  # the point is to compare the error type and message
        return type(e).__name__, str(e)


CALLS = {
    "mean int dtype of float": lambda lib: lib.tensor([1.0, 2.0]).mean(dtype=lib.int64),
    "mean int dtype of int": lambda lib: lib.tensor([1, 2]).mean(dtype=lib.int64),
    "mean bool dtype": lambda lib: lib.tensor([1.0, 2.0]).mean(dtype=lib.bool),
    "mean dim int32 dtype": lambda lib: lib.mean(lib.ones(2, 3), 0, dtype=lib.int32),
    "mean float dtype of int": lambda lib: lib.tensor([1, 2]).mean(dtype=lib.float64),
    "nanmean int dtype": lambda lib: lib.tensor([1.0, float("nan")]).nanmean(dtype=lib.int64),
    "nanmean bool dtype": lambda lib: lib.tensor([1.0, 2.0]).nanmean(dtype=lib.bool),
    "nanmean int input": lambda lib: lib.tensor([1, 2]).nanmean(dtype=lib.int32),
    "nanmean complex int dtype": lambda lib: lib.tensor([1 + 1j]).nanmean(dtype=lib.int32),
    "nanmean float64 dtype": lambda lib: lib.tensor([1.0, float("nan")]).nanmean(
        dtype=lib.float64),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_mean_dtype_argument_as_torch(name):
    assert outcome(ember, CALLS[name]) == outcome(torch, CALLS[name])


BATCHNORM_CALLS = {
    "1d training": lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(2, 4)),
    "2d training": lambda lib: lib.nn.BatchNorm2d(3)(lib.ones(2, 4, 2, 2)),
    "1d eval, 3-d input": lambda lib: lib.nn.BatchNorm1d(3).eval()(lib.ones(2, 4, 6)),
    "no running stats": lambda lib: lib.nn.BatchNorm1d(3, track_running_stats=False)(
        lib.ones(2, 4)),
    "more features than channels": lambda lib: lib.nn.BatchNorm1d(5)(lib.ones(2, 4)),
    "neither stats nor affine": lambda lib: lib.nn.BatchNorm1d(
        3, affine=False, track_running_stats=False)(lib.ones(2, 4)),
}


@pytest.mark.parametrize("name", sorted(BATCHNORM_CALLS))
def test_batchnorm_channel_mismatch_as_torch(name):
    """A channel count unlike num_features: PyTorch's RuntimeError from the functional's
    checks (ember adds a hint after its words), or a result where nothing is per channel."""
    want = outcome(torch, BATCHNORM_CALLS[name])
    got = outcome(ember, BATCHNORM_CALLS[name])
    if isinstance(want, tuple):
        assert got[0] == want[0] and got[1].startswith(want[1])
    else:
        assert got.split("grad_fn")[0] == want.split("grad_fn")[0]
