"""Gaps found by the 3-D geometry programs (tests/programs/geo_*.py), each compared with torch."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _error(fn, lib, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fn(lib)(*args, **kwargs)
        except Exception as exc:  # the exception itself is what is compared
            return type(exc).__name__, str(exc)
    return None


@pytest.mark.parametrize("shapes", [((2, 4, 3), (3,)), ((4, 3), (3,)), ((2, 4, 3), (4, 3)),
                                    ((2, 4, 3), (5, 3)), ((2, 4, 2), (3,))])
@pytest.mark.parametrize("which", ["linalg", "torch", "method"])
def test_cross_refuses_inputs_of_different_rank(shapes, which):
    # ember broadcast a (3,) axis against (N, 3) points; torch broadcasts sizes, never ranks
    pick = {"linalg": lambda lib: lib.linalg.cross, "torch": lambda lib: lib.cross,
            "method": lambda lib: lambda a, b, **kw: a.cross(b, **kw)}[which]
    a, b = shapes
    got = _error(pick, ember, ember.ones(a), ember.ones(b), dim=-1)
    want = _error(pick, torch, torch.ones(a), torch.ones(b), dim=-1)
    assert want is not None and got == want


def test_cross_still_broadcasts_sizes_of_equal_rank():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 4, 3)), rng.standard_normal((1, 4, 3))
    got = ember.linalg.cross(ember.tensor(a), ember.tensor(b))
    want = torch.linalg.cross(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    got = ember.cross(ember.tensor(a[0]), ember.tensor(b[0][:1]), dim=1)
    want = torch.cross(torch.tensor(a[0]), torch.tensor(b[0][:1]), dim=1)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float16", "int64"])
@pytest.mark.parametrize("which", ["svd", "svdvals"])
def test_svd_driver_is_refused_on_cpu(which, dtype):
    # ember ignored driver= everywhere; torch only takes it for CUDA (cuSOLVER) inputs
    def pick(lib):
        return getattr(lib.linalg, which)

    got = _error(pick, ember, ember.ones(3, 2, dtype=getattr(ember, dtype)), driver="gesvd")
    want = _error(pick, torch, torch.ones(3, 2, dtype=getattr(torch, dtype)), driver="gesvd")
    assert want is not None and got == want


def test_svd_without_driver_still_works():
    a = np.arange(6.0).reshape(3, 2)
    got = ember.linalg.svdvals(ember.tensor(a), driver=None)
    np.testing.assert_allclose(got.numpy(), torch.linalg.svdvals(torch.tensor(a)).numpy(),
                               rtol=1e-12)


@pytest.mark.parametrize("make", [lambda lib: lib.ones(2, 2, dtype=lib.int64),
                                  lambda lib: lib.ones(3)])
def test_svdvals_reports_errors_as_linalg_svd(make):
    # ember said "linalg.svdvals:" where torch's message starts "linalg.svd:"
    got = _error(lambda lib: lib.linalg.svdvals, ember, make(ember))
    want = _error(lambda lib: lib.linalg.svdvals, torch, make(torch))
    assert want is not None and got == want
