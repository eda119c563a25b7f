"""Gaps found while writing the capsule-network programs (tests/programs/caps_*.py), each
checked against PyTorch. ``torch.sparse.torch`` is torch itself (torch.sparse imports torch),
and the gram-ai CapsNet builds its one-hot masks with ``torch.sparse.torch.eye(NUM_CLASSES)``.
``einsum`` results print PyTorch's ``grad_fn``: torch has no einsum node, its einsum ends on
the op its decomposition applies last (a permute or sum for one operand; a view where a letter
is summed, else a product, for several), and tensordot always ends on a view. A lone operand's
einsum is torch's diagonal/permute/sum: a permutation of it is a view sharing its memory."""

import pytest
import torch

import ember


def test_sparse_module_reaches_torch():
    labels = [2, 0, 1]
    expected = torch.sparse.torch.eye(4).index_select(dim=0, index=torch.tensor(labels))
    got = ember.sparse.torch.eye(4).index_select(dim=0, index=ember.tensor(labels))
    assert ember.sparse.torch is ember
    assert got.tolist() == expected.tolist()


# (equation, operand shapes): the capsule layers' einsums and the cases torch draws apart
EINSUMS = [
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ji,kjiz->...kjz", [(2, 5, 3), (4, 5, 3, 6)]),   # Efficient-CapsNet votes
    ("...ij,...kj->...i", [(2, 4, 5, 6), (2, 4, 5, 6)]),  # self-attention agreement
    ("bij,bijd->bjd", [(2, 5, 3), (2, 5, 3, 4)]),         # weighted sum of predictions
    ("bijd,bjd->bij", [(2, 5, 3, 4), (2, 3, 4)]),         # agreement update
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("i,j->ij", [(4,), (3,)]),
    ("i,i->i", [(1,), (3,)]),
    ("ij,k->ik", [(2, 3), (4,)]),
    ("ij,ij,ij->ij", [(2, 3), (2, 3), (2, 3)]),
    ("ij,jk,kl->il", [(3, 4), (4, 4), (4, 2)]),
    ("bij->bji", [(2, 3, 4)]),
    ("ij->ij", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("bij->b", [(2, 3, 4)]),
    ("ii->", [(3, 3)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUMS)
def test_einsum_grad_fn_is_torchs(equation, shapes):
    def node(lib):
        lib.manual_seed(0)
        ops = [lib.randn(*s, requires_grad=True) for s in shapes]
        return type(lib.einsum(equation, *ops).grad_fn).__name__

    assert node(ember) == node(torch)


def test_einsum_printed_like_torch():
    def shown(lib):
        c = lib.full((2, 3), 0.5, requires_grad=True)
        u = lib.ones(2, 3, 4)
        return repr(lib.einsum("bj,bjd->bd", c, u))

    assert shown(ember) == shown(torch)


@pytest.mark.parametrize("dims,b_shape", [(0, (4,)), (1, (3, 2)), (2, (2, 3)),
                                          (([0, 1], [1, 0]), (3, 2))])
def test_tensordot_grad_fn_is_torchs(dims, b_shape):
    def node(lib):
        a = lib.ones(2, 3, requires_grad=True)
        return type(lib.tensordot(a, lib.ones(*b_shape), dims=dims).grad_fn).__name__

    assert node(ember) == node(torch)


def _node_chain(fn) -> list:
    """Node names below ``fn``, depth first along next_functions."""
    names, stack = [], [fn]
    while stack:
        node = stack.pop()
        names.append(None if node is None else type(node).__name__)
        if node is not None:
            stack.extend(f for f, _ in node.next_functions)
    return names


@pytest.mark.parametrize("equation,shape", [
    ("bij->bji", (2, 3, 4)), ("ij->ij", (2, 3)), ("ii->i", (3, 3)), ("iij->ji", (3, 3, 2)),
    ("jii->ij", (2, 3, 3)), ("...ij->...ji", (2, 2, 3)), ("ba", (2, 3)),
])
def test_einsum_of_one_operand_is_a_view_as_torchs(equation, shape):
    """A permutation (or diagonal) of one operand: torch returns a view, sharing memory."""
    def run(lib):
        x = lib.arange(float(lib.tensor(shape).prod())).reshape(shape).requires_grad_()
        r = lib.einsum(equation, x)
        chain = _node_chain(r.grad_fn)
        with lib.no_grad():  # a write through the result reaches x where it is a view
            r[(0,) * r.ndim] = 100.0
            r[(-1,) * r.ndim] = -1.0
        return r.stride(), r.is_contiguous(), chain, x.detach().flatten().tolist()

    assert run(ember) == run(torch)


@pytest.mark.parametrize("equation,shape", [("bij->b", (2, 3, 4)), ("ii->", (3, 3)),
                                            ("bij->jb", (2, 3, 4)), ("i->", (0,))])
def test_einsum_of_one_operand_sums_as_torch(equation, shape):
    def run(lib):
        x = lib.ones(shape, requires_grad=True)
        r = lib.einsum(equation, x)
        (g,) = lib.autograd.grad(r.sum(), x)
        return _node_chain(r.grad_fn), r.tolist(), r.stride(), g.tolist()

    assert run(ember) == run(torch)


# contractions whose result torch lays out permuted (or, swapping the product's operands, not)
LAYOUTS = [
    ("...ji,kjiz->...kjz", [(2, 5, 3), (4, 5, 3, 6)]),
    ("bijd,bjd->bij", [(2, 5, 3, 4), (2, 3, 4)]),
    ("bhqk,bhkd->bqhd", [(2, 3, 4, 5), (2, 3, 5, 6)]),
    ("ij,jk->ki", [(2, 3), (3, 4)]),
    ("abc,cd->dba", [(2, 3, 4), (4, 5)]),
    ("xyz,zyw->wx", [(2, 3, 4), (4, 3, 5)]),
    ("ij,jk,kl->li", [(3, 4), (4, 4), (4, 2)]),
    ("bij,bjk,bkl->lib", [(2, 3, 4), (2, 4, 4), (2, 4, 2)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("bij,bjk->kib", [(1, 3, 4), (2, 4, 5)]),
    ("ijk,jil->kl", [(2, 3, 4), (3, 2, 5)]),
]


@pytest.mark.parametrize("equation,shapes", LAYOUTS)
def test_einsum_result_laid_out_as_torchs(equation, shapes):
    """torch's result may be a permuted view of its batched product: ``.view`` then fails
    (and ``.transpose(...).view`` works) exactly where it does in torch."""
    def run(lib):
        lib.manual_seed(0)
        r = lib.einsum(equation, *[lib.randn(*s) for s in shapes])
        try:
            r.view(-1)
            viewable = True
        except RuntimeError:
            viewable = False
        return r.stride(), r.is_contiguous(), viewable, r.transpose(0, -1).is_contiguous()

    assert run(ember) == run(torch)


# operands that share no summed letter: torch multiplies aligned views (after summing a letter
# only one operand has), so the graph, the layout and the rounding are those of the products
PRODUCTS = [
    ("ij,ij->ji", [(2, 3), (2, 3)]), ("bi,bj->bij", [(2, 3), (2, 4)]), ("i,j->ji", [(3,), (4,)]),
    ("ij,k->ik", [(2, 3), (4,)]), ("ij,k->ki", [(2, 3), (4,)]), ("ij,ij,ij->ij", [(2, 3)] * 3),
    ("bij,bij->bji", [(2, 3, 4), (2, 3, 4)]), ("ii,j->ij", [(3, 3), (2,)]),
    ("bi,bi->b", [(3, 1), (3, 1)]), ("ij,kl->ljki", [(2, 3), (4, 5)]),
    ("ab,cd,ef->fa", [(2, 3), (2, 2), (3, 4)]),
]


@pytest.mark.parametrize("equation,shapes", PRODUCTS)
def test_einsum_of_products_as_torchs(equation, shapes):
    def run(lib):
        lib.manual_seed(0)
        ops = [lib.randn(*s, dtype=lib.float64, requires_grad=True) for s in shapes]
        r = lib.einsum(equation, *ops)
        grads = lib.autograd.grad((r * r).sum(), ops)
        return (_node_chain(r.grad_fn), r.stride(), r.detach().numpy().round(12).tolist(),
                [g.numpy().round(12).tolist() for g in grads])

    assert run(ember) == run(torch)
