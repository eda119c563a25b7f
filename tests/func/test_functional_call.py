"""ember.func.functional_call and stack_module_state against torch.func: replaced and
restored state, tied weights, strict keys, buffers written by the call, ensembles with vmap,
and PyTorch's errors."""

import numpy as np
import pytest

import ember
from ember.func import functional_call, stack_module_state

from ._util import arrays, same, same_error

X, W, B = arrays((5, 3), (2, 3), (2,))


def t(T, a, **kw):
    return T.tensor(a, dtype=T.float32, **kw)


def net(T, seed=0):
    """A small model with the same weights in both libraries."""
    T.manual_seed(0)
    m = T.nn.Sequential(T.nn.Linear(3, 4), T.nn.BatchNorm1d(4), T.nn.ReLU(), T.nn.Linear(4, 2))
    rng = np.random.default_rng(seed)
    with T.no_grad():
        for p in m.parameters():
            p.copy_(T.tensor(rng.standard_normal(tuple(p.shape)), dtype=T.float32))
    return m


class Tied:
    """An embedding and an output layer sharing one weight matrix."""

    @staticmethod
    def make(T):
        class TiedLM(T.nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = T.nn.Embedding(4, 3)
                self.out = T.nn.Linear(3, 4, bias=False)
                self.out.weight = self.emb.weight

            def forward(self, i):
                return self.out(self.emb(i))
        T.manual_seed(0)
        m = TiedLM()
        with T.no_grad():
            m.emb.weight.copy_(T.tensor(np.arange(12.0).reshape(4, 3) / 10, dtype=T.float32))
        return m


@pytest.mark.parametrize("case", [
    # replace one layer's weight: the rest stays the module's own
    lambda T, F: F.functional_call(net(T), {"0.weight": t(T, np.ones((4, 3)))},
                                   (t(T, X),)),
    lambda T, F: F.functional_call(net(T), dict(net(T, seed=1).named_parameters()), t(T, X)),
    # a list of dicts: parameters and buffers apart, as in the tutorials
    lambda T, F: F.functional_call(net(T).eval(), (dict(net(T, 2).named_parameters()),
                                                   dict(net(T, 2).named_buffers())), (t(T, X),)),
    lambda T, F: F.functional_call(T.nn.Linear(3, 2), {"weight": t(T, W), "bias": t(T, B)},
                                   args=(), kwargs={"input": t(T, X)}),
    lambda T, F: F.functional_call(Tied.make(T), {"emb.weight": t(T, np.ones((4, 3)))},
                                   (T.tensor([0, 3]),)),
    lambda T, F: F.functional_call(Tied.make(T), {"emb.weight": t(T, np.ones((4, 3)))},
                                   (T.tensor([0, 3]),), tie_weights=False),
])
def test_functional_call_matches_torch(case, torch):
    same(lambda T, F: case(T, F).detach(), torch, atol=1e-5, rtol=1e-5)


def test_module_state_is_put_back(torch):
    def case(T, F):
        m = net(T)
        before = {k: v for k, v in m.state_dict().items()}
        F.functional_call(m, {"0.weight": T.zeros(4, 3), "3.bias": T.ones(2)}, (t(T, X),))
        after = m.state_dict()
        assert all(after[k] is before[k] or T.equal(after[k], before[k]) for k in before)
        assert isinstance(m[0].weight, T.nn.Parameter)
        return m(t(T, X)).detach()
    same(case, torch, atol=1e-5, rtol=1e-5)


def test_module_state_is_put_back_after_an_error():
    m = ember.nn.Linear(3, 2)
    w = m.weight
    with pytest.raises(RuntimeError):
        functional_call(m, {"weight": ember.zeros(5, 7)}, (ember.ones(1, 3),))
    assert m.weight is w


def test_buffers_written_by_the_call_land_in_the_given_dict(torch):
    def case(T, F):
        m = net(T)  # training mode: batch norm updates its running statistics
        buffers = {k: v.clone() for k, v in m.named_buffers()}
        F.functional_call(m, buffers, (t(T, X),))
        return buffers["1.running_mean"], buffers["1.num_batches_tracked"], m[1].running_mean
    same(case, torch, atol=1e-6)


def test_gradients_reach_the_given_tensors_not_the_module(torch):
    def case(T, F):
        m = net(T)
        params = {k: v.detach().clone().requires_grad_() for k, v in m.named_parameters()}
        F.functional_call(m, params, (t(T, X),)).pow(2).sum().backward()
        assert all(p.grad is None for p in m.parameters())
        return {k: v.grad for k, v in params.items()}
    same(case, torch, atol=1e-4, rtol=1e-5)


def test_stack_module_state_matches_torch(torch):
    def case(T, F):
        models = [net(T, seed=s) for s in range(3)]
        params, buffers = F.stack_module_state(models)
        assert all(p.is_leaf and p.requires_grad for p in params.values())
        return params, buffers
    same(case, torch)


def test_model_ensembling_with_vmap(torch):
    def case(T, F):
        models = [net(T, seed=s).eval() for s in range(3)]
        params, buffers = F.stack_module_state(models)
        base = net(T).eval().to("meta")  # as the tutorial does: only the structure is used

        def fmodel(p, b, x):
            return F.functional_call(base, (p, b), (x,))
        x = t(T, X)
        same_batch = F.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
        per_model = F.vmap(fmodel)(params, buffers, t(T, np.stack([X, X * 2, -X])))
        return same_batch, per_model
    same(case, torch, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("case", [
    lambda T, F: F.functional_call(T.nn.Linear(2, 2), {"weight": T.ones(2, 2)}, (T.ones(2),),
                                   strict=True),
    lambda T, F: F.functional_call(T.nn.Linear(2, 2), {"weight": T.ones(2, 2),
                                                       "foo": T.ones(1)}, (T.ones(2),),
                                   strict=True),
    lambda T, F: F.functional_call(T.nn.Linear(2, 2), ({"weight": T.ones(2, 2)},
                                                       {"weight": T.ones(2, 2)}), (T.ones(2),)),
    lambda T, F: F.functional_call(T.nn.Linear(2, 2), [{"weight": T.ones(2, 2)}, 3],
                                   (T.ones(2),)),
    lambda T, F: F.functional_call(T.nn.Linear(2, 2), 3, (T.ones(2),)),
    lambda T, F: F.functional_call(Tied.make(T), {"emb.weight": T.ones(4, 3),
                                                  "out.weight": T.zeros(4, 3)},
                                   (T.tensor([0]),)),
    lambda T, F: F.functional_call(T.nn.Linear(2, 2), {"weight": 3}, (T.ones(2),)),
    lambda T, F: F.stack_module_state([]),
    lambda T, F: F.stack_module_state([T.nn.Linear(2, 2), T.nn.Linear(2, 2).eval()]),
    lambda T, F: F.stack_module_state([T.nn.Linear(2, 2), T.nn.Conv1d(2, 2, 1)]),
    lambda T, F: F.stack_module_state([T.nn.Linear(2, 2), T.nn.Linear(2, 3)]),
    lambda T, F: F.stack_module_state([T.nn.Linear(2, 2), T.nn.Linear(2, 2).requires_grad_(
        False)]),
])
def test_errors_match_torch(case, torch):
    same_error(case, torch, match_message=True)


def test_unknown_names_become_attributes_for_the_call_only():
    class UsesExtra(ember.nn.Module):
        def forward(self, x):
            return x * self.scale
    m = UsesExtra()
    out = functional_call(m, {"scale": ember.tensor(3.0)}, (ember.ones(2),))
    np.testing.assert_array_equal(out.numpy(), [3.0, 3.0])
    assert not hasattr(m, "scale")


def test_stacked_parameters_train_the_ensemble():
    models = [ember.nn.Linear(3, 1) for _ in range(2)]
    params, buffers = stack_module_state(models)
    base = ember.nn.Linear(3, 1)
    x = ember.tensor(X, dtype=ember.float32)
    out = ember.func.vmap(lambda p, b: functional_call(base, (p, b), (x,)))(params, buffers)
    out.sum().backward()
    assert params["weight"].grad.shape == (2, 1, 3)
    np.testing.assert_allclose(params["weight"].grad.numpy()[0], X.sum(0, keepdims=True),
                               rtol=1e-5)


def test_nn_utils_stateless_functional_call_warns_and_matches_torch(torch):
    """The pre-2.0 spelling, still in older programs: a FutureWarning with PyTorch's text,
    then the same result as torch.func.functional_call."""
    results = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        lin = lib.nn.Linear(3, 2)
        weight = lib.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3))
        with pytest.warns(FutureWarning, match="stateless.functional_call` is deprecated") as rec:
            out = lib.nn.utils.stateless.functional_call(
                lin, {"weight": weight}, (lib.ones(1, 3),), strict=False)
        results.append((out.detach().numpy(), lin.bias.detach().numpy(), str(rec[0].message)))
    np.testing.assert_allclose(results[0][0] - results[0][1], results[1][0] - results[1][1],
                               rtol=1e-6)
    assert results[0][2] == results[1][2]
