"""vmap refuses the data-dependent ops that torch 2.13's batching refuses (masked_select with a
mapped mask, unique, unique_consecutive, boolean-mask indexing and writes, allclose, equal,
tensor_split at a tensor, is_nonzero), with torch's exception types and messages, and still
runs what torch runs element by element (argwhere, nonzero_static, bincount, histc,
repeat_interleave, masks that are not mapped)."""
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

X = np.array([[1.0, -2.0, 3.0], [0.0, 5.0, -1.0]], dtype=np.float32)
M = np.array([[True, False, True], [False, True, True]])
C = np.array([1.0, 2.0, 3.0], dtype=np.float32)


def _outcome(fn):
    try:
        out = fn()
    except Exception as e:  # noqa: BLE001 - the type and text are what is compared
        return type(e).__name__, str(e)
    outs = out if isinstance(out, tuple) else (out,)
    return "ok", [(tuple(o.shape), str(o.dtype).split(".")[-1], o.tolist()) for o in outs]


def _setitem(t, index, value):
    t[index] = value
    return t


CASES = {
    # refused: the output size would depend on each element's data
    "masked_select": lambda T, x: T.func.vmap(lambda t: T.masked_select(t, t > 0))(x),
    "masked_select_method": lambda T, x: T.func.vmap(lambda t: t.masked_select(t > 0))(x),
    "masked_select_mask_only": lambda T, x: T.func.vmap(
        lambda m: T.masked_select(T.tensor([1.0, 2.0, 3.0]), m))(T.from_numpy(M)),
    "unique": lambda T, x: T.func.vmap(lambda t: T.unique(t))(x),
    "unique_method_unsorted": lambda T, x: T.func.vmap(lambda t: t.unique(sorted=False))(x),
    "unique_inverse_counts": lambda T, x: T.func.vmap(
        lambda t: T.unique(t, return_inverse=True, return_counts=True))(x),
    "unique_dim": lambda T, x: T.func.vmap(lambda t: T.unique(t.reshape(3, 1), dim=0))(x),
    "unique_int": lambda T, x: T.func.vmap(lambda t: T.unique(t))(x.long()),
    "unique_consecutive": lambda T, x: T.func.vmap(lambda t: T.unique_consecutive(t))(x),
    "unique_consecutive_dim": lambda T, x: T.func.vmap(
        lambda t: t.unique_consecutive(return_counts=True, dim=0))(x),
    "bool_index": lambda T, x: T.func.vmap(lambda t: t[t > 0])(x),
    "bool_index_mask_only": lambda T, x: T.func.vmap(
        lambda m: T.tensor([1.0, 2.0, 3.0])[m])(T.from_numpy(M)),
    "bool_index_in_tuple": lambda T, x: T.func.vmap(lambda t: t[None, t > 0])(x),
    "bool_index_0d": lambda T, x: T.func.vmap(lambda t: t[t.sum() > 0])(x),
    "bool_setitem": lambda T, x: T.func.vmap(lambda t: _setitem(t.clone(), t > 0, 0.0))(x),
    "index_put_bool": lambda T, x: T.func.vmap(
        lambda t: t.index_put((t > 0,), T.tensor(0.0)))(x),
    "bool_index_under_grad": lambda T, x: T.func.vmap(T.func.grad(
        lambda t: t[t > 0].sum()))(x),
    "masked_select_under_grad": lambda T, x: T.func.vmap(T.func.grad(
        lambda t: T.masked_select(t, t > 0).sum()))(x),
    "nested_unique": lambda T, x: T.func.vmap(T.func.vmap(lambda t: T.unique(t)))(
        x.reshape(2, 3, 1)),
    # refused: one Python bool, or a list of tensors, from a mapped tensor
    "allclose": lambda T, x: T.func.vmap(lambda t: T.allclose(t, t))(x),
    "allclose_other_mapped": lambda T, x: T.func.vmap(
        lambda t: T.tensor([1.0, 2.0, 3.0]).allclose(t))(x),
    "equal": lambda T, x: T.func.vmap(lambda t: T.equal(t, t))(x),
    "equal_method_other_mapped": lambda T, x: T.func.vmap(
        lambda t: T.zeros(3).equal(t))(x),
    "tensor_split_tensor": lambda T, x: T.func.vmap(
        lambda t: T.tensor_split(t, T.tensor([1]))[0])(x),
    "tensor_split_tensor_0d": lambda T, x: T.func.vmap(
        lambda t: T.tensor_split(t, T.tensor(2))[0])(x),
    "tensor_split_mapped_indices": lambda T, x: T.func.vmap(
        lambda i: T.tensor_split(T.tensor([1.0, 2.0, 3.0]), i)[0])(T.tensor([[1], [2]])),
    "is_nonzero": lambda T, x: T.func.vmap(lambda t: t.sum().is_nonzero() * t)(x),
    "is_nonzero_function": lambda T, x: T.func.vmap(
        lambda t: T.is_nonzero(t.sum()) * t)(x),
    # allowed: masks and data that are not mapped, fresh tensors, fixed-size outputs
    "masked_select_mask_unmapped": lambda T, x: T.func.vmap(
        lambda t: T.masked_select(t, T.tensor([True, False, True])))(x),
    "masked_select_in_dims_none": lambda T, x: T.func.vmap(
        lambda t, m: T.masked_select(t, m), in_dims=(0, None))(x, T.from_numpy(M[0])),
    "bool_index_unmapped": lambda T, x: T.func.vmap(
        lambda t: t[T.tensor([True, False, True])])(x),
    "bool_index_python_list": lambda T, x: T.func.vmap(lambda t: t[[True, False, True]])(x),
    "bool_setitem_unmapped_mask": lambda T, x: T.func.vmap(
        lambda t: _setitem(t.clone(), T.tensor([True, False, True]), 0.0))(x),
    "masked_fill": lambda T, x: T.func.vmap(lambda t: t.masked_fill(t > 0, 1.0))(x),
    "unique_fresh": lambda T, x: T.func.vmap(lambda t: T.unique(T.tensor([3.0, 1.0, 3.0, 2.0]))
                                             + t)(x),
    "equal_fresh": lambda T, x: T.func.vmap(
        lambda t: t * float(T.equal(T.ones(2), T.ones(2))))(x),
    "allclose_unmapped": lambda T, x: T.func.vmap(
        lambda t, c: t * float(T.allclose(c, c)), in_dims=(0, None))(x, x),
    "tensor_split_list": lambda T, x: T.func.vmap(lambda t: T.tensor_split(t, [1])[1])(x),
    "isclose": lambda T, x: T.func.vmap(lambda t: T.isclose(t, t))(x),
    "count_nonzero": lambda T, x: T.func.vmap(lambda t: T.count_nonzero(t))(x),
    # torch runs these once per element and stacks: fine while the shapes agree
    "argwhere_same_count": lambda T, x: T.func.vmap(lambda t: T.argwhere(t))(
        T.tensor([[1.0, 0.0, 2.0], [0.0, 3.0, 4.0]])),
    "nonzero_static": lambda T, x: T.func.vmap(lambda t: T.nonzero_static(t, size=3))(x),
    "nonzero_static_short": lambda T, x: T.func.vmap(
        lambda t: T.nonzero_static(t, size=1, fill_value=7))(x),
    "bincount_minlength": lambda T, x: T.func.vmap(lambda t: T.bincount(t, minlength=5))(
        T.tensor([[1, 2, 2], [0, 1, 1]])),
    "bincount_mapped_weights": lambda T, x: T.func.vmap(
        lambda w: T.bincount(T.tensor([0, 1, 1]), weights=w))(x),
    "histc": lambda T, x: T.func.vmap(lambda t: T.histc(t, bins=3, min=-2, max=5))(x),
    "repeat_interleave_tensor": lambda T, x: T.func.vmap(
        lambda t: T.repeat_interleave(t, T.tensor([1, 2, 1])))(x),
    "repeat_interleave_mapped_repeats": lambda T, x: T.func.vmap(
        lambda r: T.tensor([1.0, 2.0, 3.0]).repeat_interleave(r))(T.tensor([[1, 1, 2], [2, 1, 1]])),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_refusals_and_results_match_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "performance drop" notes on its fallbacks
        want = _outcome(lambda: CASES[name](torch, torch.from_numpy(X.copy())))
    got = _outcome(lambda: CASES[name](ember, ember.from_numpy(X.copy())))
    assert got == want


def test_refusal_ends_with_the_call():
    # a mapped slice kept past its vmap call is an ordinary tensor again
    kept = []
    ember.func.vmap(lambda t: kept.append(t) or t * 1)(ember.from_numpy(X.copy()))
    assert kept[0].unique().tolist() == [-2.0, 1.0, 3.0]
    assert kept[0][kept[0] > 0].tolist() == [1.0, 3.0]
    assert ember.equal(kept[0], kept[0]) and ember.allclose(kept[0], kept[0])


def test_out_dims_none_under_an_outer_vmap():
    # the inner call compares its unmapped outputs itself: no refusal of ``equal`` leaks out
    def inner(t):
        return ember.func.vmap(lambda u: (u * 2, t.sum()), out_dims=(0, None))(t)

    xs = ember.from_numpy(X.copy())
    got = ember.func.vmap(lambda t: inner(t)[0])(xs)
    assert got.tolist() == (xs * 2).tolist()
