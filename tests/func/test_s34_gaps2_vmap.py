"""vmap refuses what torch's batching refuses (.item(), bool(), .tolist(), nonzero ... on a
tensor computed from a mapped input), with torch's errors, and still accepts the same on
tensors that are not batched."""

import numpy as np
import pytest

import ember

X = np.arange(6.0, dtype=np.float32).reshape(3, 2)
XI = np.arange(6).reshape(3, 2)


def _outcome(fn):
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001 - the type and text are what is compared
        return type(e).__name__, str(e)
    return "ok", tuple(out.shape), out.tolist()


CASES = {
    "item": lambda T, x: T.func.vmap(lambda t: t.sum().item() * t)(x),
    "float": lambda T, x: T.func.vmap(lambda t: float(t.sum()) * t)(x),
    "int": lambda T, x: T.func.vmap(lambda t: int(t.sum()) * t)(x),
    "complex": lambda T, x: T.func.vmap(lambda t: complex(t.sum()).real * t)(x),
    "if": lambda T, x: T.func.vmap(lambda t: t * 2 if t.sum() > 0 else t)(x),
    "if_any": lambda T, x: T.func.vmap(lambda t: t * 2 if (t > 1).any() else t)(x),
    "bool": lambda T, x: T.func.vmap(lambda t: bool(t.sum() > 0) * t)(x),
    "tolist": lambda T, x: T.func.vmap(lambda t: T.tensor(t.tolist()))(x),
    "numpy": lambda T, x: T.func.vmap(lambda t: t.numpy())(x),
    "nonzero": lambda T, x: T.func.vmap(lambda t: T.nonzero(t))(x),
    "nonzero_method": lambda T, x: T.func.vmap(lambda t: t.nonzero())(x),
    "nonzero_tuple": lambda T, x: T.func.vmap(lambda t: T.nonzero(t, as_tuple=True))(x),
    "where_one_arg": lambda T, x: T.func.vmap(lambda t: T.where(t))(x),
    "detached": lambda T, x: T.func.vmap(lambda t: t.detach().sum().item() * t)(x),
    "nested": lambda T, x: T.func.vmap(T.func.vmap(lambda t: t.item() * t))(x),
    "under_grad": lambda T, x: T.func.vmap(T.func.grad(
        lambda t: (t * t).sum() + t.sum().item() * 0))(x),
    # not batched: a fresh tensor, an unmapped input, a shape (no data) -> allowed in both
    "fresh_item": lambda T, x: T.func.vmap(lambda t: T.tensor(2.0).item() * t)(x),
    "unmapped_item": lambda T, x: T.func.vmap(lambda t, w: w.sum().item() * t,
                                              in_dims=(0, None))(x, x),
    "unmapped_nonzero": lambda T, x: T.func.vmap(lambda t, w: t + T.nonzero(w).sum(),
                                                 in_dims=(0, None))(x, x),
    "shape_branch": lambda T, x: T.func.vmap(lambda t: t * 2 if t.shape[0] == 2 else t)(x),
    # torch batches these (no .item() in its kernels); ember's Python code must not trip
    "index_by_batched_tensor": lambda T, x: T.func.vmap(lambda t, i: t[i])(
        x, T.tensor([0, 1, 1])),
    "where_three_args": lambda T, x: T.func.vmap(lambda t: T.where(t > 2, t, 0.0))(x),
    "masked_fill": lambda T, x: T.func.vmap(lambda t: t.masked_fill(t < 3, 1.0))(x),
    "cross_entropy_grad": lambda T, x: T.func.vmap(T.func.grad(
        lambda t, y: T.nn.functional.cross_entropy(t[None], y[None])))(x, T.tensor([1, 0, 1])),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_refusals_match_torch(torch, name):
    got = _outcome(lambda: CASES[name](ember, ember.tensor(X)))
    want = _outcome(lambda: CASES[name](torch, torch.tensor(X)))
    if name == "under_grad":  # torch words it for grad-inside-vmap; ember gives the .item() one
        assert got[0] == want[0] == "RuntimeError" and "calling .item()" in got[1]
        return
    assert got[0] == want[0]
    if got[0] == "ok":
        assert got[1] == want[1]
        np.testing.assert_allclose(np.asarray(got[2]), np.asarray(want[2]), rtol=1e-6)
    else:
        assert got[1] == want[1]


def test_index_with_batched_int_tensor(torch):
    got = ember.func.vmap(lambda t: t[t[0] % 2])(ember.tensor(XI))
    want = torch.func.vmap(lambda t: t[t[0] % 2])(torch.tensor(XI))
    assert got.tolist() == want.tolist()


def test_tensors_that_escape_the_call_are_ordinary_again(monkeypatch):
    from ember.func import _batching

    monkeypatch.setattr(_batching, "ENABLED", False)  # the loop: one escaped tensor per element
    kept = []
    ember.func.vmap(lambda t: kept.append(t * 2) or t)(ember.tensor(X))
    assert [k.sum().item() for k in kept] == [2.0, 10.0, 18.0]
    assert ember.tensor(X).nonzero().shape == (5, 2)


def test_function_with_its_own_vmap_rule_sees_plain_tensors():
    class ToNumpyDouble(ember.autograd.Function):
        @staticmethod
        def forward(x):
            return ember.tensor(x.numpy() * 2)  # fine: torch hands its forward the batch

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def vmap(info, in_dims, x):
            return ToNumpyDouble.apply(x), in_dims[0]

    out = ember.func.vmap(lambda t: ToNumpyDouble.apply(t) + 1)(ember.tensor(X))
    assert out.tolist() == (X * 2 + 1).tolist()
    with pytest.raises(RuntimeError, match=r"calling \.item\(\)"):  # the result is batched
        ember.func.vmap(lambda t: ToNumpyDouble.apply(t).sum().item())(ember.tensor(X))


def test_empty_batch_refuses_too():
    with pytest.raises(RuntimeError, match=r"calling \.item\(\)"):
        ember.func.vmap(lambda t: t.sum().item() * t)(ember.zeros(0, 2))
