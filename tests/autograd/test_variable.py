"""ember.autograd.Variable, the pre-0.4 wrapper, as PyTorch keeps it."""

import warnings

import pytest

import ember


@pytest.fixture(params=["ember", "torch"])
def lib(request):
    return ember if request.param == "ember" else pytest.importorskip("torch")


def test_variable_returns_a_detached_alias(lib):
    t = lib.ones(2)
    v = lib.autograd.Variable(t, requires_grad=True)
    assert type(v) is lib.Tensor and v is not t
    assert v.requires_grad and v.is_leaf and v.grad_fn is None and not t.requires_grad
    assert v.data_ptr() == t.data_ptr()
    v.sum().backward()
    assert v.grad.tolist() == [1.0, 1.0] and t.grad is None


def test_isinstance_holds_for_every_tensor(lib):
    V = lib.autograd.Variable
    assert isinstance(lib.ones(1), V) and isinstance(lib.nn.Parameter(lib.ones(1)), V)
    assert not isinstance(1, V) and not issubclass(lib.Tensor, V)
    assert lib.autograd.variable.Variable is V


def test_forms_and_errors(lib):
    V = lib.autograd.Variable
    assert V().shape == (0,)
    assert V(lib.ones(2), True).requires_grad
    assert V(data=lib.ones(2), requires_grad=True).requires_grad
    assert V(lib.ones(2)).requires_grad is False
    assert type(V(lib.nn.Parameter(lib.ones(2)))) is lib.Tensor
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got int"):
        V(3)
    with pytest.raises(RuntimeError, match="floating point"):
        V(lib.ones(2, dtype=lib.int64), requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert V(lib.ones(2), volatile=True).requires_grad is False
    assert any("volatile was removed" in str(w.message) for w in caught)


def test_non_leaf_becomes_a_leaf(lib):
    y = lib.ones(2, requires_grad=True) * 3
    w = lib.autograd.Variable(y)
    assert w.grad_fn is None and w.is_leaf and not w.requires_grad


def test_data_and_in_place_share_memory(lib):
    t = lib.ones(2)
    v = lib.autograd.Variable(t)
    v.add_(1)
    assert t.tolist() == [2.0, 2.0]
    v2 = lib.autograd.Variable(t, requires_grad=True)
    v2.data = lib.zeros(2)
    assert v2.requires_grad and v2.tolist() == [0.0, 0.0] and t.tolist() == [2.0, 2.0]


def test_old_tutorial_loop_runs():
    x = ember.autograd.Variable(ember.randn(8, 3))
    y = ember.autograd.Variable(ember.randn(8, 1), requires_grad=False)
    w = ember.autograd.Variable(ember.zeros(3, 1), requires_grad=True)
    for _ in range(3):
        loss = ((x.mm(w) - y) ** 2).mean()
        loss.backward()
        w.data -= 0.1 * w.grad.data
        w.grad.data.zero_()
    assert w.grad.abs().sum().item() == 0.0


def test_autograd_functional_absent_is_attribute_error():
    import importlib.util

    if importlib.util.find_spec("ember.autograd.functional") is None:
        assert not hasattr(ember.autograd, "functional")
