"""Gaps found while writing the state-space-model programs (tests/programs/ssm_*.py), each
checked against PyTorch."""

import itertools

import pytest
import torch

import ember


def _error(lib, call):
    try:
        call(lib)
    except Exception as e:  # noqa: BLE001 -- the exception itself is what is compared
        return type(e), str(e)
    return None


def _with_threads(lib, n, call):
    before = lib.get_num_threads()
    lib.set_num_threads(n)
    try:
        return _error(lib, call)
    finally:
        lib.set_num_threads(before)


_DTYPES = ("float32", "float64", "float16", "bfloat16", "complex64", "complex128")


def _conv(nd, transposed, in_dtype, w_dtype, batch, k, groups, stride):
    def call(lib):
        x = lib.ones(batch, 2, *([6] * nd), dtype=getattr(lib, in_dtype))
        # (C_out, C_in/g, k..) or, transposed, (C_in, C_out/g, k..): both 2 channels
        w = lib.ones(2, 2 // groups, *([k] * nd), dtype=getattr(lib, w_dtype))
        fn = getattr(lib.nn.functional, f"conv_transpose{nd}d" if transposed else f"conv{nd}d")
        fn(x, w, None, stride=stride, groups=groups)
    return call


@pytest.mark.parametrize("nd,transposed", [(1, False), (2, False), (3, False), (1, True),
                                           (2, True)])
@pytest.mark.parametrize("in_dtype,w_dtype", [
    (a, b) for a, b in itertools.product(_DTYPES, _DTYPES) if a != b])
def test_conv_mixed_dtypes_refused_in_torch_words(nd, transposed, in_dtype, w_dtype):
    """A model left in float64 (or complex) fed float32 data: torch's CPU conv words the
    refusal by the kernel it picks (oneDNN: "Input type (torch.FloatTensor) and weight type
    (torch.DoubleTensor) should be the same or input should be a MKLDNN tensor ...", the complex
    path: "... should be the same", native kernels: "expected scalar type Float but found
    Double"); ember said "expected scalar type ..." for all, and "complex64" for ComplexFloat."""
    for batch, k, groups, stride, threads in [(1, 1, 1, 1, 1), (1, 3, 1, 1, 1), (2, 3, 1, 1, 1),
                                              (1, 3, 2, 1, 1), (1, 1, 1, 2, 1), (16, 1, 1, 1, 1),
                                              (1, 1, 1, 1, 2), (2, 1, 1, 1, 1)]:
        call = _conv(nd, transposed, in_dtype, w_dtype, batch, k, groups, stride)
        expected = _with_threads(torch, threads, call)
        assert expected is not None
        assert _with_threads(ember, threads, call) == expected, (batch, k, groups, stride)


@pytest.mark.parametrize("call", [
    lambda L: L.nn.functional.conv_transpose1d(L.ones(2, 2, 5), L.ones(2, 2, 3),
                                               L.ones(2, dtype=L.float64)),
    lambda L: L.nn.functional.conv_transpose1d(L.ones(2, 2, 5), L.ones(2, 2, 3),
                                               L.ones(2, dtype=L.cfloat)),
    lambda L: L.nn.functional.conv_transpose2d(L.ones(2, 2, 5, 5).half(),
                                               L.ones(2, 2, 3, 3).half(), L.ones(2)),
    lambda L: L.nn.functional.conv_transpose1d(L.ones(2, 2, 5).cfloat(), L.ones(2, 2, 3).cfloat(),
                                               L.ones(2)),
    lambda L: L.nn.functional.conv_transpose3d(L.ones(2, 2, 3, 3, 3), L.ones(2, 2, 2, 2, 2),
                                               L.ones(2).double()),
    lambda L: L.nn.functional.conv1d(L.ones(2, 2, 5).cfloat(), L.ones(2, 2, 3), padding="same"),
    lambda L: L.nn.functional.conv1d(L.ones(2, 2, 5), L.ones(2, 2, 3).double(), padding="same"),
    lambda L: L.nn.functional.conv1d(L.ones(2, 2, 5), L.ones(2, 2, 3, dtype=L.long)),
    lambda L: L.nn.functional.conv2d(L.ones(1, 2, 120, 120), L.ones(2, 2, 1, 1).double()),
    lambda L: L.nn.functional.conv2d(L.ones(0, 2, 5, 5).cfloat(), L.ones(2, 1, 3, 3), groups=2),
    lambda L: L.nn.Conv2d(3, 4, 3, bias=False).double()(L.ones(8, 3, 8, 8)),
    lambda L: L.nn.Conv1d(3, 4, 3, bias=False)(L.ones(8, 3, 8).cfloat()),
])
def test_conv_mixed_dtype_messages_for_bias_padding_and_modules(call):
    """The same refusal where a transposed conv's bias, padding='same', an integer weight, a
    large single image or an nn.Conv module meets the mismatch."""
    expected = _with_threads(torch, 1, call)
    assert expected is not None
    assert _with_threads(ember, 1, call) == expected


def test_conv_mixed_dtypes_on_empty_real_input_still_run():
    """torch returns an empty result for an empty real batch whatever the weight's dtype."""
    out = ember.nn.functional.conv2d(ember.ones(0, 2, 5, 5), ember.ones(2, 1, 3, 3).double(),
                                     groups=2)
    ref = torch.nn.functional.conv2d(torch.ones(0, 2, 5, 5), torch.ones(2, 1, 3, 3).double(),
                                     groups=2)
    assert tuple(out.shape) == tuple(ref.shape) and str(out.dtype) == str(ref.dtype)


@pytest.mark.parametrize("a,b", [("cfloat", "float32"), ("float32", "cdouble"),
                                 ("int16", "float32"), ("int8", "float32"),
                                 ("uint8", "float32"), ("bool", "float32")])
def test_matmul_mixed_dtypes_name_cpp_types(a, b):
    """A complex SSM kernel multiplied by a real matrix: torch names the C++ types
    (c10::complex<float>, short int ...); ember printed complex64 / int16."""
    def call(lib):
        lib.ones(2, 2, dtype=getattr(lib, a)) @ lib.ones(2, 2, dtype=getattr(lib, b))
    expected = _error(torch, call)
    assert expected is not None and _error(ember, call) == expected


def test_real_and_imag_grad_fn_are_select():
    """torch reads z.real as view_as_real(z).select(-1, 0): its grad_fn prints SelectBackward0
    (ember's said RealImagBackward0)."""
    def names(lib):
        z = lib.complex(lib.ones(2, requires_grad=True), lib.zeros(2))
        return z.real.grad_fn.name(), z.imag.grad_fn.name(), type(z.real.grad_fn).__name__
    assert names(ember) == names(torch)

    def grads(lib):  # the renamed node still differentiates
        x, y = lib.ones(2, requires_grad=True), lib.full((2,), 3.0, requires_grad=True)
        z = lib.complex(x, y) ** 2
        (z.real * 2 + z.imag).sum().backward()
        return x.grad.tolist(), y.grad.tolist()
    assert grads(ember) == grads(torch)


@pytest.mark.parametrize("call", [
    lambda L, z: z.sum().backward(),
    lambda L, z: L.autograd.grad((z * z).sum(), z),
    lambda L, z: L.autograd.backward([z.mean()]),
    lambda L, z: L.func.grad(lambda x: (x * 1j).sum())(z.detach().real),
    lambda L, z: L.func.grad_and_value(lambda x: x.sum())(z.detach()),
    lambda L, z: L.vmap(L.func.grad(lambda x: (x * 1j).sum()))(L.ones(3, 2)),
])
def test_complex_loss_is_refused(call):
    """A loss left complex (forgetting .real / .abs() after a complex SSM): torch refuses to
    seed its gradient; ember seeded it with 1 and returned a silently wrong gradient."""
    def run(lib):
        z = lib.tensor([1 + 2j, 3j], requires_grad=True)
        return _error(lib, lambda L: call(L, z))
    expected = run(torch)
    assert expected is not None and run(ember) == expected


def test_complex_scalar_with_explicit_gradient_still_backpropagates():
    def grad(lib):
        z = lib.tensor([1 + 2j, 3j], requires_grad=True)
        (z * z).sum().backward(lib.tensor(1 + 0j))
        return z.grad.tolist()
    assert grad(ember) == grad(torch)


@pytest.mark.parametrize("call", [
    lambda L, z: z.floor(), lambda L, z: L.ceil(z), lambda L, z: L.trunc(z), lambda L, z: z.fix(),
    lambda L, z: z.frac(), lambda L, z: z.floor_(), lambda L, z: z.ceil_(), lambda L, z: z.trunc_(),
    lambda L, z: z.frac_(),
])
def test_rounding_complex_is_refused_as_torch_says(call):
    """torch checks for complex input before it picks a kernel: "floor is not supported for
    complex inputs" (frac: "frac_cpu" ...); ember named trunc_cpu/floor_cpu kernels."""
    def run(lib):
        return _error(lib, lambda L: call(L, lib.tensor([1.26 + 2.5j])))
    expected = run(torch)
    assert expected is not None and run(ember) == expected


@pytest.mark.parametrize("method", ["abs_", "absolute_"])
def test_inplace_abs_of_complex_is_refused(method):
    """|z| is real, so torch refuses to write it back into a complex tensor; ember wrote
    |z| + 0j in place, silently."""
    def run(lib):
        z = lib.tensor([3 + 4j, -1j])
        return _error(lib, lambda L: getattr(z, method)()), z.tolist()
    expected = run(torch)
    assert expected[0] is not None and run(ember) == expected


@pytest.mark.parametrize("call", [
    lambda L: L.bernoulli(L.tensor([0.5 + 0j])),
    lambda L: L.tensor([0.5 + 0j]).bernoulli(0.5),
    lambda L: L.tensor([0.5 + 0j]).bernoulli_(),
    lambda L: L.tensor([0.5 + 0j]).bernoulli_(L.tensor([0.5])),
    lambda L: L.bernoulli(L.tensor([0.5]), out=L.empty(1, dtype=L.cfloat)),
    lambda L: L.histc(L.ones(2, dtype=L.cfloat)),
    lambda L: L.histc(L.ones(2, dtype=L.bool), bins=3, min=0, max=1),
])
def test_complex_and_bool_sampling_and_histc_refused(call):
    """Bernoulli draws into a complex tensor were accepted (torch has no complex kernel);
    histc named the wrong kernel for complex and bool inputs."""
    expected = _error(torch, call)
    assert expected is not None and _error(ember, call) == expected
