"""nn.Embedding / nn.EmbeddingBag with sparse=True against torch: the sparse gradient's
entries, padding and bag masks, errors, and the optimizers that take sparse gradients (SGD,
Adagrad, SparseAdam) or refuse them with PyTorch's messages."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def both(build):
    """Run ``build(lib)`` for ember and torch; returns both results."""
    return build(ember), build(torch)


def table(L, num=8, dim=3):
    w = np.sin(np.arange(num * dim, dtype=np.float32) * 0.7).reshape(num, dim)
    return L.tensor(w)


def sparse_grad(L, make, tokens, *args, power=2):
    m = make(L)
    with L.no_grad():
        m.weight.copy_(table(L, *m.weight.shape))
    m(L.tensor(tokens, dtype=L.int64), *[L.tensor(a) for a in args]).pow(power).sum().backward()
    return m.weight.grad


def same_sparse(e, t):
    assert e.is_sparse and t.is_sparse and e.layout == ember.sparse_coo
    assert e.is_coalesced() == t.is_coalesced()
    assert e._indices().tolist() == t._indices().tolist()
    np.testing.assert_allclose(e._values().numpy(), t._values().numpy(), rtol=1e-6)


@pytest.mark.parametrize("kw,tokens", [
    ({}, [[3, 7, 0], [7, 1, 3]]),
    ({"padding_idx": 0}, [[3, 7, 0], [7, 1, 0]]),
    ({"padding_idx": -1}, [5, 7, 7]),
    ({}, [[]]),
])
def test_embedding_sparse_gradient_matches_torch(kw, tokens):
    e, t = both(lambda L: sparse_grad(L, lambda L: L.nn.Embedding(8, 3, sparse=True, **kw),
                                      tokens))
    same_sparse(e, t)


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("padding_idx", [None, 3])
def test_embedding_bag_sparse_gradient_matches_torch(mode, padding_idx):
    def make(L):
        return L.nn.EmbeddingBag(8, 3, mode=mode, sparse=True, padding_idx=padding_idx)

    e, t = both(lambda L: sparse_grad(L, make, [1, 3, 2, 1, 5, 3], [0, 2, 2, 4]))
    same_sparse(e, t)
    e, t = both(lambda L: sparse_grad(L, make, [[1, 3], [2, 2]]))
    same_sparse(e, t)


def test_errors_match_torch():
    with pytest.raises(ValueError, match="max mode does not support sparse weights"):
        ember.nn.EmbeddingBag(4, 2, mode="max", sparse=True)(ember.tensor([[1, 2]]))
    for L in (ember, torch):
        m = L.nn.Embedding(4, 2, sparse=True, scale_grad_by_freq=True)
        with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse"):
            m(L.tensor([1, 1])).sum().backward()


OPTIMIZERS = [
    ("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "maximize": True}), ("Adagrad", {"lr": 0.5, "lr_decay": 0.1}),
    ("SparseAdam", {"lr": 0.1}), ("SparseAdam", {"lr": 0.1, "betas": (0.5, 0.9),
                                                 "maximize": True}),
]


@pytest.mark.parametrize("name,kw", OPTIMIZERS)
def test_optimizers_step_on_sparse_gradients_as_torch(name, kw):
    def run(L):
        m = L.nn.Embedding(8, 3, sparse=True)
        with L.no_grad():
            m.weight.copy_(table(L))
        opt = getattr(L.optim, name)(m.parameters(), **kw)
        for tokens in ([1, 4, 1], [4, 5], [2, 2, 2, 7]):
            opt.zero_grad()
            m(L.tensor(tokens)).pow(2).sum().backward()
            opt.step()
        return m.weight.detach().numpy()

    e, t = both(run)
    np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name,kw", [("Adam", {}), ("AdamW", {}), ("RMSprop", {}),
                                     ("Adadelta", {}), ("Adamax", {}), ("NAdam", {}),
                                     ("RAdam", {}), ("ASGD", {}), ("Rprop", {}),
                                     ("SGD", {"weight_decay": 0.1}),
                                     ("Adagrad", {"weight_decay": 0.1})])
def test_optimizers_refuse_sparse_gradients_as_torch(name, kw):
    messages = []
    for L in (ember, torch):
        m = L.nn.Embedding(5, 2, sparse=True)
        m(L.tensor([1, 2, 1])).sum().backward()
        before = m.weight.detach().clone()
        with pytest.raises(RuntimeError) as err:
            getattr(L.optim, name)(m.parameters(), lr=0.1, **kw).step()
        assert L.equal(m.weight.detach(), before)
        messages.append(str(err.value))
    assert messages[0] == messages[1]


def test_sparse_adam_refuses_dense_gradients_and_bad_arguments():
    for L in (ember, torch):
        lin = L.nn.Linear(2, 2)
        lin(L.ones(2)).sum().backward()
        with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients, "
                                               "please consider Adam instead"):
            L.optim.SparseAdam(lin.parameters()).step()
        for kw, msg in [({"lr": 0.0}, "Invalid learning rate: 0.0"),
                        ({"eps": 0.0}, "Invalid epsilon value: 0.0"),
                        ({"betas": (1.0, 0.9)}, "Invalid beta parameter at index 0: 1.0")]:
            with pytest.raises(ValueError, match=msg):
                L.optim.SparseAdam(lin.parameters(), **kw)
    sparse_param = ember.sparse_coo_tensor(ember.tensor([[0]]), ember.ones(1), (2,))
    with pytest.raises(ValueError, match=r"Sparse params at indices \[\[0, 0\]\]"):
        ember.optim.SparseAdam([sparse_param])


def test_sparse_adam_state_and_zero_grad():
    m = ember.nn.Embedding(6, 2, sparse=True)
    opt = ember.optim.SparseAdam(m.parameters())
    m(ember.tensor([1, 3])).sum().backward()
    opt.step()
    state = opt.state_dict()["state"][0]
    assert sorted(state) == ["exp_avg", "exp_avg_sq", "step"] and state["step"] == 1
    assert state["exp_avg"].abs().sum(1).nonzero().flatten().tolist() == [1, 3]
    opt.zero_grad(set_to_none=False)
    assert m.weight.grad.is_sparse and m.weight.grad._nnz() == 0
    opt.step()  # an empty sparse gradient updates nothing
    assert opt.state[m.weight]["step"] == 2
