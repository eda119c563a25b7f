"""Seeded random transforms against torchvision 0.29's recorded outputs.

``_record_transforms.py`` ran every case of ``CASES`` under torchvision; here ember runs the
same cases from the same seeds and must draw the same random numbers (the next ``rand(1)``
matches) and compute the same pixels: uint8 images exactly, float32 ones within 1e-5 (the
interpolation and convolution sums may round differently). Reprs are compared too.
"""

import os

import numpy as np
import pytest

import ember
import ember.vision.transforms as T
import ember.vision.transforms.functional as F

from . import _record_transforms as rec

_loaded = {}


def recorded():
    if not _loaded:
        with np.load(rec.PATH) as z:
            _loaded.update({k: z[k] for k in z.files})
    return _loaded


PAIRS = [(name, dtype) for name, (dtypes, _) in rec.CASES.items() for dtype in dtypes]

# Antialiased resizing: ember's float32 interpolate and torch's differ in the last bit now and
# then, which moves a uint8 pixel that sits exactly on .5 by one.
UINT8_ATOL = {"rrc": 1}

# ember's Dirichlet sampler does not draw torch's numbers, so AugMix's mixing weights differ.
KNOWN_DIFFERENT = {"augmix"}


def _same(got: np.ndarray, want: np.ndarray, what: str, atol: int = 0) -> None:
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    if want.dtype.kind in "iub":
        diff = np.abs(got.astype(np.int64) - want.astype(np.int64))
        if atol:
            assert diff.max() <= atol, f"{what}: off by {diff.max()}"
            assert (diff > 0).mean() < 0.02, f"{what}: {(diff > 0).sum()} pixels differ"
        else:
            np.testing.assert_array_equal(got, want, err_msg=what)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=what)


@pytest.mark.parametrize("name,dtype", PAIRS, ids=[f"{n}-{d}" for n, d in PAIRS])
def test_matches_torchvision(name, dtype):
    if name in KNOWN_DIFFERENT:
        pytest.xfail("ember.distributions' Dirichlet sampler draws other numbers than torch's")
    want = recorded()
    got, _ = rec.outputs(ember, T, F, name, dtype)
    np.testing.assert_array_equal(got[f"{name}/{dtype}/next"], want[f"{name}/{dtype}/next"],
                                  err_msg=f"{name}: a different number of random draws")
    for key, value in got.items():
        if not key.endswith("/next"):
            assert key in want, f"{key}: torchvision's output has another shape"
            _same(value, want[key], key, UINT8_ATOL.get(name, 0))


REPRS = [name for name in rec.CASES if f"{name}/repr" in recorded()]


@pytest.mark.parametrize("name", REPRS)
def test_repr_matches_torchvision(name):
    fn = rec.CASES[name][1](T, F, ember)
    assert repr(fn) == str(recorded()[f"{name}/repr"])


@pytest.mark.parametrize("name", list(rec.ERRORS))
def test_error_matches_torchvision(name):
    want = str(recorded()[f"{name}/error"])
    assert want != "no error"
    assert rec.error_of(ember, T, F, name) == want


def test_fixture_is_small():
    assert os.path.getsize(rec.PATH) < 300_000


def test_linear_transformation_repr_and_checks():
    t = T.LinearTransformation(ember.eye(2), ember.zeros(2))
    assert repr(t) == ("LinearTransformation(transformation_matrix=[[1.0, 0.0], [0.0, 1.0]], "
                       "mean_vector=[0.0, 0.0])")
    with pytest.raises(ValueError, match="should be square"):
        T.LinearTransformation(ember.ones(2, 3), ember.zeros(2))
