"""``softmin`` without ``dim`` warns about softmin (not softmax), pointing where torch points."""

import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _warnings(lib):
    x = lib.tensor([[1.0, 2.0], [3.0, 5.0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = [lib.nn.functional.softmin(x), lib.nn.Softmin()(x),
               lib.nn.functional.softmin(x, dtype=lib.float64)]
    return ([str(w.message) for w in caught], [w.filename.rsplit("/", 1)[-1] for w in caught],
            [o.tolist() for o in out])


def test_softmin_implicit_dim_warning_as_torch():
    got, want = _warnings(ember), _warnings(torch)
    assert got[0] == want[0] and "softmin" in got[0][0]
    assert got[1] == want[1] == ["test_softmin_warning.py", "module.py", "test_softmin_warning.py"]
    np.testing.assert_allclose(np.array(got[2]), np.array(want[2]), rtol=1e-6)
