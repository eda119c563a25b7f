"""Gaps found while writing the implicit / physics-structured layer programs
(tests/programs/deq_*.py), each checked against PyTorch."""

import pytest
import torch

import ember


def _error(lib, fn_name, shape, dtype):
    a = lib.ones(shape, dtype=getattr(lib, dtype))
    with pytest.raises(Exception) as info:
        getattr(lib.linalg, fn_name)(a)
    return type(info.value).__name__, str(info.value)


@pytest.mark.parametrize("shape,dtype", [((2, 3), "float32"), ((3,), "float32"),
                                         ((3, 3), "int64")])
@pytest.mark.parametrize("fn_name", ["eigvalsh", "eigh"])
def test_eigvalsh_shape_errors_name_eigh_as_torch(fn_name, shape, dtype):
    """torch.linalg.eigvalsh runs eigh's checks and its messages say ``linalg.eigh``."""
    assert _error(ember, fn_name, shape, dtype) == _error(torch, fn_name, shape, dtype)


def _lnn_hessians(lib, argnums, in_dims, transform):
    """Per-sample second derivatives of a small MLP energy, and their gradient w.r.t. the
    weights (the Lagrangian-network training step)."""
    gen = torch.Generator().manual_seed(0)
    w1 = torch.randn(3, 16, generator=gen, dtype=torch.float64)
    w2 = torch.randn(16, generator=gen, dtype=torch.float64)
    states = torch.randn(10, 3, generator=gen, dtype=torch.float64)
    scale = torch.randn(10, generator=gen, dtype=torch.float64)
    params = {"w1": lib.tensor(w1.numpy()).requires_grad_(),
              "w2": lib.tensor(w2.numpy()).requires_grad_()}
    states, scale = lib.tensor(states.numpy()), lib.tensor(scale.numpy())
    if in_dims[2] is None:
        scale = scale[0]  # one scale shared by every sample

    def energy(p, s, c):
        return c * (lib.nn.functional.softplus(s @ p["w1"]) @ p["w2"]) + (s ** 3).sum()

    fn = transform(lib)(energy, argnums=argnums)
    out = lib.func.vmap(fn, in_dims=in_dims)(params, states, scale)
    flat = [t for t in (out if isinstance(out, tuple) else (out,))]
    flat = [t for item in flat for t in (item if isinstance(item, tuple) else (item,))]
    total = sum((t * t).sum() for t in flat)
    grads = lib.autograd.grad(total, [params["w1"], params["w2"]], allow_unused=True)
    return [t.detach().numpy() for t in flat], [None if g is None else g.numpy() for g in grads]


TRANSFORMS = {
    "hessian": lambda lib: lib.func.hessian,
    "jacrev_jacrev": lambda lib: lambda f, argnums: lib.func.jacrev(
        lib.func.jacrev(f, argnums=argnums), argnums=argnums),
    "jacfwd_jacrev": lambda lib: lambda f, argnums: lib.func.jacfwd(
        lib.func.jacrev(f, argnums=argnums), argnums=argnums),
}


@pytest.mark.parametrize("transform", list(TRANSFORMS))
@pytest.mark.parametrize("argnums,in_dims", [(1, (None, 0, 0)), ((1, 2), (None, 0, 0)),
                                             (1, (None, 0, None))])
def test_vmap_of_hessian_matches_torch_in_one_batched_run(transform, argnums, in_dims):
    """vmap(hessian(f)) over per-sample states (a Lagrangian network's mass matrix) matches
    torch, gradients to the weights included, and runs batched instead of once per element
    and row (64 states took 0.16 s, now 0.009 s)."""
    from ember.func import _batching

    call = TRANSFORMS[transform]
    expected = _lnn_hessians(torch, argnums, in_dims, call)
    before = dict(_batching.STATS)
    got = _lnn_hessians(ember, argnums, in_dims, call)
    assert _batching.STATS["fallback"] == before["fallback"]
    for g, e in zip(got[0] + got[1], expected[0] + expected[1]):
        assert (g is None) == (e is None)
        if e is not None:
            torch.testing.assert_close(torch.from_numpy(g), torch.from_numpy(e))


def test_vmap_trace_of_per_sample_jacobians_is_batched_as_torch():
    """The exact divergence of a vector field, vmap(trace)(per-sample Jacobians), has torch's
    value and node (SumBackward1: its batching rule sums the diagonal), not the loop's
    StackBackward0."""
    from ember.func import _batching

    gen = torch.Generator().manual_seed(0)
    w = torch.randn(9, 3, 3, generator=gen, requires_grad=True)
    results = []
    for lib, jac in ((torch, w), (ember, ember.tensor(w.detach().numpy(), requires_grad=True))):
        before = _batching.STATS["fallback"]
        div = lib.vmap(lib.trace)(jac * 2)
        (g,) = lib.autograd.grad(div.sum(), jac)
        results.append((type(div.grad_fn).__name__, div.detach().numpy(), g.numpy()))
        if lib is ember:
            assert _batching.STATS["fallback"] == before
    assert results[1][0] == results[0][0]
    for got, expected in zip(results[1][1:], results[0][1:]):
        torch.testing.assert_close(torch.from_numpy(got), torch.from_numpy(expected))


def _signs(t):
    """The sign bit of every entry (a -0.0 prints as ``-0.``) and the values."""
    t = t.detach()
    return t.numpy().__array_namespace__().signbit(t.numpy()).tolist(), t.numpy()


def _assert_same(got, expected):
    """Same sign bits everywhere, values equal to float32 rounding (libm's last bit)."""
    assert [g[0] for g in got] == [e[0] for e in expected]
    for g, e in zip(got, expected):
        torch.testing.assert_close(torch.from_numpy(g[1]), torch.from_numpy(e[1]))


FORWARD_CASES = {
    "sin": (lambda lib: lib.sin, [(0.3, -2.0, 2.5)]),
    "cos mixed signs": (lambda lib: lib.cos, [(1.0, 2.0, -3.0, 0.5)]),
    "two inputs": (lambda lib: (lambda a, b: a.tanh() * b.exp()), [(0.2, -1.5), (-0.7, 2.0)]),
    "wide": (lambda lib: (lambda a: lib.stack([a.sin().sum(), -a.cos().prod()])),
             [(0.4, 1.9, -2.2)]),
}


@pytest.mark.parametrize("name", list(FORWARD_CASES))
def test_jacfwd_zeros_carry_forward_modes_signs(name):
    """torch.func.jacfwd builds the Jacobian column by column (J @ e_j): the structural zeros
    of an elementwise map are cos(x_i) * 0, signed by the row; ember took rows
    (e_i^T J, signed by the column) whenever the output was no larger than the input."""
    make, values = FORWARD_CASES[name]
    results = []
    for lib in (torch, ember):
        args = [lib.tensor(v) for v in values]
        jac = lib.func.jacfwd(make(lib), argnums=tuple(range(len(args))))(*args)
        results.append([_signs(j) for j in jac])
    _assert_same(results[1], results[0])


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("name", list(FORWARD_CASES))
def test_functional_jacobian_forward_mode_zeros_carry_forward_modes_signs(name, requires_grad):
    """torch.autograd.functional.jacobian(strategy="forward-mode", vectorize=True) has
    forward mode's signed zeros too (ember computed it by reverse-mode rows)."""
    make, values = FORWARD_CASES[name]
    results = []
    for lib in (torch, ember):
        args = tuple(lib.tensor(v, requires_grad=requires_grad) for v in values)
        jac = lib.autograd.functional.jacobian(make(lib), args, vectorize=True,
                                               strategy="forward-mode")
        flat = [j for row in (jac if isinstance(jac, (tuple, list)) else (jac,))
                for j in (row if isinstance(row, (tuple, list)) else (row,))]
        results.append(([_signs(j) for j in flat], [j.requires_grad for j in flat]))
    assert results[1][1] == results[0][1]
    _assert_same(results[1][0], results[0][0])
