"""Gaps found by the scientific-ML programs (tests/programs/sci_*.py), compared with torch."""
import pytest

import ember
from ember.func import hessian, jacfwd, jacrev, vmap

torch = pytest.importorskip("torch")


def _both(fn):
    """``fn(lib)`` for ember and torch, as NumPy arrays."""
    return fn(ember).detach().numpy(), fn(torch).detach().numpy()


@pytest.mark.parametrize("outer,inner", [(0, 1), (1, 0)])
def test_nested_jacrev_mixed_partials(outer, inner):
    # the inner transform differentiates one argument; the outer one the other, which the
    # inner call sees as an outer transform's input: its results must keep their graph
    def run(lib):
        def f(x, y):
            return (lib.sin(lib.cat([x, y], -1)) ** 2).sum() * (x * y * y).sum()

        x, y = lib.tensor([0.3, -0.7]), lib.tensor([2.0])
        return lib.func.jacrev(lib.func.jacrev(f, argnums=inner), argnums=outer)(x, y)

    got, want = _both(run)
    assert got.shape == want.shape
    assert abs(want).max() > 0.1
    assert got == pytest.approx(want, rel=1e-5, abs=1e-6)


def test_mixed_partials_of_a_lagrangian_under_vmap():
    # Euler-Lagrange accelerations of a module, as a Lagrangian neural network computes them
    def run(lib):
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Linear(2, 8), lib.nn.Softplus(), lib.nn.Linear(8, 1))
        params = {k: v.detach() for k, v in net.named_parameters()}

        def lagrangian(p, q, qd):
            return lib.func.functional_call(net, p, (lib.cat([q, qd], -1),)).squeeze(-1)

        def acc(p, q, qd):
            hess = lib.func.hessian(lagrangian, argnums=2)(p, q, qd)
            dq = lib.func.jacrev(lagrangian, argnums=1)(p, q, qd)
            mixed = lib.func.jacrev(lib.func.jacrev(lagrangian, argnums=2), argnums=1)(p, q, qd)
            return lib.cat([mixed.flatten(), lib.linalg.pinv(hess) @ (dq - mixed @ qd)])

        q = lib.tensor([[0.3], [0.1], [-0.5]])
        qd = lib.tensor([[-0.2], [0.4], [0.7]])
        return lib.vmap(acc, in_dims=(None, 0, 0))(params, q, qd)

    got, want = _both(run)
    assert abs(want[:, 0]).min() > 1e-3        # the mixed partials are not zero
    assert got == pytest.approx(want, rel=1e-4, abs=1e-6)


def test_jacfwd_of_grad_in_other_argument_and_plain_cases_still_detached():
    def f(x, y):
        return (x * y ** 3).sum()

    x, y = ember.tensor([0.5, 2.0]), ember.tensor([1.5, -1.0])
    mixed = jacfwd(ember.func.grad(f, argnums=1), argnums=0)(x, y)
    assert mixed.flatten().tolist() == pytest.approx([3 * 1.5 ** 2, 0.0, 0.0, 3.0])
    # results of a transform nobody differentiates stay detached
    assert not jacrev(f, argnums=1)(x, y).requires_grad
    assert not hessian(f, argnums=1)(x, y).requires_grad
    assert not vmap(jacrev(f, argnums=1), in_dims=(0, None))(x[:, None], y).requires_grad
