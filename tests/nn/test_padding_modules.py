"""Padding layers (nn.modules.padding) against PyTorch: repr, class path and base, values and
gradients on every input rank, and the errors for ranks a layer does not take."""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")

NAMES = [f"{kind}Pad{n}d" for kind in ("Constant", "Zero", "Reflection", "Replication",
                                        "Circular") for n in (1, 2, 3)]


def _build(lib, name, padding):
    cls = getattr(lib.nn, name)
    return cls(padding, 2.5) if name.startswith("Constant") else cls(padding)


@pytest.mark.parametrize("name", NAMES)
def test_class_repr_and_base_as_torch(name):
    for padding in (1, tuple(range(1, 2 * int(name[-2]) + 1))):
        e, t = _build(ember, name, padding), _build(torch, name, padding)
        assert repr(e) == repr(t)
        assert e.padding == t.padding
    assert type(e).__module__ == "ember.nn.modules.padding"
    assert getattr(ember.nn.modules.padding, name) is type(e)
    assert type(e).__mro__[1].__name__ == type(t).__mro__[1].__name__


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("rank", [1, 2, 3, 4, 5, 6])
def test_values_gradients_and_rank_errors_as_torch(name, rank):
    n = int(name[-2])
    padding = tuple(range(1, 2 * n + 1)) if not name.startswith(("Reflection", )) else \
        (1,) * (2 * n)
    x = np.random.default_rng(rank).standard_normal((2,) * (rank - 1) + (3,))
    results = []
    for lib in (torch, ember):
        t = lib.tensor(x.astype(np.float32), requires_grad=True)
        try:
            y = _build(lib, name, padding)(t)
            (y * y).sum().backward()
            results.append((y.detach().numpy(), t.grad.numpy()))
        except (RuntimeError, ValueError, NotImplementedError, IndexError) as err:
            results.append(type(err).__name__)
    if isinstance(results[0], str) or isinstance(results[1], str):
        assert results[0] == results[1]
    else:
        np.testing.assert_allclose(results[1][0], results[0][0], atol=1e-6)
        np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-5, atol=1e-5)


def test_bad_padding_length_is_refused():
    with pytest.raises(ValueError, match="tuple of 4 ints"):
        ember.nn.ReflectionPad2d((1, 2, 3))
