"""linalg.tensorinv and tensorsolve against torch: shapes and refusals (values and gradients
are swept by the op table)."""

import pytest

import ember


@pytest.mark.parametrize("make", [
    lambda L: L.linalg.tensorinv(L.ones(2, 3, 6), ind=0),
    lambda L: L.linalg.tensorinv(L.ones(2, 3, 5), ind=1),
    lambda L: L.linalg.tensorinv(L.ones(4, 4), ind=3),
    lambda L: L.linalg.tensorinv(L.zeros(2, 3, 6), ind=2),
    lambda L: L.linalg.tensorinv(L.ones(2, 2, dtype=L.int32), ind=1),
    lambda L: L.linalg.tensorsolve(L.ones(6, 4), L.ones(2, 3)),
    lambda L: L.linalg.tensorsolve(L.ones(2, 3, 5), L.ones(2, 3)),
    lambda L: L.linalg.tensorsolve(L.ones(6), L.ones(2, 3)),
    lambda L: L.linalg.tensorsolve(L.zeros(2, 3, 6), L.ones(2, 3)),
    lambda L: L.linalg.tensorsolve(L.ones(2, 3, 6, dtype=L.float64), L.ones(2, 3)),
])
def test_refusals_match_torch(torch, make):
    out = []
    for lib in (ember, torch):
        with pytest.raises(Exception) as info:
            make(lib)
        out.append((type(info.value).__name__, str(info.value)))
    # ember may add a sentence after torch's message (what to do about it)
    assert out[0][0] == out[1][0] and out[0][1].startswith(out[1][1])


def test_result_shapes_match_torch(torch, rng):
    a = rng.standard_normal((4, 6, 8, 3))
    e = ember.linalg.tensorinv(ember.tensor(a), ind=2)
    t = torch.linalg.tensorinv(torch.tensor(a), ind=2)
    assert tuple(e.shape) == tuple(t.shape) == (8, 3, 4, 6)
    b = rng.standard_normal((2, 3, 3, 2))
    e = ember.linalg.tensorsolve(ember.tensor(b), ember.ones(2, 3, dtype=ember.float64),
                                 dims=(2,))
    t = torch.linalg.tensorsolve(torch.tensor(b), torch.ones(2, 3, dtype=torch.float64),
                                 dims=(2,))
    assert tuple(e.shape) == tuple(t.shape)
    assert abs(e.numpy() - t.numpy()).max() < 1e-8
