"""nn.utils.parametrize against torch: registration, the swapped class, state_dict keys,
gradients through a parametrization, chaining, assignment through right_inverse, caching,
removal and the error messages."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def to_torch(state):
    return {k: torch.tensor(v.detach().numpy()) for k, v in state.items()}


def to_ember(state):
    return {k: ember.tensor(v.detach().numpy()) for k, v in state.items()}


def symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).mT

        def right_inverse(self, A):
            return A.triu()

    return Symmetric()


def scale(lib, factor):
    class Scale(lib.nn.Module):
        def forward(self, X):
            return X * factor

        def right_inverse(self, X):
            return X / factor

    return Scale()


def split(lib):
    """A parametrization of two originals: W = A + B, with right_inverse (W, 0)."""
    class Split(lib.nn.Module):
        def forward(self, a, b):
            return a + b

        def right_inverse(self, w):
            return w, lib.zeros_like(w)

    return Split()


def both(build):
    """The same parametrized Linear(4, 4) in torch and ember, ember loaded from torch."""
    torch.manual_seed(0)
    t_mod = torch.nn.Linear(4, 4)
    e_mod = ember.nn.Linear(4, 4)
    e_mod.load_state_dict(to_ember(t_mod.state_dict()))
    build(torch, t_mod)
    build(ember, e_mod)
    return t_mod, e_mod


def check_forward_and_grads(t_mod, e_mod, x=None):
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32) if x is None else x
    t_out = t_mod(torch.tensor(x))
    e_out = e_mod(ember.tensor(x))
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    (t_out ** 2).sum().backward()
    (e_out ** 2).sum().backward()
    t_grads = dict(t_mod.named_parameters())
    e_grads = dict(e_mod.named_parameters())
    assert list(e_grads) == list(t_grads)
    for name, tp in t_grads.items():
        np.testing.assert_allclose(e_grads[name].grad.numpy(), tp.grad.numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=name)


def test_register_symmetric_matches_torch():
    t_mod, e_mod = both(lambda lib, m: lib.nn.utils.parametrize.register_parametrization(
        m, "weight", symmetric(lib)))
    assert type(e_mod).__name__ == type(t_mod).__name__ == "ParametrizedLinear"
    assert isinstance(e_mod, ember.nn.Linear)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict()) == [
        "bias", "parametrizations.weight.original"]
    w = e_mod.weight.detach().numpy()
    np.testing.assert_allclose(w, w.T)
    check_forward_and_grads(t_mod, e_mod)
    P = ember.nn.utils.parametrize
    assert P.is_parametrized(e_mod) and P.is_parametrized(e_mod, "weight")
    assert not P.is_parametrized(e_mod, "bias")
    assert P.type_before_parametrizations(e_mod) is ember.nn.Linear
    assert "weight" not in dict(e_mod.named_parameters())


def test_checkpoints_load_both_ways():
    t_mod, e_mod = both(lambda lib, m: lib.nn.utils.parametrize.register_parametrization(
        m, "weight", symmetric(lib)))
    with torch.no_grad():
        t_mod.parametrizations.weight.original.add_(1.0)
    e_mod.load_state_dict(to_ember(t_mod.state_dict()))
    np.testing.assert_allclose(e_mod.weight.detach().numpy(), t_mod.weight.detach().numpy())
    with ember.no_grad():
        e_mod.parametrizations.weight.original.mul_(2.0)
    t_mod.load_state_dict(to_torch(e_mod.state_dict()))
    np.testing.assert_allclose(t_mod.weight.detach().numpy(), e_mod.weight.detach().numpy())


def test_chain_and_assignment_through_right_inverse():
    def build(lib, m):
        lib.nn.utils.parametrize.register_parametrization(m, "weight", symmetric(lib))
        lib.nn.utils.parametrize.register_parametrization(m, "weight", scale(lib, 3.0))

    t_mod, e_mod = both(build)
    assert len(e_mod.parametrizations.weight) == 2
    check_forward_and_grads(t_mod, e_mod)
    a = np.random.default_rng(2).standard_normal((4, 4)).astype(np.float32)
    a = a + a.T
    t_mod.weight = torch.tensor(a)
    e_mod.weight = ember.tensor(a)
    np.testing.assert_allclose(e_mod.weight.detach().numpy(), a, rtol=1e-6)
    np.testing.assert_allclose(e_mod.parametrizations.weight.original.detach().numpy(),
                               t_mod.parametrizations.weight.original.detach().numpy())


def test_several_originals():
    t_mod, e_mod = both(lambda lib, m: lib.nn.utils.parametrize.register_parametrization(
        m, "weight", split(lib)))
    assert list(e_mod.state_dict()) == list(t_mod.state_dict()) == [
        "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    check_forward_and_grads(t_mod, e_mod)
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        ember.nn.utils.parametrize.remove_parametrizations(e_mod, "weight",
                                                           leave_parametrized=False)
    ember.nn.utils.parametrize.remove_parametrizations(e_mod, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(t_mod, "weight")
    assert type(e_mod) is ember.nn.Linear
    assert list(e_mod.state_dict()) == list(t_mod.state_dict()) == ["bias", "weight"]
    assert isinstance(e_mod.weight, ember.nn.Parameter)


@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations(leave):
    t_mod, e_mod = both(lambda lib, m: lib.nn.utils.parametrize.register_parametrization(
        m, "weight", scale(lib, 2.0)))
    for lib, m in ((torch, t_mod), (ember, e_mod)):
        lib.nn.utils.parametrize.remove_parametrizations(m, "weight", leave_parametrized=leave)
    assert type(e_mod) is ember.nn.Linear and not hasattr(e_mod, "parametrizations")
    assert isinstance(e_mod.weight, ember.nn.Parameter)
    np.testing.assert_allclose(e_mod.weight.detach().numpy(), t_mod.weight.detach().numpy())
    check_forward_and_grads(t_mod, e_mod)


def test_parametrize_a_buffer():
    for lib in (torch, ember):
        m = lib.nn.BatchNorm1d(3)
        lib.nn.utils.parametrize.register_parametrization(m, "running_var", scale(lib, 2.0))
        assert list(m.state_dict())[:4] == ["weight", "bias", "running_mean",
                                            "num_batches_tracked"]
        assert "parametrizations.running_var.original" in m.state_dict()
        assert float(m.running_var.sum()) == 3.0
        assert float(m.parametrizations.running_var.original.sum()) == 1.5


def test_cached_computes_once():
    calls = []

    class Counting(ember.nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 2

    m = ember.nn.Linear(2, 2)
    ember.nn.utils.parametrize.register_parametrization(m, "weight", Counting())
    calls.clear()
    with ember.nn.utils.parametrize.cached():
        a = m.weight
        b = m.weight
    assert a is b and len(calls) == 1
    c = m.weight
    d = m.weight
    assert c is not d and len(calls) == 3


def test_pickling_refused_and_deepcopy_works():
    import copy
    import pickle

    m = ember.nn.Linear(2, 2)
    ember.nn.utils.parametrize.register_parametrization(m, "weight", scale(ember, 2.0))
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        pickle.dumps(m)
    m2 = copy.deepcopy(m)
    np.testing.assert_allclose(m2.weight.detach().numpy(), m.weight.detach().numpy())
    assert m2.parametrizations.weight.original is not m.parametrizations.weight.original


def _error(lib, fn):
    with pytest.raises(Exception) as info:
        fn(lib)
    return type(info.value).__name__, str(info.value).replace("ember", "torch")


def test_errors_match_torch():
    def no_such(lib):
        lib.nn.utils.parametrize.register_parametrization(lib.nn.Linear(2, 2), "nope",
                                                          scale(lib, 2.0))

    def shape_change(lib):
        class Flat(lib.nn.Module):
            def forward(self, X):
                return X.flatten()

        lib.nn.utils.parametrize.register_parametrization(lib.nn.Linear(2, 2), "weight", Flat())

    def remove_missing(lib):
        lib.nn.utils.parametrize.remove_parametrizations(lib.nn.Linear(2, 2), "weight")

    def no_right_inverse(lib):
        class Double(lib.nn.Module):
            def forward(self, X):
                return X * 2

        m = lib.nn.utils.parametrize.register_parametrization(lib.nn.Linear(2, 2), "weight",
                                                              Double())
        m.weight = lib.zeros(2, 2)

    for fn in (no_such, shape_change, remove_missing, no_right_inverse):
        t_err, e_err = _error(torch, fn), _error(ember, fn)
        assert e_err[0] == t_err[0], fn.__name__
        # Module reprs inside the message may differ in detail; the text around them may not.
        assert e_err[1].split("\n")[0][-40:] == t_err[1].split("\n")[0][-40:], fn.__name__


def test_transfer_parametrizations_and_params():
    P = ember.nn.utils.parametrize
    src = ember.nn.Linear(3, 3)
    P.register_parametrization(src, "weight", symmetric(ember))
    dst = P.transfer_parametrizations_and_params(src, ember.nn.Linear(3, 3))
    assert P.is_parametrized(dst, "weight")
    assert dst.parametrizations.weight.original is src.parametrizations.weight.original
