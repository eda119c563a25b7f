"""ember.autograd.graph.increment_version against torch's: versions of a tensor, its views
and its base move together, iterables are accepted, and backward then refuses the saved
tensor as after an in-place op."""

import pytest

import ember


def _version(t):
    assert type(t._version) is int  # an int in both, as torch's
    return t._version


def _bumped(lib):
    a = lib.ones(2, requires_grad=True)
    b = a * 1
    c = b * b
    view = b[0:1]
    seen = [_version(b)]
    lib.autograd.graph.increment_version(view)
    seen += [_version(b), _version(view)]
    lib.autograd.graph.increment_version([b, a.detach()])
    seen += [_version(b), _version(a)]
    return c, seen


def test_versions_move_like_torch(torch):
    assert _bumped(ember)[1] == _bumped(torch)[1]


def test_backward_then_refuses_the_saved_tensor(torch):
    for lib in (torch, ember):
        c, _ = _bumped(lib)
        with pytest.raises(RuntimeError, match="is at version 2; expected version 0"):
            c.sum().backward()


def test_version_is_an_int_shared_by_views_as_torch(torch):
    out = []
    for lib in (ember, torch):
        x = lib.ones(3)
        v = x[:2]
        x.add_(1)
        v.mul_(2)
        out.append((type(x._version), x._version, v._version, x.detach()._version,
                    x.data._version))
    assert out[0] == out[1] == (int, 2, 2, 2, 0)
