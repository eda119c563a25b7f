"""Gaps found while writing the reinforcement-learning programs (tests/programs/rl_*.py), each
checked against PyTorch: ``nn.TransformerEncoder`` canonicalizes its masks before its layers
see them, so mismatched mask dtypes warn once, naming ``mask`` (not the layer's ``src_mask``),
and the layers stay quiet; a NumPy scalar on the left of a tensor operator (``rewards[t] +
gamma * v`` with a float32 reward array) works as a Python number, ``numpy.bool_`` counting as
a float, as torch's argument parser reads it; ``number - tensor`` is ``rsub``
(RsubBackward1, a bool number refused) on every path."""

import operator
import warnings

import numpy as np
import pytest
import torch

import ember


def _encoder_warnings(lib, mask_dtype, pad_dtype, full=False):
    lib.manual_seed(0)
    layer = lib.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                           batch_first=True, norm_first=True)
    x = lib.randn(2, 5, 8)
    mask = lib.nn.Transformer.generate_square_subsequent_mask(5)
    mask = mask.isinf() if mask_dtype == "bool" else mask
    pad = lib.tensor([[False] * 5, [False] * 3 + [True] * 2])
    pad = pad.float().masked_fill(pad, float("-inf")) if pad_dtype == "float" else pad
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if full:
            model = lib.nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True)
            out = model(x, x, src_mask=mask, src_key_padding_mask=pad)
        else:
            enc = lib.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            out = enc(x, mask=mask, src_key_padding_mask=pad, is_causal=True)
    messages = [str(w.message) for w in caught if "mismatched" in str(w.message)]
    return messages, out.detach().numpy()


@pytest.mark.parametrize("mask_dtype,pad_dtype", [("float", "bool"), ("bool", "float"),
                                                  ("bool", "bool"), ("float", "float")])
def test_encoder_mask_dtype_warning_matches_torch(mask_dtype, pad_dtype):
    mine, out_mine = _encoder_warnings(ember, mask_dtype, pad_dtype)
    theirs, out_theirs = _encoder_warnings(torch, mask_dtype, pad_dtype)
    assert mine == theirs
    # padded rows of a causal mask can be fully masked (NaN in both libraries)
    import numpy as np
    np.testing.assert_allclose(out_mine, out_theirs, rtol=1e-5, atol=1e-5, equal_nan=True)


def test_full_transformer_mask_dtype_warning_matches_torch():
    mine, _ = _encoder_warnings(ember, "float", "bool", full=True)
    theirs, _ = _encoder_warnings(torch, "float", "bool", full=True)
    assert mine == theirs


NP_SCALARS = [np.float32(2.5), np.float64(2.5), np.float16(2.5), np.int64(3), np.int32(3),
              np.uint8(3), np.int8(-3), np.bool_(True), np.bool_(False)]
OPS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
       operator.floordiv, operator.mod]


def _np_scalar_op(lib, scalar, op, dtype, left):
    t = lib.tensor([1.0, 2.0, 4.0]).to(getattr(lib, dtype))
    try:
        r = op(scalar, t) if left else op(t, scalar)
    except (RuntimeError, TypeError, ZeroDivisionError) as e:
        return type(e).__name__
    return type(r).__name__, str(r.dtype), r.double().tolist()


@pytest.mark.parametrize("scalar", NP_SCALARS, ids=lambda s: f"{type(s).__name__}({s})")
@pytest.mark.parametrize("op", OPS, ids=lambda o: o.__name__)
@pytest.mark.parametrize("dtype", ["float32", "int64", "float16"])
@pytest.mark.parametrize("left", [True, False])
def test_numpy_scalar_operand_matches_torch(scalar, op, dtype, left):
    mine = _np_scalar_op(ember, scalar, op, dtype, left)
    theirs = _np_scalar_op(torch, scalar, op, dtype, left)
    assert mine[:2] == theirs[:2]
    if isinstance(theirs, tuple):
        np.testing.assert_allclose(mine[2], theirs[2], rtol=1e-6, equal_nan=True)


def test_numpy_float32_discounted_return_loop():
    def run(lib):
        rewards = np.array([1.0, 0.5, -1.0], dtype=np.float32)
        ret = lib.tensor(2.0)
        for r in rewards[::-1]:
            ret = r + np.float32(0.99) * ret
        return str(ret.dtype), ret.item()
    assert run(ember) == run(torch)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64", "complex64"])
@pytest.mark.parametrize("scalar", [2.0, 2, np.float32(2.0), np.float64(2.0), np.int64(2),
                                    True, 1j], ids=repr)
def test_rsub_number_grad_fn_and_bool_match_torch(dtype, scalar):
    if dtype == "float16" and isinstance(scalar, complex):
        pytest.skip("torch gives complex32 (ComplexHalf), which ember lacks")

    def run(lib):
        t = lib.tensor([0.3, 1.7, -2.5]).to(getattr(lib, dtype)).requires_grad_()
        try:
            r = scalar - t
        except RuntimeError as e:
            return str(e)
        r.abs().sum().backward()
        return r.grad_fn.name(), str(r.dtype), r.detach().abs().double().tolist(), \
            t.grad.abs().double().tolist()
    mine, theirs = run(ember), run(torch)
    assert mine[:2] == theirs[:2]
    if isinstance(theirs, tuple):
        np.testing.assert_allclose(mine[2], theirs[2], rtol=1e-6)
        np.testing.assert_allclose(mine[3], theirs[3], rtol=1e-6)
