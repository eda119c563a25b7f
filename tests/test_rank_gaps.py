"""Gaps found while writing the learning-to-rank programs (tests/programs/rank_*.py), each
checked against PyTorch.

The hinge losses (``margin_ranking_loss``, ``hinge_embedding_loss``,
``cosine_embedding_loss``, ``triplet_margin_loss``) clamp with ``clamp_min(x, 0)`` in torch,
whose gradient passes where ``x == 0``; ember used relu, whose gradient there is 0. A pairwise
hinge (RankSVM) with margin 0 starts from equal scores (a zero-initialised scorer) and so never
trained on ember. Torch's ``triplet_margin_loss(swap=True)`` takes ``at::min`` of the two
negative distances, which shares the gradient at a tie.

``sort``/``argsort`` take ``stable`` only with ``dim`` and ``descending`` as keywords in torch
(``torch.sort(x, 0, stable=True)`` is a TypeError); ember accepted the mix, so a program that
ran on ember failed on torch.

Under ``vmap``, indexing with a mask made from a mapped input by the bitwise and logical ops,
``isnan``/``isinf``/``isfinite``, ``signbit`` or ``isin`` is refused by torch (the result's
size depends on the data); those ops made their result without passing on vmap's tag, so ember
ran the function per query and answered.

``logsumexp(x)`` without ``dim`` is torch's TypeError ('missing 1 required positional
arguments: "dim"'), not Python's own wording.
"""

import pytest
import torch

import ember


def _grads(lib, loss_fn, inputs):
    """loss_fn(lib, *leaves) summed, its grad_fn's name and the leaves' gradients as lists."""
    leaves = [lib.tensor(x, requires_grad=True) for x in inputs]
    loss = loss_fn(lib, *leaves)
    name = loss.grad_fn.name()
    loss.sum().backward()
    return loss.tolist(), name, [leaf.grad.tolist() for leaf in leaves]


AT_THE_HINGE = {
    # equal scores and margin 0: every pair sits exactly on the hinge
    "margin_ranking_equal_scores": (
        lambda lib, a, b: lib.nn.functional.margin_ranking_loss(
            a, b, lib.tensor([1.0, -1.0, 1.0]), reduction="none"),
        [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
    "margin_ranking_mean": (
        lambda lib, a, b: lib.nn.functional.margin_ranking_loss(
            a, b, lib.tensor([1.0, -1.0]), margin=0.5),
        [[1.0, 0.5], [0.5, 1.0]]),
    "hinge_embedding_at_margin": (
        lambda lib, x: lib.nn.functional.hinge_embedding_loss(
            x, lib.tensor([-1.0, -1.0, 1.0]), margin=0.5, reduction="none"),
        [[0.5, 0.25, 0.5]]),
    "cosine_embedding_at_margin": (
        lambda lib, a, b: lib.nn.functional.cosine_embedding_loss(
            a, b, lib.tensor([-1, 1]), margin=0.0, reduction="none"),
        [[[1.0, 0.0], [1.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]]),
    "triplet_on_the_margin": (
        lambda lib, a, p, n: lib.nn.functional.triplet_margin_loss(
            a, p, n, margin=1.0, reduction="none"),
        [[[0.0, 0.0]], [[1.0, 0.0]], [[2.0, 0.0]]]),
    "triplet_swap_tie": (
        lambda lib, a, p, n: lib.nn.functional.triplet_margin_loss(
            a, p, n, swap=True, reduction="none"),
        [[[0.0, 0.0]], [[4.0, 0.0]], [[2.0, 0.0]]]),
    "margin_ranking_module": (
        lambda lib, a, b: lib.nn.MarginRankingLoss(margin=0.0, reduction="sum")(
            a, b, lib.tensor([1.0, -1.0])),
        [[0.0, 0.0], [0.0, 0.0]]),
}


@pytest.mark.parametrize("case", sorted(AT_THE_HINGE))
def test_hinge_losses_pass_the_gradient_at_the_hinge(case):
    loss_fn, inputs = AT_THE_HINGE[case]
    want = _grads(torch, loss_fn, inputs)
    got = _grads(ember, loss_fn, inputs)
    assert got[0] == pytest.approx(want[0])
    assert got[1] == want[1]  # ClampMinBackward0, not ReluBackward0, with reduction='none'
    for g, w in zip(got[2], want[2]):
        assert torch.allclose(torch.tensor(g), torch.tensor(w), atol=1e-6), (g, w)


def test_pairwise_hinge_trains_from_a_zero_initialised_scorer():
    """RankSVM: margin 0 on the pairs of a list; the scorer starts at zero weights."""
    def train(lib):
        x = lib.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.0]])
        y = lib.tensor([2.0, 0.0, 1.0, 0.0])
        i, j = lib.triu_indices(4, 4, offset=1)
        w = lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([w], lr=0.1)
        for _ in range(3):
            s = x @ w
            loss = lib.nn.functional.margin_ranking_loss(s[i], s[j], lib.sign(y[i] - y[j]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        return w.tolist()

    want = train(torch)
    assert want != [0.0, 0.0]
    assert train(ember) == pytest.approx(want)


def _error(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001  (the type and message are compared)
        return type(exc), str(exc)
    return None


SORT_CALLS = {
    "sort_dim_positional_stable_keyword": lambda lib, x: lib.sort(x, 0, stable=True),
    "sort_all_positional": lambda lib, x: lib.sort(x, 0, True, True),
    "argsort_dim_positional_stable_keyword": lambda lib, x: lib.argsort(x, 0, stable=True),
    "method_sort_positional_stable_keyword": lambda lib, x: x.sort(0, stable=True),
    "method_argsort_positional_stable_keyword": lambda lib, x: x.argsort(0, True, stable=True),
}


@pytest.mark.parametrize("case", sorted(SORT_CALLS))
def test_sort_refuses_stable_with_positional_dim(case):
    """torch's ``stable`` overload takes ``dim`` and ``descending`` by keyword only."""
    call = SORT_CALLS[case]
    want = _error(lambda: call(torch, torch.tensor([2, 1, 2])))
    got = _error(lambda: call(ember, ember.tensor([2, 1, 2])))
    assert want is not None and got is not None
    assert got[0] is want[0] is TypeError
    if not case.startswith("method") and "all_positional" not in case:
        assert got[1].split("\n")[0] == want[1].split("\n")[0]


@pytest.mark.parametrize("call", [
    lambda lib, x: lib.sort(x, dim=0, descending=True, stable=True),
    lambda lib, x: x.sort(stable=True, descending=True),
    lambda lib, x: lib.sort(x, 0, True),
    lambda lib, x: lib.argsort(x, dim=-1, stable=True, descending=True),
    lambda lib, x: x.argsort(0, True),
    lambda lib, x: lib.msort(x),
])
def test_sort_keyword_forms_still_sort_as_torch(call):
    want = call(torch, torch.tensor([2, 1, 2, 0, 1]))
    got = call(ember, ember.tensor([2, 1, 2, 0, 1]))
    if isinstance(want, tuple):
        assert [t.tolist() for t in got] == [t.tolist() for t in want]
    else:
        assert got.tolist() == want.tolist()


# vmap over per-query losses: a mask made from a mapped input by ``&``, ``|``, ``^``, ``~``,
# ``logical_*``, ``isnan``/``isinf``/``isfinite``, ``signbit`` or ``isin`` gives a result of
# data-dependent size when it indexes; torch refuses it, ember used to loop and answer.
MASKS = {
    "and": lambda lib, s, m: m & (s > 0),
    "or": lambda lib, s, m: m | (s > 1),
    "xor": lambda lib, s, m: m ^ (s > 1),
    "invert": lambda lib, s, m: ~m,
    "logical_and": lambda lib, s, m: lib.logical_and(m, s > 0),
    "logical_not": lambda lib, s, m: m.logical_not(),
    "isnan": lambda lib, s, m: ~lib.isnan(s),
    "isfinite": lambda lib, s, m: lib.isfinite(s),
    "isinf": lambda lib, s, m: s.isinf().logical_not(),
    "signbit": lambda lib, s, m: lib.signbit(s),
    "isin": lambda lib, s, m: lib.isin(s, lib.tensor([1.0, 3.0])),
    "int_and": lambda lib, s, m: (s.long() & 1).bool(),
}


def _vmap_masked_sum(lib, make_mask):
    scores = lib.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    mask = lib.tensor([[True, True, False], [True, True, True]])
    return lib.func.vmap(lambda s, m: s[make_mask(lib, s, m)].sum())(scores, mask)


@pytest.mark.parametrize("case", sorted(MASKS))
def test_vmap_refuses_indexing_with_a_mask_made_from_a_mapped_input(case):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's performance warning for isin's fallback
        want = _error(lambda: _vmap_masked_sum(torch, MASKS[case]))
    got = _error(lambda: _vmap_masked_sum(ember, MASKS[case]))
    assert want is not None and got is not None
    assert got == want


def test_vmap_with_a_mask_as_a_multiplier_still_maps():
    """The vmappable way to write a masked per-query RankNet loss: multiply, do not index."""
    def ranknet(lib, s, y, m):
        i, j = lib.triu_indices(3, 3, 1)
        valid = m[i] & m[j] & (y[i] != y[j])
        loss = -lib.nn.functional.logsigmoid(lib.sign(y[i] - y[j]) * (s[i] - s[j]))
        return (loss * valid).sum() / valid.sum().clamp(min=1)

    def run(lib):
        s = lib.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
        y = lib.tensor([[2.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
        m = lib.tensor([[True, True, False], [True, True, True]])
        per_query = lib.func.vmap(lambda *a: ranknet(lib, *a))
        grads = lib.func.vmap(lib.func.grad(lambda *a: ranknet(lib, *a)))
        return per_query(s, y, m).tolist(), grads(s, y, m).tolist()

    want, got = run(torch), run(ember)
    assert got[0] == pytest.approx(want[0])
    assert torch.allclose(torch.tensor(got[1]), torch.tensor(want[1]), atol=1e-6)


@pytest.mark.parametrize("call", [lambda lib: lib.logsumexp(lib.ones(3)),
                                  lambda lib: lib.ones(3).logsumexp(),
                                  lambda lib: lib.logsumexp(lib.ones(3), keepdim=True)])
def test_logsumexp_without_dim_names_the_argument_as_torch(call):
    want, got = _error(lambda: call(torch)), _error(lambda: call(ember))
    assert want is not None and got == want
