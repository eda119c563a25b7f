"""ember.masked's reductions and normalizations against torch.masked: values, dtypes and
shapes over dims, keepdim, dtype, masks (none, broadcast, integer, fully masked-out slices),
input dtypes and torch's errors. Gradients of the differentiable ones are also swept by the op
table (tests/ops/table_masked.py)."""

import warnings

import numpy as np
import pytest

import ember

DATA = np.array([[[1.5, -2.0, 3.0, 0.5], [4.0, 5.0, -6.0, 2.0], [0.0, 1.0, 2.0, -1.0]],
                 [[2.5, 3.0, -1.0, 7.0], [-4.0, 0.5, 6.0, 1.0], [3.0, -3.0, 2.0, 8.0]]])
MASK = np.array([[[True, False, True, False], [False, False, False, False],
                  [True, True, True, True]],
                 [[False, True, False, False], [True, False, True, True],
                  [False, False, False, True]]])

REDUCTIONS = ["sum", "prod", "amax", "amin", "mean", "norm", "var", "std", "logsumexp"]
DIMS = [None, 0, -1, (0, 2), (1,), ()]


def _run(lib, fn, arrays, *args, **kwargs):
    """``fn`` of lib.masked on lib tensors of ``arrays``; arrays in kwargs become tensors."""
    tensors = [lib.tensor(a) for a in arrays]
    kwargs = {k: lib.tensor(v) if isinstance(v, np.ndarray) else
              (getattr(lib, v[6:]) if isinstance(v, str) and v.startswith("dtype:") else v)
              for k, v in kwargs.items()}
    return getattr(lib.masked, fn)(*tensors, *args, **kwargs)


def _same(torch, fn, arrays, *args, atol=1e-6, **kwargs):
    """ember and torch agree: the same result (value, dtype, shape), or the same error."""
    try:
        expected = _run(torch, fn, arrays, *args, **kwargs)
    except Exception as err:  # noqa: BLE001 - the error itself is what is compared
        with pytest.raises(type(err)) as got:
            _run(ember, fn, arrays, *args, **kwargs)
        # ember's own ops may add a hint after torch's text
        assert str(got.value).startswith(str(err)), (str(got.value), str(err))
        return None
    result = _run(ember, fn, arrays, *args, **kwargs)
    assert str(result.dtype) == str(expected.dtype), (result.dtype, expected.dtype)
    assert tuple(result.shape) == tuple(expected.shape)
    np.testing.assert_allclose(result.numpy().astype(np.float64),
                               expected.numpy().astype(np.float64), atol=atol, rtol=1e-6,
                               equal_nan=True)
    return result


@pytest.mark.parametrize("fn", REDUCTIONS)
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions_match_torch(torch, fn, dim, keepdim):
    args = (2.0, dim) if fn == "norm" else (dim,)
    _same(torch, fn, [DATA], *args, keepdim=keepdim, mask=MASK)


@pytest.mark.parametrize("fn", REDUCTIONS)
def test_no_mask_is_the_plain_reduction(torch, fn):
    _same(torch, fn, [DATA], *((2.0, 1) if fn == "norm" else (1,)))
    _same(torch, fn, [DATA])


@pytest.mark.parametrize("fn", REDUCTIONS + ["argmax", "argmin", "median"])
@pytest.mark.parametrize("mask", [MASK[0, 0], MASK[:, :1], MASK[0], np.array(True),
                                  MASK.astype(np.int64)[0]], ids=["row", "col", "plane", "0d",
                                                                   "int"])
def test_mask_broadcasts_to_the_input(torch, fn, mask):
    dim = 1 if fn in ("argmax", "argmin", "median") else 2
    _same(torch, fn, [DATA], *((1.0, dim) if fn == "norm" else (dim,)), mask=mask)


@pytest.mark.parametrize("fn", ["argmax", "argmin", "median"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_index_and_median_reductions(torch, fn, dim, keepdim):
    # argmax/argmin come back in the input's dtype, as torch.masked returns them
    _same(torch, fn, [DATA], dim, keepdim=keepdim, mask=MASK)


def test_argmax_over_everything(torch):
    _same(torch, "argmax", [DATA], mask=MASK)
    _same(torch, "argmin", [DATA], mask=MASK)
    _same(torch, "argmax", [DATA], 1, mask=MASK, dtype="dtype:int64")


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8", "bool",
                                   "float16", "float64"])
@pytest.mark.parametrize("fn", ["sum", "prod", "amax", "amin", "argmax", "argmin", "mean",
                                "median", "var", "std", "norm", "logsumexp", "cumsum",
                                "cumprod"])
def test_input_dtypes(torch, fn, dtype):
    data = (np.abs(DATA) * 2).astype(dtype)
    if fn in ("cumsum", "cumprod", "median", "argmax", "argmin"):
        args = (1,)
    elif fn == "norm":
        args = (2.0, 1)
    else:
        args = (1,)
    _same(torch, fn, [data], *args, mask=MASK, atol=1e-2 if dtype == "float16" else 1e-6)


@pytest.mark.parametrize("fn", ["sum", "prod", "mean", "amax", "var", "norm"])
def test_dtype_argument(torch, fn):
    args = (2.0, 1) if fn == "norm" else (1,)
    _same(torch, fn, [DATA.astype(np.float32)], *args, dtype="dtype:float64", mask=MASK)


def test_fully_masked_slices_give_the_identity(torch):
    # row [0, 1] is masked out: sum 0, prod 1, amax -inf, amin inf, mean/var nan, norm 0
    for fn in REDUCTIONS + ["argmax", "argmin", "median"]:
        args = (2.0, 2) if fn == "norm" else (2,)
        _same(torch, fn, [DATA], *args, mask=MASK)
    _same(torch, "norm", [DATA], float("-inf"), 2, mask=MASK)
    _same(torch, "amax", [DATA.astype(np.int64)], 2, mask=MASK)  # int64 minimum
    _same(torch, "amin", [DATA.astype(np.uint8)], 2, mask=MASK)  # 255


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "softmin", "cumsum", "cumprod"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_normalizations_match_torch(torch, fn, dim):
    _same(torch, fn, [DATA], dim, mask=MASK)
    _same(torch, fn, [DATA], dim)
    _same(torch, fn, [DATA.astype(np.float32)], dim, mask=MASK[0], dtype="dtype:float64")


@pytest.mark.parametrize("ord", [2.0, 1.0, float("inf"), float("-inf"), 0.5])
@pytest.mark.parametrize("dim", [0, 2])
def test_normalize(torch, ord, dim):
    _same(torch, "normalize", [DATA], ord, dim, mask=MASK)
    _same(torch, "normalize", [DATA], ord, dim, eps=10.0, mask=MASK)
    _same(torch, "normalize", [DATA], ord, dim)


@pytest.mark.parametrize("kwargs", [{"unbiased": False}, {"unbiased": True}, {"correction": 0},
                                    {"correction": 2}, {"correction": 0.5}])
@pytest.mark.parametrize("fn", ["var", "std"])
def test_var_std_corrections(torch, fn, kwargs):
    _same(torch, fn, [DATA], 2, mask=MASK, **kwargs)
    _same(torch, fn, [DATA], None, mask=MASK, **kwargs)


def test_logaddexp(torch):
    other = DATA[::-1].copy()
    _same(torch, "logaddexp", [DATA, other], input_mask=MASK, other_mask=~MASK)
    _same(torch, "logaddexp", [DATA, other], input_mask=MASK)
    _same(torch, "logaddexp", [DATA, other])
    _same(torch, "logaddexp", [DATA.astype(np.int64), other.astype(np.int64)])


@pytest.mark.parametrize("case", [
    ("sum", [DATA], (3,), {}),                          # dim out of range
    ("sum", [DATA], ((0, -3),), {}),                    # repeated dim
    ("amax", [DATA], (-4,), {}),
    ("sum", [DATA], (), {"mask": MASK[None]}),          # mask of more dims than the input
    ("mean", [DATA.astype(np.int64)], (1,), {}),        # no float dtype to infer
    ("mean", [DATA], (1,), {"dtype": "dtype:int64"}),
    ("amax", [DATA.astype(bool)], (1,), {"mask": MASK}),   # no identity for bool
    ("argmin", [DATA.astype(bool)], (1,), {"mask": MASK}),
    ("median", [DATA.astype(np.int64)], (2,), {"mask": MASK}),  # a fully masked-out row
    ("var", [DATA], (1, True), {"correction": 1}),      # both unbiased and correction
    ("cumsum", [DATA.astype(bool)], (1,), {"mask": MASK}),
    ("cumprod", [DATA.astype(bool)], (1,), {"mask": MASK}),
    ("norm", [DATA.astype(np.int64)], (float("-inf"), 1), {"mask": MASK}),
], ids=lambda c: c[0])
def test_errors_match_torch(torch, case):
    fn, arrays, args, kwargs = case
    with pytest.raises(Exception):  # noqa: B017 - any error: _same compares type and text
        _run(torch, fn, arrays, *args, **kwargs)
    _same(torch, fn, arrays, *args, **kwargs)


def test_masked_out_elements_get_no_gradient(torch):
    for lib in (ember, torch):
        x = lib.tensor(DATA, requires_grad=True)
        lib.masked.sum(x, 1, mask=lib.tensor(MASK)).sum().backward()
        if lib is ember:
            ours = x.grad.numpy()
        else:
            np.testing.assert_array_equal(ours, x.grad.numpy())
    np.testing.assert_array_equal(ours, MASK.astype(np.float64))


@pytest.mark.parametrize("fn", ["sum", "prod", "amax", "mean", "norm", "logsumexp", "var"])
def test_gradients_with_fully_masked_slices(torch, fn):
    # the op-table entries avoid fully masked-out slices; here the gradient through the
    # identity is compared with torch's directly (nan/inf where torch has them)
    grads = []
    for lib in (ember, torch):
        x = lib.tensor(DATA, requires_grad=True)
        args = (2.0, 2) if fn == "norm" else (2,)
        out = getattr(lib.masked, fn)(x, *args, mask=lib.tensor(MASK))
        out = lib.where(lib.isfinite(out), out, lib.zeros_like(out))
        (out * lib.arange(out.numel()).reshape(out.shape)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-6, equal_nan=True)


def test_masked_tensor_input(torch):
    """A MaskedTensor brings its own mask; the functions return plain tensors."""
    for fn, args in [("sum", ()), ("sum", (1,)), ("mean", ()), ("amax", (2,)),
                     ("argmin", (1,)), ("prod", (0,)), ("softmax", (2,))]:
        results = []
        for lib in (ember, torch):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mt = lib.masked.masked_tensor(lib.tensor(DATA), lib.tensor(MASK))
                out = getattr(lib.masked, fn)(mt, *args)
            assert type(out) is lib.Tensor
            results.append(out.numpy())
        np.testing.assert_allclose(results[0], results[1], atol=1e-6, equal_nan=True)


def test_module_surface_matches_torch(torch):
    assert sorted(ember.masked.__all__) == sorted(torch.masked.__all__)
    import inspect

    for name in torch.masked.__all__:
        theirs = getattr(torch.masked, name)
        if inspect.isfunction(theirs):
            ours = inspect.signature(getattr(ember.masked, name))
            assert list(ours.parameters) == list(inspect.signature(theirs).parameters), name
            for p in ours.parameters.values():
                q = inspect.signature(theirs).parameters[p.name]
                assert p.kind == q.kind, (name, p.name)
                if q.default is not inspect.Parameter.empty:
                    assert p.default == q.default, (name, p.name)


def test_docstring_examples():
    import doctest

    import ember.masked._ops as ops

    for name in ember.masked.__all__:
        obj = getattr(ember.masked, name)
        assert (obj.__doc__ or "").strip(), name
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for module in (ops, ember.masked, ember.masked.maskedtensor.core,
                   ember.masked.maskedtensor.creation):
        for test in finder.find(module, globs={"ember": ember}):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                runner.run(test)
    assert runner.failures == 0 and runner.tries > 25
