"""ember.masked.MaskedTensor against torch.masked.MaskedTensor: construction and its checks,
the prototype warning, printing, the data and mask, unary and binary ops (and torch's error
for different masks), reductions, shape ops, to_tensor, and gradients."""

import warnings

import numpy as np
import pytest

import ember
from ember.masked.maskedtensor.core import MaskedOperand

DATA = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
MASK = [[True, False, True], [False, False, True]]


def _mt(lib, data=DATA, mask=MASK, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.masked.masked_tensor(lib.tensor(data), lib.tensor(mask), **kwargs)


def _quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args)


def _same_masked(ours, theirs, atol=1e-6):
    assert type(ours).__name__ == "MaskedTensor" == type(theirs).__name__
    assert str(ours.dtype) == str(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.get_mask().numpy(), theirs.get_mask().numpy())
    keep = theirs.get_mask().numpy()
    np.testing.assert_allclose(ours.get_data().detach().numpy()[keep],
                               theirs.get_data().detach().numpy()[keep], atol=atol,
                               equal_nan=True)
    assert repr(ours) == repr(theirs)


def test_is_a_tensor_and_holds_data_and_mask(torch):
    mt = _mt(ember)
    assert isinstance(mt, ember.Tensor) and ember.masked.is_masked_tensor(mt)
    assert not ember.masked.is_masked_tensor(ember.ones(2))
    assert mt.shape == (2, 3) and mt.dtype == ember.float32 and mt.dim() == 2
    assert mt.numel() == 6 and len(mt) == 2 and mt.device == ember.device("cpu")
    assert mt.is_sparse is False and not mt.is_sparse_coo() and not mt.is_sparse_csr()
    assert mt.get_data().tolist() == DATA and mt.get_mask().tolist() == MASK
    assert mt.to_tensor(-1.0).tolist() == _mt(torch).to_tensor(-1.0).tolist()


def test_construction_warns_with_torchs_text(torch):
    texts = []
    for lib in (ember, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.masked.masked_tensor(lib.tensor(DATA), lib.tensor(MASK))
            lib.masked.masked_tensor(lib.ones(2, requires_grad=True), lib.tensor([True, False]))
            lib.masked.as_masked_tensor(lib.tensor(DATA), lib.tensor(MASK))
        texts.append([(w.category, str(w.message)) for w in caught])
    assert texts[0] == texts[1] and len(texts[0]) == 4
    assert texts[0][0][1].startswith("The PyTorch API of MaskedTensors is in prototype stage")


@pytest.mark.parametrize("expr", ["mt.sum()", "mt.sin()", "mt + mt", "mt[0]", "mt.sum(1)"])
def test_each_result_warns_as_torchs_does(torch, expr):
    counts = []
    for lib in (ember, torch):
        mt = _mt(lib)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            eval(expr, {"mt": mt})
        counts.append(len(caught))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("data,mask", [
    (DATA, MASK),
    ([1, 2, 3], [True, False, True]),
    ([True, False], [False, True]),
    (3.0, True), (3.0, False), (7, True),
    ([[1.5e6, -2.25]], [[True, True]]),
    ([[[1.0, -2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, -8.0]]],
     [[[True, False], [False, True]], [[True, True], [False, False]]]),
], ids=["2d", "int", "bool", "0d", "0d-masked", "0d-int", "wide", "3d"])
def test_printing_matches_torch(torch, data, mask):
    ours, theirs = _mt(ember, data, mask), _mt(torch, data, mask)
    assert repr(ours) == repr(theirs)
    assert str(ours) == str(theirs)


@pytest.mark.parametrize("make,exc", [
    (lambda lib: lib.masked.masked_tensor(lib.tensor(DATA), lib.tensor(MASK).float()),
     TypeError),
    (lambda lib: lib.masked.masked_tensor(lib.tensor(DATA), lib.tensor(MASK[0])), ValueError),
    (lambda lib: lib.masked.masked_tensor(lib.tensor(DATA), lib.tensor([[True, True]])),
     ValueError),
    (lambda lib: lib.masked.masked_tensor(np.array(DATA), lib.tensor(MASK)), TypeError),
    (lambda lib: lib.masked.masked_tensor(lib.tensor(DATA), MASK), TypeError),
    (lambda lib: lib.masked.masked_tensor(lib.tensor([1j]), lib.tensor([True])), TypeError),
    (lambda lib: lib.masked.masked_tensor(lib.tensor([1], dtype=lib.uint8),
                                          lib.tensor([True])), TypeError),
    (lambda lib: lib.masked.as_masked_tensor(lib.tensor(DATA), lib.tensor(MASK).int()),
     TypeError),
], ids=["float-mask", "fewer-dims", "other-size", "ndarray-data", "list-mask", "complex",
        "uint8", "as-int-mask"])
def test_construction_errors_match_torch(torch, make, exc):
    with pytest.raises(exc) as theirs:
        _quiet(make, torch)
    with pytest.raises(exc) as ours:
        _quiet(make, ember)
    assert str(ours.value) == str(theirs.value)


UNARY = ["sin()", "exp()", "abs()", "neg()", "sqrt()", "log()", "clamp(2, 5)", "pow(2)",
         "sigmoid()", "round()", "isnan()", "square()", "tanh()", "float()", "double()",
         "to(dtype)", "clone()", "detach()", "sin_()", "mul_(mt)", "add_(mt)"]
BINARY = ["mt + mt", "mt - 1", "2 * mt", "mt / mt", "1 / mt", "mt ** 2", "mt > 2", "mt == mt",
          "mt + d", "d + mt", "mt * d[0]", "mt.add(mt)", "mt.maximum(mt)", "mt.div(d)",
          "mt.floor_divide(mt)", "mt.atan2(mt)", "-mt", "abs(mt)", "mt.ne(mt)", "mt % 2"]
SHAPE = ["mt[0]", "mt[:, 1:]", "mt[..., None]", "mt.reshape(3, 2)", "mt.view(6)",
         "mt.transpose(0, 1)", "mt.unsqueeze(0)", "mt.select(1, 2)", "mt.split(1)",
         "mt.expand(4, 2, 3)"]
REDUCE = ["mt.sum()", "mt.sum(1)", "mt.sum(0)", "mt.sum(dim=1, keepdim=True)",
          "mt.sum(1, dtype=float64)", "mt.mean()", "mt.mean(1)", "mt.amax()", "mt.amax(0)",
          "mt.amin(1)", "mt.argmax()", "mt.argmax(1)", "mt.argmin(0)", "mt.prod()",
          "mt.prod(1)", "mt.all()", "mt.all(1)", "mt.var()", "mt.var(1)", "mt.std(1)",
          "mt.var(1, keepdim=True)", "(mt > 2).all()", "(mt > 2).all(0)"]


@pytest.mark.parametrize("expr", ["mt." + u for u in UNARY] + BINARY + SHAPE + REDUCE)
def test_operations_match_torch(torch, expr):
    results = []
    for lib in (ember, torch):
        mt, d, dtype, float64 = _mt(lib), lib.tensor(DATA), lib.float64, lib.float64
        results.append(_quiet(eval, expr, dict(mt=mt, d=d, dtype=dtype, float64=float64)))
    ours, theirs = results
    if isinstance(theirs, tuple):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same_masked(a, b)
    else:
        _same_masked(ours, theirs)


@pytest.mark.parametrize("expr", ["2.5 + mt", "mt / 2", "2 / mt", "mt ** 0.5", "mt * 1.5",
                                  "mt // 2", "mt + mt.float()", "mt < 2.5", "mt % 2", "2 | mt",
                                  "d - mt", "d % mt"])
def test_numbers_promote_as_for_tensors(torch, expr):
    ours, theirs = (_quiet(eval, expr, {"mt": _mt(lib, [[1, 2, 3], [4, 5, 6]]),
                                        "d": lib.tensor([[2, 2, 2], [3, 3, 3]])})
                    for lib in (ember, torch))
    _same_masked(ours, theirs)


@pytest.mark.parametrize("expr", ["2 - mt", "2.5 - mt", "2 ** mt"])
def test_no_reflected_sub_or_pow_with_a_number(torch, expr):
    messages = []
    for lib in (torch, ember):
        with pytest.raises(TypeError) as caught:
            _quiet(eval, expr, {"mt": _mt(lib)})
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    for lib in (torch, ember):  # a tensor to the power of a MaskedTensor: refused by both
        with pytest.raises(TypeError):
            _quiet(eval, "d ** mt", {"mt": _mt(lib), "d": lib.tensor(DATA)})


def test_inplace_operators(torch):
    results = []
    for lib in (ember, torch):
        mt = _mt(lib)
        same = mt
        mt += _mt(lib)
        mt *= 2
        assert mt is same
        results.append(mt)
    _same_masked(*results)


def test_integer_reductions_match_torch(torch):
    for expr in ["mt.sum()", "mt.sum(1)", "mt.amax(1)", "mt.prod()"]:
        ours, theirs = (_quiet(eval, expr, {"mt": _mt(lib, [[1, 2, 3], [4, 5, 6]])})
                        for lib in (ember, torch))
        _same_masked(ours, theirs)


@pytest.mark.parametrize("expr,exc", [
    ("mt + other", ValueError),             # different masks
    ("mt.add(mt, alpha=2)", ValueError),    # keyword arguments
    ("mt.mul_(other)", ValueError),
    ("mt.numpy()", RuntimeError),
    ("mt.masked_fill(mt.get_mask(), 0)", TypeError),   # an op without a masked meaning
    ("mt.T", TypeError),
    ("mt @ mt.reshape(3, 2)", TypeError),
    ("mt.mean(1, dtype=int64)", ValueError),
], ids=lambda v: v if isinstance(v, str) else "")
def test_errors_match_torch(torch, expr, exc):
    messages = []
    for lib in (torch, ember):
        env = {"mt": _mt(lib), "other": _mt(lib, mask=[[True] * 3] * 2), "int64": lib.int64}
        with pytest.raises(exc) as caught:
            _quiet(eval, expr, env)
        messages.append(str(caught.value))
    if exc is not TypeError:  # ember names the MaskedTensor refusal in its own words
        assert messages[0] == messages[1]


def test_ops_without_a_masked_meaning_refuse_the_data():
    mt = _mt(ember)
    for call in (lambda: ember.matmul(mt, mt.reshape(3, 2)),
                 lambda: mt.masked_fill(mt.get_mask(), 0.0), lambda: np.asarray(mt._data)):
        with pytest.raises(MaskedOperand, match="not supported for MaskedTensor"):
            call()
    assert not hasattr(mt._data, "astype")


def _grad_of(lib, expr, **kwargs):
    x = _mt(lib, requires_grad=True, **kwargs)
    _quiet(eval, expr, {"x": x}).backward()
    return x


@pytest.mark.parametrize("expr", ["x.sum()", "(x * x).sum()", "x.sin().sum()", "x.mean()",
                                  "x.amax()", "x.sum(1).sum()", "(x + x).prod()",
                                  "x.exp().amax(1).sum()", "x.std()", "x.var(1).sum()"])
def test_gradients_match_torch(torch, expr):
    ours, theirs = _grad_of(ember, expr), _grad_of(torch, expr)
    assert ours.requires_grad and ours.is_leaf and ours.grad_fn is None
    _same_masked(ours.grad, theirs.grad)
    # torch's gradient data at masked-out positions passes through the mask unchanged
    np.testing.assert_allclose(ours.grad.get_data().numpy(), theirs.grad.get_data().numpy(),
                               atol=1e-6)


def test_gradient_flow_and_flags(torch):
    mt = _mt(ember)
    assert mt.requires_grad is False and mt.grad is None and mt.is_leaf
    mt.requires_grad_()
    assert mt.requires_grad and mt.get_data().requires_grad
    total = _quiet(mt.sum)
    assert total.requires_grad and total.grad_fn is not None and not total.is_leaf
    data = ember.tensor([1.0, 2.0], requires_grad=True)
    amt = _quiet(ember.masked.as_masked_tensor, data, ember.tensor([True, False]))
    (amt * 3).sum().backward()
    # as_masked_tensor keeps the history: the gradient reaches the data tensor (torch hands it
    # a MaskedTensor; ember a plain tensor with every element's gradient)
    assert data.grad.tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        _quiet(lambda: _mt(ember, requires_grad=True).sum(1).backward())


@pytest.mark.parametrize("shape", [(2, 3), (3,)])
def test_plain_operand_gets_the_masked_in_gradient(torch, shape):
    grads = []
    for lib in (ember, torch):
        w = lib.arange(1.0, 1.0 + np.prod(shape)).reshape(shape).requires_grad_()
        _quiet(lambda mt, w: (mt * w).sum().backward(), _mt(lib), w)
        grads.append(w.grad)
    ours, theirs = grads
    # torch hands the plain tensor a MaskedTensor gradient; ember a plain tensor with zeros
    # at the masked-out elements
    keep = theirs.get_mask().numpy()
    np.testing.assert_allclose(ours.numpy()[keep], theirs.get_data().numpy()[keep])
    assert (ours.numpy()[~keep] == 0).all()


def test_top_level_functions_take_masked_tensors_like_torch(torch):
    """ember.exp(mt), ember.add(mt, mt), ember.sum(mt) ... (through Op.apply's hand-off)."""
    import warnings

    results = []
    for lib in (torch, ember):
        d = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        m = lib.tensor([[True, False, True], [False, True, True]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mt = lib.masked.masked_tensor(d, m)
            outs = [lib.exp(mt), lib.add(mt, mt), lib.sin(mt) * 2, lib.sum(mt),
                    lib.mean(mt, 1), lib.sum(mt, dim=0), lib.mul(mt, 3.0)]
        results.append([repr(o) for o in outs])
    assert results[0] == results[1]


def test_top_level_functions_refuse_mismatched_masks_and_other_ops():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ember.masked.masked_tensor(ember.ones(2), ember.tensor([True, False]))
        b = ember.masked.masked_tensor(ember.ones(2), ember.tensor([False, True]))
        with pytest.raises(ValueError, match="masks must match"):
            ember.add(a, b)
        with pytest.raises(TypeError, match="not supported for MaskedTensor"):
            ember.cumsum(a, 0)
