"""Session 34 gaps in sparse COO: ``nan_to_num(..., out=)`` and in-place ``relu_`` /
``nan_to_num_`` on a non-leaf that requires grad, each compared with torch."""

import warnings

import pytest
import torch

import ember

NAN, INF = float("nan"), float("inf")


def _src(lib):
    return lib.tensor([[NAN, 0.0, -4.0], [INF, 0.0, -INF]]).to_sparse()


def _empty(lib, dtype=None, shape=(2, 3)):
    return lib.sparse_coo_tensor(lib.zeros(2, 0, dtype=lib.long),
                                 lib.zeros(0, dtype=dtype or lib.float32), shape)


def _outcome(fn, lib):
    """What ``fn(lib)`` gives: the dense values and flags of a sparse result, or the error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = fn(lib)
        except Exception as e:  # noqa: BLE001 - the error is what is compared
            return type(e).__name__, str(e).split(" This could be")[0].split(". Hint")[0]
    return (r.layout == lib.sparse_coo, r.is_coalesced(), r.dtype == lib.float32,
            r.to_dense().tolist(), r.requires_grad)


def _out_is_returned(lib):
    out = _empty(lib)
    r = lib.nan_to_num(_src(lib), nan=1.0, posinf=9.0, out=out)
    assert r is out
    return out


def _out_resized(lib):
    return lib.nan_to_num(_src(lib), out=_empty(lib, shape=(5, 5)))


def _out_nonempty(lib):
    out = lib.sparse_coo_tensor(lib.tensor([[0, 0], [1, 1]]), lib.tensor([1.0, 2.0]), (2, 3))
    return lib.nan_to_num(_src(lib), out=out)


def _out_self(lib):
    s = _src(lib).coalesce()
    return lib.nan_to_num(s, nan=7.0, out=s)


def _out_no_grad(lib):
    with lib.no_grad():
        return lib.nan_to_num(_src(lib).requires_grad_(), out=_empty(lib).requires_grad_())


OUT_CASES = {
    "returns_out": _out_is_returned,
    "resized": _out_resized,
    "nonempty_out": _out_nonempty,
    "self_out": _out_self,
    "no_grad": _out_no_grad,
    "dense_out": lambda lib: lib.nan_to_num(_src(lib), out=lib.empty(2, 3)),
    "dense_in": lambda lib: lib.nan_to_num(lib.tensor([NAN, 1.0]), out=_empty(lib)),
    "dtype": lambda lib: lib.nan_to_num(_src(lib), out=_empty(lib, lib.float64)),
    "int_dtype": lambda lib: lib.nan_to_num(_src(lib).long(), out=_empty(lib)),
    "grad_in": lambda lib: lib.nan_to_num(_src(lib).requires_grad_(), out=_empty(lib)),
    "grad_out": lambda lib: lib.nan_to_num(_src(lib), out=_empty(lib).requires_grad_()),
    "csr_out": lambda lib: lib.nan_to_num(_src(lib), out=lib.zeros(2, 3).to_sparse_csr()),
    "csr_in": lambda lib: lib.nan_to_num(_src(lib).to_sparse_csr(), out=lib.empty(0)),
}


@pytest.mark.parametrize("name", sorted(OUT_CASES))
def test_nan_to_num_out_matches_torch(name):
    fn = OUT_CASES[name]
    assert _outcome(fn, ember) == _outcome(fn, torch)


def test_nan_to_num_out_writes_into_values_of_the_right_size():
    # torch reuses out's arrays when the sizes fit: an earlier values() view sees the result
    def run(lib):
        out = lib.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 5.0]]).to_sparse()
        v, v0 = out._values(), out._version
        lib.nan_to_num(_src(lib), out=out)
        return v.tolist(), out._indices().tolist(), out._version - v0

    assert run(ember) == run(torch)


def _relu_nonleaf(lib):
    x = lib.tensor([[-1.0, 0.0, 2.0], [3.0, 0.0, -5.0]]).to_sparse().requires_grad_()
    y = x * 2
    assert y.relu_() is y
    assert y.grad_fn.name() == "ReluBackward0" and y._version == 1
    lib.sparse.sum(y).backward()
    return y.to_dense().tolist(), x.grad.to_dense().tolist()


def _relu_then_saved_input(lib):
    x = lib.tensor([[-1.0, 0.0, 2.0], [3.0, 0.0, -5.0]]).to_sparse().requires_grad_()
    y = x * 2
    w = y.sin()  # keeps y's values for its backward
    y.relu_()
    w.to_dense().sum().backward()


def _relu_twice(lib):
    x = lib.tensor([[-1.0, 0.0, 2.0], [3.0, 0.0, -5.0]]).to_sparse().requires_grad_()
    y = x * 2
    y.relu_()
    y.relu_()
    y.to_dense().sum().backward()


def _relu_leaf(lib):
    x = lib.sparse_coo_tensor(lib.tensor([[0, 1], [1, 2]]), lib.tensor([-1.0, 2.0]), (2, 3),
                              requires_grad=True)
    x.relu_()


def _relu_uncoalesced(lib):
    x = lib.sparse_coo_tensor(lib.tensor([[0, 1], [1, 2]]), lib.tensor([-1.0, 2.0]), (2, 3),
                              requires_grad=True)
    (x * 2).relu_()


def _nan_to_num_nonleaf(lib):
    x = lib.tensor([[-1.0, 0.0, 2.0], [3.0, 0.0, -5.0]]).to_sparse().requires_grad_()
    y = x * 2
    y.nan_to_num_()
    return y.grad_fn.name(), y.to_dense().tolist()


INPLACE_CASES = {"relu_nonleaf": _relu_nonleaf, "saved_input": _relu_then_saved_input,
                 "relu_twice": _relu_twice, "leaf": _relu_leaf,
                 "uncoalesced": _relu_uncoalesced, "nan_to_num_": _nan_to_num_nonleaf}


@pytest.mark.parametrize("name", sorted(INPLACE_CASES))
def test_inplace_on_nonleaf_sparse_matches_torch(name):
    def run(lib):
        try:
            return "ok", INPLACE_CASES[name](lib)
        except RuntimeError as e:
            msg = str(e)
            # ember's leaf refusal adds advice after torch's sentence
            return type(e).__name__, msg.split(". Hint")[0].split(" Wrap parameter")[0]

    assert run(ember) == run(torch)


def test_relu_nonleaf_gradient_uses_values_before_the_change():
    # the node keeps a copy of the values relu_ overwrote: a clamped entry gets no gradient
    x = ember.tensor([[-1.0, 0.0, 2.0], [3.0, 0.0, -5.0]]).to_sparse().requires_grad_()
    y = x * 1
    vals = y._values()
    y.relu_()
    assert vals.tolist() == [0.0, 2.0, 3.0, 0.0]  # rewritten in place, as torch does
    (y.to_dense() * ember.tensor([[1.0, 1.0, 5.0], [7.0, 1.0, 11.0]])).sum().backward()
    assert x.grad.to_dense().tolist() == [[0.0, 0.0, 5.0], [7.0, 0.0, 0.0]]
