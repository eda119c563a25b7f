"""Gaps found by the audio and signal-processing programs (tests/programs/sig_*) in ember's
random fills, compared with PyTorch: ``Tensor.uniform_``/``normal_`` and ``nn.init``'s
uniform/normal family on a complex tensor fill it as PyTorch does, viewed as real (each
element's real and imaginary parts take consecutive draws; a normal fill gives each part
std/sqrt(2)), so complex-valued layers (``nn.Linear(..., dtype=torch.cfloat)``) start from
PyTorch's weights and later draws stay in step; ``torch.polar`` refuses mixed or non-float
dtypes with PyTorch's errors instead of promoting."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

FILLS = {
    "uniform_": lambda lib, t: t.uniform_(-1.0, 3.0),
    "normal_": lambda lib, t: t.normal_(2.0, 3.0),
    "init.uniform_": lambda lib, t: lib.nn.init.uniform_(t, -0.5, 0.5),
    "init.normal_": lambda lib, t: lib.nn.init.normal_(t, 0.5, 2.0),
    "init.kaiming_uniform_": lambda lib, t: lib.nn.init.kaiming_uniform_(t, a=5 ** 0.5),
    "init.kaiming_normal_": lambda lib, t: lib.nn.init.kaiming_normal_(t),
    "init.xavier_uniform_": lambda lib, t: lib.nn.init.xavier_uniform_(t),
    "init.xavier_normal_": lambda lib, t: lib.nn.init.xavier_normal_(t),
}


@pytest.mark.parametrize("fill", sorted(FILLS))
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("shape,transposed", [((3, 4), False), ((6, 5), True), ((7, 9), False)])
def test_complex_fill_as_torch(fill, dtype, shape, transposed):
    def run(lib):
        lib.manual_seed(0)
        t = lib.empty(*shape, dtype=getattr(lib, dtype))
        if transposed:  # a non-contiguous tensor takes its draws in memory order
            t = t.t()
        FILLS[fill](lib, t)
        return t, lib.randn(3)  # the stream after the fill stays in step

    got, got_next = run(ember)
    want, want_next = run(torch)
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)
    assert np.abs(got.numpy().imag).max() > 0
    np.testing.assert_array_equal(got_next.numpy(), want_next.numpy())


def test_complex_linear_starts_from_torch_weights():
    ember.manual_seed(0)
    torch.manual_seed(0)
    a = ember.nn.Linear(3, 2, dtype=ember.cfloat)
    b = torch.nn.Linear(3, 2, dtype=torch.cfloat)
    np.testing.assert_allclose(a.weight.detach().numpy(), b.weight.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(a.bias.detach().numpy(), b.bias.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("abs_dtype,angle_dtype", [
    ("float64", "float32"), ("float32", "float64"), ("float16", "float16"),
    ("int64", "int64"), ("float16", "float32"), ("bfloat16", "bfloat16"), ("int64", "float32"),
])
def test_polar_dtype_errors_as_torch(abs_dtype, angle_dtype):
    def error(lib):
        with pytest.raises(Exception) as info:
            lib.polar(lib.ones(2, dtype=getattr(lib, abs_dtype)),
                      lib.zeros(2, dtype=getattr(lib, angle_dtype)))
        return type(info.value).__name__, str(info.value)

    assert error(ember) == error(torch)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_polar_values_as_torch(dtype):
    r, th = np.array([0.5, 2.0, 1.0]), np.array([0.3, -2.0, 3.0])
    got = ember.polar(ember.tensor(r, dtype=getattr(ember, dtype)),
                      ember.tensor(th, dtype=getattr(ember, dtype)))
    want = torch.polar(torch.tensor(r, dtype=getattr(torch, dtype)),
                       torch.tensor(th, dtype=getattr(torch, dtype)))
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
