"""Every ``is_*`` attribute of torch.Tensor exists on ember.Tensor and answers as torch's does
for dense CPU tensors (properties stay properties, methods stay methods)."""

import pytest

import ember

torch = pytest.importorskip("torch")

NAMES = sorted(n for n in dir(torch.Tensor) if n.startswith("is_"))


def _answer(t, name):
    attr = getattr(t, name)
    try:
        if callable(attr):
            return ("method", attr(t) if name in ("is_same_size", "is_set_to") else attr())
        return ("property", attr)
    except Exception as e:
        return ("method", f"{type(e).__name__}: {e}")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "bool", "complex64"])
@pytest.mark.parametrize("shape", [(2,), (1,), (0,), ()])
@pytest.mark.parametrize("name", NAMES)
def test_is_predicate_matches_torch(name, shape, dtype):
    t = torch.ones(shape, dtype=getattr(torch, dtype))
    e = ember.ones(shape, dtype=getattr(ember, dtype))
    assert _answer(e, name) == _answer(t, name)


def test_is_same_size_and_nonzero():
    assert ember.zeros(2, 3).is_same_size(ember.ones(2, 3))
    assert not ember.zeros(2).is_same_size(ember.zeros(3))
    assert ember.tensor([0.5]).is_nonzero() and not ember.tensor(0).is_nonzero()


def test_is_sparse_is_a_property_a_subclass_can_override():
    assert isinstance(vars(ember.Tensor)["is_sparse"], property)

    class Special(ember.Tensor):
        @property
        def is_sparse(self):
            return True

    assert Special._make(ember.ones(1)._data).is_sparse is True
    assert ember.ones(1).is_sparse is False
