"""Run one snippet under ember and torch and compare what it returns."""

import numpy as np

import ember


def plain(x):
    """Tensors to nested lists (recursively through tuples/lists); None and numbers as they are."""
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if hasattr(x, "detach") and hasattr(x, "tolist"):
        return x.detach().tolist()
    return x


def same(fn, torch, rtol=1e-6):
    """fn(lib) under both libraries gives the same values (None where torch has None)."""
    got, want = plain(fn(ember)), plain(fn(torch))
    _compare(got, want, rtol)
    return got


def _compare(got, want, rtol):
    if isinstance(want, list) and any(v is None or isinstance(v, (list, str)) for v in want):
        assert isinstance(got, list) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            _compare(g, w, rtol)
    elif want is None or isinstance(want, (bool, str)):
        assert got == want, (got, want)
    else:
        np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float),
                                   rtol=rtol, atol=1e-6)
