"""The CPU legacy tensor types (``torch.FloatTensor`` …) are types, as in PyTorch: old GAN code
(PyTorch-GAN style ``Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor``) both
calls them and tests ``isinstance(x, Tensor)``; each compared with torch."""

import pytest

import ember

torch = pytest.importorskip("torch")

NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor",
         "IntTensor", "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]
DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
          "uint8", "bool"]


def _checks(L, name):
    T = getattr(L, name)
    out = []
    for dt in DTYPES:
        x = L.zeros(2, dtype=getattr(L, dt))
        out.append(isinstance(x, T))
    out.append(isinstance(L.nn.Parameter(L.zeros(2)), T))
    out.append(isinstance(L.zeros(2).to_sparse(), T))
    out.append(isinstance(3.0, T))
    out.append(isinstance(L.zeros(2), (T, L.DoubleTensor)))
    out.append(issubclass(T, L.Tensor))
    out.append((T.__name__, repr(T), str(T.dtype), T.is_cuda))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_legacy_type_isinstance_matches_torch(name):
    assert _checks(ember, name) == _checks(torch, name)


def test_legacy_type_still_constructs_and_casts():
    x = ember.FloatTensor(2, 3).fill_(1.0)
    assert x.shape == (2, 3) and x.dtype is ember.float32
    assert ember.LongTensor([1, 2]).tolist() == [1, 2]
    assert ember.ones(2).type(ember.DoubleTensor).dtype is ember.float64
    assert isinstance(ember.FloatTensor([1.0]), ember.FloatTensor)


def _from_tensor(L, ctor, dtype, requires_grad=False):
    """A legacy constructor given a tensor: the outcome, and whether it aliases the data."""
    src = L.ones(2, dtype=getattr(L, dtype), requires_grad=requires_grad)
    try:
        out = getattr(L, ctor)(src)
    except TypeError as err:
        return "TypeError: " + str(err)
    with L.no_grad():
        out[0] = 5
    return (str(out.dtype), src.tolist(), type(out).__name__, out.requires_grad,
            out.grad_fn.name() if out.grad_fn is not None else None)


@pytest.mark.parametrize("ctor", ["Tensor", "FloatTensor", "DoubleTensor", "LongTensor"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "float16"])
def test_legacy_constructor_of_a_tensor_matches_torch(ctor, dtype):
    assert _from_tensor(ember, ctor, dtype) == _from_tensor(torch, ctor, dtype)


def test_legacy_constructor_alias_passes_gradient():
    for L in (ember, torch):
        a = L.ones(2, requires_grad=True)
        b = L.FloatTensor(a)
        assert b.grad_fn.name() == "AliasBackward0"
        (b * 3).sum().backward()
        assert a.grad.tolist() == [3.0, 3.0]
        p = L.nn.Parameter(L.ones(2))
        assert type(L.FloatTensor(p)).__name__ == "Tensor"
