"""The ember.func namespace: torch.func's names, each documented with an example, loaded
only on first use; functionalize."""

import inspect

import numpy as np
import pytest

import ember
import ember.func


def test_names_match_torch_func(torch):
    for name in ember.func.__all__:
        assert hasattr(torch.func, name), name
    wanted = {"vmap", "grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd",
              "hessian", "functional_call", "stack_module_state", "functionalize"}
    assert wanted <= set(ember.func.__all__)


@pytest.mark.parametrize("name", ember.func.__all__)
def test_public_names_have_docstrings_with_an_example(name):
    doc = inspect.getdoc(getattr(ember.func, name))
    assert doc and "Example" in doc, name


@pytest.mark.parametrize("name", ["grad", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap",
                                  "functional_call", "stack_module_state", "grad_and_value"])
def test_signatures_match_torch(name, torch):
    ours = inspect.signature(getattr(ember.func, name))
    theirs = inspect.signature(getattr(torch.func, name))
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.parameters.values()]


def test_functionalize_returns_the_same_results(torch):
    def f(x):
        y = x.clone()
        y.add_(1)
        return y * 2
    x = np.arange(3.0)
    np.testing.assert_array_equal(ember.func.functionalize(f)(ember.tensor(x)).numpy(),
                                  torch.func.functionalize(f)(torch.tensor(x)).numpy())
    with pytest.raises(RuntimeError, match="invalid argument"):
        ember.func.functionalize(f, remove="views")


def test_in_place_ops_inside_vmap_write_through_to_the_input(torch):
    outs = []
    for T in (ember, torch):
        x = T.tensor(np.arange(6.0).reshape(2, 3))
        out = T.func.vmap(lambda r: r.mul_(2))(x)
        outs.append((out.numpy().copy(), x.numpy().copy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
