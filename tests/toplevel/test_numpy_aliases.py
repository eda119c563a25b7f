"""NumPy's ``axis=``/``keepdims=`` keywords, accepted exactly where PyTorch accepts them.

PyTorch's argument parser takes ``axis`` for ``dim`` and ``keepdims`` for ``keepdim`` in every
native function and Tensor method (``x.sum(axis=1)``, the profiler recipe's
``out.sum(axis=1)``); functions PyTorch writes in Python (``Tensor.norm``, ``Tensor.split``,
``F.softmax``) raise TypeError. Each case runs in both libraries; results and errors must agree.
"""

import numpy as np
import pytest

import ember
from ember._numpy_aliases import with_numpy_aliases

torch = pytest.importorskip("torch")

DATA = np.arange(12, dtype=np.float32).reshape(3, 4) / 7 - 0.6

# (label, call(lib, x)): the same call in either library
CASES = [
    ("Tensor.sum axis", lambda lib, x: x.sum(axis=1)),
    ("Tensor.sum axis keepdims", lambda lib, x: x.sum(axis=0, keepdims=True)),
    ("Tensor.mean axis", lambda lib, x: x.mean(axis=1)),
    ("Tensor.std axis", lambda lib, x: x.std(axis=0)),
    ("Tensor.amax keepdims", lambda lib, x: x.amax(1, keepdims=True)),
    ("Tensor.max axis", lambda lib, x: x.max(axis=1).values),
    ("Tensor.argmax axis", lambda lib, x: x.argmax(axis=1)),
    ("Tensor.cumsum axis", lambda lib, x: x.cumsum(axis=0)),
    ("Tensor.softmax axis", lambda lib, x: x.softmax(axis=1)),
    ("Tensor.logsumexp axis", lambda lib, x: x.logsumexp(axis=1, keepdims=True)),
    ("Tensor.unsqueeze axis", lambda lib, x: x.unsqueeze(axis=0)),
    ("Tensor.gather axis", lambda lib, x: x.gather(axis=1, index=lib.tensor([[0], [1], [2]]))),
    ("torch.sum axis", lambda lib, x: lib.sum(x, axis=0)),
    ("torch.mean keepdims", lambda lib, x: lib.mean(x, axis=1, keepdims=True)),
    ("torch.cat axis", lambda lib, x: lib.cat([x, x], axis=0)),
    ("torch.stack axis", lambda lib, x: lib.stack([x, x], axis=1)),
    ("torch.argmax axis", lambda lib, x: lib.argmax(x, axis=0)),
]

# calls PyTorch refuses (Python functions in torch, or both names given)
REFUSED = [
    ("Tensor.norm axis", lambda lib, x: x.norm(axis=1)),
    ("Tensor.split axis", lambda lib, x: x.split(2, axis=1)),
    ("F.softmax axis", lambda lib, x: lib.nn.functional.softmax(x, axis=1)),
    ("dim and axis", lambda lib, x: x.sum(dim=0, axis=1)),
    ("keepdim and keepdims", lambda lib, x: x.sum(0, keepdim=True, keepdims=True)),
]


@pytest.mark.parametrize("label,call", CASES, ids=[c[0] for c in CASES])
def test_numpy_alias_matches_torch(label, call):
    expected = call(torch, torch.from_numpy(DATA.copy()))
    got = call(ember, ember.from_numpy(DATA.copy()))
    assert tuple(got.shape) == tuple(expected.shape)
    assert str(got.dtype).split(".")[1] == str(expected.dtype).split(".")[1]
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("label,call", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_where_torch_refuses(label, call):
    with pytest.raises(TypeError) as torch_err:
        call(torch, torch.from_numpy(DATA.copy()))
    with pytest.raises(TypeError) as ember_err:
        call(ember, ember.from_numpy(DATA.copy()))
    if label == "dim and axis":  # PyTorch's parser names the alias as the unexpected keyword
        assert str(ember_err.value) == str(torch_err.value)


def test_alias_gradient_flows():
    x = ember.tensor(DATA, requires_grad=True)
    x.mean(axis=1, keepdims=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 4), 0.25, np.float32))


def test_functions_without_dim_are_not_wrapped():
    def no_dim(x, other):
        return x

    assert with_numpy_aliases(no_dim) is no_dim
    assert ember.Tensor.add is ember._ops.pointwise.arithmetic.add  # hot ops keep no wrapper
