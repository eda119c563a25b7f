"""A 0-d tensor computed from a traced input and used as an index (``x[i]``) is a graph break:
ember reads its value as a Python int, which a captured graph would otherwise hold as the
example's constant and replay for every other value (a silent wrong answer)."""

import warnings

import pytest

import ember


def test_capture_refuses_a_traced_index_naming_it():
    x = ember.arange(12.0).reshape(3, 4)
    with pytest.raises(ember.fx.GraphBreak, match=r"indexing with a 0-d Tensor \(x\[i\]\)"):
        ember.fx.capture(lambda x, i: x[i], x, ember.tensor(1))


def test_an_untraced_index_tensor_is_still_captured():
    x, i = ember.arange(12.0).reshape(3, 4), ember.tensor(1)
    graph = ember.fx.capture(lambda x: x[i] * 2, x)
    assert graph is not None
    assert ember.equal(ember.compile(lambda x: x[i] * 2)(x), x[1] * 2)


def test_compiled_function_indexes_with_each_calls_value():
    x = ember.arange(12.0).reshape(3, 4)
    f = ember.compile(lambda x, i: x[i] + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the graph break's one warning
        results = [f(x, ember.tensor(k)) for k in (0, 2, 1, 2)]
    for k, r in zip((0, 2, 1, 2), results):
        assert ember.equal(r, x[k] + 1)


def test_vmap_indexes_each_element_with_its_own_value():
    # the first and last indices agree, so comparing two captures cannot tell them apart
    xs = ember.arange(9 * 5 * 4.0).reshape(9, 5, 4)
    idx = ember.tensor([0, 2, 3, 4, 1, 1, 2, 3, 0])
    out = ember.func.vmap(lambda x, i: x[i])(xs, idx)
    expected = ember.stack([xs[k][idx[k]] for k in range(9)])
    assert ember.equal(out, expected)
