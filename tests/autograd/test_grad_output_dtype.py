"""A seed gradient of another dtype is cast to its output's dtype, as PyTorch's engine does
(a float64 ``grad_outputs`` for a float32 output gave float64 gradients); complex against real
is PyTorch's error."""

import pytest

import ember


@pytest.mark.parametrize("seed", ["float64", "float16", "int64", "bfloat16"])
@pytest.mark.parametrize("how", ["grad", "backward"])
def test_seed_gradient_takes_the_output_dtype(torch, seed, how):
    got = []
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * x
        g = lib.tensor([1, 2, 3]).to(getattr(lib, seed))
        if how == "grad":
            (dx,) = lib.autograd.grad(y, x, g)
        else:
            y.backward(g)
            dx = x.grad
        got.append((str(dx.dtype), dx.tolist()))
    assert got[0] == got[1]


@pytest.mark.parametrize("out_dtype,seed_dtype", [("float32", "complex64"),
                                                  ("complex64", "float32")])
def test_complex_against_real_seed_raises_as_torch(torch, out_dtype, seed_dtype):
    msgs = []
    for lib in (ember, torch):
        x = lib.ones(3, dtype=getattr(lib, out_dtype), requires_grad=True)
        with pytest.raises(RuntimeError) as info:
            lib.autograd.grad(x * 2, x, lib.ones(3, dtype=getattr(lib, seed_dtype)))
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]
