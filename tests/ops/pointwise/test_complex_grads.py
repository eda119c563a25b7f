"""Complex gradients of holomorphic (and a few non-holomorphic) ops against PyTorch's convention:
for a real loss the gradient of a complex input is the conjugate Wirtinger derivative, so a
holomorphic ``f`` has ``grad_in = grad_out * conj(f'(z))``. Real inputs are checked too, so the
fix for complex dtypes cannot break them."""

import numpy as np
import pytest

import ember

_RNG = np.random.default_rng(1234)
# Right half-plane, away from zero and from the negative real axis (log/sqrt/pow/angle cuts).
_Z = (0.5 + _RNG.random((3, 4))) + 1j * (_RNG.random((3, 4)) - 0.5)
_Y = (0.5 + _RNG.random((4, 2))) + 1j * (_RNG.random((4, 2)) - 0.5)
_W = np.complex128(0.6 - 0.8j)

# name -> (function of the input(s), extra input or None)
_OPS = {
    "exp": (lambda z: z.exp(), None),
    "log": (lambda z: z.log(), None),
    "sin": (lambda z: z.sin(), None),
    "sqrt": (lambda z: z.sqrt(), None),
    "pow_scalar": (lambda z: z.pow(3), None),
    "pow_tensor": (lambda z: z.pow(z), None),
    "reciprocal": (lambda z: z.reciprocal(), None),
    "tanh": (lambda z: z.tanh(), None),
    "sigmoid": (lambda z: z.sigmoid(), None),
    "prod": (lambda z: z.prod(), None),
    "prod_dim": (lambda z: z.prod(1), None),
    # an exact zero in row 0: the backward's product-of-the-others path
    "prod_through_zero": (lambda z: (z - z[0, 0]).prod(1), None),
    "matmul": (lambda z, y: z @ y, _Y),
    "dot": (lambda z, y: z.reshape(-1)[:4].dot(y[:, 0]), _Y),
    "vdot": (lambda z, y: z.reshape(-1)[:4].vdot(y[:, 0]), _Y),
    "angle": (lambda z: z.angle(), None),
    # complex alpha/beta scale gradients by their conjugates
    "addmm": (lambda z, y: z.addmm(z, y @ y.T, **_scales(z)), _Y),
    "baddbmm": (lambda z, y: z[None].baddbmm(z[None], (y @ y.T)[None], **_scales(z)), _Y),
    "einsum": (lambda z, y: _lib(z).einsum("ij,jk,ki->i", z, y, y.T @ z.T), _Y),
    "tensordot": (lambda z, y: _lib(z).tensordot(z, y, 1), _Y),
    "kron": (lambda z, y: _lib(z).kron(z, y), _Y),
    "inner": (lambda z, y: _lib(z).inner(z, y.T), _Y),
    "cumprod": (lambda z: z.cumprod(1), None),
    "cumprod_through_zero": (lambda z: (z - z[0, 1]).cumprod(1), None),
    "logsumexp": (lambda z: z.logsumexp(1), None),
    "det": (lambda z: _lib(z).linalg.det(_square(z)), None),
    "det_singular": (lambda z: _lib(z).linalg.det(_square(z)[:, :1] * z[:1, :3]), None),
    "slogdet_logabs": (lambda z: _lib(z).linalg.slogdet(_square(z))[1], None),
    "inv": (lambda z: _lib(z).linalg.inv(_square(z)), None),
    "solve": (lambda z: _lib(z).linalg.solve(_square(z), z), None),
    "cholesky": (lambda z: _lib(z).linalg.cholesky(_square(z) @ _square(z).mH), None),
    "eigvalsh": (lambda z: _lib(z).linalg.eigvalsh(_square(z) + _square(z).mH), None),
    # |V| does not depend on each eigenvector's phase, so torch and ember agree on it
    "eigh_vectors": (lambda z: _lib(z).linalg.eigh(_square(z) + _square(z).mH)[1].abs(), None),
    "vector_norm_1": (lambda z: _lib(z).linalg.vector_norm(z, 1, dim=1), None),
    "vector_norm_3": (lambda z: _lib(z).linalg.vector_norm(z, 3), None),
    "vector_norm_half": (lambda z: _lib(z).linalg.vector_norm(z, 0.5, dim=0), None),
    "vector_norm_inf": (lambda z: _lib(z).linalg.vector_norm(z, float("inf"), dim=1), None),
    "linear": (lambda z, y: _lib(z).nn.functional.linear(z, y.T, y[0]), _Y),
    "linear_3d": (lambda z, y: _lib(z).nn.functional.linear(z[None], y.T), _Y),
    "lerp_scalar": (lambda z: z.lerp(z * z, 0.3), None),
    "lerp_tensor": (lambda z, y: z[:, :2].lerp(z[:, 2:], y[1:]), _Y),
}


def _square(z):
    """A well-conditioned 3 x 3 matrix made from ``z``."""
    return z[:, :3] + 2 * _lib(z).eye(3, dtype=z.dtype)


# these backwards compute in NumPy (through zeros, singular matrices, or eigh's constant
# eigenvectors), so their gradients are first order only
_FIRST_ORDER_ONLY = {"prod_through_zero", "cumprod_through_zero", "det_singular", "eigvalsh",
                     "eigh_vectors"}


def _lib(t):
    return ember if isinstance(t, ember.Tensor) else __import__("torch")


def _scales(z):
    return dict(beta=0.5 + 1j, alpha=2 - 1j) if z.is_complex() else dict(beta=0.5, alpha=2.0)

_TOL = {"complex64": dict(rtol=1e-5, atol=1e-5), "complex128": dict(rtol=1e-10, atol=1e-12),
        "float32": dict(rtol=1e-5, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-12)}


def _grads(L, name, dtype, loss_kind, create_graph):
    fn, other = _OPS[name]
    complex_ = dtype.startswith("complex")
    z0 = _Z if complex_ else _Z.real
    ins = [L.tensor(z0, dtype=getattr(L, dtype), requires_grad=True)]
    if other is not None:
        ins.append(L.tensor(other if complex_ else other.real, dtype=getattr(L, dtype),
                            requires_grad=True))
    out = fn(*ins)
    if loss_kind == "abs":
        loss = out.abs().sum()
    elif out.is_complex():
        loss = (out * L.tensor(_W, dtype=out.dtype)).real.sum()
    else:
        loss = (out * 0.7).sum()
    gs = L.autograd.grad(loss, ins, create_graph=create_graph)
    if create_graph and complex_ and name not in _FIRST_ORDER_ONLY:
        assert all(g.requires_grad for g in gs)
    return [g.detach().resolve_conj().numpy() for g in gs]


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("loss_kind", ["weighted_real", "abs"])
@pytest.mark.parametrize("dtype", ["complex64", "complex128", "float32", "float64"])
@pytest.mark.parametrize("name", sorted(_OPS))
def test_complex_gradient_follows_torch(torch, name, dtype, loss_kind, create_graph):
    """Regression: these ops' backwards multiplied by ``f'(z)`` rather than ``conj(f'(z))``
    (or its analogue for products), so complex gradients had the imaginary part's sign flipped."""
    if name == "angle" and not dtype.startswith("complex") and loss_kind == "abs":
        pytest.skip("angle of a positive real is 0: |.| is not differentiable there")
    e = _grads(ember, name, dtype, loss_kind, create_graph)
    t = _grads(torch, name, dtype, loss_kind, create_graph)
    for ge, gt in zip(e, t):
        assert ge.dtype == gt.dtype
        np.testing.assert_allclose(ge, gt, **_TOL[dtype])
