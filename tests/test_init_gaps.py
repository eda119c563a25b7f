"""Gaps found while writing the weight-initialisation programs (tests/programs/init_*.py), each
checked against PyTorch: ``nn.init.kaiming_*_`` names the valid modes as a list;
``nn.init.uniform_``/``normal_`` and the in-place samplers (``normal_``, ``log_normal_``,
``cauchy_``, ``exponential_``, ``geometric_``) refuse out-of-range parameters with PyTorch's
RuntimeError instead of drawing (and so consuming the random stream), and integer or bool
tensors with PyTorch's NotImplementedError; ``nn.init.sparse_`` on a transposed weight draws in
memory order as PyTorch's ``normal_`` does."""

import pytest
import torch

import ember


def _error(lib, fn):
    try:
        fn(lib)
    except Exception as e:  # noqa: BLE001 - the exception itself is what is compared
        return type(e).__name__, str(e)
    return None


def _assert_same_error(fn):
    expected = _error(torch, fn)
    assert expected is not None, "torch accepted the call: the case tests nothing"
    assert _error(ember, fn) == expected


def test_kaiming_bad_mode_message_lists_modes():
    _assert_same_error(lambda lib: lib.nn.init.kaiming_uniform_(lib.empty(3, 4), mode="fan_avg"))


@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.init.uniform_(lib.empty(3), 1, 0),
    lambda lib: lib.nn.init.uniform_(lib.empty(3, dtype=lib.float64), 0.5, -0.25),
    lambda lib: lib.nn.init.normal_(lib.empty(3), 0.0, -2.5),
    lambda lib: lib.nn.init.normal_(lib.empty(2, dtype=lib.complex64), 0.0, -1.0),
    lambda lib: lib.empty(3).normal_(0, -1),
    lambda lib: lib.empty(3).normal_(0, -1e-3),
    lambda lib: lib.empty(3).normal_(0, float("nan")),
    lambda lib: lib.empty(3, dtype=lib.int64).normal_(0, -1),
    lambda lib: lib.empty(3, dtype=lib.float16).normal_(0, -1),
    lambda lib: lib.empty(3).log_normal_(0, 0),
    lambda lib: lib.empty(3).log_normal_(0, -0.5),
    lambda lib: lib.empty(3).cauchy_(0, -2.5),
    lambda lib: lib.empty(3).exponential_(0),
    lambda lib: lib.empty(3).exponential_(-0.5),
    lambda lib: lib.empty(3).geometric_(0),
    lambda lib: lib.empty(3).geometric_(1.5),
    # integer and bool tensors have no uniform/normal kernel
    lambda lib: lib.empty(3, dtype=lib.int64).uniform_(0, 5),
    lambda lib: lib.empty(3, dtype=lib.bool).uniform_(0, 5),
    lambda lib: lib.empty(3, dtype=lib.int8).uniform_(5, 1),
    lambda lib: lib.nn.init.uniform_(lib.empty(3, dtype=lib.bool)),
    lambda lib: lib.nn.init.normal_(lib.empty(3, dtype=lib.bool)),
    lambda lib: lib.nn.init.normal_(lib.empty(3, dtype=lib.int64, device="meta")),
    lambda lib: lib.nn.init.kaiming_uniform_(lib.empty(3, 4, dtype=lib.int64)),
    lambda lib: lib.nn.init.xavier_normal_(lib.empty(3, 4, dtype=lib.int32)),
    lambda lib: lib.nn.init.xavier_uniform_(lib.empty(3, 3, dtype=lib.uint8)),
    lambda lib: lib.nn.init.trunc_normal_(lib.empty(3, dtype=lib.int64)),
    lambda lib: lib.nn.init.trunc_normal_(lib.empty(3, dtype=lib.int16), a=0.5, b=0.6),
    lambda lib: lib.nn.init.sparse_(lib.empty(3, 3, dtype=lib.int64), 0.5),
])
def test_sampler_parameter_checks(call):
    _assert_same_error(call)


def test_refused_draw_leaves_the_stream_alone():
    """A refused call draws nothing: the next values equal torch's."""
    def after_refusal(lib):
        lib.manual_seed(0)
        with pytest.raises(RuntimeError):
            lib.nn.init.uniform_(lib.empty(4), 1.0, 0.0)
        with pytest.raises(RuntimeError):
            lib.empty(4).normal_(0.0, -1.0)
        return lib.nn.init.trunc_normal_(lib.empty(5), mean=0.5, std=1.0, a=0.0, b=1.0)

    assert after_refusal(ember).tolist() == after_refusal(torch).tolist()


@pytest.mark.parametrize("make", [
    lambda lib: lib.empty(6, 4).t(),
    lambda lib: lib.empty(4, 6, dtype=lib.float64)[:, ::2],
    lambda lib: lib.empty(5, 3, dtype=lib.float64),
])
def test_sparse_draws_like_torch(make):
    def draw(lib):
        lib.manual_seed(0)
        w = lib.nn.init.sparse_(make(lib), 0.5, std=0.1)
        return w.tolist(), lib.rand(2).tolist()  # the stream continues alike too

    assert draw(ember) == draw(torch)
