"""Gaps found while writing the score-based / flow-based generative programs
(tests/programs/sde_*.py), each checked against PyTorch: the tangent of a forward-mode dual
tensor (``torch.autograd.forward_ad``) is differentiable in reverse mode with respect to the
weights, the primal and the input tangent (sliced score matching with a forward-mode
``vᵀ(∂s/∂x)v`` term backpropagated to the network)."""

import numpy as np
import torch

import ember


def _net(lib):
    g = np.random.default_rng(0)
    w1 = lib.tensor(g.standard_normal((8, 3)).astype(np.float32), requires_grad=True)
    b1 = lib.tensor(g.standard_normal(8).astype(np.float32), requires_grad=True)
    w2 = lib.tensor(g.standard_normal((3, 8)).astype(np.float32), requires_grad=True)
    return w1, b1, w2


def _fwad_tangent_grads(lib, x_requires_grad=False, v_requires_grad=False):
    fwAD = lib.autograd.forward_ad
    w1, b1, w2 = _net(lib)
    g = np.random.default_rng(1)
    x = lib.tensor(g.standard_normal((4, 3)).astype(np.float32), requires_grad=x_requires_grad)
    v = lib.tensor(g.standard_normal((4, 3)).astype(np.float32), requires_grad=v_requires_grad)
    with fwAD.dual_level():
        h = lib.nn.functional.softplus(lib.nn.functional.linear(fwAD.make_dual(x, v), w1, b1))
        out = (h @ w2.T).tanh()
        primal, tangent = fwAD.unpack_dual(out)
    loss = (tangent * v).sum() + 0.5 * (primal ** 2).sum()
    leaves = [w1, b1, w2] + [t for t in (x, v) if t.requires_grad]
    grads = lib.autograd.grad(loss, leaves)
    return tangent.requires_grad, [gr.detach().numpy() for gr in grads]


def test_forward_ad_tangent_backprops_to_weights():
    mine, theirs = _fwad_tangent_grads(ember), _fwad_tangent_grads(torch)
    assert mine[0] is theirs[0] is True
    for a, b in zip(mine[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_forward_ad_tangent_backprops_to_primal_and_tangent():
    mine = _fwad_tangent_grads(ember, True, True)
    theirs = _fwad_tangent_grads(torch, True, True)
    assert len(mine[1]) == len(theirs[1]) == 5
    for a, b in zip(mine[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_forward_ad_tangent_constant_without_grad():
    for lib in (ember, torch):
        fwAD = lib.autograd.forward_ad
        w = lib.ones(3, requires_grad=True)
        with lib.no_grad(), fwAD.dual_level():
            t = fwAD.unpack_dual((fwAD.make_dual(lib.ones(3), lib.ones(3)) * w).sin()).tangent
        assert not t.requires_grad
        with fwAD.dual_level():
            t = fwAD.unpack_dual(fwAD.make_dual(lib.ones(3), lib.ones(3)).sin()).tangent
        assert not t.requires_grad
