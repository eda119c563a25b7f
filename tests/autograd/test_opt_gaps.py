"""Gaps found by the optimization / second-order programs (tests/programs/opt_*.py).

``a * b`` and ``a / b`` (and matmul, einsum, lerp, fmod/remainder, log_softmax) save only the
operands their backward reads, as PyTorch does, so an operand that is a view of a tensor
written in place afterwards (``y[0] = y[0] * 3``, a column rescaled inside a residual function
under ``jacrev``, ``h = y @ W_fixed`` then ``y.mul_(2)``) no longer trips the saved-tensor
version check when its partner needs no gradient.
"""

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")


def _scale_first(lib, y, w):
    y[0] = y[0] * 3


def _scalar_first(lib, y, w):
    y[0] = 3 * y[0]


def _times_constant_tensor(lib, y, w):
    y[:2] = y[:2] * w[:2]


def _divide_by_number(lib, y, w):
    y[0] = y[0] / 3


def _divide_by_constant_tensor(lib, y, w):
    y[:2] = y[:2] / w[:2]


def _saved_product_then_inplace(lib, y, w):
    z = w * y
    y.add_(1)
    y.mul_(z)


# these read the changed operand in backward: PyTorch refuses them, and so must ember
def _denominator_changed(lib, y, w):
    y[1:] = w[1:] / y[1:]


def _both_need_grad(lib, y, w):
    a = y[1]
    y[0] = a * a


ALLOWED = [_scale_first, _scalar_first, _times_constant_tensor, _divide_by_number,
           _divide_by_constant_tensor, _saved_product_then_inplace]
REFUSED = [_denominator_changed, _both_need_grad]


def _run(lib, body):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = lib.tensor([2.0, 5.0, 7.0])
    y = x.clone()
    body(lib, y, w)
    (y * lib.tensor([1.0, -2.0, 0.5])).sum().backward()
    return x.grad


@pytest.mark.parametrize("body", ALLOWED, ids=lambda f: f.__name__)
def test_inplace_after_mul_div_of_a_view_as_torch(body):
    expected = _run(torch, body)
    got = _run(ember, body)
    assert got.tolist() == pytest.approx(expected.tolist(), rel=1e-6)


@pytest.mark.parametrize("body", REFUSED, ids=lambda f: f.__name__)
def test_inplace_change_of_an_operand_backward_reads_still_raises(body):
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        _run(torch, body)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        _run(ember, body)


def _weighted_residuals(lib):
    t = lib.linspace(0, 2, 6)

    def residuals(theta):
        r = theta[0] * lib.exp(-theta[1] * t) - 1.0
        r[:3] = r[:3] * 2.0  # the first points weigh double: rescaled in place
        return r

    return residuals


def test_jacrev_and_jacobian_of_an_inplace_weighted_residual():
    theta = [1.5, 0.7]
    f_t, f_e = _weighted_residuals(torch), _weighted_residuals(ember)
    expected = torch.func.jacrev(f_t)(torch.tensor(theta))
    got = ember.func.jacrev(f_e)(ember.tensor(theta))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5)
    got = ember.autograd.functional.jacobian(f_e, ember.tensor(theta))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5)


def test_mul_div_double_backward_with_one_constant_operand():
    """Second order still works when only one operand is saved (Newton-style Hessians)."""
    def f(lib, x):
        c = lib.tensor([2.0, -1.0, 0.5])
        return ((x * c) ** 2 / c.abs()).sum() + (x / 3).pow(3).sum()

    x_t = torch.tensor([0.3, -1.2, 2.0], requires_grad=True)
    x_e = ember.tensor([0.3, -1.2, 2.0], requires_grad=True)
    expected = torch.autograd.functional.hessian(lambda x: f(torch, x), x_t)
    got = ember.autograd.functional.hessian(lambda x: f(ember, x), x_e)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


# The same rule for the other ops whose backward reads an operand only for its partner's
# gradient: a matrix product with a fixed matrix, einsum/tensordot/kron/cross, lerp's ends,
# fmod/remainder, and log_softmax (which keeps its output, never its input).
def _constant_matrix(lib):
    return lib.tensor([[2.0, 0.5, 1.5], [1.0, 3.0, 0.25], [0.7, 0.2, 1.1]])


PARTNER_OPS = {
    "mm_right": lambda lib, y: y @ _constant_matrix(lib),
    "mm_left": lambda lib, y: _constant_matrix(lib) @ y,
    "matmul_vector": lambda lib, y: y @ lib.tensor([0.5, 1.5, 2.0]),
    "mv": lambda lib, y: lib.mv(_constant_matrix(lib), y[0]),
    "dot": lambda lib, y: lib.dot(y[0], lib.tensor([0.5, 1.5, 2.0])),
    "bmm": lambda lib, y: lib.bmm(y[None], _constant_matrix(lib)[None]),
    "addmm": lambda lib, y: lib.addmm(lib.ones(3), y, _constant_matrix(lib)),
    "baddbmm": lambda lib, y: lib.baddbmm(_constant_matrix(lib)[None], y[None],
                                          _constant_matrix(lib)[None]),
    "einsum": lambda lib, y: lib.einsum("ij,jk->ik", y, _constant_matrix(lib)),
    "tensordot": lambda lib, y: lib.tensordot(y, _constant_matrix(lib), dims=1),
    "kron": lambda lib, y: lib.kron(y, _constant_matrix(lib)),
    "cross": lambda lib, y: lib.linalg.cross(y, _constant_matrix(lib)),
    "lerp_start": lambda lib, y: lib.lerp(y, _constant_matrix(lib), 0.3),
    "fmod": lambda lib, y: lib.fmod(y, 0.7),
    "remainder": lambda lib, y: lib.remainder(y, _constant_matrix(lib)),
    "log_softmax": lambda lib, y: lib.log_softmax(y, 1),
}


def _run_partner(lib, op):
    x = lib.tensor([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0], [2.0, 1.0, 0.3]], requires_grad=True)
    y = x.clone()
    z = op(lib, y)
    y.mul_(2)
    (z * lib.arange(z.numel()).reshape(z.shape).float().cos()).sum().add(y.sum()).backward()
    return x.grad


@pytest.mark.parametrize("name", sorted(PARTNER_OPS))
def test_inplace_change_of_an_operand_only_its_partner_reads(name):
    op = PARTNER_OPS[name]
    expected = _run_partner(torch, op)
    got = _run_partner(ember, op)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_lerp_weight_is_still_checked_as_torch():
    def run(lib):
        w = lib.tensor([0.2, 0.7], requires_grad=True)
        y = w.clone()
        z = lib.lerp(lib.zeros(2), lib.ones(2), y)
        y.mul_(2)
        z.sum().backward()

    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(torch)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(ember)


@pytest.mark.parametrize("which", ["matmul", "einsum", "log_softmax"])
def test_second_order_through_ops_saving_less(which):
    """Hessians through the changed ops (one operand constant) still match torch."""
    def f(lib, x):
        w = _constant_matrix(lib)
        if which == "matmul":
            return ((x.reshape(1, 3) @ w).tanh() @ w.T).pow(2).sum()
        if which == "einsum":
            return lib.einsum("i,ij,j->", x.sin(), w, x)
        return -lib.log_softmax(x * lib.tensor([1.0, 2.0, -0.5]), 0)[1]

    x0 = [0.3, -1.2, 0.8]
    expected = torch.autograd.functional.hessian(lambda x: f(torch, x), torch.tensor(x0))
    got = ember.autograd.functional.hessian(lambda x: f(ember, x), ember.tensor(x0))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
