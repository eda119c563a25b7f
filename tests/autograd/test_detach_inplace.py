"""``detach()`` gives a tensor that shares memory and version counter but is no view in
autograd's sense, as in PyTorch: it may be changed in place even when it came from a leaf that
requires grad (EMA updates, ``w.detach().mul_(...)``), and the change is seen by backward."""

import pytest

import ember

torch = pytest.importorskip("torch")


def _outcome(lib, fn):
    try:
        out = fn(lib)
    except RuntimeError as err:
        return "RuntimeError: " + str(err).split(".")[0].split(" is being")[0]
    return [float(v) for v in out.detach().reshape(-1)]


CASES = {
    "detach of leaf, add_": lambda L: (lambda x: (x.detach().add_(1), x)[1])(
        L.ones(3, requires_grad=True)),
    "view of detach, mul_": lambda L: (lambda x: (x.detach()[0:2].mul_(3), x)[1])(
        L.ones(3, requires_grad=True)),
    "detach of view, add_": lambda L: (lambda x: (x[1:].detach().add_(2), x)[1])(
        L.ones(3, requires_grad=True)),
    "detach then requires_grad_, add_": lambda L: L.ones(3, requires_grad=True).detach()
    .requires_grad_().add_(1),
    "saved output changed through detach": lambda L: (lambda x: (lambda z: (
        z.detach().add_(1), z.sum().backward(), x.grad)[2])(x.exp()))(
        L.ones(2, requires_grad=True)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_detach_inplace_matches_torch(name):
    assert _outcome(ember, CASES[name]) == _outcome(torch, CASES[name])


def test_detached_tensor_is_not_a_view():
    x = ember.ones(3, requires_grad=True)
    d = x.detach()
    assert d._base is None and d.is_leaf and not d.requires_grad
    d.add_(1)
    assert x._version == d._version and float(x.sum()) == 6.0
