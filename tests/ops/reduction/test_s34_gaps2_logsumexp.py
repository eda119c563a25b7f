"""logsumexp's dim argument as torch 2.13 takes it: dim=() fails for a non-empty tensor unless
keepdim=True (0-d and empty inputs pass), and dim=None is a TypeError."""

import numpy as np
import pytest

import ember

X = np.random.RandomState(0).randn(2, 3).astype(np.float32)


def _outcome(fn):
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001 - the type and text are what is compared
        return type(e).__name__, str(e)
    return "ok", tuple(out.shape), np.asarray(out.tolist(), dtype=np.float64)


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 4), (), (0, 3), (2, 0)])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [(), []])
def test_empty_dim_matches_torch(torch, shape, keepdim, dim):
    data = np.asarray(np.random.RandomState(1).randn(*shape), dtype=np.float32)
    got = _outcome(lambda: ember.logsumexp(ember.tensor(data), dim, keepdim=keepdim))
    want = _outcome(lambda: torch.logsumexp(torch.tensor(data), dim, keepdim=keepdim))
    assert got[:2] == want[:2]
    if got[0] == "ok":
        np.testing.assert_allclose(got[2], want[2], rtol=1e-6)


def test_empty_dim_error_through_every_spelling(torch):
    for lib in (ember, torch):
        x = lib.tensor(X)
        for call in (lambda lib, x: lib.logsumexp(x, dim=()), lambda lib, x: x.logsumexp(()),
                     lambda lib, x: lib.special.logsumexp(x, [])):
            with pytest.raises(RuntimeError,
                               match=r"output with shape \[\] doesn't match the broadcast "
                                     r"shape \[1, 1\]"):
                call(lib, x)


def test_dim_none_is_a_type_error(torch):
    for lib in (ember, torch):
        with pytest.raises(TypeError, match="argument 'dim' must be tuple of ints, not NoneType"):
            lib.logsumexp(lib.tensor(X), dim=None)


def test_masked_logsumexp_still_reduces_everything_by_default(torch):
    got = ember.masked.logsumexp(ember.tensor(X))
    want = torch.masked.logsumexp(torch.tensor(X))
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-6)
    assert ember.masked.logsumexp(ember.tensor(2.0)).item() == 2.0
