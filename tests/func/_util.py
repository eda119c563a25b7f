"""Run one snippet with ember and with torch (each with its own ``func`` namespace) and
compare results structure by structure, or the errors they raise."""

import numpy as np
import pytest

import ember
import ember.func


def run_both(fn, torch):
    """``fn(lib, func)`` under ember and under torch: ``(ember result, torch result)``."""
    return fn(ember, ember.func), fn(torch, torch.func)


def assert_same(got, want, atol=1e-10, rtol=1e-7, check_grad=True):
    """Same nesting (tuple/list/dict and its keys), and per tensor the same shape, dtype,
    values and (``check_grad``) requires_grad."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), (got, want)
        for k in want:
            assert_same(got[k], want[k], atol, rtol, check_grad)
    elif isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            assert_same(g, w, atol, rtol, check_grad)
    elif hasattr(want, "detach"):
        assert isinstance(got, ember.Tensor), (type(got), want)
        assert tuple(got.shape) == tuple(want.shape), (got.shape, want.shape)
        assert str(got.dtype) == str(want.dtype), (got.dtype, want.dtype)
        if check_grad:
            assert got.requires_grad == want.requires_grad, (got.requires_grad,
                                                             want.requires_grad)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=atol,
                                   rtol=rtol)
    else:
        assert got == want, (got, want)


def same(fn, torch, **kw):
    """``fn`` gives the same results under both libraries; returns ember's."""
    got, want = run_both(fn, torch)
    assert_same(got, want, **kw)
    return got


def same_error(fn, torch, match_message=True):
    """``fn`` raises the same exception type under both libraries, and ember's message
    starts with torch's (ember may add how to fix it)."""
    with pytest.raises(Exception) as want:
        fn(torch, torch.func)
    with pytest.raises(Exception) as got:
        fn(ember, ember.func)
    assert type(got.value).__name__ == type(want.value).__name__, (got.value, want.value)
    if match_message:
        assert str(got.value).startswith(str(want.value)), (str(got.value), str(want.value))
    return got.value


def arrays(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]
