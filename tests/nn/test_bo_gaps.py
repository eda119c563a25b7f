"""Gaps found by the black-box-optimisation programs (tests/programs/bo_*), compared with
PyTorch: ``nn.utils.vector_to_parameters`` copied into the parameters' old dtype, so they
neither took the vector's dtype nor shared its memory, and a vector too short for a parameter
raised NumPy's ValueError instead of ``view``'s RuntimeError."""

import pytest

import ember

torch = pytest.importorskip("torch")


def _load(lib, dtype):
    lin = lib.nn.Linear(2, 2)
    vec = lib.arange(6, dtype=dtype)
    lib.nn.utils.vector_to_parameters(vec, lin.parameters())
    vec[0] = 100.0  # the parameters are views of vec
    return lin, vec


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_vector_to_parameters_takes_dtype_and_shares_memory(dtype):
    e_lin, _ = _load(ember, getattr(ember, dtype))
    t_lin, _ = _load(torch, getattr(torch, dtype))
    for e, t in zip(e_lin.parameters(), t_lin.parameters()):
        assert str(e.dtype) == str(t.dtype)
        assert e.tolist() == t.tolist()
        assert type(e).__name__ == type(t).__name__ == "Parameter"
        assert e.requires_grad and t.requires_grad and e.is_leaf


@pytest.mark.parametrize("n", [3, 5])
def test_vector_to_parameters_short_vector_raises_runtime_error(n):
    msgs = []
    for lib in (ember, torch):
        with pytest.raises(RuntimeError) as info:
            lib.nn.utils.vector_to_parameters(lib.arange(float(n)), lib.nn.Linear(2, 2).parameters())
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


def test_vector_to_parameters_keeps_grad_and_autograd_out():
    lins = []
    for lib in (ember, torch):
        lin = lib.nn.Linear(2, 1)
        lin(lib.ones(1, 2)).sum().backward()
        x = lib.ones(3, requires_grad=True)
        lib.nn.utils.vector_to_parameters(x * 2, lin.parameters())
        lins.append((lin.weight.grad.tolist(), lin.weight.grad_fn is None, lin.weight.tolist()))
    assert lins[0] == lins[1]
