"""Gaps found by the trajectory-prediction programs (tests/programs/traj_*.py), each checked
against torch 2.13."""
import pytest

import ember

torch = pytest.importorskip("torch")


def _error(lib, fn):
    with pytest.raises(Exception) as info:
        fn(lib)
    return type(info.value).__name__, str(info.value)


@pytest.mark.parametrize("kw", ["prepend", "append"])
@pytest.mark.parametrize("extra_shape", [(2, 1, 3), (3, 1, 2)])
def test_diff_names_the_mismatching_size_of_prepend_or_append(kw, extra_shape):
    def call(lib):
        return lib.diff(lib.zeros(2, 6, 2), dim=1, **{kw: lib.zeros(*extra_shape)})

    assert _error(ember, call) == _error(torch, call)


def test_diff_with_matching_prepend_still_works():
    x = torch.arange(12.0).view(2, 3, 2) ** 2
    want = torch.diff(x, dim=1, prepend=x[:, :1])
    got = ember.diff(ember.tensor(x.numpy()), dim=1, prepend=ember.tensor(x[:, :1].numpy()))
    assert got.numpy().tolist() == want.numpy().tolist()
