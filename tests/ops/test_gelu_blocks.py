"""GELU's float32 normal CDF runs large arrays in cache-sized blocks: every element must get
the bits one call over the whole array gives, whatever the size, layout or thread count."""

import numpy as np
import pytest

import ember
from ember._ops.nn import activation as A


@pytest.mark.parametrize("size", [2 * A._CDF_BLOCK, 3 * A._CDF_BLOCK + 17])
def test_blocked_cdf_pdf_gives_the_bits_of_one_pass(size):
    x = (np.random.default_rng(0).standard_normal(size) * 5).astype(np.float32)
    x[:4] = [0.0, np.inf, -np.inf, np.nan]
    out, pdf = np.empty_like(x), np.empty_like(x)
    A._normal_cdf_pdf_f32(out, pdf, x)  # blocked
    one_out, one_pdf = np.empty_like(x), np.empty_like(x)
    A._normal_cdf_pdf_block(one_out, one_pdf, x, np.empty_like(x))
    np.testing.assert_array_equal(out, one_out)
    np.testing.assert_array_equal(pdf, one_pdf)


def test_gelu_on_a_large_strided_input_matches_torch(torch):
    x = (np.random.default_rng(1).standard_normal((8, 64, 1024)) * 3).astype(np.float32)
    grads = []
    for lib in (ember, torch):
        t = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.gelu(t[..., ::2])  # not contiguous: the one-block path
        z = lib.nn.functional.gelu(t[..., 1::2].contiguous())  # contiguous: blocks
        (y.sum() + (z * z).sum()).backward()
        grads.append((y.detach().numpy(), z.detach().numpy(), t.grad.numpy()))
    for e, t in zip(*grads):
        # torch's float32 kernel is good to ~1e-7 absolute (see test_fast_paths), and z * z
        # doubles what reaches the gradient
        np.testing.assert_allclose(e, t, rtol=1e-6, atol=5e-6)
