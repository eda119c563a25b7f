"""grid_sample in float32 gives PyTorch's CPU result bit for bit (issue 13: last-bit
differences get amplified by rounding to uint8, e.g. AugMix)."""
import numpy as np
import pytest
import torch

import ember

MODES = ["bilinear", "nearest"]
PADDINGS = ["zeros", "border", "reflection"]


def _data(nd, seed):
    rng = np.random.default_rng(seed)
    spatial = (7, 9) if nd == 4 else (4, 5, 6)
    x = rng.standard_normal((2, 3) + spatial).astype(np.float32)
    out = (5, 8) if nd == 4 else (3, 5, 4)
    g = (rng.standard_normal((2,) + out + (nd - 2,)) * 0.8).astype(np.float32)
    return x, g


@pytest.mark.parametrize("nd", [4, 5])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("align_corners", [False, True])
def test_bit_exact_float32(nd, mode, padding_mode, align_corners):
    seed = nd * 100 + MODES.index(mode) * 10 + PADDINGS.index(padding_mode) * 2 + align_corners
    x, g = _data(nd, seed)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    want = torch.nn.functional.grid_sample(torch.from_numpy(x), torch.from_numpy(g), **kw)
    got = ember.nn.functional.grid_sample(ember.tensor(x), ember.tensor(g), **kw)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_uint8_rounding_after_identity_like_warp():
    # A near-identity warp of a 0..255 image, rounded to uint8 as augmentations do.
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (1, 3, 32, 32)).astype(np.float32)
    theta = np.array([[[0.97, 0.05, 0.01], [-0.04, 1.02, -0.02]]], np.float32)
    tg = torch.nn.functional.affine_grid(torch.from_numpy(theta), [1, 3, 32, 32], False)
    eg = ember.nn.functional.affine_grid(ember.tensor(theta), [1, 3, 32, 32], False)
    want = torch.nn.functional.grid_sample(torch.from_numpy(img), tg, align_corners=False)
    got = ember.nn.functional.grid_sample(ember.tensor(img), eg, align_corners=False)
    np.testing.assert_array_equal(got.round().clamp(0, 255).to(ember.uint8).numpy(),
                                  want.round().clamp(0, 255).to(torch.uint8).numpy())


@pytest.mark.parametrize("nd", [4, 5])
def test_gradients_still_flow(nd):
    x, g = _data(nd, 7)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    ex, eg = ember.tensor(x, requires_grad=True), ember.tensor(g, requires_grad=True)
    torch.nn.functional.grid_sample(tx, tg, align_corners=False).pow(2).sum().backward()
    ember.nn.functional.grid_sample(ex, eg, align_corners=False).pow(2).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(eg.grad.numpy(), tg.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_non_finite_image_values():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 1, 1], x[0, 0, 2, 2] = np.inf, np.nan
    g = np.random.default_rng(4).uniform(-1, 1, (1, 6, 6, 2)).astype(np.float32)
    want = torch.nn.functional.grid_sample(torch.from_numpy(x), torch.from_numpy(g),
                                           align_corners=True)
    got = ember.nn.functional.grid_sample(ember.tensor(x), ember.tensor(g), align_corners=True)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
