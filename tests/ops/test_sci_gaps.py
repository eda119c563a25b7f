"""Gaps found by the scientific-ML programs (tests/programs/sci_*.py), compared with torch."""
import warnings

import pytest

import ember

torch = pytest.importorskip("torch")


def _cross_warnings(lib, **kwargs):
    a = lib.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    b = lib.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = lib.cross(a, b, **kwargs)
    return out.tolist(), [(w.category, str(w.message).split("(Triggered")[0].strip(),
                           w.filename) for w in caught]


@pytest.fixture
def warn_always():
    # the warning comes once per process in both libraries; ask for it every time
    ember.set_warn_always(True)
    torch.set_warn_always(True)
    yield
    ember.set_warn_always(False)
    torch.set_warn_always(False)


def test_cross_without_dim_warns_as_torch(warn_always):
    got_out, got = _cross_warnings(ember)
    want_out, want = _cross_warnings(torch)
    assert got_out == want_out
    assert [(c, m) for c, m, _ in got] == [(c, m) for c, m, _ in want]
    assert len(got) == 1 and got[0][2] == __file__      # names the caller, not ember
    # with dim given (and through linalg.cross) there is nothing to warn about
    assert _cross_warnings(ember, dim=1)[1] == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.linalg.cross(ember.ones(2, 3), ember.ones(2, 3))
