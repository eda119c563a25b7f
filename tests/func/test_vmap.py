"""ember.func.vmap against torch.func.vmap: in_dims/out_dims as ints, None and pytrees,
nesting, keyword arguments, gradients through vmap, randomness modes, and PyTorch's errors."""

import functools

import numpy as np
import pytest

import ember
from ember.func import vmap

from ._util import arrays, same, same_error

A, B, C = arrays((3, 4), (3, 4), (4, 5))
M = arrays((2, 3, 4))[0]


def t(T, a, **kw):
    return T.tensor(a, **kw)


@pytest.mark.parametrize("case", [
    lambda T, F: F.vmap(T.dot)(t(T, A), t(T, B)),
    lambda T, F: F.vmap(lambda x, w: x @ w, in_dims=(0, None))(t(T, A), t(T, C)),
    lambda T, F: F.vmap(lambda x: x.sum(0), in_dims=1)(t(T, A)),
    lambda T, F: F.vmap(lambda x: x * 2, in_dims=-1, out_dims=-1)(t(T, M)),
    lambda T, F: F.vmap(lambda x: x.cumsum(0), in_dims=1, out_dims=1)(t(T, M)),
    lambda T, F: F.vmap(lambda x, y: x * y, in_dims=(1, 0))(t(T, A.T), t(T, B)),
    # nested: a pairwise table
    lambda T, F: F.vmap(F.vmap(T.dot, in_dims=(None, 0)), in_dims=(0, None))(t(T, A), t(T, B)),
    lambda T, F: F.vmap(F.vmap(lambda x: x.exp().sum()))(t(T, M)),
    # pytrees in and out
    lambda T, F: F.vmap(lambda d: d["a"] * d["b"], in_dims=({"a": 0, "b": None},))(
        {"a": t(T, A), "b": t(T, B[0])}),
    lambda T, F: F.vmap(lambda p: p[0] + p[1][0], in_dims=((0, [1]),))(
        (t(T, A), [t(T, B.T)])),
    lambda T, F: F.vmap(lambda x: (x.sum(), {"m": x.max(), "v": [x * 3]}))(t(T, A)),
    lambda T, F: F.vmap(lambda x: [x, x * 2], out_dims=[0, 1])(t(T, A)),
    lambda T, F: F.vmap(lambda x: (x, x.mean()), out_dims=(1, 0))(t(T, A)),
    lambda T, F: F.vmap(lambda x: x, out_dims=(1,))(t(T, A)),
    # outputs that do not depend on the batch are expanded (int out_dim) or kept (None)
    lambda T, F: F.vmap(lambda x, y: y, in_dims=(0, None))(t(T, A), t(T, C)),
    lambda T, F: F.vmap(lambda x, y: (x, y), in_dims=(0, None), out_dims=(0, None))(
        t(T, A), t(T, C)),
    lambda T, F: F.vmap(lambda x, n: (x * n, n), in_dims=(0, None), out_dims=(0, None))(
        t(T, A), 3),
    lambda T, F: F.vmap(lambda x: None, out_dims=None)(t(T, A)),
    # non-tensor and None inputs with in_dim None, keyword arguments unmapped
    lambda T, F: F.vmap(lambda x, s, n: x * s if n is None else x, in_dims=(0, None, None))(
        t(T, A), 2.5, None),
    lambda T, F: F.vmap(lambda x, *, k: x * k)(t(T, A), k=t(T, B[1])),
    # dtypes, 0-d slices, integer tensors
    lambda T, F: F.vmap(lambda x: x * 2)(t(T, A, dtype=T.float32)),
    lambda T, F: F.vmap(lambda x: x + 1)(t(T, [1, 2, 3])),
    lambda T, F: F.vmap(lambda x: x.argmax())(t(T, A)),
    # ops PyTorch batches specially: matmul variants, reductions with dims, indexing
    lambda T, F: F.vmap(lambda x: x[1:3].flip(0))(t(T, A)),
    lambda T, F: F.vmap(lambda x, i: x[i])(t(T, A), t(T, [0, 3, 1])),
    lambda T, F: F.vmap(T.outer)(t(T, A), t(T, B)),
    # chunk_size gives the same numbers
    lambda T, F: F.vmap(lambda x: x.sin(), chunk_size=2)(t(T, A)),
    # a batch of size 0
    lambda T, F: F.vmap(lambda x: x.sum())(t(T, np.zeros((0, 3)))),
    lambda T, F: F.vmap(lambda x: {"s": x.sum(), "x": x * 2}, out_dims={"s": 0, "x": 1})(
        t(T, np.zeros((0, 3)))),
])
def test_vmap_matches_torch(case, torch):
    same(case, torch)


def test_vmap_runs_the_function_once_per_element_and_stacks(monkeypatch):
    from ember.func import _batching

    monkeypatch.setattr(_batching, "ENABLED", False)  # the loop (the fallback of batching)
    calls = []

    def f(x):
        calls.append(tuple(x.shape))
        return x * 2
    out = vmap(f, in_dims=1)(ember.tensor(A))
    assert calls == [(3,)] * 4 and out.shape == (4, 3)


def test_gradients_flow_through_vmap(torch):
    def case(T, F):
        x = t(T, A, requires_grad=True)
        w = t(T, C, requires_grad=True)
        out = F.vmap(lambda row, w: (row @ w).tanh(), in_dims=(0, None))(x, w)
        (out * t(T, np.arange(15.0).reshape(3, 5))).sum().backward()
        return out, x.grad, w.grad
    same(case, torch)


def test_vmap_of_grad_is_per_sample_gradients(torch):
    def case(T, F):
        w = t(T, C)

        def loss(w, x, y):
            return ((x @ w - y) ** 2).mean()
        return F.vmap(F.grad(loss), in_dims=(None, 0, 0))(w, t(T, A), t(T, arrays((3, 5))[0]))
    same(case, torch)


def test_randomness_error_raises_and_leaves_the_generator_alone():
    ember.manual_seed(3)
    state = ember.get_rng_state()
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(lambda x: x + ember.randn(4))(ember.tensor(A))
    assert ember.equal(ember.get_rng_state(), state)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(lambda x: ember.nn.functional.dropout(x, 0.5))(ember.tensor(A))
    # no draw, no error: dropout in eval mode
    out = vmap(lambda x: ember.nn.functional.dropout(x, 0.5, training=False))(ember.tensor(A))
    np.testing.assert_array_equal(out.numpy(), A)


def test_randomness_error_matches_torch(torch):
    same_error(lambda T, F: F.vmap(lambda x: x + T.rand(4))(t(T, A)), torch)


def test_randomness_same_gives_every_element_the_same_numbers():
    ember.manual_seed(0)
    out = vmap(lambda x: ember.rand(5) + x, randomness="same")(ember.zeros(4))
    assert out.shape == (4, 5)
    for row in out[1:]:
        np.testing.assert_array_equal(row.numpy(), out[0].numpy())
    # and draws from the generator as one element would
    after = ember.rand(3)
    ember.manual_seed(0)
    np.testing.assert_array_equal(ember.rand(5).numpy(), out[0].numpy())
    np.testing.assert_array_equal(ember.rand(3).numpy(), after.numpy())


def test_randomness_different_gives_each_element_its_own_numbers():
    ember.manual_seed(0)
    out = vmap(lambda x: ember.rand(5) + x, randomness="different")(ember.zeros(4))
    rows = {tuple(r.tolist()) for r in out}
    assert len(rows) == 4


def test_same_randomness_with_dropout_masks_all_rows_alike():
    out = vmap(lambda x: ember.nn.functional.dropout(x, 0.5), randomness="same")(
        ember.ones(6, 40))
    for row in out[1:]:
        np.testing.assert_array_equal(row.numpy(), out[0].numpy())


def test_torch_vmap_is_func_vmap():
    assert ember.vmap is ember.func.vmap


def test_vmap_of_a_module_and_a_partial():
    lin = ember.nn.Linear(4, 2)
    out = vmap(lin)(ember.tensor(A, dtype=ember.float32))
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out.detach().numpy(),
                               lin(ember.tensor(A, dtype=ember.float32)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    f = functools.partial(ember.mul, other=2.0)
    np.testing.assert_allclose(vmap(f)(ember.tensor(A)).numpy(), A * 2)


def test_outputs_whose_shape_depends_on_the_data_are_refused():
    with pytest.raises(RuntimeError, match="shape"):
        vmap(lambda x: x.nonzero())(ember.tensor([[1.0, 0.0], [1.0, 1.0]]))


def test_item_on_a_batched_tensor_is_refused_as_in_pytorch():
    # ember could compute it (it loops), but torch refuses; see tests/func/test_s34_gaps2_vmap.py
    with pytest.raises(RuntimeError, match=r"calling \.item\(\)"):
        vmap(lambda x: x * x.sum().item())(ember.tensor(A))


@pytest.mark.parametrize("case", [
    lambda T, F: F.vmap(lambda a: a, randomness="bad"),
    lambda T, F: F.vmap(lambda a: a, chunk_size=0),
    lambda T, F: F.vmap(lambda a: a, out_dims=None)(t(T, A)),
    lambda T, F: F.vmap(lambda a: 3)(t(T, A)),
    lambda T, F: F.vmap(lambda a: None)(t(T, A)),
    lambda T, F: F.vmap(lambda a: (a, None))(t(T, A)),
    lambda T, F: F.vmap(lambda a: a, out_dims=5)(t(T, A[0])),
    lambda T, F: F.vmap(lambda a: a, out_dims=(0, 0))(t(T, A)),
    lambda T, F: F.vmap(lambda a: (a, a), out_dims=[0, 1])(t(T, A)),
    lambda T, F: F.vmap(lambda a: a, out_dims="a")(t(T, A)),
    lambda T, F: F.vmap(lambda a: a, in_dims=[0])(t(T, A)),
    lambda T, F: F.vmap(lambda a, b: a, in_dims=(0,))(t(T, A), t(T, A)),
    lambda T, F: F.vmap(lambda a: a, in_dims=(2,))(t(T, A)),
    lambda T, F: F.vmap(lambda a: a, in_dims=(-3,))(t(T, A)),
    lambda T, F: F.vmap(lambda a: a, in_dims=(0.5,))(t(T, A)),
    lambda T, F: F.vmap(lambda a: a, in_dims=(0,))(3.0),
    lambda T, F: F.vmap(lambda a, b: a, in_dims=(0, 0))(t(T, A), None),
    lambda T, F: F.vmap(lambda a, b: a)(t(T, A), t(T, C)),
    lambda T, F: F.vmap(lambda a: a, in_dims=(None,))(t(T, A)),
    lambda T, F: F.vmap(lambda: 1)(),
    lambda T, F: F.vmap(lambda d: d["a"], in_dims=({"b": 0},))({"a": t(T, A)}),
])
def test_vmap_errors_match_torch(case, torch):
    same_error(case, torch)


def test_error_names_a_functools_partial_like_torch(torch):
    same_error(lambda T, F: F.vmap(functools.partial(T.mul, other=2), in_dims=[0])(t(T, A)),
               torch)
