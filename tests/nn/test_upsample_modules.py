"""Upsample / PixelShuffle layers against torch."""

import re

import numpy as np
import pytest

import ember
import ember.nn as enn

from ._helpers import pair, same

CASES = [
    ("nearest2x", lambda nn: nn.Upsample(scale_factor=2), (2, 3, 3, 4)),
    ("nearest_size", lambda nn: nn.Upsample(size=(5, 7)), (1, 2, 3, 4)),
    ("nearest_1d", lambda nn: nn.Upsample(scale_factor=3), (2, 3, 4)),
    ("bilinear", lambda nn: nn.Upsample(scale_factor=(2, 1.5), mode="bilinear"), (2, 3, 3, 4)),
    ("bilinear_corners", lambda nn: nn.Upsample(size=(5, 6), mode="bilinear",
                                                align_corners=True), (1, 2, 3, 4)),
    ("linear", lambda nn: nn.Upsample(scale_factor=2, mode="linear"), (2, 3, 5)),
    ("bicubic", lambda nn: nn.Upsample(scale_factor=(2, 1.5), mode="bicubic"), (2, 3, 3, 4)),
    ("bicubic_corners", lambda nn: nn.Upsample(size=(7, 3), mode="bicubic",
                                               align_corners=True), (1, 2, 4, 5)),
    ("nearest2d_cls", lambda nn: nn.UpsamplingNearest2d(scale_factor=2), (1, 2, 3, 3)),
    ("bilinear2d_cls", lambda nn: nn.UpsamplingBilinear2d(size=5), (1, 2, 3, 3)),
    ("pixel_shuffle", lambda nn: nn.PixelShuffle(2), (2, 8, 3, 2)),
    ("pixel_unshuffle", lambda nn: nn.PixelUnshuffle(2), (2, 2, 4, 6)),
]


@pytest.mark.parametrize("name,make,shape", CASES, ids=[c[0] for c in CASES])
def test_upsample_layers_match_torch(torch, rng, name, make, shape):
    t_mod, e_mod = make(torch.nn), make(enn)
    assert repr(e_mod) == repr(t_mod)
    x = rng.standard_normal(shape).astype(np.float32)
    ex, tx = pair(torch, x)
    ey, ty = e_mod(ex), t_mod(tx)
    same(ey, ty, atol=1e-5)
    up = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    ey.backward(ember.tensor(up))
    ty.backward(torch.tensor(up))
    same(ex.grad, tx.grad, atol=1e-5)


def test_interpolate_errors():
    x = ember.randn(1, 2, 3, 3)
    with pytest.raises(ValueError, match="either size or scale_factor should be defined"):
        ember.nn.functional.interpolate(x)
    with pytest.raises(ValueError, match="align_corners"):
        ember.nn.functional.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="bilinear mode needs 4D input"):
        ember.nn.functional.interpolate(ember.randn(1, 2, 3), scale_factor=2, mode="bilinear")
    with pytest.raises(NotImplementedError, match=r"Only 3D, 4D and 5D .* \(got bicubic\)"):
        ember.nn.functional.interpolate(ember.randn(1, 2, 3, 4, 5), size=2, mode="bicubic")


@pytest.mark.parametrize("kwargs", [
    dict(mode="nearest", antialias=True), dict(mode="bilinear", antialias=True, shape=(1, 2, 6)),
    dict(mode="lanczos"), dict(mode="lanczos", antialias=True, align_corners=True),
    dict(mode="lanczos", antialias=True, shape=(1, 2, 6))])
def test_interpolate_antialias_and_lanczos_errors_match_torch(torch, kwargs):
    shape = kwargs.pop("shape", (1, 2, 6, 6))
    with pytest.raises(ValueError) as expected:
        torch.nn.functional.interpolate(torch.zeros(shape), size=3, **kwargs)
    with pytest.raises(ValueError, match=re.escape(str(expected.value))):
        ember.nn.functional.interpolate(ember.zeros(shape), size=3, **kwargs)
