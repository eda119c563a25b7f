"""``ember.fft`` beyond the op table: dtypes and promotion, argument errors (PyTorch's exception
types), ``out=``, ``fftfreq``/``rfftfreq`` values, meta tensors, and a few identities."""

import numpy as np
import pytest

import ember

from ._outcomes import outcome as _outcome

X = np.random.default_rng(0).standard_normal((4, 6))




def _x(L, dtype="float32", shape=None):
    a = X if shape is None else np.ones(shape)
    return L.tensor(a).to(getattr(L, dtype))


CASES = {
    # dtypes
    "fft_int": lambda L: L.fft.fft(L.arange(4)),
    "fft_bool": lambda L: L.fft.fft(L.tensor([True, False, True])),
    "fft_float64": lambda L: L.fft.fft(_x(L, "float64")),
    "fft_complex128": lambda L: L.fft.fft(_x(L, "complex128")),
    "rfft_int": lambda L: L.fft.rfft(L.arange(5)),
    "irfft_int": lambda L: L.fft.irfft(L.arange(4)),
    "irfft_float32": lambda L: L.fft.irfft(_x(L)),
    "irfft_complex128": lambda L: L.fft.irfft(_x(L, "complex128")),
    "hfft_float64": lambda L: L.fft.hfft(_x(L, "float64")),
    "ihfft_float64": lambda L: L.fft.ihfft(_x(L, "float64")),
    "fftn_int": lambda L: L.fft.fftn(L.arange(6).reshape(2, 3)),
    "irfftn_complex64": lambda L: L.fft.irfftn(_x(L, "complex64")),
    "fft_half": lambda L: L.fft.fft(_x(L, "float16")),
    "fft_bfloat16": lambda L: L.fft.fft(_x(L, "bfloat16")),
    "rfft2_half": lambda L: L.fft.rfft2(_x(L, "float16")),
    "irfft_half": lambda L: L.fft.irfft(_x(L, "float16")),
    "rfft_complex": lambda L: L.fft.rfft(_x(L, "complex64")),
    "ihfft_complex": lambda L: L.fft.ihfft(_x(L, "complex64")),
    "rfftn_complex": lambda L: L.fft.rfftn(_x(L, "complex64")),
    "ihfft2_complex": lambda L: L.fft.ihfft2(_x(L, "complex64")),
    # n / s
    "fft_n_zero": lambda L: L.fft.fft(_x(L), n=0),
    "fft_n_negative": lambda L: L.fft.fft(_x(L), n=-1),
    "fft_n_float": lambda L: L.fft.fft(_x(L), n=2.0),
    "fft_n_bool": lambda L: L.fft.fft(_x(L), n=True),
    "fft_n_numpy_int": lambda L: L.fft.fft(_x(L), n=np.int64(3)),
    "irfft_n_one": lambda L: L.fft.irfft(_x(L), n=1),
    "irfft_size_one": lambda L: L.fft.irfft(_x(L, shape=(1,))),
    "hfft_size_one": lambda L: L.fft.hfft(_x(L, shape=(3, 1))),
    "rfft_size_one": lambda L: L.fft.rfft(_x(L, shape=(1,))),
    "fft_empty_signal": lambda L: L.fft.fft(_x(L, shape=(0,))),
    "fftn_s_int": lambda L: L.fft.fftn(_x(L), s=3),
    "fftn_s_float": lambda L: L.fft.fftn(_x(L), s=(3.0,)),
    "fftn_s_minus_one": lambda L: L.fft.fftn(_x(L), s=(-1, 3)),
    "fftn_s_zero": lambda L: L.fft.fftn(_x(L), s=(0, 3)),
    "fftn_s_too_long": lambda L: L.fft.fftn(_x(L), s=(2, 2, 2)),
    "fftn_s_dim_lengths": lambda L: L.fft.fftn(_x(L), s=(2,), dim=(0, 1)),
    "irfftn_s_last_minus_one": lambda L: L.fft.irfftn(_x(L), s=(3, -1)),
    "irfft2_s": lambda L: L.fft.irfft2(_x(L), s=(3, 5)),
    "hfft2_s": lambda L: L.fft.hfft2(_x(L), s=(2, 3)),
    "ihfftn_s": lambda L: L.fft.ihfftn(_x(L), s=(3,)),
    # dim
    "fft_dim_out_of_range": lambda L: L.fft.fft(_x(L), dim=2),
    "fft_dim_negative_out_of_range": lambda L: L.fft.fft(_x(L), dim=-3),
    "fft_dim_tuple": lambda L: L.fft.fft(_x(L), dim=(0,)),
    "fft_0d": lambda L: L.fft.fft(L.tensor(1.0)),
    "fft2_1d": lambda L: L.fft.fft2(_x(L, shape=(4,))),
    "fft2_0d": lambda L: L.fft.fft2(L.tensor(1.0)),
    "fftn_0d": lambda L: L.fft.fftn(L.tensor(1.0)),
    "fftn_0d_dim": lambda L: L.fft.fftn(L.tensor(1.0), dim=(0,)),
    "fftn_0d_s": lambda L: L.fft.fftn(L.tensor(1.0), s=(2,)),
    "rfftn_0d": lambda L: L.fft.rfftn(L.tensor(1.0)),
    "irfftn_0d": lambda L: L.fft.irfftn(L.tensor(1.0)),
    "fftn_dim_int": lambda L: L.fft.fftn(_x(L), dim=0),
    "fftn_dim_list": lambda L: L.fft.fftn(_x(L), dim=[0]),
    "fftn_dims_repeated": lambda L: L.fft.fftn(_x(L), dim=(0, 0)),
    "fftn_dims_repeated_negative": lambda L: L.fft.fftn(_x(L), dim=(1, -1)),
    "fftn_dim_out_of_range": lambda L: L.fft.fftn(_x(L), dim=(0, 5)),
    "fftn_no_dims": lambda L: L.fft.fftn(_x(L), dim=()),
    "fftn_s_empty": lambda L: L.fft.fftn(_x(L), s=()),
    "rfftn_no_dims": lambda L: L.fft.rfftn(_x(L), dim=()),
    "irfftn_no_dims": lambda L: L.fft.irfftn(_x(L), dim=()),
    "hfftn_no_dims": lambda L: L.fft.hfftn(_x(L), dim=()),
    "ihfftn_no_dims": lambda L: L.fft.ihfftn(_x(L), dim=()),
    # norm and other arguments
    "fft_norm_bad": lambda L: L.fft.fft(_x(L), norm="bad"),
    "fft_norm_int": lambda L: L.fft.fft(_x(L), norm=1),
    "fft_list_input": lambda L: L.fft.fft([1.0, 2.0]),
    # out=
    "fft_out_float": lambda L: L.fft.fft(_x(L), out=L.empty(0)),
    "rfft_out_float": lambda L: L.fft.rfft(_x(L), out=L.empty(0)),
    "irfft_out_complex": lambda L: L.fft.irfft(_x(L), out=L.empty(0, dtype=L.complex64)),
    "irfft_out_float64": lambda L: L.fft.irfft(_x(L), out=L.empty(0, dtype=L.float64)),
    "fft_out_complex128": lambda L: L.fft.fft(_x(L), out=L.empty(0, dtype=L.complex128)),
    "fftn_out_int": lambda L: L.fft.fftn(_x(L), out=L.empty(0, dtype=L.int64)),
    "fft_out_requires_grad": lambda L: L.fft.fft(_x(L).requires_grad_(),
                                                 out=L.empty(0, dtype=L.complex64)),
    # fftfreq / rfftfreq / shifts
    "fftfreq": lambda L: L.fft.fftfreq(5),
    "fftfreq_zero": lambda L: L.fft.fftfreq(0),
    "fftfreq_negative": lambda L: L.fft.fftfreq(-1),
    "fftfreq_float_n": lambda L: L.fft.fftfreq(4.0),
    "fftfreq_int_dtype": lambda L: L.fft.fftfreq(5, dtype=L.int64),
    "fftfreq_complex_dtype": lambda L: L.fft.fftfreq(4, dtype=L.complex64),
    "fftfreq_half": lambda L: L.fft.fftfreq(4, dtype=L.float16),
    "fftfreq_bfloat16": lambda L: L.fft.fftfreq(4, dtype=L.bfloat16),
    "fftfreq_d_str": lambda L: L.fft.fftfreq(5, d="a"),
    "fftfreq_d_tensor": lambda L: L.fft.fftfreq(5, d=L.tensor(2.0)),
    "fftfreq_out_dtype_mismatch": lambda L: L.fft.fftfreq(5, out=L.empty(3),
                                                          dtype=L.float64),
    "rfftfreq_zero": lambda L: L.fft.rfftfreq(0),
    "rfftfreq_minus_one": lambda L: L.fft.rfftfreq(-1),
    "rfftfreq_minus_three": lambda L: L.fft.rfftfreq(-3),
    "rfftfreq_minus_five": lambda L: L.fft.rfftfreq(-5),
    "fftshift_int": lambda L: L.fft.fftshift(L.arange(5)),
    "fftshift_0d": lambda L: L.fft.fftshift(L.tensor(1.0)),
    "fftshift_0d_dim": lambda L: L.fft.fftshift(L.tensor(1.0), dim=0),
    "fftshift_no_dims": lambda L: L.fft.fftshift(_x(L), dim=()),
    "fftshift_dim_out_of_range": lambda L: L.fft.fftshift(_x(L), dim=5),
    "fftshift_dim_float": lambda L: L.fft.fftshift(_x(L), dim=1.0),
    "fftshift_dims_repeated": lambda L: L.fft.fftshift(_x(L), dim=(0, 0)),
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", sorted(CASES))
def test_outcome_matches_torch(torch, name):
    assert _outcome(ember, CASES[name]) == _outcome(torch, CASES[name])


def test_errors_name_the_fix():
    # torch's message, then the fix as a note (shown under the traceback)
    with pytest.raises(RuntimeError, match=r"Unsupported dtype Half") as info:
        ember.fft.rfft(ember.ones(4, dtype=ember.float16))
    assert any(".float()" in note for note in info.value.__notes__)
    with pytest.raises(RuntimeError, match=r'Invalid normalization mode: "ortogonal"') as info:
        ember.fft.fft(ember.ones(4), norm="ortogonal")
    assert any('"ortho"' in note for note in info.value.__notes__)
    with pytest.raises(RuntimeError, match="Invalid number of data points \\(0\\) specified"):
        ember.fft.irfft(ember.ones(1))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("name,args", [
    ("fftfreq", (7,)), ("fftfreq", (6, 0.3)), ("fftfreq", (1,)), ("rfftfreq", (7, 0.1)),
    ("rfftfreq", (8, 2.5)), ("fftfreq", (4, 0)), ("rfftfreq", (0,)), ("fftfreq", (9, 0.07))])
def test_frequencies_equal_torch_bit_for_bit(torch, name, args, dtype):
    e = getattr(ember.fft, name)(*args, dtype=getattr(ember, dtype)).float().numpy()
    t = getattr(torch.fft, name)(*args, dtype=getattr(torch, dtype)).float().numpy()
    np.testing.assert_array_equal(e, t)


def test_fftfreq_out_and_requires_grad():
    out = ember.empty(0, dtype=ember.float64)
    r = ember.fft.fftfreq(4, 0.5, out=out)
    assert r is out and out.tolist() == [0.0, 0.5, -1.0, -0.5]
    assert ember.fft.rfftfreq(4, requires_grad=True).requires_grad


def test_out_receives_the_result(torch):
    x = X.astype(np.float32)
    out = ember.empty(0, dtype=ember.complex64)
    r = ember.fft.rfft2(ember.tensor(x), out=out)
    assert r is out and out.shape == (4, 4)
    np.testing.assert_allclose(out.numpy(), torch.fft.rfft2(torch.tensor(x)).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_float32_stays_single_precision(torch):
    x = X.astype(np.float32)
    e = ember.fft.fft(ember.tensor(x))
    assert e.dtype is ember.complex64 and e.numpy().dtype == np.complex64
    r = ember.fft.irfft(e, n=6)
    assert r.dtype is ember.float32 and r.numpy().dtype == np.float32
    np.testing.assert_allclose(r.numpy(), x, atol=1e-5)


def test_default_dtype_float64_promotes_integers_to_complex128():
    old = ember.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.fft.fft(ember.arange(4)).dtype is ember.complex128
    finally:
        ember.set_default_dtype(old)


def test_round_trips_and_parseval():
    x = ember.tensor(X)
    np.testing.assert_allclose(ember.fft.ifft(ember.fft.fft(x)).real.numpy(), X, atol=1e-12)
    np.testing.assert_allclose(ember.fft.irfftn(ember.fft.rfftn(x), s=x.shape).numpy(), X,
                               atol=1e-12)
    np.testing.assert_allclose(ember.fft.hfft(ember.fft.ihfft(x), n=6).numpy(), X, atol=1e-12)
    # ortho is unitary: the energy is kept
    energy = (ember.fft.fftn(x, norm="ortho").abs() ** 2).sum().item()
    assert energy == pytest.approx((X ** 2).sum(), rel=1e-12)


def test_meta_tensors_give_shapes_and_dtypes():
    x = ember.empty(4, 6, device="meta")
    for fn, shape, dtype in [(ember.fft.fft, (4, 6), ember.complex64),
                             (ember.fft.rfft2, (4, 4), ember.complex64),
                             (ember.fft.irfft, (4, 10), ember.float32),
                             (ember.fft.hfftn, (4, 10), ember.float32)]:
        r = fn(x)
        assert r.device.type == "meta" and tuple(r.shape) == shape and r.dtype is dtype


def test_grad_fn_names_follow_torch(torch):
    def names(L):
        x = L.tensor(X, requires_grad=True)
        return [L.fft.fft(x).grad_fn.name(), L.fft.fftn(x.to(L.complex128)).grad_fn.name(),
                L.fft.ihfft(x).grad_fn.name(), L.fft.irfft(x.to(L.complex128)).grad_fn.name()]

    assert names(ember) == names(torch)


def test_fftshift_centres_zero_frequency(torch):
    f = ember.fft.fftshift(ember.fft.fftfreq(6))
    assert f.tolist() == torch.fft.fftshift(torch.fft.fftfreq(6)).tolist()
    assert ember.fft.ifftshift(ember.fft.fftshift(ember.arange(7))).tolist() == list(range(7))
