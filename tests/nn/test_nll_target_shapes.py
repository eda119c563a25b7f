"""Target-shape errors of nll_loss and cross_entropy: the exception type and message torch
2.13 gives for each input rank (its checks differ for 1-D/2-D, 4-D and other inputs), and the
shapes it accepts."""

from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

CASES = [
    ((3, 4), (3, 1)), ((3, 4), (3, 4)), ((3, 4), (2,)), ((3, 4), ()), ((0, 4), ()),
    ((3, 4), (3,)), ((4,), ()), ((4,), (1,)), ((4,), (2,)), ((4,), (1, 1)), ((), ()),
    ((3, 4, 5), (3, 5)), ((3, 4, 5), (3, 6)), ((3, 4, 5), (3,)), ((3, 4, 5), (3, 5, 1)),
    ((3, 4, 5, 6), (3, 5, 6)), ((3, 4, 5, 6), (3, 5)), ((3, 4, 5, 6), (3, 5, 7)),
    ((3, 4, 5, 6), (3, 6, 5)), ((3, 4, 5, 6), (2, 5, 6)), ((3, 4, 5, 6), (3, 5, 6, 1)),
    ((3, 4, 5, 6, 2), (3, 5, 6, 2)), ((3, 4, 5, 6, 2), (3, 5, 6)),
]


def _run(L, fn, xs, ts, reduction):
    x = L.from_numpy(np.random.default_rng(0).standard_normal(xs).astype(np.float32))
    t = L.from_numpy(np.zeros(ts, np.int64))
    try:
        return getattr(L.nn.functional, fn)(x, t, reduction=reduction)
    except Exception as err:  # noqa: BLE001 - the exception is what is compared
        return err


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("fn", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("xs,ts", CASES, ids=[f"{x}-{t}" for x, t in CASES])
def test_target_shape_as_torch(fn, xs, ts, reduction):
    want = _run(torch, fn, xs, ts, reduction)
    got = _run(ember, fn, xs, ts, reduction)
    if isinstance(want, Exception):
        assert type(got).__name__ == type(want).__name__, (got, want)
        assert str(got).startswith(str(want)), (got, want)
    else:
        assert not isinstance(got, Exception), got
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
