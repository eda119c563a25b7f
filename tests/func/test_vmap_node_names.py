"""vmap's batched path leaves the graph PyTorch's vmap leaves: no extra permute where the
batch dim already sits where in_dims/out_dims put it, and a whole-element reduction named as
the dim overload (SumBackward1), as PyTorch's batching rules call it."""

import pytest

import ember

torch = pytest.importorskip("torch")

CASES = {
    "mul": (lambda L: (lambda t: t * 2), {}),
    "sum": (lambda L: (lambda t: t.sum()), {}),
    "mean": (lambda L: (lambda t: t.mean()), {}),
    "in_dims=1": (lambda L: (lambda t: t * 2), {"in_dims": 1}),
    "out_dims=1": (lambda L: (lambda t: t * 2), {"out_dims": 1}),
    "sum dim": (lambda L: (lambda t: t.sum(0)), {}),
}


@pytest.mark.parametrize("name", CASES)
def test_batched_output_node_is_torchs(name):
    make, options = CASES[name]
    shape = (3, 9) if options.get("in_dims") == 1 else (9, 3)
    names = []
    for lib in (torch, ember):
        x = lib.ones(shape, requires_grad=True)
        out = lib.func.vmap(make(lib), **options)(x)
        names.append(type(out.grad_fn).__name__)
    assert names[1] == names[0]
