"""Gaps found by the black-box-optimisation programs (tests/programs/bo_*), compared with
PyTorch: ``torch.return_types`` results (``linalg.eigh``, ``cholesky_ex``, ``max`` ...) are
pytree nodes in PyTorch, so ``vmap`` over a function returning one (a batch of CMA-ES
covariance decompositions) works and ``tree_flatten`` looks inside; ember treated them as
leaves and vmap refused them."""

import pytest

import ember
from ember.utils import _pytree as epytree

torch = pytest.importorskip("torch")
from torch.utils import _pytree as tpytree  # noqa: E402

C = [[[2.0, 0.5], [0.5, 1.0]], [[3.0, -1.0], [-1.0, 2.0]], [[1.0, 0.0], [0.0, 4.0]]]


@pytest.mark.parametrize("fn", [
    lambda lib: lib.vmap(lib.linalg.eigh)(lib.tensor(C)),
    lambda lib: lib.vmap(lib.linalg.cholesky_ex)(lib.tensor(C)),
    lambda lib: lib.vmap(lambda a: a.max(0))(lib.tensor(C)),
    lambda lib: lib.vmap(lambda a: lib.sort(a.flatten(), descending=True))(lib.tensor(C)),
])
def test_vmap_returns_return_types(fn):
    got, want = fn(ember), fn(torch)
    assert type(got).__name__ == type(want).__name__
    assert all(hasattr(want, f) for f in type(got)._fields) and len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape) and str(g.dtype) == str(w.dtype)
        # eigenvectors are unique only up to sign: compare |values|
        assert g.abs().flatten().tolist() == pytest.approx(w.abs().flatten().tolist(), abs=1e-6)


def test_return_type_is_pytree_node():
    e = epytree.tree_flatten(ember.linalg.eigh(ember.tensor(C[0])))
    t = tpytree.tree_flatten(torch.linalg.eigh(torch.tensor(C[0])))
    assert len(e[0]) == len(t[0]) == 2
    assert repr(e[1]) == repr(t[1])
    rebuilt = epytree.tree_unflatten(e[0], e[1])
    assert type(rebuilt).__name__ == "linalg_eigh" and rebuilt.eigenvalues is e[0][0]
    paths = [epytree.keystr(p) for p, _ in epytree.tree_flatten_with_path(
        ember.max(ember.tensor(C[0]), 0))[0]]
    assert paths == [tpytree.keystr(p) for p, _ in tpytree.tree_flatten_with_path(
        torch.max(torch.tensor(C[0]), 0))[0]]


def test_tree_map_over_return_type():
    out = epytree.tree_map(lambda x: x * 2, ember.max(ember.tensor(C[1]), 1))
    assert type(out).__name__ == "max" and out.values.tolist() == [6.0, 4.0]
    assert out.indices.tolist() == [0, 2]  # the indices are leaves too: [0, 1] * 2
